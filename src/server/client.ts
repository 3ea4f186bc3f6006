/**
 * The GenServer client functions, each in two forms with the same parameters: `call`, `cast`,
 * `stop` and `whereis` act through the current node (the running process's, else the default
 * node); `callOn`, `castOn`, `stopOn` and `whereisOn` take the `Node` to act through first — for
 * programs with several nodes and code outside any process, where the current node is not the
 * one you mean. Each addresses a server by pid, local name, `{ name, node }` or via-name, and is
 * typed from the protocol of a `ServerRef`. `reply` answers a deferred call from anywhere.
 * Imports `process`, and its own `protocol`, `errors`, `server-process` (the wire tags).
 */
import { CallExitError, NoProcError } from "../process/errors.js";
import { currentNodeOrDefault, type Dest, type From, type Node } from "../process/node.js";
import { Pid } from "../process/pid.js";
import { StopTimeoutError } from "./errors.js";
import {
  type CallArgs,
  type CallName,
  type CallReply,
  type CastArgs,
  type CastName,
  type ClientProtocol,
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
export function call<P extends Protocol, K extends CallName<ClientProtocol<P>>>(
  server: ServerDest<P>,
  name: K,
  ...args: CallArgs<ClientProtocol<P>, K>
): Promise<CallReply<ClientProtocol<P>, K>>;
export function call(
  server: ServerDest<any>,
  name: string,
  arg?: unknown,
  timeoutMs?: number,
): Promise<unknown> {
  return callThrough(currentNodeOrDefault(), server, name, arg, timeoutMs);
}

/** `call` through `node`: typed the same, with the node to call from first. */
export function callOn<P extends Protocol, K extends CallName<ClientProtocol<P>>>(
  node: Node,
  server: ServerDest<P>,
  name: K,
  ...args: CallArgs<ClientProtocol<P>, K>
): Promise<CallReply<ClientProtocol<P>, K>>;
export function callOn(
  node: Node,
  server: ServerDest<any>,
  name: string,
  arg?: unknown,
  timeoutMs?: number,
): Promise<unknown> {
  return callThrough(node, server, name, arg, timeoutMs);
}

function callThrough(
  node: Node,
  server: ServerDest<any>,
  name: string,
  arg: unknown,
  timeoutMs = 5000,
): Promise<unknown> {
  const dest = resolveDest(server);
  if (dest === undefined) return Promise.reject(new CallExitError("noproc", server));
  return node.callTagged(dest, GEN_CALL, name, arg, timeoutMs);
}

/** Sends a cast. Never fails: a dead or unknown target drops it, as OTP does. */
export function cast<P extends Protocol, K extends CastName<ClientProtocol<P>>>(
  server: ServerDest<P>,
  name: K,
  ...args: CastArgs<ClientProtocol<P>, K>
): void;
export function cast(server: ServerDest<any>, name: string, arg?: unknown): void {
  castThrough(currentNodeOrDefault(), server, name, arg);
}

/** `cast` through `node`. */
export function castOn<P extends Protocol, K extends CastName<ClientProtocol<P>>>(
  node: Node,
  server: ServerDest<P>,
  name: K,
  ...args: CastArgs<ClientProtocol<P>, K>
): void;
export function castOn(node: Node, server: ServerDest<any>, name: string, arg?: unknown): void {
  castThrough(node, server, name, arg);
}

function castThrough(node: Node, server: ServerDest<any>, name: string, arg: unknown): void {
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
export function stop(
  server: ServerDest<any>,
  reason: unknown = "normal",
  timeoutMs = Number.POSITIVE_INFINITY,
) {
  return stopOn(currentNodeOrDefault(), server, reason, timeoutMs);
}

/** `stop` through `node` (a server on another node of the cluster included). */
export async function stopOn(
  node: Node,
  server: ServerDest<any>,
  reason: unknown = "normal",
  timeoutMs = Number.POSITIVE_INFINITY,
): Promise<void> {
  const dest = resolveDest(server);
  if (dest === undefined) throw new CallExitError("noproc", server);
  try {
    await node.call(dest, (from) => [GEN_STOP, from, reason], timeoutMs);
  } catch (e) {
    // The server exited with the reason asked for before the reply left (a remote one, say).
    if (e instanceof CallExitError && e.reason === reason) return;
    if ((e as { code?: string }).code === "HV_ERR_CALL_TIMEOUT")
      throw new StopTimeoutError(server, timeoutMs);
    throw e;
  }
}

/**
 * The pid behind a server destination: a pid as is when it is another node's (unchecked: ask
 * `isAliveOn` / `node.lookup`), a pid of this node only while it is alive, a local name's or a
 * via-name's holder; `undefined` otherwise, and for `{ name, node }` of another node (its name is
 * not looked up there: `node.lookup({ name, node })` does).
 */
export function whereis(server: ServerDest<any>): Pid | undefined {
  return whereisOn(currentNodeOrDefault(), server);
}

/** `whereis` through `node`: its local names, its processes. */
export function whereisOn(node: Node, server: ServerDest<any>): Pid | undefined {
  const dest = resolveDest(server);
  if (dest === undefined) return undefined;
  if (dest instanceof Pid) return node.isLocal(dest) ? (node.isAlive(dest) ? dest : undefined) : dest;
  return node.resolve(dest);
}
