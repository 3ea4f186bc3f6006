/**
 * Messages a parent sends itself: a child's lifetime `timeout` expired, a failed restart is due
 * for a retry, stopped children are to be reported. `handleMessage` recognises them (and the EXIT
 * messages of children); every other message is the host process's own business. Imports
 * `process`, its own `child-record`.
 */
import type { Pid } from "../../process/pid.js";
import type { ChildRecord, StoppedChildren } from "./child-record.js";

export class ChildTimeoutMessage {
  constructor(
    readonly owner: object,
    readonly pid: Pid,
  ) {}
}

export class RestartRetryMessage {
  constructor(
    readonly owner: object,
    /** The children to start again, in startup order. */
    readonly records: ChildRecord[],
    /** Those whose own start failed: the retry counts as a restart of each. */
    readonly failed: ChildRecord[],
  ) {}
}

export class StoppedReportMessage {
  constructor(
    readonly owner: object,
    readonly stopped: StoppedChildren,
  ) {}
}
