/**
 * Test harness of the hub strategy tests: hubs on a `MemoryNetwork` (partition, heal, kill,
 * pause) with per-hub strategy options, and `placementProblem`, the generalised invariant:
 * every id runs exactly on its replicas (or, for placed children, exactly once), no pid is dead,
 * and every registry is identical; `scriptedHub`, one real hub node beside peers a test scripts.
 */
import { expect, vi } from "vitest";
import { Cluster } from "../../../src/cluster/index.js";
import type { HubWireMsg } from "../../../src/hub/messages.js";
import { clusterMembership, type HubMembership } from "../../../src/hub/membership.js";
import { type HubOptions, ProcessHub } from "../../../src/hub/process-hub.js";
import { withHandover } from "../../../src/hub/strategies/handover.js";
import { isRedundancySignal, type RedundancyMode } from "../../../src/hub/strategies/redundancy.js";
import { silentLogger } from "../../../src/logger.js";
import { Node } from "../../../src/process/node.js";
import type { Pid } from "../../../src/process/pid.js";
import { defineServer, noreply, ok, reply } from "../../../src/server/index.js";
import { Supervisor } from "../../../src/supervision/index.js";
import { MemoryNetwork } from "../../../src/transports/memory/index.js";

interface StatefulProtocol {
  calls: { get(): number; add(n: number): number; mode(): RedundancyMode | null };
  casts: Record<string, never>;
}

interface StatefulState {
  n: number;
  mode: RedundancyMode | null;
}

/** A counter that records its redundancy mode and hands its count over on hot swap. */
export const stateful = withHandover(
  defineServer<StatefulProtocol>()({
    name: "stateful",
    init: (start: number | null) => ok<StatefulState>({ n: start ?? 0, mode: null }),
    handleCall: {
      get: (_a, s) => reply(s.n, s),
      add: (n, s) => reply(s.n + n, { ...s, n: s.n + n }),
      mode: (_a, s) => reply(s.mode, s),
    },
    handleInfo: (m, s) => noreply(isRedundancySignal(m) ? { ...s, mode: m.mode } : s),
  }),
  {
    prepareHandoverState: (s: StatefulState) => s.n,
    receiveHandoverState: (n, s: StatefulState) => ({ ...s, n: n as number }),
  },
);

/** Marks a child collected; after a heal the winner keeps the union of both copies' marks. */
export const ledger = withHandover(
  defineServer<{ calls: { mark(tag: string): true; marks(): string[]; heals(): number }; casts: {} }>()({
    name: "ledger",
    init: () => ok({ marks: [] as string[], heals: 0 }),
    handleCall: {
      mark: (tag, s) => reply(true as const, { ...s, marks: [...s.marks, tag] }),
      marks: (_a, s) => reply([...new Set(s.marks)].sort(), s),
      heals: (_a, s) => reply(s.heals, s),
    },
  }),
  {
    prepareHandoverState: (s: { marks: string[]; heals: number }) => s,
    receiveHandoverState: (d, s, info) => {
      const data = d as { marks: string[]; heals: number };
      if (info.reason === "migration") return data;
      return { marks: [...s.marks, ...data.marks], heals: s.heals + data.heals + 1 };
    },
  },
);

export const behaviours = { stateful };

/** A membership whose peers come and go when the test says so. */
export function scriptedMembership() {
  const down: Array<(n: string) => void> = [];
  const membership: HubMembership = {
    peers: () => [],
    onPeerUp: () => () => {},
    onPeerDown: (l) => {
      down.push(l);
      return () => {};
    },
  };
  const lose = (n: string) => {
    for (const l of down) l(n);
  };
  return { membership, lose };
}

/** Hub `a` with scripted peers; `sent` records every hub message a sends to another node. */
export function scriptedHub(hubId: string, extra: Partial<HubOptions> = {}) {
  const { membership, lose } = scriptedMembership();
  const node = new Node({ name: "a", logger: silentLogger });
  const sent: Array<{ to: string; msg: HubWireMsg }> = [];
  const send = node.send.bind(node);
  vi.spyOn(node, "send").mockImplementation((dest, msg) => {
    const to = (dest as { node?: unknown }).node;
    if (typeof to === "string" && to !== "a") sent.push({ to, msg: msg as HubWireMsg });
    else send(dest, msg);
  });
  const hub = ProcessHub.start({
    hubId,
    node,
    membership,
    behaviours,
    logger: silentLogger,
    clusterEventDebounceMs: 5,
    ...extra,
  });
  return { hub, core: hub.core, node, sent, lose };
}

/** Hub timings of the strategy tests: quick debounce, sync and discovery. */
export const TEST_TUNING = {
  clusterEventDebounceMs: 5,
  syncIntervalMs: 200,
  discoverIntervalMs: 100,
} as const;

export function specs(n: number, prefix = "c") {
  return Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, behaviour: "stateful" }));
}

export class StrategyHarness {
  readonly network: MemoryNetwork;
  readonly hubs = new Map<string, ProcessHub>();
  readonly clusters = new Map<string, Cluster>();
  private static seq = 0;
  private readonly name = `strat${StrategyHarness.seq++}`;

  constructor(
    readonly options: Partial<HubOptions> = {},
    networkOptions: { timeoutMs?: number; random?: () => number } = {},
  ) {
    this.network = new MemoryNetwork({ timeoutMs: 60, ...networkOptions });
  }

  async add(name: string, extra: Partial<HubOptions> = {}): Promise<ProcessHub> {
    const node = await this.join(name);
    const hub = ProcessHub.start(this.hubOptions(node, extra));
    this.hubs.set(name, hub);
    return hub;
  }

  /** Adds a hub node whose hub runs under a Supervisor (`ProcessHub.childSpec`). */
  async addSupervised(name: string, extra: Partial<HubOptions> = {}): Promise<{ hub: ProcessHub; sup: Pid }> {
    const node = await this.join(name);
    const r = await Supervisor.startLink([ProcessHub.childSpec(this.hubOptions(node, extra))], {
      strategy: "one_for_one",
      node,
    });
    if (!r.ok) throw new Error("supervisor did not start");
    const hub = ProcessHub.get("strat", node);
    this.hubs.set(name, hub);
    return { hub, sup: r.pid };
  }

  private async join(name: string): Promise<Node> {
    const node = new Node({ name, logger: silentLogger });
    const cluster = await Cluster.join({
      node,
      cluster: this.name,
      transport: this.network.transport(node),
      logger: silentLogger,
    });
    this.clusters.set(name, cluster);
    return node;
  }

  hubOptions(node: Node, extra: Partial<HubOptions> = {}): HubOptions {
    return {
      hubId: "strat",
      node,
      membership: clusterMembership(this.clusters.get(node.name)!),
      behaviours,
      logger: silentLogger,
      ...TEST_TUNING,
      ...this.options,
      ...extra,
    };
  }

  /** SIGKILL: the node and every process on it die at once (`MemoryNetwork.kill`). */
  kill(name: string): void {
    this.hubs.delete(name);
    this.clusters.delete(name);
    this.network.kill(name);
  }

  /** SIGSTOP: the node runs nothing and exchanges nothing; peers drop it after the timeout. */
  pause(name: string): void {
    this.network.pause(name);
  }

  /** SIGCONT: overdue timeouts, then held mail, then the network's news (see `MemoryNetwork.resume`). */
  resume(name: string): void {
    this.network.resume(name);
  }

  /** Waits until each listed group of hubs knows exactly its own members. */
  async formed(groups: string[][] = [[...this.hubs.keys()]], timeout = 5000): Promise<void> {
    await expect
      .poll(
        () =>
          groups.every((g) => {
            const want = [...g].sort().join();
            return g.every((n) => this.hubs.get(n)?.nodes({ includeLocal: true }).join() === want);
          }),
        { timeout },
      )
      .toBe(true);
  }

  /** What is wrong with the placement of `ids` over `names` (default: all hubs), or "ok". */
  placementProblem(ids: readonly string[], names = [...this.hubs.keys()], placed = false): string {
    const hubs = names.map((n) => this.hubs.get(n)!);
    const ref = hubs[0]!;
    const digest = ref.registryDigest();
    for (const h of hubs) if (h.registryDigest() !== digest) return `registry of ${h.node.name} differs`;
    if (ref.registryDump().size !== ids.length)
      return `registry holds ${ref.registryDump().size}, want ${ids.length}`;
    let want = 0;
    for (const id of ids) {
      const l = ref.childLookup(id);
      if (l === undefined) return `${id} missing`;
      const nodes = l.nodes.map((p) => p.node).sort();
      if (placed) {
        if (nodes.length !== 1) return `${id} runs ${nodes.length} times`;
      } else {
        const replicas = [...ref.replicasOf(id)].sort();
        if (nodes.join() !== replicas.join()) return `${id} on ${nodes.join()}, replicas ${replicas.join()}`;
      }
      want += nodes.length;
      for (const { node, pid } of l.nodes) {
        const host = this.hubs.get(node);
        if (host === undefined || !host.node.isAlive(pid)) return `${id}'s pid ${pid} is not alive`;
      }
    }
    let live = 0;
    for (const h of hubs) live += h.localChildren().size;
    if (live !== want) return `${live} local children, want ${want}`;
    return "ok";
  }

  async converged(ids: readonly string[], names?: string[], placed = false, timeout = 10_000): Promise<void> {
    await expect.poll(() => this.placementProblem(ids, names, placed), { timeout, interval: 20 }).toBe("ok");
  }

  async close(): Promise<void> {
    for (const h of this.hubs.values()) await h.stop().catch(() => {});
    for (const c of this.clusters.values()) await c.leave().catch(() => {});
    this.hubs.clear();
    this.clusters.clear();
  }
}
