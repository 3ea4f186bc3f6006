/**
 * Supervisor reports, sent to the node's pluggable (pino-compatible) logger like OTP's
 * supervisor reports: a child terminated abnormally, failed to start, was restarted, did not
 * shut down cleanly, or the restart intensity was reached. Each report names the supervisor
 * (pid and registered name), the child (id, pid), the reason and, for errors, the stack.
 * Normal and shutdown exits are not reported. Imports `process` and the root `errors`.
 */
import { show } from "../errors.js";
import { formatReason, isNormalOrShutdown } from "../process/exit-reason.js";
import type { Node } from "../process/node.js";
import type { Pid } from "../process/pid.js";
import type { Proc } from "../process/proc.js";

function idField(id: unknown): unknown {
  return id === undefined ? undefined : typeof id === "string" ? id : show(id);
}

function fields(sup: Proc, id: unknown, pid: Pid | undefined, reason: unknown): Record<string, unknown> {
  return {
    supervisor: String(sup.pid),
    supervisorName: sup.name,
    id: idField(id),
    pid: pid === undefined ? undefined : String(pid),
    reason: formatReason(reason),
    stack: reason instanceof Error ? reason.stack : undefined,
  };
}

/** A child exited abnormally (`child_terminated`). */
export function reportChildTerminated(node: Node, sup: Proc, id: unknown, pid: Pid, reason: unknown): void {
  if (isNormalOrShutdown(reason)) return;
  node.logger.error(fields(sup, id, pid, reason), "supervisor: child terminated");
}

/** A child's start function failed (`start_error`). */
export function reportStartError(node: Node, sup: Proc, id: unknown, reason: unknown): void {
  node.logger.error(fields(sup, id, undefined, reason), "supervisor: child failed to start");
}

/** A child was restarted. */
export function reportRestarted(node: Node, sup: Proc, id: unknown, pid: Pid | undefined): void {
  node.logger.info(
    { supervisor: String(sup.pid), supervisorName: sup.name, id: idField(id), pid: pid && String(pid) },
    "supervisor: child restarted",
  );
}

/** Stopping a child ended with an unexpected reason (`shutdown_error`). */
export function reportShutdownError(node: Node, sup: Proc, id: unknown, pid: Pid, reason: unknown): void {
  node.logger.error(fields(sup, id, pid, reason), "supervisor: child shutdown error");
}

/** Too many restarts: the supervisor gives up and exits `shutdown`. */
export function reportMaxIntensity(node: Node, sup: Proc, id: unknown, reason: unknown): void {
  node.logger.error(
    fields(sup, id, undefined, reason),
    "supervisor: reached max restart intensity, shutting down",
  );
}
