/**
 * Stopping one child and waiting for it, as OTP's supervisor does: unlink it first (so no EXIT
 * message is left behind in the parent's mailbox), send it the stop reason, and after the
 * shutdown budget kill it. A child that had already died before the unlink has left its EXIT
 * message in the parent's mailbox: that message is taken out and its reason reported. Imports
 * `process`, its own `child-spec`.
 */
import { ExitMessage } from "../../process/messages.js";
import type { Node } from "../../process/node.js";
import type { Pid } from "../../process/pid.js";
import type { Shutdown } from "./child-spec.js";

/**
 * Stops `pid` on behalf of `parent`; the exit reason, synchronously when the child died at once
 * (a child that does not trap exits), else through a promise.
 */
export function stopProcess(
  node: Node,
  parent: Pid,
  pid: Pid,
  reason: unknown,
  shutdown: Shutdown,
): unknown | Promise<unknown> {
  node.unlink(pid, parent);
  if (!node.isLocal(pid)) {
    // No exit hook across nodes: signal and carry on (the remote child's node enforces it).
    node.exit(pid, shutdown === "brutal_kill" ? "kill" : reason, parent);
    return reason;
  }
  if (!node.isAlive(pid)) return takeExit(node, parent, pid);
  let exitReason: unknown;
  let settled = false;
  let resolve: ((r: unknown) => void) | null = null;
  node.onExit(pid, (_p, r) => {
    settled = true;
    exitReason = r;
    resolve?.(r);
  });
  if (shutdown === "brutal_kill") node.exit(pid, "kill", parent);
  else node.exit(pid, reason, parent);
  if (settled) return exitReason;
  return new Promise((res) => {
    const timer =
      typeof shutdown === "number" ? node.wheel.add(shutdown, () => node.exit(pid, "kill", parent)) : null;
    resolve = (r) => {
      if (timer !== null) node.wheel.cancel(timer);
      res(r);
    };
  });
}

/** The reason of a child that died before the parent stopped it, from its queued EXIT. */
function takeExit(node: Node, parent: Pid, pid: Pid): unknown {
  const p = node.proc(parent);
  if (p === undefined) return "noproc";
  const r = p.take((m) => m instanceof ExitMessage && m.from.equals(pid));
  return r.found ? (r.msg as ExitMessage).reason : "noproc";
}
