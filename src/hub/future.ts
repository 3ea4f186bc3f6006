/**
 * `Future`: the handle an awaitable hub operation returns. `await(timeoutMs)` resolves with the
 * result or rejects with `FutureTimeoutError`; the operation itself always settles on its own
 * (every node answers or times out per node), so a future never hangs forever. A future is also
 * a `PromiseLike`, so `await hub.startChildren(specs, { awaitable: true })` works. Imports `errors`.
 */
import { FutureTimeoutError } from "./errors.js";

/**
 * The eventual result of a hub start or stop.
 * @category hub
 */
export class Future<T> implements PromiseLike<T> {
  private readonly promise: Promise<T>;
  private settled = false;
  private value: T | undefined;

  constructor(promise: Promise<T>) {
    this.promise = promise.then((v) => {
      this.settled = true;
      this.value = v;
      return v;
    });
  }

  /** A future already holding `value`. */
  static resolved<T>(value: T): Future<T> {
    return new Future(Promise.resolve(value));
  }

  /** Whether the result is known (synchronously). */
  get isSettled(): boolean {
    return this.settled;
  }

  /** The result if known, else undefined. */
  peek(): T | undefined {
    return this.value;
  }

  /**
   * Waits for the result at most `timeoutMs` (no limit by default); rejects with
   * `FutureTimeoutError` when the time runs out. The operation continues regardless.
   */
  await(timeoutMs?: number): Promise<T> {
    if (timeoutMs === undefined || !Number.isFinite(timeoutMs)) return this.promise;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new FutureTimeoutError(timeoutMs)), timeoutMs);
      this.promise.then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (e: unknown) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  }

  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.promise.then(onfulfilled, onrejected);
  }
}
