/**
 * System messages that the runtime puts into mailboxes: `ExitMessage` for a trapping process that
 * receives an exit signal, `DownMessage` for a monitor that fires. Imports `pid`.
 */
import type { Pid, Ref } from "./pid.js";

/**
 * `{:EXIT, from, reason}`: delivered instead of dying to a process that traps exits.
 * @category models
 */
export class ExitMessage {
  readonly type = "EXIT" as const;
  constructor(
    readonly from: Pid,
    readonly reason: unknown,
  ) {}
}

/**
 * `{:DOWN, ref, :process, pid, reason}`: a monitor fired. Sent once per monitor, for every reason.
 * @category models
 */
export class DownMessage {
  readonly type = "DOWN" as const;
  constructor(
    readonly ref: Ref,
    readonly pid: Pid,
    readonly reason: unknown,
  ) {}
}

/** Type guard for `ExitMessage`. */
export function isExitMessage(msg: unknown): msg is ExitMessage {
  return msg instanceof ExitMessage;
}

/** Type guard for `DownMessage`. */
export function isDownMessage(msg: unknown): msg is DownMessage {
  return msg instanceof DownMessage;
}
