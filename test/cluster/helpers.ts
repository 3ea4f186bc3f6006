/**
 * Test helpers for cluster scenarios: a harness abstraction over transports (memory now, NATS
 * later), node start-up, and tiny processes (collector, echo server) built on the process layer.
 */
import { expect } from "vitest";
import { Cluster, type ClusterOptions, type Transport } from "../../src/cluster/index.js";
import { silentLogger } from "../../src/logger.js";
import { type From, Node, type Pid } from "../../src/process/index.js";

/** What a transport offers the shared scenarios. Optional members enable fault scenarios. */
export interface ClusterHarness {
  /** A fresh transport for one node. */
  transport(): Transport | Promise<Transport>;
  /** Kills a node outright (peers see it down without a graceful leave). */
  kill?(node: string): void | Promise<void>;
  /** Splits the cluster into groups of node names. */
  partition?(groups: string[][]): void | Promise<void>;
  heal?(): void | Promise<void>;
  /** Delivers raw bytes to `node` as if `from` had sent them. */
  inject?(node: string, bytes: Uint8Array, from: string): void | Promise<void>;
  /** Releases everything the harness started. */
  close?(): Promise<void>;
  /** The cluster name to use (a harness whose NATS permissions name clusters); else a fresh one. */
  clusterName?: string;
}

/** A named way to build harnesses; `features` says which optional members it has. */
export interface HarnessFactory {
  name: string;
  features: { kill: boolean; partition: boolean; inject: boolean };
  create(): ClusterHarness | Promise<ClusterHarness>;
  /** How long nodedown by timeout may take, for polls. @default 3000 */
  downWithinMs?: number;
}

/** Starts and tracks the nodes of one test. */
export class TestCluster {
  readonly clusters: Cluster[] = [];
  constructor(
    readonly harness: ClusterHarness,
    readonly clusterName: string,
  ) {}

  async start(
    name: string,
    options: Partial<Omit<ClusterOptions, "node" | "transport" | "cluster">> & { creation?: number } = {},
  ): Promise<Cluster> {
    const { creation, ...rest } = options;
    const node = new Node({ name, logger: silentLogger, ...(creation !== undefined ? { creation } : {}) });
    const transport = await this.harness.transport();
    const c = await Cluster.join({
      node,
      cluster: this.clusterName,
      transport,
      logger: silentLogger,
      ...rest,
    });
    this.clusters.push(c);
    return c;
  }

  /** Starts nodes and waits until they all see each other. */
  async startAll(...names: string[]): Promise<Cluster[]> {
    const started: Cluster[] = [];
    for (const n of names) started.push(await this.start(n));
    await meshed(this.clusters.filter((c) => !c.isClosed));
    return started;
  }

  async stop(): Promise<void> {
    for (const c of this.clusters) await c.leave().catch(() => {});
    await this.harness.close?.();
  }
}

/** Waits until every cluster sees every other one. */
export async function meshed(clusters: Cluster[], timeout = 3000): Promise<void> {
  const names = clusters.map((c) => c.self.node).sort();
  for (const c of clusters) {
    await expect.poll(() => c.nodes(), { timeout }).toEqual(names.filter((n) => n !== c.self.node));
  }
}

let seq = 0;
/** A cluster name unique to this test run (NATS subjects are shared between tests). */
export function uniqueClusterName(prefix = "t"): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${++seq}`;
}

/** A process that keeps every message it receives (trapping exits, so EXITs arrive as messages). */
export function collector(
  node: Node,
  options: { name?: string; trapExit?: boolean } = {},
): { pid: Pid; got: unknown[] } {
  const got: unknown[] = [];
  const pid = node.spawn(
    async (ctx) => {
      if (options.trapExit !== false) ctx.trapExit(true);
      for (;;) got.push(await ctx.receive());
    },
    options.name !== undefined ? { name: options.name } : {},
  );
  return { pid, got };
}

/** A request understood by `echoServer`. */
export interface EchoRequest {
  call: true;
  from: From;
  value: unknown;
  /** Do not answer: leave the caller waiting. */
  hold?: boolean;
}

/** A process that answers each `EchoRequest` with its value, and crashes on `{ crash: reason }`. */
export function echoServer(node: Node, name?: string): Pid {
  return node.spawn(
    async (ctx) => {
      for (;;) {
        const m = (await ctx.receive()) as Partial<EchoRequest> & { crash?: unknown };
        if (m.crash !== undefined) throw m.crash;
        if (m.call === true && !m.hold) node.reply(m.from!, m.value);
      }
    },
    name !== undefined ? { name } : {},
  );
}

/** Calls an `echoServer` from outside any process. */
export function echo(
  node: Node,
  dest: Pid | { name: string; node: string },
  value: unknown,
  timeoutMs = 3000,
): Promise<unknown> {
  return node.call(dest, (from) => ({ call: true, from, value }), timeoutMs);
}
