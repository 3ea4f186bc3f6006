/**
 * What a node thread and its starter say over the thread's boot port, what the thread is handed
 * at start, and the shape of the user's main. Imports the cluster and process types.
 */
import type { MessagePort } from "node:worker_threads";
import type { Cluster } from "../cluster/index.js";
import type { Node } from "../process/node.js";
import type { NodeThreadsNatsOptions } from "./options.js";

/** What a node thread's main is given. */
export interface NodeThreadContext {
  /** This thread's node, joined to the cluster. */
  readonly node: Node;
  /** Its cluster membership (`registerBehaviour`, `spawnOn`, `nodes()` …). */
  readonly cluster: Cluster;
  /** This thread's position in `names`. */
  readonly index: number;
  /** Every node thread's name, in order. */
  readonly names: readonly string[];
  /** `NodeThreadsOptions.data`. */
  readonly data: unknown;
}

/**
 * The default export (or `start` export) of a node thread's module: registers the behaviours
 * and starts the processes of the thread's node. `startNodeThreads` resolves once every thread's
 * main has resolved.
 */
export type NodeThreadMain = (ctx: NodeThreadContext) => void | Promise<void>;

/** `workerData` of a node thread. */
export interface BootData {
  module: string;
  name: string;
  index: number;
  names: string[];
  cluster: string;
  data: unknown;
  quiet: boolean;
  /** Join over NATS with these options instead of over the control port. */
  nats: NodeThreadsNatsOptions | undefined;
  /** Its control port to the `ThreadNetwork` (unused with `nats`). */
  control: MessagePort;
  /** Its boot port to the starter. */
  boot: MessagePort;
}

export type FromThread = { t: "ready" } | { t: "failed"; reason: string } | { t: "stopped" };
/**
 * `pause` (a thread joined over NATS: the thread transport pauses its own) blocks the thread's
 * event loop while `flag[0]` is 1, as SIGSTOP would stop the node.
 */
export type ToThread = { t: "stop" } | { t: "pause"; flag: SharedArrayBuffer };
