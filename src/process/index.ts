/**
 * The process layer: pids, the local `Node` runtime, mailboxes, links, monitors, exit signals,
 * trap-exit and local names. The module-level functions act on the node of the running process,
 * or on the default node outside any process. Imports only its own files.
 */
import {
  currentNodeOrDefault,
  type Dest,
  type Node,
  type ProcessContext,
  type ProcessInfo,
  type SpawnOptions,
} from "./node.js";
import type { Pid, Ref } from "./pid.js";

export {
  CallExitError,
  CallTimeoutError,
  NameTakenError,
  NoProcError,
  NotDistributedError,
  NotInProcessError,
  ReceiveError,
} from "./errors.js";
export {
  type ExitReason,
  formatReason,
  isNormal,
  isNormalOrShutdown,
  isShutdown,
  shutdownWith,
} from "./exit-reason.js";
export { DownMessage, ExitMessage, isDownMessage, isExitMessage } from "./messages.js";
export {
  currentNodeOrDefault,
  currentProcess,
  type Dest,
  defaultNode,
  From,
  Node,
  type NodeOptions,
  ProcessContext,
  type ProcessInfo,
  type SpawnOptions,
  setDefaultNode,
  TIMEOUT,
  type Timeout,
} from "./node.js";
export { DEFAULT_NODE_OPTIONS, parseNodeOptions } from "./options.js";
export { isPid, Pid, Ref } from "./pid.js";
export type { RemoteRouter } from "./remote.js";

/** Spawns an async-function process on the current node. */
export function spawn(fn: (ctx: ProcessContext) => unknown, options?: SpawnOptions): Pid {
  return currentNodeOrDefault().spawn(fn, options);
}

/** Spawns a process linked to the calling one. */
export function spawnLink(fn: (ctx: ProcessContext) => unknown, options?: SpawnOptions): Pid {
  return currentNodeOrDefault().spawn(fn, { ...options, link: true });
}

/** Spawns a process and monitors it from the calling one. */
export function spawnMonitor(
  fn: (ctx: ProcessContext) => unknown,
  options?: SpawnOptions,
): { pid: Pid; ref: Ref } {
  return currentNodeOrDefault().spawnMonitor(fn, options);
}

/** Sends a message; dropped for a dead pid, `NoProcError` for an unknown local name. */
export function send(dest: Dest, msg: unknown): void {
  currentNodeOrDefault().send(dest, msg);
}

/** Sends an exit signal from the calling process (or the node's system pid). */
export function exit(pid: Pid, reason: unknown): void {
  currentNodeOrDefault().exit(pid, reason);
}

/** Links the calling process with `pid` (both directions); a dead pid gives `noproc`. */
export function link(pid: Pid): void {
  currentNodeOrDefault().link(pid);
}

/** Removes the link between the calling process and `pid`, both directions. */
export function unlink(pid: Pid): void {
  currentNodeOrDefault().unlink(pid);
}

/** Monitors `target` from the calling process; returns the ref its `DownMessage` will carry. */
export function monitor(target: Pid | string): Ref {
  return currentNodeOrDefault().monitor(target);
}

/** Stops a monitor; with `flush`, also drops its `DownMessage` if already queued. */
export function demonitor(ref: Ref, options?: { flush?: boolean }): boolean {
  return currentNodeOrDefault().demonitor(ref, options);
}

/**
 * Whether a pid of the current node names a live process (OTP's `is_process_alive`, local only:
 * false for another node's pid). `isAliveOn` answers for any pid.
 */
export function isAlive(pid: Pid): boolean {
  return currentNodeOrDefault().isAlive(pid);
}

/**
 * Whether `pid` names a live process, wherever it lives, asked through `node`: a pid of `node`
 * is answered at once, another node's pid by that node over the cluster (false when that node is
 * not connected). Rejects `CallTimeoutError` if the node does not answer within `timeoutMs`, and
 * `NotDistributedError` for another node's pid when `node` is in no cluster. OTP has no such
 * function (`is_process_alive` is local only); this is `node.lookup(pid)` as a boolean.
 */
export function isAliveOn(node: Node, pid: Pid, timeoutMs = 5000): Promise<boolean> {
  return node.lookup(pid, timeoutMs).then(isDefined);
}

const isDefined = (v: unknown): boolean => v !== undefined;

/** Registers a live process under a local name; `NameTakenError` if taken. */
export function register(name: string, pid: Pid): void {
  currentNodeOrDefault().register(name, pid);
}

/** Frees a local name; returns whether it was registered. */
export function unregister(name: string): boolean {
  return currentNodeOrDefault().unregister(name);
}

/** The pid registered under a local name, if any. */
export function whereis(name: string): Pid | undefined {
  return currentNodeOrDefault().whereis(name);
}

/** Status, mailbox length, links, monitors, name and behaviour of a live local process. */
export function processInfo(pid: Pid): ProcessInfo | undefined {
  return currentNodeOrDefault().processInfo(pid);
}
