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
