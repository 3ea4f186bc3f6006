/**
 * Supervisor reports, sent to the node's pluggable (pino-compatible) logger like OTP's
 * supervisor reports: a child terminated abnormally, failed to start, was restarted, did not
 * shut down cleanly, or the restart intensity was reached. Each report names the supervisor
 * (`supervisor`, and `supervisorName` when registered), the child (`id`, and its pid as
 * `process`), the reason and, for errors, the stack. The field names are `crashReport`'s (a
 * process is never `pid`, which pino writes itself in every line) and a field without a value is
 * left out, so no logger prints `id=undefined`. Normal and shutdown exits are not reported.
 * Parent uses the same fields (`reportFields`). Imports `process`, the root `errors` and `logger`.
 */
import { supervisorChannel } from "../diagnostics.js";
import { show } from "../errors.js";
import { printTerm } from "../logger.js";
import { isNormalOrShutdown } from "../process/exit-reason.js";
import type { Node } from "../process/node.js";
import { Pid } from "../process/pid.js";
import type { Proc } from "../process/proc.js";

/** No reason: a report that has none (a restart) leaves the field out. */
const NO_REASON: unique symbol = Symbol("no reason");

/**
 * The fields of a report about a child of `owner` (a supervisor or a parent, named by
 * `ownerField`): every argument that is undefined is left out; `reason` is printed as in
 * `crashReport` (bounded), an `Error`'s stack goes in `stack`.
 */
export function reportFields(
  ownerField: "supervisor" | "parent",
  owner: Proc | Pid,
  id: unknown,
  child: Pid | undefined,
  reason: unknown = NO_REASON,
): Record<string, unknown> {
  const fields: Record<string, unknown> = { [ownerField]: String(owner instanceof Pid ? owner : owner.pid) };
  const name = owner instanceof Pid ? undefined : owner.name;
  if (name !== undefined) fields[`${ownerField}Name`] = name;
  if (id !== undefined) fields.id = typeof id === "string" ? id : show(id);
  if (child !== undefined) fields.process = String(child);
  if (reason === NO_REASON) return fields;
  fields.reason = reason instanceof Error ? `${reason.name}: ${reason.message}` : printTerm(reason);
  if (reason instanceof Error && typeof reason.stack === "string") fields.stack = reason.stack;
  return fields;
}

/**
 * Publishes a report on `hubvisor:supervisor:report` (callers check `hasSubscribers`): every
 * child exit, normal ones included, so that subscribers can count them.
 */
function publish(
  kind: string,
  node: Node,
  sup: Proc,
  id: unknown,
  child: Pid | undefined,
  reason?: unknown,
): void {
  supervisorChannel.publish({
    type: `supervisor:${kind}`,
    node: node.name,
    supervisor: sup.pid,
    supervisorName: sup.name,
    id,
    child,
    reason,
  });
}

/** A child exited abnormally (`child_terminated`). */
export function reportChildTerminated(node: Node, sup: Proc, id: unknown, pid: Pid, reason: unknown): void {
  if (supervisorChannel.hasSubscribers) publish("child_terminated", node, sup, id, pid, reason);
  if (isNormalOrShutdown(reason)) return;
  node.logger.error(reportFields("supervisor", sup, id, pid, reason), "supervisor: child terminated");
}

/** A child's start function failed (`start_error`). */
export function reportStartError(node: Node, sup: Proc, id: unknown, reason: unknown): void {
  if (supervisorChannel.hasSubscribers) publish("start_error", node, sup, id, undefined, reason);
  node.logger.error(
    reportFields("supervisor", sup, id, undefined, reason),
    "supervisor: child failed to start",
  );
}

/** A child was restarted. */
export function reportRestarted(node: Node, sup: Proc, id: unknown, pid: Pid | undefined): void {
  if (supervisorChannel.hasSubscribers) publish("restarted", node, sup, id, pid);
  node.logger.info(reportFields("supervisor", sup, id, pid), "supervisor: child restarted");
}

/** Stopping a child ended with an unexpected reason (`shutdown_error`). */
export function reportShutdownError(node: Node, sup: Proc, id: unknown, pid: Pid, reason: unknown): void {
  if (supervisorChannel.hasSubscribers) publish("shutdown_error", node, sup, id, pid, reason);
  node.logger.error(reportFields("supervisor", sup, id, pid, reason), "supervisor: child shutdown error");
}

/** Too many restarts: the supervisor gives up and exits `shutdown`. */
export function reportMaxIntensity(node: Node, sup: Proc, id: unknown, reason: unknown): void {
  if (supervisorChannel.hasSubscribers) publish("max_intensity", node, sup, id, undefined, reason);
  node.logger.error(
    reportFields("supervisor", sup, id, undefined, reason),
    "supervisor: reached max restart intensity, shutting down",
  );
}
