/**
 * Multi-node hub scenarios, written once and run over any cluster implementation: a test file
 * calls `hubScenarios(label, makeCluster)` with a factory of `HubTestCluster`. Every scenario
 * ends with `expectConverged`: every child runs exactly once, on its ring owner, and every node's
 * registry is identical. Includes ProcessHub's own integration list (reference §7), bad input
 * (unknown behaviour, also one unknown only on the owner; duplicate ids; unknown hub; stop of an
 * unknown id), a node dying mid-start, self-stopping transient children and static child specs.
 */
import { afterEach, describe, expect, it } from "vitest";
import { type HubChildSpec, normalizeChildSpec } from "../../src/hub/child-spec.js";
import { DuplicateChildIdError, UnknownHubBehaviourError, UnknownHubError } from "../../src/hub/errors.js";
import type { HubMembership } from "../../src/hub/membership.js";
import type { StartItem } from "../../src/hub/messages.js";
import { ProcessHub } from "../../src/hub/process-hub.js";
import type { StartResult } from "../../src/hub/results.js";
import type { Node } from "../../src/process/node.js";
import { defineServer, GenServer, noreply, ok, reply, stop } from "../../src/server/index.js";

/** What a scenario needs from a cluster implementation. */
export interface HubTestCluster {
  readonly kind: string;
  addNode(name: string): Promise<{ node: Node; membership: HubMembership }>;
  killNode(name: string): Promise<void>;
  close(): Promise<void>;
}

interface CounterProtocol {
  calls: { get(): number; add(n: number): number };
  casts: { crash(): void; quit(): void; shut(): void };
}

/** A stateful test child: a counter that can be told to crash, or to stop (`normal`, `shutdown`). */
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
    shut: (_a, s) => stop("shutdown", s),
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
  /** Harnesses of other hub ids on the same cluster, stopped with this one. */
  readonly others: HubHarness[] = [];
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
        for (const o of harness.others) for (const h of o.hubs.values()) await h.stop().catch(() => {});
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

    it("forwards a start routed to a node that does not own the child, awaited or not", async () => {
      const h = setup();
      const a = await h.add("a");
      const b = await h.add("b");
      await h.formed();
      const forwarded: Array<{ to: string; ids: string[] }> = [];
      b.registerHook("startForwarded", (d) => forwarded.push(d));
      // Ids a owns, sent to b by hand as a node with a stale ring would.
      const [plain, awaited] = Array.from({ length: 100 }, (_, i) => `fw${i}`).filter(
        (id) => a.ownerOf(id) === "a",
      );
      expect(awaited).toBeDefined();
      const item = (id: string): StartItem => ({
        spec: normalizeChildSpec({ id, behaviour: "counter" }),
        epoch: 1,
        pinned: false,
      });
      // Not awaited: b passes the start on to a.
      b.core.requests.start(new Map([["b", [item(plain!)]]]), { timeoutMs: 5000 });
      await expect.poll(() => forwarded).toEqual([{ to: "a", ids: [plain] }]);
      // Awaited: b tells the caller (itself here) where to, and the caller re-sends it to a.
      const r = await new Promise<StartResult>((resolve) =>
        b.core.requests.start(new Map([["b", [item(awaited!)]]]), { timeoutMs: 5000, onDone: resolve }),
      );
      expect(r.status).toBe("ok");
      expect(r.started.map((s) => [s.id, s.nodes.map((n) => n.node)])).toEqual([[awaited, ["a"]]]);
      expect(forwarded).toEqual([
        { to: "a", ids: [plain] },
        { to: "a", ids: [awaited] },
      ]);
      expect(b.localChildren().size).toBe(0);
      await h.expectConverged([plain!, awaited!]);
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
      // b died before it could get the start: every child it owned fails, nothing else does.
      const failedOnB = r.errors.filter((e) => e.node === "b");
      expect(failedOnB.length).toBeGreaterThan(0);
      expect(failedOnB).toHaveLength(r.errors.length);
      for (const e of failedOnB) expect(["node_down", "node_receive_timeout"]).toContain(e.reason);
      expect(r.started.length + r.errors.length).toBe(400);
      expect(r.nodes()).toEqual(["a"]);
      await h.formed();
      await h.expectConverged(r.started.map((s) => s.id));
    });

    it("removes transient children exiting normal or shutdown from every registry, restarts a crashed one", async () => {
      const h = setup();
      const a = await h.add("a");
      const b = await h.add("b");
      await h.formed();
      const r = await a
        .startChildren(specs(20, "t", { restart: "transient" }), { awaitable: true })
        .await(5000);
      expect(r.status).toBe("ok");
      // One victim per reason, on different nodes where the ring allows.
      const onA = r.started.filter((s) => s.nodes[0]!.node === "a");
      const onB = r.started.filter((s) => s.nodes[0]!.node === "b");
      expect(onA.length).toBeGreaterThan(2);
      expect(onB.length).toBeGreaterThan(2);
      const quits = onA[0]!;
      const shuts = onB[0]!;
      const crashes = onB[1]!;
      const cast = (c: (typeof r.started)[number], msg: "quit" | "shut" | "crash") =>
        GenServer.castOn(h.hubs.get(c.nodes[0]!.node)!.node, c.nodes[0]!.pid, msg, undefined);
      cast(quits, "quit");
      cast(shuts, "shut");
      cast(crashes, "crash");
      const gone = [quits.id, shuts.id];
      await expect.poll(() => gone.filter((id) => a.entryExists(id) || b.entryExists(id))).toEqual([]);
      await h.expectConverged(r.cids().filter((id) => !gone.includes(id)));
      expect(a.getPid(crashes.id)!.equals(crashes.nodes[0]!.pid)).toBe(false);
    });

    it("rejects bad input on a multi-node hub, and the hub carries on", async () => {
      const h = setup();
      // `extra` is registered on a only; `missing` nowhere.
      const a = await h.add("a", { behaviours: { ...behaviours, extra: counter } });
      const b = await h.add("b");
      await h.formed();
      // A node running another hub id is no member of this one.
      const other = new HubHarness(h.cluster, "other");
      const z = await other.add("z");
      h.others.push(other);
      expect(() => ProcessHub.get("test", z.node)).toThrow(UnknownHubError);
      expect(() => ProcessHub.get("other", a.node)).toThrow(UnknownHubError);
      expect(ProcessHub.get("test", b.node)).toBe(b);

      expect(() => a.startChildren([{ id: "u", behaviour: "missing" }])).toThrow(UnknownHubBehaviourError);
      expect(() => b.startChildren([...specs(3, "d"), ...specs(1, "d")], { awaitable: true })).toThrow(
        DuplicateChildIdError,
      );
      // A behaviour registered on a only goes to a, from whichever node and whoever owns the id
      // on the ring of all members (hellos say which behaviours each node registered).
      const ids = Array.from({ length: 100 }, (_, i) => `x${i}`);
      const onA = ids.find((id) => a.ownerOf(id) === "a")!;
      const onB = ids.find((id) => a.ownerOf(id) === "b")!;
      const r = await b
        .startChildren(
          [onA, onB].map((id) => ({ id, behaviour: "extra" })),
          { awaitable: true },
        )
        .await(5000);
      expect(r.errors).toEqual([]);
      expect(r.started.map((s) => [s.id, s.nodes[0]!.node])).toEqual([
        [onA, "a"],
        [onB, "a"],
      ]);

      const ok = await b.startChildren(specs(30, "g"), { awaitable: true }).await(5000);
      expect(ok.status).toBe("ok");
      const live = [onA, onB, ...ok.cids()];
      await h.expectConverged(live);
      expect(z.nodes()).toEqual([]);
      expect(a.nodes()).toEqual(["b"]);

      const s = await b.stopChildren(["ghost", "g1", "ghost2"], { awaitable: true }).await(5000);
      expect(s.stopped.map((x) => x.id)).toEqual(["g1"]);
      expect(s.errors).toEqual([
        { id: "ghost", node: undefined, reason: "not_found" },
        { id: "ghost2", node: undefined, reason: "not_found" },
      ]);
      await h.expectConverged(live.filter((id) => id !== "g1"));
    });

    it("starts static childSpecs given on three nodes exactly once, with identical registries", async () => {
      const h = setup();
      const list = specs(60, "st");
      await Promise.all(["a", "b", "c"].map((n) => h.add(n, { childSpecs: list })));
      await h.formed();
      await h.expectConverged(list.map((s) => s.id));
      // A hub joining later with the same static specs starts nothing twice either.
      await h.add("d", { childSpecs: list });
      await h.formed();
      await h.expectConverged(list.map((s) => s.id));
    });
  });
}
