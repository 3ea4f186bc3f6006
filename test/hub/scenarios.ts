/**
 * Multi-node hub scenarios, written once and run over any cluster implementation: a test file
 * calls `hubScenarios(label, makeCluster)` with a factory of `HubTestCluster`. Every scenario
 * ends with `expectConverged`: every child runs exactly once, on its ring owner, and every node's
 * registry is identical. Includes ProcessHub's own integration list (reference §7).
 */
import { afterEach, describe, expect, it } from "vitest";
import type { HubMembership } from "../../src/hub/membership.js";
import { ProcessHub } from "../../src/hub/process-hub.js";
import type { HubChildSpec } from "../../src/hub/child-spec.js";
import type { Node } from "../../src/process/node.js";
import { defineServer, noreply, ok, reply, stop } from "../../src/server/index.js";

/** What a scenario needs from a cluster implementation. */
export interface HubTestCluster {
  readonly kind: string;
  addNode(name: string): Promise<{ node: Node; membership: HubMembership }>;
  killNode(name: string): Promise<void>;
  close(): Promise<void>;
}

interface CounterProtocol {
  calls: { get(): number; add(n: number): number };
  casts: { crash(): void; quit(): void };
}

/** A stateful test child: a counter that can be told to crash or to quit normally. */
export const counter = defineServer<CounterProtocol>()({
  name: "counter",
  init: (start: number | null) => ok(start ?? 0),
  handleCall: {
    get: (_a, s) => reply(s, s),
    add: (n, s) => reply(s + n, s + n),
  },
  handleCast: {
    crash: () => {
      throw new Error("told to crash");
    },
    quit: (_a, s) => stop("normal", s),
  },
  handleInfo: (_m, s) => noreply(s),
});

export const behaviours = { counter };

export function specs(n: number, prefix = "c", extra: Partial<HubChildSpec> = {}): HubChildSpec[] {
  return Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, behaviour: "counter", ...extra }));
}

/** A running test cluster of hubs. */
export class HubHarness {
  readonly hubs = new Map<string, ProcessHub>();
  constructor(
    readonly cluster: HubTestCluster,
    readonly hubId = "test",
  ) {}

  async add(
    name: string,
    options: Partial<Parameters<typeof ProcessHub.start>[0]> = {},
  ): Promise<ProcessHub> {
    const { node, membership } = await this.cluster.addNode(name);
    const hub = ProcessHub.start({
      hubId: this.hubId,
      node,
      membership,
      behaviours,
      clusterEventDebounceMs: 5,
      syncIntervalMs: 200,
      discoverIntervalMs: 100,
      ...options,
    });
    this.hubs.set(name, hub);
    return hub;
  }

  async kill(name: string): Promise<void> {
    this.hubs.delete(name);
    await this.cluster.killNode(name);
  }

  /** Waits until every hub knows every other one. */
  async formed(timeout = 5000): Promise<void> {
    const names = [...this.hubs.keys()].sort();
    await expect
      .poll(
        () => [...this.hubs.values()].every((h) => h.nodes({ includeLocal: true }).join() === names.join()),
        { timeout },
      )
      .toBe(true);
  }

  /** The invariant: each of `ids` runs once, on its owner, and all registries are identical. */
  async expectConverged(ids: readonly string[], timeout = 10_000): Promise<void> {
    const hubs = [...this.hubs.values()];
    const check = (): string => {
      const digest = hubs[0]!.registryDigest();
      for (const h of hubs) if (h.registryDigest() !== digest) return `registry of ${h.node.name} differs`;
      const ref = hubs[0]!;
      if (ref.registryDump().size !== ids.length)
        return `registry holds ${ref.registryDump().size}, want ${ids.length}`;
      for (const id of ids) {
        const l = ref.childLookup(id);
        if (l === undefined) return `${id} missing`;
        if (l.nodes.length !== 1) return `${id} runs ${l.nodes.length} times`;
        const { node, pid } = l.nodes[0]!;
        const owner = ref.ownerOf(id);
        if (node !== owner) return `${id} on ${node}, owner ${owner}`;
        const host = this.hubs.get(node);
        if (host === undefined || !host.node.isAlive(pid)) return `${id}'s pid ${pid} is not alive`;
      }
      let live = 0;
      for (const h of hubs) live += h.localChildren().size;
      if (live !== ids.length) return `${live} local children, want ${ids.length}`;
      return "ok";
    };
    await expect.poll(check, { timeout, interval: 20 }).toBe("ok");
  }
}

export function hubScenarios(label: string, makeCluster: () => HubTestCluster): void {
  describe(`hub scenarios over ${label}`, () => {
    let harness: HubHarness | undefined;
    const setup = (): HubHarness => {
      harness = new HubHarness(makeCluster());
      return harness;
    };
    afterEach(async () => {
      if (harness !== undefined) {
        for (const h of harness.hubs.values()) await h.stop().catch(() => {});
        await harness.cluster.close();
      }
      harness = undefined;
    });

    it("starts and removes 1000 children across three nodes", async () => {
      const h = setup();
      const a = await h.add("a");
      await h.add("b");
      await h.add("c");
      await h.formed();
      const r = await a.startChildren(specs(1000), { awaitable: true }).await(10_000);
      expect(r.status).toBe("ok");
      expect(r.started).toHaveLength(1000);
      expect(new Set(r.nodes())).toEqual(new Set(["a", "b", "c"]));
      await h.expectConverged(specs(1000).map((s) => s.id));
      const s = await h.hubs.get("b")!.stopChildren(r.cids(), { awaitable: true }).await(10_000);
      expect(s.status).toBe("ok");
      expect(s.stopped).toHaveLength(1000);
      await h.expectConverged([]);
    });

    it("repairs a replica by interval sync (anti-entropy)", async () => {
      const h = setup();
      const a = await h.add("a");
      const b = await h.add("b");
      await h.formed();
      await a.startChildren(specs(50), { awaitable: true }).await(5000);
      await h.expectConverged(specs(50).map((s) => s.id));
      // Corrupt b's copy of a's slice behind the hub's back; the next sync must repair it.
      b.core.registry.dropNode("a");
      expect(b.registryDigest()).not.toBe(a.registryDigest());
      await h.expectConverged(specs(50).map((s) => s.id));
    });

    it("restarts crashed children locally and updates their pid everywhere", async () => {
      const h = setup();
      const a = await h.add("a");
      await h.add("b");
      await h.formed();
      const r = await a.startChildren(specs(100), { awaitable: true }).await(5000);
      const before = new Map(r.started.map((s) => [s.id, s.nodes[0]!.pid]));
      for (const [id, pid] of before) {
        const host = h.hubs.get(pid.node)!;
        host.node.exit(pid, "kill");
        expect(id).toBeTruthy();
      }
      await expect
        .poll(
          () => [...before].every(([id, pid]) => a.getPid(id) !== undefined && !a.getPid(id)!.equals(pid)),
          {
            timeout: 5000,
          },
        )
        .toBe(true);
      await h.expectConverged([...before.keys()]);
    });

    it("moves about 1/N of the children to a joining node and nothing else", async () => {
      const h = setup();
      const a = await h.add("a");
      await h.add("b");
      await h.formed();
      const r = await a.startChildren(specs(600), { awaitable: true }).await(5000);
      const before = new Map(r.started.map((s) => [s.id, s.nodes[0]!]));
      await h.add("c");
      await h.formed();
      const ids = [...before.keys()];
      await h.expectConverged(ids);
      let moved = 0;
      for (const [id, np] of before) {
        const now = a.childLookup(id)!.nodes[0]!;
        if (now.node !== np.node) {
          moved++;
          expect(now.node).toBe("c");
        } else expect(now.pid.equals(np.pid)).toBe(true);
      }
      expect(moved).toBeGreaterThan((600 / 3) * 0.6);
      expect(moved).toBeLessThan((600 / 3) * 1.4);
    });

    it("restarts a dead node's children on their new owners", async () => {
      const h = setup();
      const a = await h.add("a");
      await h.add("b");
      await h.add("c");
      await h.formed();
      await a.startChildren(specs(300), { awaitable: true }).await(5000);
      await h.expectConverged(specs(300).map((s) => s.id));
      await h.kill("c");
      await h.formed();
      await h.expectConverged(specs(300).map((s) => s.id));
    });

    it("hands a gracefully stopped node's children to the others", async () => {
      const h = setup();
      const a = await h.add("a");
      const b = await h.add("b");
      await h.formed();
      await a.startChildren(specs(100), { awaitable: true }).await(5000);
      await b.stop();
      h.hubs.delete("b");
      await h.formed();
      await h.expectConverged(specs(100).map((s) => s.id));
    });

    it("forwards a start routed to a node that no longer owns the child", async () => {
      const h = setup();
      const a = await h.add("a");
      const b = await h.add("b");
      await h.formed();
      const forwarded: string[] = [];
      b.registerHook("startForwarded", (d) => forwarded.push(...d.ids));
      const id = specs(200).find((s) => a.ownerOf(s.id) === "a")!.id;
      // Route it to b by hand, as a node with a stale ring would.
      const r = await a
        .startChildren([{ id, behaviour: "counter" }], { awaitable: true, childMapping: {} })
        .await(5000);
      expect(r.status).toBe("ok");
      b.core.dispatchStart(
        new Map([["b", [{ spec: { ...a.childLookup(id)!.spec, id: "x" }, epoch: 1, pinned: false }]]]),
        5000,
        null,
      );
      const target = a.ownerOf("x");
      if (target === "a") await expect.poll(() => forwarded.includes("x")).toBe(true);
      await h.expectConverged([id, "x"]);
    });

    it("heals a flapping node and overlapping joins and leaves", async () => {
      const h = setup();
      const a = await h.add("a");
      await h.add("b");
      await h.formed();
      await a.startChildren(specs(200), { awaitable: true }).await(5000);
      await h.add("c");
      await h.add("d");
      await h.kill("b");
      await h.add("e");
      await h.kill("d");
      await h.formed();
      await h.expectConverged(specs(200).map((s) => s.id));
    });

    it("reports a node dying mid-start as node_down, never hanging", async () => {
      const h = setup();
      const a = await h.add("a");
      await h.add("b");
      await h.formed();
      const f = a.startChildren(specs(400), { awaitable: true, timeout: 5000 });
      await h.kill("b");
      const r = await f.await(6000);
      const failedOnB = r.errors.filter((e) => e.node === "b");
      for (const e of failedOnB) expect(["node_down", "node_receive_timeout"]).toContain(e.reason);
      expect(r.started.length + r.errors.length).toBe(400);
    });

    it("removes a transient child that exits normally from every registry", async () => {
      const h = setup();
      const a = await h.add("a");
      const b = await h.add("b");
      await h.formed();
      const r = await a
        .startChildren(specs(20, "t", { restart: "transient" }), { awaitable: true })
        .await(5000);
      const victim = r.started[0]!;
      const host = h.hubs.get(victim.nodes[0]!.node)!;
      const { GenServer } = await import("../../src/server/index.js");
      GenServer.castOn(host.node, victim.nodes[0]!.pid, "quit", undefined);
      await expect.poll(() => a.entryExists(victim.id) || b.entryExists(victim.id)).toBe(false);
      await h.expectConverged(r.cids().filter((id) => id !== victim.id));
    });
  });
}
