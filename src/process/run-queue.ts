/**
 * The run queue: a growable ring buffer of processes with something to do. An array with a moving
 * head grew without bound while processes kept re-queueing each other inside one drain (a
 * ping-pong never lets the queue empty), and each push into the huge array cost ~100 ns.
 * Imports nothing.
 */
export class RunQueue<T> {
  private buf: Array<T | undefined>;
  private mask: number;
  private head = 0;
  private tail = 0;

  constructor(capacity = 64) {
    let c = 1;
    while (c < capacity) c <<= 1;
    this.buf = new Array<T | undefined>(c).fill(undefined);
    this.mask = c - 1;
  }

  get length(): number {
    return (this.tail - this.head) & this.mask;
  }

  get isEmpty(): boolean {
    return this.head === this.tail;
  }

  push(item: T): void {
    this.buf[this.tail] = item;
    this.tail = (this.tail + 1) & this.mask;
    if (this.tail === this.head) this.grow();
  }

  /** Removes and returns the oldest item; `undefined` when empty. */
  shift(): T | undefined {
    if (this.head === this.tail) return undefined;
    const item = this.buf[this.head];
    this.buf[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    return item;
  }

  private grow(): void {
    // Full: head === tail. Unroll into a buffer twice the size, oldest first.
    const old = this.buf;
    const n = old.length;
    const next = new Array<T | undefined>(n * 2).fill(undefined);
    for (let i = 0; i < n; i++) next[i] = old[(this.head + i) & this.mask];
    this.buf = next;
    this.head = 0;
    this.tail = n;
    this.mask = n * 2 - 1;
  }
}
