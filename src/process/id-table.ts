/**
 * `IdTable`: a map from small non-negative integer ids (pid numbers) to values that carry their
 * own id, for the tables that churn with every spawn and exit (the node's processes, a
 * supervisor's links and children).
 *
 * Pid numbers are handed out in sequence, so the live ones mostly fall into distinct slots of a
 * direct-mapped array (`id & mask`); the rare id whose slot is held by another live id goes to a
 * small overflow `Map`. The key is read back from the value (`keyOf`), so a slot costs one
 * pointer, and the array grows only when it is full or the overflow gets large. Why not a `Map`:
 * under the same churn a `Map` of 100k numeric keys costs 120–330 ns per set and as much per
 * delete (hashing spreads sequential keys over the table, and every growth rehashes into fresh
 * memory, which on this project's VMs costs ~2.4 ms per MB to fault in); this costs a few ns per
 * operation and half the memory.
 * Imports nothing.
 */
const MIN_CAPACITY = 8;

export class IdTable<V> {
  private slots: Array<V | undefined>;
  private mask: number;
  private overflow: Map<number, V> | null = null;
  private count = 0;

  constructor(
    private readonly keyOf: (value: V) => number,
    capacity = MIN_CAPACITY,
  ) {
    this.slots = emptySlots<V>(pow2(Math.max(capacity, MIN_CAPACITY)));
    this.mask = this.slots.length - 1;
  }

  get size(): number {
    return this.count;
  }

  get(id: number): V | undefined {
    const v = this.slots[id & this.mask];
    if (v !== undefined && this.keyOf(v) === id) return v;
    return this.overflow === null ? undefined : this.overflow.get(id);
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  /** Sets the value of `id` (`keyOf(value)` must be `id`). */
  set(id: number, value: V): void {
    const i = id & this.mask;
    const cur = this.slots[i];
    const of = this.overflow;
    if (cur !== undefined && this.keyOf(cur) === id) {
      this.slots[i] = value;
      return;
    }
    if (of?.has(id)) {
      of.set(id, value);
      return;
    }
    this.count++;
    if (cur === undefined) this.slots[i] = value;
    else (this.overflow ??= new Map()).set(id, value);
    const cap = this.slots.length;
    if (this.count > cap || (this.overflow !== null && this.overflow.size * 8 > cap)) this.resize(cap * 2);
  }

  delete(id: number): boolean {
    const i = id & this.mask;
    const cur = this.slots[i];
    if (cur !== undefined && this.keyOf(cur) === id) this.slots[i] = undefined;
    else if (this.overflow === null || !this.overflow.delete(id)) return false;
    else if (this.overflow.size === 0) this.overflow = null;
    this.count--;
    const cap = this.slots.length;
    if (this.count * 4 < cap && cap > MIN_CAPACITY) this.resize(cap / 2);
    return true;
  }

  /** A snapshot of the values, in ascending id order. */
  values(): V[] {
    const out = this.unordered();
    const keyOf = this.keyOf;
    return out.sort((a, b) => keyOf(a) - keyOf(b));
  }

  /** A snapshot of the values in no particular order (no sort: for bulk work on large tables). */
  unordered(): V[] {
    const out: V[] = [];
    const slots = this.slots;
    for (let i = 0; i < slots.length; i++) {
      const v = slots[i];
      if (v !== undefined) out.push(v);
    }
    if (this.overflow !== null) for (const v of this.overflow.values()) out.push(v);
    return out;
  }

  clear(): void {
    this.slots = emptySlots<V>(MIN_CAPACITY);
    this.mask = MIN_CAPACITY - 1;
    this.overflow = null;
    this.count = 0;
  }

  private resize(capacity: number): void {
    const slots = this.slots;
    const of = this.overflow;
    this.slots = emptySlots<V>(capacity);
    this.mask = capacity - 1;
    this.overflow = null;
    this.count = 0;
    for (let i = 0; i < slots.length; i++) {
      const v = slots[i];
      if (v !== undefined) this.place(v);
    }
    if (of !== null) for (const v of of.values()) this.place(v);
  }

  private place(value: V): void {
    const id = this.keyOf(value);
    const i = id & this.mask;
    this.count++;
    if (this.slots[i] === undefined) this.slots[i] = value;
    else (this.overflow ??= new Map()).set(id, value);
  }
}

/** A packed (never holey) array of `n` empty slots: V8 keeps it in its fast element mode. */
function emptySlots<V>(n: number): Array<V | undefined> {
  return new Array<V | undefined>(n).fill(undefined);
}

function pow2(n: number): number {
  let c = 1;
  while (c < n) c *= 2;
  return c;
}
