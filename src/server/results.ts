/**
 * What GenServer callbacks return, and small constructors for them. Results are plain objects
 * discriminated by key (`reply`, `noreply`, `stop`; `ok`, `ignore`, `stop` for init) so handlers
 * can also write them literally. Imports nothing.
 */

/** Result of `init`. */
export type InitResult<S> = { ok: S; continue?: unknown } | { ignore: true } | { stop: unknown };

/** Result of a call handler: reply now, reply later (`noreply`), or stop. */
export type CallResult<R, S> =
  | { reply: R; state: S; continue?: unknown }
  | { noreply: true; state: S; continue?: unknown }
  | { stop: unknown; state: S; reply?: R };

/** Result of cast, info and continue handlers. */
export type NoReplyResult<S> = { noreply: true; state: S; continue?: unknown } | { stop: unknown; state: S };

/** `init` succeeded with `state`; with `cont`, `handleContinue(cont)` runs before any message. */
export function ok<S>(state: S, cont?: unknown): InitResult<S> {
  return cont === undefined ? { ok: state } : { ok: state, continue: cont };
}

/** `init` declines to start: the start returns `ignore` and the process exits `normal`. */
export function ignore(): { ignore: true } {
  return { ignore: true };
}

/** A call handler result: reply `value` now and continue with `state`. */
export function reply<R, S>(value: R, state: S, cont?: unknown): CallResult<R, S> {
  return cont === undefined ? { reply: value, state } : { reply: value, state, continue: cont };
}

/** A handler result: no reply now (a call is answered later with `GenServer.reply`). */
export function noreply<S>(state: S, cont?: unknown): { noreply: true; state: S; continue?: unknown } {
  return cont === undefined ? { noreply: true, state } : { noreply: true, state, continue: cont };
}

/** Stop with `reason` after replying `replyValue` (calls only) and running `terminate`. */
export function stop<S, R = never>(
  reason: unknown,
  state: S,
  replyValue?: R,
): { stop: unknown; state: S; reply?: R } {
  return replyValue === undefined ? { stop: reason, state } : { stop: reason, state, reply: replyValue };
}

/** Result of `GenServer.start` (and of every child start function): OTP's on_start. */
export type StartResult<T = import("../process/pid.js").Pid> =
  | { ok: true; pid: T; info?: unknown }
  | { ok: false; ignore: true }
  | { ok: false; error: unknown };
