/**
 * ProcessHub strategy integration tests over the memory transport: replication (factor, modes,
 * redundancy signals), cold swap with replication, hot swap with handoff (on join and on
 * graceful shutdown), static / dynamic / majority quorum, divergence, gossip start and stop,
 * interval sync under gossip, and load-aware placement. Each ends with the placement invariant.
 */
import { afterEach, describe, expect, it } from "vitest";
import { HubPartitionedError } from "../../../src/hub/strategies/errors.js";
import type { Pid } from "../../../src/process/pid.js";
import { GenServer } from "../../../src/server/index.js";
import { Supervisor } from "../../../src/supervision/index.js";
import { withHandover } from "../../../src/hub/strategies/handover.js";
import { behaviours, ledger, specs, StrategyHarness, stateful } from "./harness.js";

let h: StrategyHarness | undefined;
const setup = (...a: ConstructorParameters<typeof StrategyHarness>) => {
  h = new StrategyHarness(...a);
  return h;
};
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const ids = (n: number, p = "c") => specs(n, p).map((s) => s.id);

async function callOn(hh: StrategyHarness, pid: Pid, name: string, arg?: unknown): Promise<unknown> {
  const host = [...hh.hubs.values()].find((x) => x.node.name === pid.node)!;
  return GenServer.callOn(host.node, pid, name, arg);
}

describe("redundancy", () => {
  it("replicates each child on exactly `factor` nodes, all active (active/active)", async () => {
    const hh = setup({ redundancy: { type: "replication", factor: 2 } });
    const a = await hh.add("a");
    await hh.add("b");
    await hh.add("c");
    await hh.formed();
    const r = await a.startChildren(specs(100), { awaitable: true }).await(5000);
    expect(r.status).toBe("ok");
    expect(r.started.every((s) => s.nodes.length === 2)).toBe(true);
    await hh.converged(ids(100));
    const l = a.childLookup("c1")!;
    for (const { pid } of l.nodes) await expect.poll(() => callOn(hh, pid, "mode")).toBe("active");
  });

  it('replicates on every node with factor "cluster"; active/passive signals follow the active replica', async () => {
    const hh = setup({ redundancy: { type: "replication", factor: "cluster", mode: "activePassive" } });
    const a = await hh.add("a");
    await hh.add("b");
    await hh.add("c");
    await hh.formed();
    await a.startChildren(specs(30), { awaitable: true }).await(5000);
    await hh.converged(ids(30));
    const modes = async (id: string) => {
      const out: Record<string, unknown> = {};
      for (const { node, pid } of a.childLookup(id)?.nodes ?? []) out[node] = await callOn(hh, pid, "mode");
      return out;
    };
    const id = ids(30).find((x) => a.replicasOf(x)[0] === "c")!;
    const [, second, third] = a.replicasOf(id);
    await expect.poll(() => modes(id)).toEqual({ c: "active", [second!]: "passive", [third!]: "passive" });
    hh.kill("c");
    await hh.formed();
    await hh.converged(ids(30));
    // The next replica on the ring took over and was told so; the third stays passive.
    await expect.poll(() => modes(id)).toEqual({ [second!]: "active", [third!]: "passive" });
  });

  it("cold-swaps replicated children to a joining node (coldswap with replication)", async () => {
    const hh = setup({ redundancy: { type: "replication", factor: 2 } });
    const a = await hh.add("a");
    await hh.add("b");
    await hh.add("c");
    await hh.formed();
    await a.startChildren(specs(200), { awaitable: true }).await(5000);
    await hh.converged(ids(200));
    await hh.add("d");
    await hh.formed();
    await hh.converged(ids(200));
    expect(hh.hubs.get("d")!.localChildren().size).toBeGreaterThan(0);
  });
});

describe("migration", () => {
  it("hot-swaps children to a joining node handing their state over (hotswap with handoff)", async () => {
    const hh = setup({ migration: { type: "hotSwap", retentionMs: 3000 } });
    const a = await hh.add("a");
    await hh.add("b");
    await hh.formed();
    await a.startChildren(specs(100), { awaitable: true }).await(5000);
    await hh.converged(ids(100));
    for (const [i, id] of ids(100).entries()) await callOn(hh, a.getPid(id)!, "add", i + 1);
    const received: string[] = [];
    const c = await hh.add("c", {
      hooks: { handoverReceived: (d: { id: string; ok: boolean }) => d.ok && received.push(d.id) },
    });
    await hh.formed();
    await hh.converged(ids(100));
    const onC = [...c.localChildren().keys()];
    expect(onC.length).toBeGreaterThan(10);
    expect(new Set(received)).toEqual(new Set(onC));
    for (const [i, id] of ids(100).entries()) expect(await callOn(hh, a.getPid(id)!, "get")).toBe(i + 1);
  });

  it("hands every local child's state to its next owner on a graceful stop (hotswap on shutdown)", async () => {
    const hh = setup({ migration: { type: "hotSwap", retentionMs: 3000 } });
    const a = await hh.add("a");
    const b = await hh.add("b");
    await hh.add("c");
    await hh.formed();
    await a.startChildren(specs(150), { awaitable: true }).await(5000);
    await hh.converged(ids(150));
    for (const [i, id] of ids(150).entries()) await callOn(hh, a.getPid(id)!, "add", i + 1);
    const leaving = [...b.localChildren().keys()];
    expect(leaving.length).toBeGreaterThan(10);
    await b.stop();
    hh.hubs.delete("b");
    await hh.formed();
    await hh.converged(ids(150));
    for (const [i, id] of ids(150).entries()) expect(await callOn(hh, a.getPid(id)!, "get")).toBe(i + 1);
  });
});

describe("migration to a joining node", () => {
  it("every registry shows the children moved to a joiner without waiting for the anti-entropy round", async () => {
    // No periodic sync within the test: only deltas can tell `a` what now runs on `b`.
    const hh = setup({ migration: { type: "hotSwap", retentionMs: 5000 }, syncIntervalMs: 600_000 });
    const a = await hh.add("a");
    await a.startChildren(specs(3000), { awaitable: true }).await(10_000);
    await hh.converged(ids(3000));
    const b = await hh.add("b");
    await hh.formed();
    await hh.converged(ids(3000));
    expect(b.localChildren().size).toBeGreaterThan(1000);
    // `a` stopping hands the rest over; its deltas and b's must still be in order (no resync).
    await a.stop();
    hh.hubs.delete("a");
    await hh.converged(ids(3000));
    expect(b.localChildren().size).toBe(3000);
  });
});

describe("migration: handover refused by the receiver", () => {
  it("keeps the old copy with its state and stops the new one when receiveHandoverState throws", async () => {
    const flaky = withHandover(stateful, {
      prepareHandoverState: (s: { n: number }) => s.n,
      receiveHandoverState: () => {
        throw new Error("cannot take state");
      },
    });
    const hh = setup({
      migration: { type: "hotSwap", retentionMs: 3000 },
      behaviours: { ...behaviours, flaky },
    });
    const a = await hh.add("a");
    await hh.add("b");
    await hh.formed();
    const fl = Array.from({ length: 40 }, (_, i) => ({ id: `f${i}`, behaviour: "flaky" }));
    await a.startChildren(fl, { awaitable: true }).await(5000);
    const flIds = fl.map((s) => s.id);
    await hh.converged(flIds, undefined, true);
    for (const id of flIds) await callOn(hh, a.getPid(id)!, "add", 7);
    const refused: string[] = [];
    await hh.add("c", {
      hooks: { handoverReceived: (d: { id: string; ok: boolean }) => !d.ok && refused.push(d.id) },
    });
    await hh.formed();
    await expect.poll(() => refused.length).toBeGreaterThan(0);
    await hh.converged(flIds, undefined, true);
    for (const id of flIds) expect(await callOn(hh, a.getPid(id)!, "get")).toBe(7);
  });
});

describe("migration under a Supervisor", () => {
  it("hands every local child's state over when the supervisor stops the hub (hotswap on shutdown)", async () => {
    const hh = setup({ migration: { type: "hotSwap", retentionMs: 3000 } });
    const a = await hh.add("a");
    const { hub: b, sup } = await hh.addSupervised("b");
    await hh.add("c");
    await hh.formed();
    await a.startChildren(specs(150), { awaitable: true }).await(5000);
    await hh.converged(ids(150));
    for (const [i, id] of ids(150).entries()) await callOn(hh, a.getPid(id)!, "add", i + 1);
    const leaving = [...b.localChildren().keys()];
    expect(leaving.length).toBeGreaterThan(10);
    await Supervisor.stop(sup);
    expect(b.isAlive()).toBe(false);
    hh.hubs.delete("b");
    await hh.formed();
    await hh.converged(ids(150));
    for (const [i, id] of ids(150).entries()) expect(await callOn(hh, a.getPid(id)!, "get")).toBe(i + 1);
  });
});

describe("partition tolerance", () => {
  it("static quorum: the minority stops its children, refuses calls, and restores them on heal", async () => {
    const locks: Array<{ locked: boolean; reason?: string }> = [];
    const hh = setup({ partition: { type: "static", quorumSize: 2 } });
    const a = await hh.add("a", { hooks: { lockStateChanged: (d) => locks.push(d) } });
    const b = await hh.add("b");
    await hh.add("c");
    await hh.formed();
    await b.startChildren(specs(300), { awaitable: true }).await(5000);
    await hh.converged(ids(300));
    hh.network.partition(["a"], ["b", "c"]);
    await expect.poll(() => a.isPartitioned()).toBe(true);
    await expect.poll(() => a.localChildren().size).toBe(0);
    expect(() => a.startChild({ id: "x", behaviour: "stateful" })).toThrow(HubPartitionedError);
    expect(() => a.stopChild("c1")).toThrow(HubPartitionedError);
    await hh.formed([["a"], ["b", "c"]]);
    await hh.converged(ids(300), ["b", "c"]);
    expect(locks).toContainEqual({ locked: true, reason: "partition" });
    hh.network.heal();
    await hh.formed();
    await expect.poll(() => a.isPartitioned()).toBe(false);
    await hh.converged(ids(300));
    expect(a.localChildren().size).toBeGreaterThan(0);
    expect(locks).toContainEqual({ locked: false, reason: "partition" });
  });

  it("dynamic quorum: judges the nodes lost within the window", async () => {
    const hh = setup({ partition: { type: "dynamic", quorumPercent: 60, windowMs: 60_000 } });
    const a = await hh.add("a");
    const b = await hh.add("b");
    await hh.add("c");
    await hh.formed();
    await b.startChildren(specs(200), { awaitable: true }).await(5000);
    hh.network.partition(["a"], ["b", "c"]);
    await hh.formed([["a"], ["b", "c"]]);
    await expect.poll(() => a.isPartitioned()).toBe(true);
    expect(b.isPartitioned()).toBe(false);
    await hh.converged(ids(200), ["b", "c"]);
    expect(a.localChildren().size).toBe(0);
    hh.network.heal();
    await hh.formed();
    await expect.poll(() => a.isPartitioned()).toBe(false);
    await hh.converged(ids(200));
  });

  it("majority quorum: tracks the largest hub seen; resetClusterSize accepts an intended downsize", async () => {
    const hh = setup({ partition: { type: "majority" } });
    const a = await hh.add("a");
    await hh.add("b");
    await hh.add("c");
    await hh.formed();
    await a.startChildren(specs(100), { awaitable: true }).await(5000);
    await hh.converged(ids(100));
    hh.kill("c");
    await hh.formed();
    await hh.converged(ids(100)); // 2 of 3: still a majority
    expect(a.isPartitioned()).toBe(false);
    hh.kill("b");
    await hh.formed();
    await expect.poll(() => a.isPartitioned()).toBe(true); // 1 of 3
    expect(a.localChildren().size).toBe(0);
    a.resetClusterSize(1);
    await expect.poll(() => a.isPartitioned()).toBe(false);
    await hh.converged(ids(100));
  });

  it("divergence: both sides run every child during a split; one copy each after it heals", async () => {
    const stopped: string[] = [];
    const onDup = (d: { id: string; handedOver: boolean }) => {
      // Cold swap: nothing is handed over.
      expect(d.handedOver).toBe(false);
      stopped.push(d.id);
    };
    const hh = setup();
    const a = await hh.add("a", { hooks: { duplicateStopped: onDup } });
    await hh.add("b", { hooks: { duplicateStopped: onDup } });
    await hh.formed();
    await a.startChildren(specs(200), { awaitable: true }).await(5000);
    await hh.converged(ids(200));
    hh.network.partition(["a"], ["b"]);
    await hh.formed([["a"], ["b"]]);
    await hh.converged(ids(200), ["a"]);
    await hh.converged(ids(200), ["b"]);
    hh.network.heal();
    await hh.formed();
    await hh.converged(ids(200));
    expect(stopped.length).toBeGreaterThan(0);
  });
});

describe("divergence under hot swap", () => {
  it("after a heal the losing copy hands its state to the winner, which ends on the ring owner with both", async () => {
    const duplicates: Array<{ id: string; handedOver: boolean }> = [];
    const onDup = (d: { id: string; handedOver: boolean }) => duplicates.push(d);
    const hh = setup({
      migration: { type: "hotSwap", retentionMs: 3000 },
      behaviours: { ...behaviours, ledger },
    });
    const a = await hh.add("a", { hooks: { duplicateStopped: onDup } });
    const b = await hh.add("b", { hooks: { duplicateStopped: onDup } });
    const c = await hh.add("c", { hooks: { duplicateStopped: onDup } });
    await hh.formed();
    const list = Array.from({ length: 60 }, (_, i) => ({ id: `l${i}`, behaviour: "ledger" }));
    const lids = list.map((x) => x.id);
    await a.startChildren(list, { awaitable: true }).await(5000);
    await hh.converged(lids);
    for (const id of lids) await callOn(hh, a.getPid(id)!, "mark", "before");

    hh.network.partition(["a", "b"], ["c"]);
    await hh.formed([["a", "b"], ["c"]]);
    await hh.converged(lids, ["a", "b"]);
    await hh.converged(lids, ["c"]);
    for (const id of lids) {
      await callOn(hh, b.getPid(id)!, "mark", "side-ab");
      await callOn(hh, c.getPid(id)!, "mark", "side-c");
    }

    hh.network.heal();
    await hh.formed();
    await hh.converged(lids);
    // Every child had one copy per side: each heal stopped one copy, having handed it over.
    await expect.poll(() => duplicates.length).toBe(lids.length);
    expect(duplicates.every((d) => d.handedOver)).toBe(true);
    expect(new Set(duplicates.map((d) => d.id))).toEqual(new Set(lids));
    for (const id of lids) {
      expect(await callOn(hh, a.getPid(id)!, "marks")).toEqual(["before", "side-ab", "side-c"]);
      expect(await callOn(hh, a.getPid(id)!, "heals")).toBe(1);
    }
  });
});

describe("synchronization", () => {
  it("gossip: starts and stops children over five nodes", async () => {
    const hh = setup({ synchronization: { type: "gossip", recipients: 2, intervalMs: 150 } });
    const a = await hh.add("a");
    for (const n of ["b", "c", "d", "e"]) await hh.add(n);
    await hh.formed();
    const r = await a.startChildren(specs(500), { awaitable: true }).await(5000);
    expect(r.status).toBe("ok");
    await hh.converged(ids(500));
    const s = await hh.hubs.get("c")!.stopChildren(ids(500), { awaitable: true }).await(5000);
    expect(s.stopped).toHaveLength(500);
    await hh.converged([]);
  });

  it("gossip: interval sync repairs a corrupted replica", async () => {
    const hh = setup({ synchronization: { type: "gossip", recipients: 1, intervalMs: 100 } });
    const a = await hh.add("a");
    const b = await hh.add("b");
    await hh.add("c");
    await hh.formed();
    await a.startChildren(specs(60), { awaitable: true }).await(5000);
    await hh.converged(ids(60));
    b.core.registry.dropNode("a");
    expect(b.registryDigest()).not.toBe(a.registryDigest());
    await hh.converged(ids(60));
  });
});

describe("distribution", () => {
  it("load-aware: new children go to the least-loaded nodes", async () => {
    const hh = setup({
      distribution: { type: "loadAware", reportIntervalMs: 30, weights: { lag: 0, memory: 0 } },
    });
    const a = await hh.add("a");
    await hh.add("b");
    await hh.add("c");
    await hh.formed();
    // Load node a by hand (guided), then let the strategy place 300 more.
    await a
      .startChildren(specs(200, "pre"), {
        awaitable: true,
        childMapping: Object.fromEntries(ids(200, "pre").map((i) => [i, "a"])),
      })
      .await(5000);
    await expect.poll(() => a.core.loads.get("a")?.children).toBe(200);
    await expect.poll(() => hh.hubs.get("b")!.core.loads.get("a")?.children).toBe(200);
    const r = await hh.hubs.get("b")!.startChildren(specs(300), { awaitable: true }).await(5000);
    expect(r.status).toBe("ok");
    const per = (n: string) => r.started.filter((s) => s.nodes[0]!.node === n).length;
    // Children-only weights: fill b and c up to a's 200 first, then spread evenly.
    expect(per("a")).toBeLessThan(per("b"));
    expect(per("b") + per("c")).toBeGreaterThanOrEqual(290);
    await hh.converged([...ids(200, "pre"), ...ids(300)], undefined, true);
  });
});
