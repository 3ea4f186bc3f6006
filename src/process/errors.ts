/**
 * Errors of the process layer. Imports the root `errors`.
 */
import { HubvisorError, show } from "../errors.js";
import type { Pid } from "./pid.js";

/** A name is already registered to another live process. */
export class NameTakenError extends HubvisorError {
  constructor(
    readonly processName: string,
    readonly holder: Pid,
  ) {
    super("HV_ERR_NAME_TAKEN", `name ${show(processName)} is already registered to ${holder}`);
  }
}

/** The target process does not exist (dead pid or unknown name): OTP's `noproc`. */
export class NoProcError extends HubvisorError {
  readonly reason = "noproc";
  constructor(readonly target: unknown) {
    super("HV_ERR_NOPROC", `no process: ${show(target)}`);
  }
}

/** An operation that must run inside a process was called outside one. */
export class NotInProcessError extends HubvisorError {
  constructor(operation: string) {
    super(
      "HV_ERR_NOT_IN_PROCESS",
      `${operation} must be called from inside a process (or be given a context)`,
    );
  }
}

/** A remote pid was used on a node that is not part of a cluster. */
export class NotDistributedError extends HubvisorError {
  constructor(readonly target: Pid) {
    super(
      "HV_ERR_NOT_DISTRIBUTED",
      `${target} lives on node ${show(target.node)} but this node is not in a cluster`,
    );
  }
}

/** A second `receive` while one is pending, or a receive in a process driven by handlers. */
export class ReceiveError extends HubvisorError {
  constructor(message: string) {
    super("HV_ERR_RECEIVE", message);
  }
}

/**
 * A call failed because its target is dead, died before replying, or its node went down. `reason`
 * is the target's exit reason (`noproc` for a dead target, `noconnection` for a lost node).
 */
export class CallExitError extends HubvisorError {
  constructor(
    readonly reason: unknown,
    readonly target: unknown,
  ) {
    super("HV_ERR_CALL_EXIT", `call to ${show(target)} failed: ${reasonText(reason)}`);
  }
}

/** A call got no reply within its timeout. */
export class CallTimeoutError extends HubvisorError {
  readonly reason = "timeout";
  constructor(
    readonly target: unknown,
    readonly timeoutMs: number,
  ) {
    super("HV_ERR_CALL_TIMEOUT", `call to ${show(target)} timed out after ${timeoutMs} ms`);
  }
}

function reasonText(reason: unknown): string {
  return reason instanceof Error ? `${reason.name}: ${reason.message}` : show(reason);
}
