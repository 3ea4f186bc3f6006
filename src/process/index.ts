/**
 * The process layer: pids, the local `Node` runtime, mailboxes, links, monitors, exit signals,
 * trap-exit and local names. The module-level functions act on the node of the running process,
 * or on the default node outside any process. Imports only its own files.
 */
import {
  currentNodeOrDefault,
  type Dest,
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

export function link(pid: Pid): void {
  currentNodeOrDefault().link(pid);
}

export function unlink(pid: Pid): void {
  currentNodeOrDefault().unlink(pid);
}

export function monitor(target: Pid | string): Ref {
  return currentNodeOrDefault().monitor(target);
}

export function demonitor(ref: Ref, options?: { flush?: boolean }): boolean {
  return currentNodeOrDefault().demonitor(ref, options);
}

export function isAlive(pid: Pid): boolean {
  return currentNodeOrDefault().isAlive(pid);
}

export function register(name: string, pid: Pid): void {
  currentNodeOrDefault().register(name, pid);
}

export function unregister(name: string): boolean {
  return currentNodeOrDefault().unregister(name);
}

export function whereis(name: string): Pid | undefined {
  return currentNodeOrDefault().whereis(name);
}

export function processInfo(pid: Pid): ProcessInfo | undefined {
  return currentNodeOrDefault().processInfo(pid);
}
