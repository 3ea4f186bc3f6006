/**
 * The GenServer client functions: `call` (waits for the reply, typed from the protocol), `cast`,
 * `reply` (a deferred reply from anywhere), `stop` (runs `terminate`, waits for the exit) and
 * `whereis`, each addressing a server by pid, local name, `{ name, node }` or via-name; `callOn`
 * / `castOn` through an explicit node. Imports `process`, and its own `protocol`, `errors`,
 * `server-process` (the wire tags).
 */
import { CallExitError, NoProcError } from "../process/errors.js";
import { isNormalOrShutdown } from "../process/exit-reason.js";
import { currentNodeOrDefault, type Dest, type From, type Node } from "../process/node.js";
import { Pid } from "../process/pid.js";
import { StopTimeoutError } from "./errors.js";
import {
  type CallArgs,
  type CallName,
  type CallReply,
  type CastArgs,
  type CastName,
  isViaName,
  type Protocol,
  type ServerDest,
} from "./protocol.js";
import { GEN_CALL, GEN_CAST, GEN_STOP } from "./server-process.js";

function resolveDest(dest: ServerDest<unknown> | Dest): Dest | undefined {
  if (isViaName(dest)) return dest.via.whereisName(dest.key);
  return dest as Dest;
}

/**
 * Calls a server and waits for its reply, typed from the protocol. Rejects with
 * `CallTimeoutError` after `timeoutMs` (default 5000) and with `CallExitError` (carrying the exit
 * reason: `noproc`, `noconnection`, a crash) when the server is dead or dies first.
 */
export function call<P extends Protocol, K extends CallName<P>>(
  server: ServerDest<P>,
  name: K,
  ...args: CallArgs<P, K>
): Promise<CallReply<P, K>> {
  const node = currentNodeOrDefault();
  return callOn(node, server, name, args[0], args[1] ?? 5000) as Promise<CallReply<P, K>>;
}

/** `call` through an explicit node (multi-node programs, code outside any process). */
export function callOn(node: Node, server: ServerDest<any>, name: string, arg: unknown, timeoutMs = 5000) {
  const dest = resolveDest(server);
  if (dest === undefined) return Promise.reject(new CallExitError("noproc", server));
  return node.callTagged(dest, GEN_CALL, name, arg, timeoutMs);
}

/** Sends a cast. Never fails: a dead or unknown target drops it, as OTP does. */
export function cast<P extends Protocol, K extends CastName<P>>(
  server: ServerDest<P>,
  name: K,
  ...args: CastArgs<P, K>
): void {
  castOn(currentNodeOrDefault(), server, name, args[0]);
}

export function castOn(node: Node, server: ServerDest<any>, name: string, arg: unknown): void {
  const dest = resolveDest(server);
  if (dest === undefined) return;
  try {
    node.send(dest, [GEN_CAST, name, arg]);
  } catch (e) {
    if (!(e instanceof NoProcError)) throw e;
  }
}

/** Replies to a call from anywhere (a deferred reply: the handler returned `noreply`). */
export function reply(from: From, value: unknown): void {
  currentNodeOrDefault().reply(from, value);
}

/**
 * Stops a server: it runs `terminate(reason)` and exits with `reason`. Resolves once it is
 * dead; rejects with `CallExitError` (`noproc`) for a dead target, `StopTimeoutError` after
 * `timeoutMs`.
 */
export async function stop(
  server: ServerDest<any>,
  reason: unknown = "normal",
  timeoutMs = Number.POSITIVE_INFINITY,
) {
  const node = currentNodeOrDefault();
  const dest = resolveDest(server);
  if (dest === undefined) throw new CallExitError("noproc", server);
  try {
    await node.call(dest, (from) => [GEN_STOP, from, reason], timeoutMs);
  } catch (e) {
    if (e instanceof CallExitError && isNormalOrShutdown(e.reason) && e.reason === reason) return;
    if (e instanceof CallExitError && e.reason === reason) return;
    if ((e as { code?: string }).code === "HV_ERR_CALL_TIMEOUT")
      throw new StopTimeoutError(server, timeoutMs);
    throw e;
  }
}

/** Resolves a server destination to a pid, if it is alive and local (or a remote pid). */
export function whereis(server: ServerDest<any>): Pid | undefined {
  const node = currentNodeOrDefault();
  const dest = resolveDest(server);
  if (dest === undefined) return undefined;
  if (dest instanceof Pid) return node.isLocal(dest) ? (node.isAlive(dest) ? dest : undefined) : dest;
  return node.resolve(dest);
}
