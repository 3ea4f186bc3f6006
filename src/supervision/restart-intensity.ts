/**
 * `RestartIntensity`: the "at most `maxRestarts` restarts within `maxSeconds`" rule (Elixir's
 * `max_restarts` / `max_seconds`), a sliding window — the one implementation behind Supervisor,
 * DynamicSupervisor, Parent (parent-wide and per child) and the hub's local children. It keeps the
 * timestamps of recent restarts in a ring buffer of at most `maxRestarts + 1` entries, so its
 * memory and the cost of `record` never grow with the number of past restarts; with an infinite
 * limit it keeps nothing. The two rules that differ between its users are options:
 *
 * | user | clock | an entry exactly `maxSeconds` old |
 * |---|---|---|
 * | Supervisor, DynamicSupervisor (OTP) | `performance.now` (monotonic) | still counts (OTP keeps `t >= now - period`) |
 * | Parent, hub local children | `Date.now` (`WALL_CLOCK`) | has left the window (`dropAtBoundary`) |
 *
 * Imports nothing.
 */

/** Options of `RestartIntensity`. */
export interface RestartIntensityOptions {
  /** Restarts tolerated within the window; `Infinity` never gives up. @default 3 */
  maxRestarts?: number | undefined;
  /** Window length in seconds (may be fractional). @default 5 */
  maxSeconds?: number | undefined;
  /** Clock in milliseconds. @default performance.now */
  clock?: (() => number) | undefined;
  /** Drop an entry exactly `maxSeconds` old (Parent) instead of keeping it (OTP). @default false */
  dropAtBoundary?: boolean | undefined;
}

/** Defaults of `RestartIntensityOptions` (Elixir's: 3 restarts in 5 seconds). */
export const DEFAULT_RESTART_INTENSITY = Object.freeze({ maxRestarts: 3, maxSeconds: 5 });

const defaultClock = (): number => performance.now();

/**
 * The wall clock in milliseconds, read at each call (so a test's fake `Date` is seen): the clock
 * of Parent's and the hub's windows.
 */
export const WALL_CLOCK = (): number => Date.now();

/**
 * Counts restarts in a sliding window.
 * @category supervision
 */
export class RestartIntensity {
  readonly maxRestarts: number;
  readonly maxSeconds: number;
  private readonly periodMs: number;
  private readonly clock: () => number;
  private readonly dropAtBoundary: boolean;
  /** Ring buffer of timestamps, oldest at `head`; allocated on first use, grown up to max + 1. */
  private ring: number[] = [];
  private head = 0;
  private live = 0;

  constructor(options: RestartIntensityOptions = {}) {
    this.maxRestarts = options.maxRestarts ?? DEFAULT_RESTART_INTENSITY.maxRestarts;
    this.maxSeconds = options.maxSeconds ?? DEFAULT_RESTART_INTENSITY.maxSeconds;
    this.periodMs = this.maxSeconds * 1000;
    this.clock = options.clock ?? defaultClock;
    this.dropAtBoundary = options.dropAtBoundary ?? false;
  }

  /** Restarts currently inside the window. */
  get count(): number {
    this.expire(this.clock());
    return this.live;
  }

  /** Restarts inside the window as of the last `record` (no clock read). */
  get size(): number {
    return this.live;
  }

  /**
   * Records one restart at `now` (default: the clock). Returns `true` while the supervisor may go
   * on, `false` when this restart makes more than `maxRestarts` within `maxSeconds` (the
   * supervisor must give up). One `now` lets a caller record one event in several windows.
   */
  record(now: number = this.clock()): boolean {
    if (this.maxRestarts === Number.POSITIVE_INFINITY) return true;
    this.expire(now);
    const cap = this.maxRestarts + 1;
    if (this.live === cap) {
      // Only reachable when a caller keeps going after `false`: forget the oldest.
      this.head = (this.head + 1) % cap;
      this.live--;
    }
    const ring = this.ring;
    if (ring.length < cap && this.live === ring.length && this.head === 0) {
      ring.push(now);
    } else {
      if (ring.length < cap) this.compact(cap);
      this.ring[(this.head + this.live) % this.ring.length] = now;
    }
    this.live++;
    return this.live <= this.maxRestarts;
  }

  /** Forgets every recorded restart. */
  reset(): void {
    this.ring = [];
    this.head = 0;
    this.live = 0;
  }

  private expire(now: number): void {
    const ring = this.ring;
    const limit = now - this.periodMs;
    while (this.live > 0) {
      const t = ring[this.head]!;
      if (this.dropAtBoundary ? t > limit : t >= limit) break;
      this.head = (this.head + 1) % ring.length;
      this.live--;
    }
    if (this.live === 0) this.head = 0;
  }

  /** Re-lays the live entries from index 0 in a buffer of full capacity. */
  private compact(cap: number): void {
    const out = new Array<number>(cap).fill(0);
    for (let i = 0; i < this.live; i++) out[i] = this.ring[(this.head + i) % this.ring.length]!;
    this.ring = out;
    this.head = 0;
  }
}
