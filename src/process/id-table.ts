/**
 * `IdTable`: a map from non-negative integer ids (pid numbers) to values that carry their own id,
 * for the tables that churn with every spawn and exit (the node's processes, a process's links,
 * a supervisor's children).
 *
 * Pid numbers are handed out in sequence, so the live ones mostly fall into distinct slots of a
 * direct-mapped array (`id & mask`); the rare id whose slot is held by another live id goes to a
 * small overflow `Map`. The key is read back from the value (`keyOf`), so a slot costs one
 * pointer. Large tables are split into chunks of 1,024 slots: growing keeps every chunk and adds
 * as many (moving the half of the entries whose next id bit is set), shrinking drops the upper
 * half, so a table never copies itself into a fresh array twice its size. That matters because
 * fresh memory is what large tables cost most: on this project's VMs a page is faulted in at
 * ~2.4 ms per MB, and one array of 131,072 slots (a megabyte, outside V8's reused pages) took
 * ~3 ms to allocate. Why not a `Map`: under the same churn a `Map` of 100k numeric keys costs
 * 120–330 ns per set and as much per delete; this costs a few ns.
 *
 * A table made `withAux` keeps a second value per entry (`aux`) in chunks of the same shape, so
 * that a pair costs two slots and no object (a supervisor's children: the pid and its spec).
 * Imports nothing.
 */
const CHUNK_BITS = 10;
const CHUNK = 1 << CHUNK_BITS;
const CHUNK_MASK = CHUNK - 1;
const MIN_CAPACITY = 8;

export class IdTable<V, A = never> {
  /** `capacity / CHUNK` chunks of `CHUNK` slots, or one chunk of `capacity` below `CHUNK`. */
  private chunks: Array<Array<V | undefined>>;
  /** The aux values, at the same positions as their entries (null without `withAux`). */
  private auxChunks: Array<Array<A | undefined>> | null;
  private mask: number;
  private overflow: Map<number, V> | null = null;
  private overflowAux: Map<number, A> | null = null;
  private count = 0;

  constructor(
    private readonly keyOf: (value: V) => number,
    options: { capacity?: number; withAux?: boolean } = {},
  ) {
    const c = pow2(Math.max(options.capacity ?? MIN_CAPACITY, MIN_CAPACITY));
    this.chunks = makeChunks<V>(c);
    this.auxChunks = options.withAux === true ? makeChunks<A>(c) : null;
    this.mask = c - 1;
  }

  get size(): number {
    return this.count;
  }

  get capacity(): number {
    return this.mask + 1;
  }

  get(id: number): V | undefined {
    const i = id & this.mask;
    const v = this.chunks[i >>> CHUNK_BITS]![i & CHUNK_MASK];
    if (v !== undefined && this.keyOf(v) === id) return v;
    return this.overflow === null ? undefined : this.overflow.get(id);
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  /** The aux value of `id` (a table made `withAux`). */
  auxOf(id: number): A | undefined {
    const i = id & this.mask;
    const c = i >>> CHUNK_BITS;
    const j = i & CHUNK_MASK;
    const v = this.chunks[c]![j];
    if (v !== undefined && this.keyOf(v) === id) return this.auxChunks![c]![j];
    return this.overflowAux === null ? undefined : this.overflowAux.get(id);
  }

  /** Sets the value of `id` (`keyOf(value)` must be `id`), and its aux value in a `withAux` table. */
  set(id: number, value: V, aux?: A): void {
    const i = id & this.mask;
    const c = i >>> CHUNK_BITS;
    const chunk = this.chunks[c]!;
    const j = i & CHUNK_MASK;
    const cur = chunk[j];
    if (cur !== undefined && this.keyOf(cur) === id) {
      chunk[j] = value;
      if (this.auxChunks !== null) this.auxChunks[c]![j] = aux;
      return;
    }
    const of = this.overflow;
    if (of?.has(id)) {
      of.set(id, value);
      if (this.auxChunks !== null) this.overflowAux!.set(id, aux as A);
      return;
    }
    this.count++;
    if (cur === undefined) {
      chunk[j] = value;
      if (this.auxChunks !== null) this.auxChunks[c]![j] = aux;
    } else this.toOverflow(id, value, aux);
    const cap = this.mask + 1;
    if (this.count > cap || (this.overflow !== null && this.overflow.size * 8 > cap)) this.grow();
  }

  delete(id: number): boolean {
    const i = id & this.mask;
    const c = i >>> CHUNK_BITS;
    const chunk = this.chunks[c]!;
    const j = i & CHUNK_MASK;
    const cur = chunk[j];
    if (cur !== undefined && this.keyOf(cur) === id) {
      chunk[j] = undefined;
      if (this.auxChunks !== null) this.auxChunks[c]![j] = undefined;
    } else if (this.overflow === null || !this.overflow.delete(id)) return false;
    else {
      this.overflowAux?.delete(id);
      if (this.overflow.size === 0) this.overflow = this.overflowAux = null;
    }
    this.count--;
    // Shrinks only well below a quarter full, so a table hovering around one size does not
    // grow and shrink over and over.
    const cap = this.mask + 1;
    if (this.count * 8 < cap && cap > MIN_CAPACITY) this.shrink();
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
    for (const chunk of this.chunks) {
      for (let j = 0; j < chunk.length; j++) {
        const v = chunk[j];
        if (v !== undefined) out.push(v);
      }
    }
    if (this.overflow !== null) for (const v of this.overflow.values()) out.push(v);
    return out;
  }

  /**
   * Calls `fn` with each value and its aux value, in no particular order. `fn` must not change
   * this table (take `unordered()` first for that).
   */
  forEach(fn: (value: V, aux: A) => void): void {
    const aux = this.auxChunks;
    for (let c = 0; c < this.chunks.length; c++) {
      const chunk = this.chunks[c]!;
      for (let j = 0; j < chunk.length; j++) {
        const v = chunk[j];
        if (v !== undefined) fn(v, (aux === null ? undefined : aux[c]![j]) as A);
      }
    }
    if (this.overflow !== null) {
      for (const [id, v] of this.overflow) fn(v, this.overflowAux?.get(id) as A);
    }
  }

  clear(): void {
    this.chunks = makeChunks<V>(MIN_CAPACITY);
    if (this.auxChunks !== null) this.auxChunks = makeChunks<A>(MIN_CAPACITY);
    this.mask = MIN_CAPACITY - 1;
    this.overflow = this.overflowAux = null;
    this.count = 0;
  }

  private toOverflow(id: number, value: V, aux: A | undefined): void {
    (this.overflow ??= new Map()).set(id, value);
    if (this.auxChunks !== null) (this.overflowAux ??= new Map()).set(id, aux as A);
  }

  private grow(): void {
    const cap = this.mask + 1;
    const of = this.overflow;
    const ofAux = this.overflowAux;
    this.overflow = this.overflowAux = null;
    if (cap < CHUNK) {
      this.rebuild(cap * 2);
    } else {
      // Doubling keeps every chunk where it is: an entry at slot i moves to slot i + cap (the
      // same offset in a new chunk) exactly when its id has the bit `cap` set.
      const n = this.chunks.length;
      const aux = this.auxChunks;
      for (let c = 0; c < n; c++) {
        this.chunks.push(emptySlots<V>(CHUNK));
        aux?.push(emptySlots<A>(CHUNK));
      }
      this.mask = cap * 2 - 1;
      for (let c = 0; c < n; c++) {
        const low = this.chunks[c]!;
        const high = this.chunks[c + n]!;
        for (let j = 0; j < CHUNK; j++) {
          const v = low[j];
          if (v !== undefined && (this.keyOf(v) & cap) !== 0) {
            high[j] = v;
            low[j] = undefined;
            if (aux !== null) {
              aux[c + n]![j] = aux[c]![j];
              aux[c]![j] = undefined;
            }
          }
        }
      }
    }
    if (of !== null) for (const [id, v] of of) this.reinsert(v, ofAux?.get(id));
  }

  private shrink(): void {
    const cap = this.mask + 1;
    const of = this.overflow;
    const ofAux = this.overflowAux;
    this.overflow = this.overflowAux = null;
    if (cap <= CHUNK) {
      this.rebuild(cap / 2);
    } else {
      // Halving drops the upper chunks: their entries fold onto the lower ones.
      const n = this.chunks.length / 2;
      const upper = this.chunks.splice(n, n);
      const upperAux = this.auxChunks?.splice(n, n);
      this.mask = cap / 2 - 1;
      for (let c = 0; c < n; c++) {
        const chunk = upper[c]!;
        for (let j = 0; j < CHUNK; j++) {
          const v = chunk[j];
          if (v !== undefined) this.reinsert(v, upperAux?.[c]?.[j]);
        }
      }
    }
    if (of !== null) for (const [id, v] of of) this.reinsert(v, ofAux?.get(id));
  }

  /** Re-places every slot entry into one fresh chunk of `capacity` (small tables only). */
  private rebuild(capacity: number): void {
    const old = this.chunks[0]!;
    const oldAux = this.auxChunks?.[0];
    this.chunks = [emptySlots<V>(capacity)];
    if (this.auxChunks !== null) this.auxChunks = [emptySlots<A>(capacity)];
    this.mask = capacity - 1;
    for (let j = 0; j < old.length; j++) {
      const v = old[j];
      if (v !== undefined) this.reinsert(v, oldAux?.[j]);
    }
  }

  /** Puts an entry already counted back into the slots (or the overflow). */
  private reinsert(value: V, aux: A | undefined): void {
    const id = this.keyOf(value);
    const i = id & this.mask;
    const c = i >>> CHUNK_BITS;
    const chunk = this.chunks[c]!;
    const j = i & CHUNK_MASK;
    if (chunk[j] === undefined) {
      chunk[j] = value;
      if (this.auxChunks !== null) this.auxChunks[c]![j] = aux;
    } else this.toOverflow(id, value, aux);
  }
}

function makeChunks<T>(capacity: number): Array<Array<T | undefined>> {
  return capacity <= CHUNK
    ? [emptySlots<T>(capacity)]
    : Array.from({ length: capacity / CHUNK }, () => emptySlots<T>(CHUNK));
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
