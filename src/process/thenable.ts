/**
 * `isThenable`: whether a value is a promise or any other thenable — how the runtime and the
 * behaviours tell a handler, start function or stop that went async from one that answered at
 * once. `undefined` is tested first: it is what almost every synchronous handler returns. Imports
 * nothing.
 */

/** True for an object with a `then` method (a promise or another thenable). */
export function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    v !== undefined &&
    v !== null &&
    typeof (v as { then?: unknown }).then === "function" &&
    typeof v === "object"
  );
}
