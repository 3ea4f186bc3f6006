/**
 * `ByPid`: a table of values that each name their own pid, indexed by pid number. A registry
 * touches it on every first registration of a process and on every exit of one. Pid numbers are
 * handed out in sequence, so the table is paged: a page holds 256 consecutive numbers and is
 * found by its page number in a small `Map`. No backing store ever grows past a page, which is
 * what makes it cheap: a `Map<number, …>` (or one direct-mapped array) of 100k entries re-grows
 * into ever larger blocks outside the young generation, and every fresh block page-faults in —
 * ~250 ns per insert here, against ~65 ns paged. A page is freed when its last value goes.
 * Imports `process/pid` (types only).
 */
import type { Pid } from "../process/pid.js";

const PAGE_SIZE = 256;

interface Page<V> {
  readonly slots: Array<V | undefined>;
  used: number;
}

export class ByPid<V extends { readonly pid: Pid }> {
  private readonly pages = new Map<number, Page<V>>();
  /** The page touched last: registrations and exits come in runs of neighbouring pids. */
  private lastNo = -1;
  private last: Page<V> | undefined = undefined;
  private count = 0;

  get size(): number {
    return this.count;
  }

  private page(no: number): Page<V> | undefined {
    if (no === this.lastNo) return this.last;
    const p = this.pages.get(no);
    if (p !== undefined) {
      this.lastNo = no;
      this.last = p;
    }
    return p;
  }

  get(id: number): V | undefined {
    // Division, not shifts: pid numbers may pass 2^32 on a node that lives long enough.
    const no = Math.floor(id / PAGE_SIZE);
    return this.page(no)?.slots[id - no * PAGE_SIZE];
  }

  /** Inserts or replaces the value of `value.pid.id`. */
  set(value: V): void {
    const id = value.pid.id;
    const no = Math.floor(id / PAGE_SIZE);
    let p = this.page(no);
    if (p === undefined) {
      p = { slots: new Array<V | undefined>(PAGE_SIZE).fill(undefined), used: 0 };
      this.pages.set(no, p);
      this.lastNo = no;
      this.last = p;
    }
    const i = id - no * PAGE_SIZE;
    if (p.slots[i] === undefined) {
      p.used++;
      this.count++;
    }
    p.slots[i] = value;
  }

  delete(id: number): void {
    const no = Math.floor(id / PAGE_SIZE);
    const p = this.page(no);
    const i = id - no * PAGE_SIZE;
    if (p === undefined || p.slots[i] === undefined) return;
    p.slots[i] = undefined;
    this.count--;
    if (--p.used === 0) {
      this.pages.delete(no);
      if (this.lastNo === no) {
        this.lastNo = -1;
        this.last = undefined;
      }
    }
  }

  /** A snapshot of the values, in no particular order. */
  values(): V[] {
    const out: V[] = [];
    for (const p of this.pages.values()) for (const v of p.slots) if (v !== undefined) out.push(v);
    return out;
  }

  clear(): void {
    this.pages.clear();
    this.lastNo = -1;
    this.last = undefined;
    this.count = 0;
  }
}
