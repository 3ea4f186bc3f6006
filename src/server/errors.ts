/**
 * Errors of the GenServer layer. Imports the root `errors`.
 */
import { HubvisorError, show } from "../errors.js";

/** A call or cast named a message the server's behaviour has no handler for. */
export class UnknownMessageError extends HubvisorError {
  constructor(
    readonly kind: "call" | "cast",
    readonly message_: string,
    readonly behaviour: string | undefined,
  ) {
    super("HV_ERR_UNKNOWN_MESSAGE", `${behaviour ?? "server"} has no handler for ${kind} ${show(message_)}`);
  }
}

/** A callback returned a value that is not one of its documented results. */
export class BadReturnError extends HubvisorError {
  constructor(
    readonly callback: string,
    readonly value: unknown,
  ) {
    super("HV_ERR_BAD_RETURN", `bad return value from ${callback}: ${show(value)}`);
  }
}

/** `GenServer.stop` did not see the server exit within its timeout. */
export class StopTimeoutError extends HubvisorError {
  constructor(
    readonly target: unknown,
    readonly timeoutMs: number,
  ) {
    super("HV_ERR_STOP_TIMEOUT", `${show(target)} did not stop within ${timeoutMs} ms`);
  }
}

/** The frames (`    at …` lines) of a stack string, without its header. */
function framesOf(stack: string): string {
  return stack
    .split("\n")
    .filter((line) => /^\s+at /.test(line))
    .join("\n");
}

/**
 * A start threw (or its promise rejected) instead of returning a result: a GenServer's `init`, a
 * supervisor's or parent's child start function, a hub child's start. It stands for Elixir's
 * `{exception, stack}` / `{{:nocatch, value}, stack}`, so that a crashed start is told apart from
 * one that returned `{ ok: false, error }` (whose `error` is passed on as is). `thrown` (also the
 * standard `cause`) is the thrown value as is; `stack` is the thrown error's own frames (for a
 * thrown non-error, where the throw site is lost, the frames where it was caught).
 */
export class StartCrashError extends HubvisorError {
  /** The value thrown or rejected with, as is. */
  readonly thrown: unknown;
  constructor(
    /** What threw: `"Counter.init"`, `"child start function"`… */
    readonly callback: string,
    thrown: unknown,
  ) {
    super("HV_ERR_START_CRASH", `${callback} threw ${show(thrown)}`, { cause: thrown });
    this.thrown = thrown;
    if (thrown instanceof Error && typeof thrown.stack === "string") {
      this.stack = `${this.name}: ${this.message}\n${framesOf(thrown.stack)}`;
    }
  }
}
