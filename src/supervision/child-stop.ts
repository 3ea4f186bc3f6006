/**
 * Stopping one child per its shutdown, the OTP way — the one implementation behind Supervisor,
 * DynamicSupervisor, Parent and the hub's local children. The owner is unlinked first (so no EXIT
 * for this child is left in its mailbox), then the child is sent `kill` (`brutal_kill`) or the
 * stop reason, and killed when its `shutdown` ms pass (`infinity`: waited for as long as it
 * takes). A child that dies at once — the common case, a child not trapping exits — costs no
 * exit hook, timer, closure or promise: its exit reason comes back synchronously. Only a child
 * that lingers (trapping exits) gets an exit hook and a timer on the node's timer wheel.
 *
 * What differs between the users is a parameter: the reason sent (`shutdown` for supervisors,
 * any reason for Parent and the hub), and what a child found already dead gives (`ALREADY_DEAD`,
 * or with `takeQueuedExit` — Parent's rule, OTP's `monitor_child` — the reason of its EXIT still
 * queued in the owner's mailbox, taken out). A child on another node is unlinked and signalled
 * without waiting (no exit hook crosses nodes; its own node enforces the kill).
 *
 * Imports `process` (internal `Node` and `Proc` access) and its own `child-spec` type.
 */
import { isNormalOrShutdown } from "../process/exit-reason.js";
import { ExitMessage } from "../process/messages.js";
import type { Node } from "../process/node.js";
import type { Pid } from "../process/pid.js";
import { type Proc, Status } from "../process/proc.js";
import type { Shutdown } from "./child-spec.js";

/** Sentinel reason of a child that was already gone when its owner came to stop it. */
export const ALREADY_DEAD = "noproc";

/**
 * Stops `pid`, a child of `owner`, per `shutdown`, sending `reason` (unless `brutal_kill`).
 * Returns the child's exit reason at once when it died synchronously (or was already dead, or
 * lives on another node: then `reason`), else a promise of it that never rejects.
 */
export function stopChild(
  node: Node,
  owner: Pid,
  pid: Pid,
  shutdown: Shutdown,
  reason: unknown = "shutdown",
  takeQueuedExit = false,
): unknown {
  const p = node.proc(pid);
  if (p === undefined) return notHere(node, owner, pid, shutdown, reason, takeQueuedExit);
  node.unlink(pid, owner);
  node.exit(pid, shutdown === "brutal_kill" ? "kill" : reason, owner);
  if (isDead(p)) return p.exitReason;
  return awaitExit(node, owner, p, shutdown);
}

/**
 * The first half of a concurrent shutdown (DynamicSupervisor signals every child, then waits):
 * unlinks and signals a local child; returns it when it is still alive (pass it to `awaitExit`),
 * null when it died at once or was already gone.
 */
export function signalChild(
  node: Node,
  owner: Pid,
  pid: Pid,
  shutdown: Shutdown,
  reason: unknown = "shutdown",
): Proc | null {
  const p = node.proc(pid);
  if (p === undefined) {
    notHere(node, owner, pid, shutdown, reason, false);
    return null;
  }
  node.unlink(pid, owner);
  node.exit(pid, shutdown === "brutal_kill" ? "kill" : reason, owner);
  return isDead(p) ? null : p;
}

/** The second half: waits for a signalled child, killing it when `shutdown` ms pass. */
export function awaitExit(node: Node, owner: Pid, p: Proc, shutdown: Shutdown): Promise<unknown> {
  return new Promise((resolve) => {
    if (p.status === Status.Dead) {
      resolve(p.exitReason);
      return;
    }
    const timer =
      typeof shutdown === "number"
        ? node.wheel.add(shutdown, () => node.exit(p.pid, "kill", owner))
        : shutdown === "brutal_kill"
          ? node.wheel.add(0, () => node.exit(p.pid, "kill", owner))
          : null;
    node.onExit(p.pid, (_pid, r) => {
      if (timer !== null) node.wheel.cancel(timer);
      resolve(r);
    });
  });
}

/**
 * Whether a stopped child's exit reason is what its shutdown should give: `killed` for
 * `brutal_kill`, `shutdown` otherwise; `normal`, `{ shutdown: … }` and already gone are clean
 * too. Anything else is a supervisor's `shutdown_error` report.
 */
export function stoppedCleanly(shutdown: Shutdown, reason: unknown): boolean {
  const expected = shutdown === "brutal_kill" ? "killed" : "shutdown";
  return reason === expected || reason === ALREADY_DEAD || isNormalOrShutdown(reason);
}

/** A pid with no live local process: already dead here, or a child on another node. */
function notHere(
  node: Node,
  owner: Pid,
  pid: Pid,
  shutdown: Shutdown,
  reason: unknown,
  takeQueuedExit: boolean,
): unknown {
  if (node.isLocal(pid)) return takeQueuedExit ? takeExit(node, owner, pid) : ALREADY_DEAD;
  node.unlink(pid, owner);
  node.exit(pid, shutdown === "brutal_kill" ? "kill" : reason, owner);
  return reason;
}

/** The reason of a child that died before its owner stopped it, from its queued EXIT. */
function takeExit(node: Node, owner: Pid, pid: Pid): unknown {
  const p = node.proc(owner);
  if (p === undefined) return ALREADY_DEAD;
  const r = p.take((m) => m instanceof ExitMessage && m.from.equals(pid));
  return r.found ? (r.msg as ExitMessage).reason : ALREADY_DEAD;
}

/** Re-reads the status after a signal (TypeScript narrowed it before the call). */
function isDead(p: Proc): boolean {
  return p.status === Status.Dead;
}
