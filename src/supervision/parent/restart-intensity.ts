/**
 * `RestartIntensity`: the sliding window behind "at most N restarts in S seconds", on a
 * millisecond clock. A record exactly `maxSeconds` old has left the window. Only the restarts
 * still inside the window are kept, and a parent gives up as soon as the count passes the limit,
 * so the bookkeeping never exceeds `maxRestarts + 1` numbers whatever the history; an infinite
 * limit keeps nothing at all. Imports nothing.
 */

export class RestartIntensity {
  private stamps: number[] | null = null;

  constructor(
    readonly maxRestarts: number,
    readonly maxSeconds: number,
  ) {}

  /** Records a restart at `now` (ms); false when the restarts in the window now exceed the limit. */
  record(now: number = Date.now()): boolean {
    if (this.maxRestarts === Number.POSITIVE_INFINITY) return true;
    const stamps = (this.stamps ??= []);
    const windowMs = this.maxSeconds * 1000;
    let expired = 0;
    while (expired < stamps.length && now - stamps[expired]! >= windowMs) expired++;
    if (expired > 0) stamps.splice(0, expired);
    stamps.push(now);
    return stamps.length <= this.maxRestarts;
  }

  /** Restarts currently inside the window (as of the last record). */
  get size(): number {
    return this.stamps?.length ?? 0;
  }
}
