/**
 * Delivery on the memory network: one FIFO `Channel` per ordered pair of endpoints, holding
 * frames and membership notices with their due time (a delay never reorders a channel), and a
 * `Courier` that drains ready channels asynchronously: on microtasks, yielding a macrotask
 * (`setImmediate`) every few thousand deliveries so timers and I/O are never starved. Imports
 * the cluster's `transport` types.
 */
import type { NodeIdentity, PeerDownReason } from "../../cluster/transport.js";

export const FRAME = 0;
export const UP = 1;
export const DOWN = 2;

/** One thing in flight: a frame, or a notice that a peer came up / went down. */
export interface Item {
  kind: typeof FRAME | typeof UP | typeof DOWN;
  /** Absolute `performance.now()` time before which it must not be delivered; 0 = now. */
  due: number;
  bytes: Uint8Array | null;
  peer: NodeIdentity | null;
  reason: PeerDownReason | null;
}

export class Channel<E> {
  items: Item[] = [];
  head = 0;
  lastDue = 0;
  ready = false;
  timer: NodeJS.Timeout | null = null;
  constructor(
    readonly from: E,
    readonly to: E,
  ) {}

  get size(): number {
    return this.items.length - this.head;
  }

  /** Drops the frames still queued (a broken session), keeping membership notices. */
  purgeFrames(): number {
    let dropped = 0;
    const kept: Item[] = [];
    for (let i = this.head; i < this.items.length; i++) {
      const it = this.items[i]!;
      if (it.kind === FRAME) dropped++;
      else kept.push(it);
    }
    this.items = kept;
    this.head = 0;
    return dropped;
  }
}

/** What the courier asks of the network. */
export interface CourierHost<E> {
  /** Whether the head item must wait (an endpoint is paused). */
  blocked(ch: Channel<E>, item: Item): boolean;
  deliver(ch: Channel<E>, item: Item): void;
}

const BUDGET = 2000;
const YIELD_EVERY = 10_000;

export class Courier<E> {
  private ready: Channel<E>[] = [];
  private scheduled = false;
  private sinceYield = 0;

  constructor(private readonly host: CourierHost<E>) {}

  /** Appends `item` to `ch`, delayed by `delayMs`, and makes sure it will be delivered. */
  enqueue(ch: Channel<E>, item: Item, delayMs: number): void {
    if (delayMs > 0 || ch.lastDue > 0) {
      const due = Math.max(ch.lastDue, delayMs > 0 ? performance.now() + delayMs : 0);
      item.due = due;
      ch.lastDue = due;
    }
    ch.items.push(item);
    this.wake(ch);
  }

  /** Re-examines a channel (after an endpoint resumed, or a timer fired). */
  wake(ch: Channel<E>): void {
    if (ch.ready || ch.timer !== null || ch.head >= ch.items.length) return;
    const item = ch.items[ch.head]!;
    if (this.host.blocked(ch, item)) return;
    if (item.due > 0) {
      const wait = item.due - performance.now();
      if (wait > 0) {
        ch.timer = setTimeout(() => {
          ch.timer = null;
          this.wake(ch);
        }, Math.ceil(wait));
        return;
      }
    }
    ch.ready = true;
    this.ready.push(ch);
    this.schedule();
  }

  /** Cancels a channel's timer (its endpoints are gone). */
  stop(ch: Channel<E>): void {
    if (ch.timer !== null) clearTimeout(ch.timer);
    ch.timer = null;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    if (this.sinceYield < YIELD_EVERY) queueMicrotask(this.drain);
    else setImmediate(this.drainAfterYield);
  }

  private readonly drainAfterYield = (): void => {
    this.sinceYield = 0;
    this.drain();
  };

  private readonly drain = (): void => {
    this.scheduled = false;
    const batch = this.ready;
    this.ready = [];
    let budget = BUDGET;
    let now = 0;
    for (const ch of batch) {
      ch.ready = false;
      while (ch.head < ch.items.length) {
        const item = ch.items[ch.head]!;
        if (this.host.blocked(ch, item)) break;
        if (item.due > 0) {
          if (now === 0) now = performance.now();
          if (item.due > now) break;
        }
        if (budget-- <= 0) break;
        ch.items[ch.head++] = undefined as unknown as Item;
        this.host.deliver(ch, item);
      }
      if (ch.head >= ch.items.length) {
        ch.items.length = 0;
        ch.head = 0;
        ch.lastDue = 0;
      } else {
        this.wake(ch);
      }
    }
    this.sinceYield += BUDGET - Math.max(budget, 0);
  };
}
