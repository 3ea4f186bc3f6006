/**
 * Options of `startNodeThreads`: one interface, one frozen default object, one parser throwing
 * `InvalidOptionError`. Imports the root `errors`.
 */
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { ResourceLimits } from "node:worker_threads";
import type { NodeConnectionOptions } from "@nats-io/transport-node";
import { InvalidOptionError } from "../errors.js";
import type { NatsTransportOptions } from "../transports/nats/options.js";

/**
 * The NATS transport options every node thread joins with (`NodeThreadsOptions.nats`): those of
 * `NatsTransport` that can cross to a thread — plain data, no logger, no existing connection, no
 * function such as an `authenticator`.
 */
export type NodeThreadsNatsOptions = Omit<NatsTransportOptions, "logger" | "connection"> & {
  connection?: NodeConnectionOptions | undefined;
};

/** Options of {@link startNodeThreads}. */
export interface NodeThreadsOptions {
  /**
   * The module every node thread imports once its node has joined the cluster: a path or `file:`
   * URL (relative paths are resolved from the working directory). Its default export (or its
   * export `start`), a {@link NodeThreadMain}, registers that thread's behaviours and starts its
   * processes: functions do not cross threads, so each thread registers its own. Required.
   */
  module: string | URL;
  /**
   * How many node threads to start: one node per thread.
   * @default os.availableParallelism() (one per core)
   */
  threads?: number | undefined;
  /**
   * The cluster the nodes join (nodes of this thread join it with `join()`).
   * @default "threads"
   */
  cluster?: string | undefined;
  /**
   * The node names, one per thread; `threads` defaults to their number when given.
   * @default ["node-0", "node-1", …]
   */
  names?: readonly string[] | undefined;
  /** Handed to every thread's main as `ctx.data` (structured clone: no functions). @default undefined */
  data?: unknown;
  /**
   * Node.js options of the worker threads. (When hubvisor runs from its TypeScript sources, as in
   * its tests, each thread registers `tsx` itself before loading them.)
   * @default the process's own (`process.execArgv`, less the flags a thread cannot take)
   */
  execArgv?: readonly string[] | undefined;
  /** Heap limits of each thread (`worker_threads` `resourceLimits`). @default Node's defaults */
  resourceLimits?: ResourceLimits | undefined;
  /**
   * How long each thread may take to join and run its main before `startNodeThreads` fails with
   * `NodeThreadTimeoutError` (and stops the threads it started).
   * @default 30000
   */
  startTimeoutMs?: number | undefined;
  /** Silence the threads' nodes and clusters (`silentLogger`) instead of logging to the console. @default false */
  quiet?: boolean | undefined;
  /**
   * Join the node threads to a NATS cluster instead of to each other over `MessagePort`s: each
   * thread is then a node of `cluster` over NATS with these options (its own connection), beside
   * the nodes of other processes and machines, so a machine contributes all its cores. Threads
   * of one process then talk over NATS too (no shortcut between them). Must be structured-
   * cloneable (no functions, no existing connection).
   * @default undefined (the thread transport)
   */
  nats?: NodeThreadsNatsOptions | undefined;
}

export interface ResolvedNodeThreadsOptions {
  module: string;
  names: string[];
  cluster: string;
  data: unknown;
  execArgv: string[] | undefined;
  resourceLimits: ResourceLimits | undefined;
  startTimeoutMs: number;
  quiet: boolean;
  nats: NodeThreadsNatsOptions | undefined;
}

/** Defaults of {@link NodeThreadsOptions} (`threads`: `os.availableParallelism()`). */
export const DEFAULT_NODE_THREADS_OPTIONS = Object.freeze({
  cluster: "threads",
  namePrefix: "node-",
  startTimeoutMs: 30_000,
  quiet: false,
});

/** Validates `NodeThreadsOptions` and fills in the defaults. */
export function parseNodeThreadsOptions(options: NodeThreadsOptions): ResolvedNodeThreadsOptions {
  if (typeof options !== "object" || options === null)
    throw new InvalidOptionError("options", "an object", options);
  const d = DEFAULT_NODE_THREADS_OPTIONS;
  const m = options.module;
  if (!(m instanceof URL) && (typeof m !== "string" || m.length === 0)) {
    throw new InvalidOptionError("module", "a module path or file URL", m);
  }
  const module =
    m instanceof URL ? m.href : /^[a-z][a-z0-9+.-]*:/i.test(m) ? m : pathToFileURL(resolve(m)).href;
  let names: string[];
  if (options.names !== undefined) {
    if (!Array.isArray(options.names) || options.names.some((n) => typeof n !== "string" || n.length === 0)) {
      throw new InvalidOptionError("names", "an array of node names", options.names);
    }
    names = [...options.names];
    if (new Set(names).size !== names.length) throw new InvalidOptionError("names", "distinct names", names);
    if (options.threads !== undefined && options.threads !== names.length) {
      throw new InvalidOptionError("threads", `names.length (${names.length})`, options.threads);
    }
  } else {
    const threads = options.threads ?? availableParallelism();
    if (!Number.isInteger(threads) || threads < 1)
      throw new InvalidOptionError("threads", "an integer >= 1", threads);
    names = Array.from({ length: threads }, (_, i) => `${d.namePrefix}${i}`);
  }
  if (names.length === 0) throw new InvalidOptionError("names", "at least one name", names);
  const cluster = options.cluster ?? d.cluster;
  if (typeof cluster !== "string" || cluster.length === 0)
    throw new InvalidOptionError("cluster", "a name", cluster);
  const execArgv = options.execArgv;
  if (execArgv !== undefined && (!Array.isArray(execArgv) || execArgv.some((a) => typeof a !== "string"))) {
    throw new InvalidOptionError("execArgv", "an array of strings", execArgv);
  }
  // Left out, Node hands the thread the process's own flags without the per-process ones.
  const argv = execArgv === undefined ? undefined : [...execArgv];
  const startTimeoutMs = options.startTimeoutMs ?? d.startTimeoutMs;
  if (typeof startTimeoutMs !== "number" || !(startTimeoutMs > 0)) {
    throw new InvalidOptionError("startTimeoutMs", "a number > 0", startTimeoutMs);
  }
  const quiet = options.quiet ?? d.quiet;
  if (typeof quiet !== "boolean") throw new InvalidOptionError("quiet", "a boolean", quiet);
  const nats = options.nats;
  if (nats !== undefined) {
    if (typeof nats !== "object" || nats === null) throw new InvalidOptionError("nats", "an object", nats);
    const plain = "connection" in nats ? nats.connection : undefined;
    if (plain !== undefined && (typeof plain !== "object" || plain === null || "publish" in plain)) {
      throw new InvalidOptionError("nats.connection", "connection options (not a NatsConnection)", plain);
    }
    try {
      structuredClone(nats);
    } catch {
      throw new InvalidOptionError("nats", "options a thread can be handed (no functions)", nats);
    }
  }
  return {
    nats,
    quiet,
    module,
    names,
    cluster,
    data: options.data,
    execArgv: argv,
    resourceLimits: options.resourceLimits,
    startTimeoutMs,
  };
}
