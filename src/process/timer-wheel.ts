/**
 * A hashed timer wheel: one Node.js timer serves every call and receive timeout of a node, so a
 * call costs a Set insertion instead of a `setTimeout`/`clearTimeout` pair. Deadlines fire at
 * most one slot (`resolutionMs`) late. A frozen wheel (its node paused) keeps its entries and
 * fires nothing until thawed; a stopped one (its node killed) forgets them. Imports nothing.
 */

/** A scheduled timeout; pass it to `cancel`. */
export interface TimerEntry {
  slot: number;
  fire: () => void;
}

const CANCELLED = -1;

export class TimerWheel {
  private readonly buckets = new Map<number, Set<TimerEntry>>();
  private timer: NodeJS.Timeout | null = null;
  private armedSlot = Number.POSITIVE_INFINITY;
  private frozen = false;
  private stopped = false;

  constructor(private readonly resolutionMs = 4) {}

  /** Number of pending timeouts. */
  get size(): number {
    let n = 0;
    for (const b of this.buckets.values()) n += b.size;
    return n;
  }

  /** Calls `fire` once, `delayMs` from now (rounded up to the next slot). */
  add(delayMs: number, fire: () => void): TimerEntry {
    if (this.stopped) return { slot: CANCELLED, fire };
    const slot = Math.ceil((performance.now() + delayMs) / this.resolutionMs);
    const entry: TimerEntry = { slot, fire };
    let bucket = this.buckets.get(slot);
    if (bucket === undefined) {
      bucket = new Set();
      this.buckets.set(slot, bucket);
    }
    bucket.add(entry);
    if (this.frozen) return entry;
    if (slot < this.armedSlot) this.arm(slot);
    else this.timer?.ref();
    return entry;
  }

  cancel(entry: TimerEntry): void {
    const slot = entry.slot;
    // Marks the entry too: it may already sit in the due list of the tick now firing.
    entry.slot = CANCELLED;
    const bucket = this.buckets.get(slot);
    if (bucket === undefined) return;
    bucket.delete(entry);
    // The armed timer is left to fire even when nothing is due any more: re-arming a Node timer
    // on every call would cost more than the one spurious tick.
    if (bucket.size === 0) {
      this.buckets.delete(slot);
      // Nothing pending: the spurious tick must not keep the program alive.
      if (this.buckets.size === 0) this.timer?.unref();
    }
  }

  /** Fires nothing until `thaw`; entries added meanwhile wait too. */
  freeze(): void {
    this.frozen = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.armedSlot = Number.POSITIVE_INFINITY;
  }

  /**
   * Ends a freeze. The entries due by now are taken out and returned in deadline order, for the
   * caller to fire (`fireTaken`) in one sequence with its other overdue timers; the rest are
   * re-armed.
   */
  thaw(): TimerEntry[] {
    if (!this.frozen || this.stopped) return [];
    this.frozen = false;
    const due = this.takeDue();
    this.rearm();
    return due;
  }

  /** When `entry` is due, in `performance.now()` time (its slot's end). */
  dueAt(entry: TimerEntry): number {
    return entry.slot * this.resolutionMs;
  }

  /** Fires an entry returned by `thaw`, unless it was cancelled since. */
  fireTaken(entry: TimerEntry): void {
    if (entry.slot !== CANCELLED) entry.fire();
  }

  /** Forgets every entry and fires nothing ever again (the node was killed). */
  stop(): void {
    this.freeze();
    this.stopped = true;
    for (const bucket of this.buckets.values()) for (const e of bucket) e.slot = CANCELLED;
    this.buckets.clear();
  }

  private takeDue(): TimerEntry[] {
    const nowSlot = Math.floor(performance.now() / this.resolutionMs);
    const dueSlots: number[] = [];
    for (const slot of this.buckets.keys()) if (slot <= nowSlot) dueSlots.push(slot);
    // Buckets iterate in insertion order; a late tick (blocked loop, thawed node) may find several
    // slots due, and they must fire in deadline order.
    if (dueSlots.length > 1) dueSlots.sort((a, b) => a - b);
    const due: TimerEntry[] = [];
    for (const slot of dueSlots) {
      for (const e of this.buckets.get(slot)!) due.push(e);
      this.buckets.delete(slot);
    }
    return due;
  }

  private rearm(): void {
    let next = Number.POSITIVE_INFINITY;
    for (const slot of this.buckets.keys()) if (slot < next) next = slot;
    if (next !== Number.POSITIVE_INFINITY) this.arm(next);
  }

  private arm(slot: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.armedSlot = slot;
    const delay = Math.max(0, slot * this.resolutionMs - performance.now());
    this.timer = setTimeout(this.tick, delay);
  }

  private readonly tick = (): void => {
    this.timer = null;
    this.armedSlot = Number.POSITIVE_INFINITY;
    const due = this.takeDue();
    this.rearm();
    for (const e of due) {
      // An entry that froze the wheel (paused its node) stops the tick: the rest wait for the thaw.
      if (this.frozen) {
        this.putBack(e);
        continue;
      }
      if (e.slot !== CANCELLED) e.fire();
    }
  };

  /** Puts back an entry taken by `thaw` and not fired (the node froze again meanwhile). */
  putBack(e: TimerEntry): void {
    if (e.slot === CANCELLED || this.stopped) return;
    let bucket = this.buckets.get(e.slot);
    if (bucket === undefined) {
      bucket = new Set();
      this.buckets.set(e.slot, bucket);
    }
    bucket.add(e);
  }
}
