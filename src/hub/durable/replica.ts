/**
 * `DeclaredReplica`: the declarations one node holds, as the hub reads them (reconcile, fencing,
 * entities, the handle's calls). Three sources, one answer per id (the declaration that
 * `supersedes` the others):
 * - pages of the current layout, each page's `decls` beside its records (no map of every id ever
 *   declared: at tens of thousands of ids, such a map's inserts were most of what a node spent on
 *   its own declarations);
 * - `pending`: declarations of log entries the pages do not hold yet (until a fold writes them
 *   into their page: the page that holds them, or a later declaration, takes them out);
 * - `legacy`: declarations of stores of earlier layouts (first-layout pages, keys of one
 *   declaration).
 * Imports the page layout and `declared.ts`.
 */
import { type Declared, supersedes } from "./declared.js";
import { PAGE_COUNT, type PageRecords, pageOf, positionOf } from "./pages.js";

export class DeclaredReplica {
  /** Pages of the current layout, by number. */
  private readonly pages: Array<PageRecords | undefined> = new Array(PAGE_COUNT).fill(undefined);
  /** Declarations from log entries that no page holds yet. */
  private readonly pending = new Map<string, Declared>();
  /** Declarations from first-layout pages and keys of one declaration. */
  readonly legacy = new Map<string, Declared>();

  /**
   * Page `n` of the current layout is now `page` (its `decls` are what this node holds);
   * `changed`: its declarations that differ from the page's previous version. A pending
   * declaration the page now holds (or supersedes) leaves `pending`, and the page's copy keeps
   * when this node learnt it.
   */
  setPage(n: number, page: PageRecords, changed: readonly Declared[] = []): void {
    this.pages[n] = page;
    if (this.pending.size === 0) return;
    for (const d of changed) {
      const p = this.pending.get(d.id);
      if (p === undefined || supersedes(p, d)) continue;
      if (p.revision === d.revision) d.learnt = p.learnt;
      this.pending.delete(d.id);
    }
  }

  /**
   * A declaration of a log entry: taken (and true) if it supersedes what this node holds for
   * its id. `fresh`: its revision is past every one this replica took, so it supersedes any
   * declaration of its id unless it is weak (no lookup).
   */
  offer(d: Declared, fresh = false): boolean {
    if (fresh && d.weak !== true) {
      this.pending.set(d.id, d);
      return true;
    }
    const cur = this.get(d.id);
    if (cur !== undefined && !supersedes(d, cur)) return false;
    this.pending.set(d.id, d);
    return true;
  }

  /** Whether the pages hold `d`, or a declaration that supersedes it. */
  covers(d: Declared): boolean {
    const p = this.fromPage(d.id);
    return p !== undefined && !supersedes(d, p);
  }

  /** Declarations no page holds yet, by page number. */
  pendingByPage(): Map<number, Declared[]> {
    const out = new Map<number, Declared[]>();
    for (const d of this.pending.values()) {
      const n = pageOf(d.id);
      const list = out.get(n);
      if (list === undefined) out.set(n, [d]);
      else list.push(d);
    }
    return out;
  }

  /** How many declarations no page holds yet. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** The declaration no page holds yet of `id`, if it is the one in force. */
  pendingOf(id: string): Declared | undefined {
    return this.pending.get(id);
  }

  get(id: string): Declared | undefined {
    const d = this.fromPage(id);
    if (this.pending.size === 0 && this.legacy.size === 0) return d;
    return best(best(d, this.pending.get(id)), this.legacy.get(id));
  }

  has(id: string): boolean {
    return this.get(id) !== undefined;
  }

  /**
   * `fn` of every declaration in force, once per id (a callback, not an iterator: reconcile walks
   * every declaration each round, and an iterator's result objects were most of what it allocated).
   */
  forEach(fn: (d: Declared) => void): void {
    const pending = this.pending;
    const legacy = this.legacy;
    // Page records that a pending or legacy declaration supersedes, by page and place: found
    // from those (a few) rather than by a lookup for every record of every page.
    let superseded: Map<number, Set<number>> | undefined;
    if (pending.size > 0 || legacy.size > 0) {
      superseded = new Map();
      const mark = (n: number, j: number) => {
        const set = superseded!.get(n);
        if (set === undefined) superseded!.set(n, new Set([j]));
        else set.add(j);
      };
      for (const x of pending.values()) {
        const n = pageOf(x.id);
        const p = this.pages[n];
        const j = p === undefined ? -1 : positionOf(p, x.id);
        const d = j < 0 ? undefined : p!.decls[j];
        const winner = best(best(d, x), legacy.size === 0 ? undefined : legacy.get(x.id));
        if (winner === x) fn(x);
        if (d !== undefined && winner !== d) mark(n, j);
      }
      for (const x of legacy.values()) {
        const n = pageOf(x.id);
        const p = this.pages[n];
        const j = p === undefined ? -1 : positionOf(p, x.id);
        const d = j < 0 ? undefined : p!.decls[j];
        const winner = best(best(d, pending.get(x.id)), x);
        if (winner === x) fn(x);
        if (d !== undefined && winner !== d) mark(n, j);
      }
    }
    for (let n = 0; n < this.pages.length; n++) {
      const p = this.pages[n];
      if (p === undefined) continue;
      const skip = superseded?.get(n);
      const decls = p.decls;
      for (let i = 0; i < decls.length; i++) if (skip === undefined || !skip.has(i)) fn(decls[i]!);
    }
  }

  /** Every declaration in force, once per id. */
  values(): Declared[] {
    const out: Declared[] = [];
    this.forEach((d) => {
      out.push(d);
    });
    return out;
  }

  /** How many ids have a declaration. */
  get size(): number {
    let n = 0;
    for (const p of this.pages) n += p?.decls.length ?? 0;
    for (const o of this.pending.values()) if (this.fromPage(o.id) === undefined) n++;
    for (const o of this.legacy.values())
      if (this.fromPage(o.id) === undefined && !this.pending.has(o.id)) n++;
    return n;
  }

  private fromPage(id: string): Declared | undefined {
    const p = this.pages[pageOf(id)];
    if (p === undefined) return undefined;
    const j = positionOf(p, id);
    return j < 0 ? undefined : p.decls[j];
  }
}

/** Whichever of two declarations of one id is in force (`a` on a tie). */
function best(a: Declared | undefined, b: Declared | undefined): Declared | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return supersedes(b, a) ? b : a;
}
