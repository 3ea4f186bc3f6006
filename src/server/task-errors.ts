/**
 * Errors of `Task`: an await that ran out of time, and an awaited task that exited without a
 * result. Imports the root `errors`.
 */
import { HubvisorError, show } from "../errors.js";
import { formatReason } from "../process/exit-reason.js";
import type { Pid } from "../process/pid.js";

/** `Task.await` / `Task.awaitMany` got no result within the timeout. */
export class TaskTimeoutError extends HubvisorError {
  readonly reason = "timeout";
  constructor(
    readonly task: Pid | Pid[],
    readonly timeoutMs: number,
  ) {
    super("HV_ERR_TASK_TIMEOUT", `task ${show(String(task))} gave no result within ${timeoutMs} ms`);
  }
}

/** The awaited task exited without a result; `reason` is its exit reason (the thrown error for a crash). */
export class TaskExitError extends HubvisorError {
  constructor(
    readonly task: Pid,
    readonly reason: unknown,
  ) {
    super("HV_ERR_TASK_EXIT", `task ${task} exited: ${formatReason(reason)}`, {
      cause: reason instanceof Error ? reason : undefined,
    });
  }
}

/** A task supervisor could not start a task (e.g. it reached `maxChildren`); `reason` says why. */
export class TaskStartError extends HubvisorError {
  constructor(readonly reason: unknown) {
    super("HV_ERR_TASK_START", `the task supervisor could not start the task: ${formatReason(reason)}`);
  }
}
