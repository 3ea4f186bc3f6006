/**
 * `startNodeThreads`: one hubvisor node per worker thread of this process — a node per core in
 * one program. Each thread makes its node, joins one cluster over the thread transport (frames
 * go straight from thread to thread over `MessagePort`s), imports the module it is given and runs
 * its main, which registers the thread's behaviours: functions do not cross threads, so what a
 * node can run is what its thread's module registered (`docs/differences.md`). The returned
 * `NodeThreads` lets nodes of this thread join the same cluster, injects faults, and stops all.
 * Imports the cluster and process layers, the thread transport and its own files.
 */
import { extname } from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { MessageChannel, type MessagePort, Worker } from "node:worker_threads";
import { Cluster, type ClusterOptions } from "../cluster/index.js";
import { Node } from "../process/node.js";
import { NodeThreadStartError, NodeThreadTimeoutError } from "../transports/threads/errors.js";
import { ThreadNetwork } from "../transports/threads/network.js";
import type { Transport } from "../cluster/transport.js";
import { type NodeThreadsNatsOptions, type NodeThreadsOptions, parseNodeThreadsOptions } from "./options.js";
import type { BootData, FromThread, ToThread } from "./protocol.js";

const here = fileURLToPath(import.meta.url);
const BOOT = new URL(`./boot${extname(here)}`, import.meta.url);

/**
 * The entry of a thread. From the built package, the boot module itself. From the TypeScript
 * sources (tests, tsx), a few lines that register tsx's loader in the thread first: loader hooks
 * are per thread, and `--import tsx` in a worker's `execArgv` does not install them on Node 20.
 */
function entry(): URL | string {
  if (extname(here) !== ".ts") return BOOT;
  // Resolved here (the thread's eval code has no module of its own); the ESM build, whose hooks
  // are the ones `import()` uses.
  const api = createRequire(import.meta.url)
    .resolve("tsx/esm/api")
    .replace(/\.cjs$/, ".mjs");
  const tsx = pathToFileURL(api).href;
  return `import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(BOOT.href)}); })`;
}

/** One started thread. */
interface NodeThread {
  readonly name: string;
  readonly worker: Worker;
  readonly boot: MessagePort;
  /** Resolves with the exit code once the thread has ended. */
  readonly exited: Promise<number>;
}

/**
 * Starts `threads` nodes, one per worker thread, joined into one cluster, and resolves once every
 * thread's main has run. Fails with `NodeThreadStartError` (a module that does not load, a main
 * that throws, a thread that exits) or `NodeThreadTimeoutError`, having ended every thread.
 * @category cluster
 */
export async function startNodeThreads(options: NodeThreadsOptions): Promise<NodeThreads> {
  const o = parseNodeThreadsOptions(options);
  const network = new ThreadNetwork();
  const main = entry();
  const threads: NodeThread[] = o.names.map((name, index) => {
    // Over NATS the port stays unbound and unused: the thread's node never attaches to `network`.
    const control = network.workerPort();
    const { port1: boot, port2: bootFar } = new MessageChannel();
    const data: BootData = {
      module: o.module,
      name,
      index,
      names: o.names,
      cluster: o.cluster,
      data: o.data,
      quiet: o.quiet,
      nats: o.nats,
      control: control.port,
      boot: bootFar,
    };
    const worker = new Worker(main, {
      eval: typeof main === "string",
      workerData: data,
      transferList: [control.port, bootFar],
      ...(o.execArgv !== undefined ? { execArgv: o.execArgv } : {}),
      ...(o.resourceLimits !== undefined ? { resourceLimits: o.resourceLimits } : {}),
    });
    if (o.nats === undefined) control.bind(worker);
    const exited = new Promise<number>((resolve) => worker.once("exit", resolve));
    return { name, worker, boot, exited };
  });
  const handle = new NodeThreads(o.cluster, network, threads, o.nats);
  try {
    await Promise.all(threads.map((t) => ready(t, o.startTimeoutMs)));
  } catch (e) {
    await Promise.all(threads.map((t) => t.worker.terminate()));
    throw e;
  }
  return handle;
}

function ready(t: NodeThread, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let error = "";
    const timer = setTimeout(() => reject(new NodeThreadTimeoutError(t.name, timeoutMs)), timeoutMs);
    const done = (fn: () => void) => {
      clearTimeout(timer);
      t.boot.off("message", onMessage);
      fn();
    };
    const onMessage = (m: FromThread) => {
      if (m.t === "ready") done(resolve);
      else if (m.t === "failed") done(() => reject(new NodeThreadStartError(t.name, m.reason)));
    };
    t.boot.on("message", onMessage);
    t.worker.once("error", (err) => {
      error = err instanceof Error ? err.message : String(err);
    });
    void t.exited.then((code) =>
      done(() => reject(new NodeThreadStartError(t.name, error || `the thread exited with code ${code}`))),
    );
  });
}

/**
 * The node threads of one `startNodeThreads`: their names, their network, fault injection, and
 * `join` for nodes of this thread.
 * @category cluster
 */
export class NodeThreads {
  private readonly byName: Map<string, NodeThread>;
  private readonly joined: Cluster[] = [];
  private stopping: Promise<void> | null = null;
  /** Over NATS: each paused thread's flag (`pause`), 1 while it must stay blocked. */
  private readonly pauseFlags = new Map<string, Int32Array>();

  /** @internal */
  constructor(
    /** The cluster the nodes joined. */
    readonly cluster: string,
    /**
     * Their switchboard (for `kill`, `pause`, `partition` … by node name). Over NATS it holds no
     * node (the threads are reached over NATS); `kill`, `pause` and `resume` of this class still work.
     */
    readonly network: ThreadNetwork,
    threads: NodeThread[],
    /** The NATS transport options the threads joined with, if they did. */
    readonly nats?: NodeThreadsNatsOptions | undefined,
  ) {
    this.byName = new Map(threads.map((t) => [t.name, t]));
  }

  /** The node threads' names, in order. */
  get names(): string[] {
    return [...this.byName.keys()];
  }

  /**
   * Joins a node of this thread (a `Node`, or a new one by this name) to the threads' cluster:
   * it reaches them, and they it, over the same ports. Left again by `stop()`.
   */
  async join(
    node: Node | string,
    options: Omit<Partial<ClusterOptions>, "node" | "cluster" | "transport"> = {},
  ) {
    const n = typeof node === "string" ? new Node({ name: node }) : node;
    let transport: Transport;
    if (this.nats === undefined) transport = this.network.transport();
    else {
      const { NatsTransport } = await import("../transports/nats/nats-transport.js");
      transport = new NatsTransport({ ...this.nats, ...(options.logger ? { logger: options.logger } : {}) });
    }
    const c = await Cluster.join({ ...options, node: n, cluster: this.cluster, transport });
    this.joined.push(c);
    return c;
  }

  /** Resolves with a thread's exit code once it has ended. */
  exited(name: string): Promise<number> {
    const t = this.byName.get(name);
    return t === undefined ? Promise.resolve(0) : t.exited;
  }

  /** Ends a node's thread at once, as SIGKILL would; its peers see it `connection_lost`. */
  kill(name: string): void {
    if (this.nats === undefined) this.network.kill(name);
    else void this.byName.get(name)?.worker.terminate();
  }

  /** Blocks a node's thread until `resume` (a long synchronous stretch): nobody declares it down. */
  pause(name: string): void {
    if (this.nats === undefined) return this.network.pause(name);
    const t = this.byName.get(name);
    if (t === undefined || this.pauseFlags.has(name)) return;
    const flag = new SharedArrayBuffer(4);
    const f = new Int32Array(flag);
    f[0] = 1;
    this.pauseFlags.set(name, f);
    t.boot.postMessage({ t: "pause", flag } satisfies ToThread);
  }

  resume(name: string): void {
    if (this.nats === undefined) return this.network.resume(name);
    const f = this.pauseFlags.get(name);
    if (f === undefined) return;
    this.pauseFlags.delete(name);
    Atomics.store(f, 0, 0);
    Atomics.notify(f, 0);
  }

  /**
   * Stops everything: nodes of this thread leave, then each thread's node leaves the cluster and
   * the thread ends; a thread that does not end within `timeoutMs` is terminated. Idempotent.
   */
  stop(timeoutMs = 5000): Promise<void> {
    this.stopping ??= (async () => {
      for (const name of [...this.pauseFlags.keys()]) this.resume(name);
      for (const c of this.joined) await c.leave().catch(() => {});
      await Promise.all(
        [...this.byName.values()].map(async (t) => {
          try {
            t.boot.postMessage({ t: "stop" } satisfies ToThread);
          } catch {
            // ended already
          }
          const timer = setTimeout(() => void t.worker.terminate(), timeoutMs);
          await t.exited;
          clearTimeout(timer);
          t.boot.close();
        }),
      );
    })();
    return this.stopping;
  }
}
