/**
 * Calling a supervisor from any process or from outside one: `supervisorCall` (the one call
 * wrapper of Supervisor, DynamicSupervisor and ParentClient: on the supervisor's own node when
 * it is known, waiting forever by default as OTP's supervisor API does), the client functions
 * both supervisors answer alike (`whichChildren`, `countChildren`) and `stopSupervisor`. Keeps
 * the node of every live supervisor by pid (`trackSupervisor`), so a program with several
 * `Node`s reaches a supervisor on any of them. Imports `process`, `server`, its own `results`.
 */
import { CallExitError, CallTimeoutError } from "../process/errors.js";
import { currentNodeOrDefault, type Dest, type Node } from "../process/node.js";
import { Pid } from "../process/pid.js";
import { StopTimeoutError } from "../server/errors.js";
import { callOn } from "../server/gen-server.js";
import { isViaName, type ServerDest } from "../server/protocol.js";
import { GEN_STOP } from "../server/server-process.js";
import type { ChildCounts, ChildInfo } from "./results.js";

/** The node of each live supervisor, by pid key. */
const supervisorNodes = new Map<string, Node>();
/** The same by the pid object a start returned: what callers pass, found without building a key. */
const supervisorByPid = new WeakMap<Pid, Node>();

/** Remembers the node of a new supervisor until it exits. */
export function trackSupervisor(node: Node, pid: Pid): void {
  const key = pid.key;
  supervisorNodes.set(key, node);
  supervisorByPid.set(pid, node);
  node.onExit(pid, () => {
    supervisorNodes.delete(key);
    supervisorByPid.delete(pid);
  });
}

/** The live supervisors (Supervisor, DynamicSupervisor) of `node`, for observers. */
export function supervisorsOn(node: Node): Pid[] {
  const out: Pid[] = [];
  for (const [key, n] of supervisorNodes) {
    if (n !== node) continue;
    // A key is `node.id.creation`; node names may hold dots, numbers never do.
    const parts = key.split(".");
    out.push(new Pid(node.name, Number(parts[parts.length - 2]), Number(parts[parts.length - 1])));
  }
  return out;
}

function nodeFor(sup: ServerDest<unknown>): Node {
  if (!(sup instanceof Pid)) return currentNodeOrDefault();
  return supervisorByPid.get(sup) ?? supervisorNodes.get(sup.key) ?? currentNodeOrDefault();
}

/**
 * Sends request `op` to a supervisor (or a parent server) and waits, forever by default, through
 * `node`: by default the supervisor's own node when it is a tracked supervisor (a parent server
 * is not: `ParentClient` passes the current node and skips the lookup). A dead or unknown one
 * rejects with `CallExitError` (`noproc`).
 */
export function supervisorCall<T>(
  sup: ServerDest<unknown>,
  op: string,
  arg: unknown,
  timeoutMs = Number.POSITIVE_INFINITY,
  node: Node = nodeFor(sup),
): Promise<T> {
  return callOn(node, sup as ServerDest<any>, op, arg, timeoutMs) as Promise<T>;
}

/** `whichChildren` of either supervisor (each documents its order). */
export function whichChildren(sup: ServerDest<unknown>): Promise<ChildInfo[]> {
  return supervisorCall(sup, "whichChildren", undefined);
}

/** `countChildren` of either supervisor. */
export function countChildren(sup: ServerDest<unknown>): Promise<ChildCounts> {
  return supervisorCall(sup, "countChildren", undefined);
}

/**
 * Stops a supervisor with `reason` and resolves once it is dead (as `GenServer.stop`, on the
 * supervisor's own node). Rejects `CallExitError` (`noproc`) for a dead one, `StopTimeoutError`.
 */
export async function stopSupervisor(
  sup: ServerDest<unknown>,
  reason: unknown = "normal",
  timeoutMs = Number.POSITIVE_INFINITY,
): Promise<void> {
  const node = nodeFor(sup);
  const dest: Dest | undefined = isViaName(sup) ? sup.via.whereisName(sup.key) : (sup as Dest);
  if (dest === undefined) throw new CallExitError("noproc", sup);
  try {
    await node.call(dest, (from) => [GEN_STOP, from, reason], timeoutMs);
  } catch (e) {
    if (e instanceof CallExitError && e.reason === reason) return;
    if (e instanceof CallTimeoutError) throw new StopTimeoutError(sup, timeoutMs);
    throw e;
  }
}
