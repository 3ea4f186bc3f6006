/**
 * A hashed timer wheel: one Node.js timer serves every call and receive timeout of a node, so a
 * call costs a Set insertion instead of a `setTimeout`/`clearTimeout` pair. Deadlines fire at
 * most one slot (`resolutionMs`) late. Imports nothing.
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

  constructor(private readonly resolutionMs = 4) {}

  /** Number of pending timeouts. */
  get size(): number {
    let n = 0;
    for (const b of this.buckets.values()) n += b.size;
    return n;
  }

  /** Calls `fire` once, `delayMs` from now (rounded up to the next slot). */
  add(delayMs: number, fire: () => void): TimerEntry {
    const slot = Math.ceil((performance.now() + delayMs) / this.resolutionMs);
    const entry: TimerEntry = { slot, fire };
    let bucket = this.buckets.get(slot);
    if (bucket === undefined) {
      bucket = new Set();
      this.buckets.set(slot, bucket);
    }
    bucket.add(entry);
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

  private arm(slot: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.armedSlot = slot;
    const delay = Math.max(0, slot * this.resolutionMs - performance.now());
    this.timer = setTimeout(this.tick, delay);
  }

  private readonly tick = (): void => {
    this.timer = null;
    this.armedSlot = Number.POSITIVE_INFINITY;
    const nowSlot = Math.floor(performance.now() / this.resolutionMs);
    const dueSlots: number[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const slot of this.buckets.keys()) {
      if (slot <= nowSlot) dueSlots.push(slot);
      else if (slot < next) next = slot;
    }
    // Buckets iterate in insertion order; a late tick (blocked loop) may find several slots due,
    // and they must fire in deadline order.
    if (dueSlots.length > 1) dueSlots.sort((a, b) => a - b);
    const due: TimerEntry[] = [];
    for (const slot of dueSlots) {
      for (const e of this.buckets.get(slot)!) due.push(e);
      this.buckets.delete(slot);
    }
    if (next !== Number.POSITIVE_INFINITY) this.arm(next);
    for (const e of due) if (e.slot !== CANCELLED) e.fire();
  };
}
