/**
 * `hub.drain()` for a rolling deploy: every child of the drained node goes to its owner on the
 * ring without it — under hot swap with its state — and is confirmed there before the hub stops;
 * the result counts them (`migrated`), and nothing is lost or left running twice.
 */
import { afterEach, describe, expect, it } from "vitest";
import { InvalidOptionError } from "../../src/errors.js";
import { ProcessHub } from "../../src/hub/process-hub.js";
import { silentLogger } from "../../src/logger.js";
import { GenServer } from "../../src/server/index.js";
import { startMemoryCluster } from "../../src/testing.js";
import { stateful } from "./strategies/harness.js";

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => {});
  cleanup = [];
});

async function threeNodes(migration: { type: "hotSwap" } | { type: "coldSwap" }) {
  const { nodes, clusters } = await startMemoryCluster(["da", "db", "dc"]);
  const hubs = nodes.map((node, i) =>
    ProcessHub.start({
      hubId: "drain",
      node,
      cluster: clusters[i]!,
      behaviours: { stateful },
      migration,
      logger: silentLogger,
    }),
  );
  cleanup.push(async () => {
    for (const h of hubs) await h.stop();
    for (const c of clusters) await c.leave();
  });
  await expect.poll(() => hubs.every((h) => h.nodes().length === 2)).toBe(true);
  return hubs as [ProcessHub, ProcessHub, ProcessHub];
}

const specs = Array.from({ length: 60 }, (_, i) => ({ id: `d${i}`, behaviour: "stateful" }));

describe("hub.drain", () => {
  for (const type of ["hotSwap", "coldSwap"] as const) {
    it(`${type}: moves every local child to its next owner, confirmed, then stops the hub`, async () => {
      const [a, b, c] = await threeNodes({ type });
      const r = await b.startChildren(specs, { awaitable: true }).await(10_000);
      expect(r.errors).toEqual([]);
      for (const s of specs) await GenServer.callOn(b.node, b.getPid(s.id)!, "add", 5);
      const onA = [...a.localChildren().keys()];
      expect(onA.length).toBeGreaterThan(0);

      const d = await a.drain({ deadlineMs: 10_000 });
      expect(d).toEqual({ migrated: onA.length, forced: 0 });
      expect(a.isAlive()).toBe(false);
      await expect.poll(() => b.nodes().join()).toBe("dc");
      // Every child runs once, on b or c; the registries agree.
      await expect
        .poll(() => b.localChildren().size + c.localChildren().size, { timeout: 10_000 })
        .toBe(specs.length);
      await expect.poll(() => b.registryDigest() === c.registryDigest()).toBe(true);
      const where = new Set([...b.localChildren().keys(), ...c.localChildren().keys()]);
      expect(where.size).toBe(specs.length);
      // Hot swap carried the drained children's state; cold swap started them afresh.
      const want = type === "hotSwap" ? 5 : 0;
      for (const id of onA)
        expect(await GenServer.callOn(b.node, b.getPid(id)!, "get", undefined)).toBe(want);
    });
  }

  it("on a hub alone, stops it and counts every child as forced", async () => {
    const { nodes, clusters } = await startMemoryCluster(["dz"]);
    const hub = ProcessHub.start({
      hubId: "drain1",
      node: nodes[0]!,
      cluster: clusters[0]!,
      behaviours: { stateful },
      logger: silentLogger,
    });
    cleanup.push(() => clusters[0]!.leave());
    await hub.startChildren(specs.slice(0, 3), { awaitable: true }).await(5000);
    expect(await hub.drain()).toEqual({ migrated: 0, forced: 3 });
    expect(hub.isAlive()).toBe(false);
  });
});

describe("hub.migrate", () => {
  for (const type of ["hotSwap", "coldSwap"] as const) {
    it(`${type}: moves one child to the node named, pinned there`, async () => {
      const [a, b, c] = await threeNodes({ type });
      await a.startChildren(specs, { awaitable: true }).await(10_000);
      const id = specs.map((s) => s.id).find((i) => a.ownerOf(i) === "db")!;
      await GenServer.callOn(a.node, a.getPid(id)!, "add", 7);
      const pid = await c.migrate(id, "dc", { timeoutMs: 10_000 });
      expect(pid.node).toBe("dc");
      await expect.poll(() => b.localChildren().has(id)).toBe(false);
      expect(c.localChildren().has(id)).toBe(true);
      expect(await GenServer.callOn(c.node, pid, "get", undefined)).toBe(type === "hotSwap" ? 7 : 0);
      // Off its owner, but pinned: every node counts it as placed.
      for (const h of [a, b, c]) await h.awaitSettled({ timeoutMs: 10_000 });
      // Pinned: the rebalance after the next topology change (a leaves) leaves it on dc,
      // although db owns it on the ring.
      await a.stop();
      await expect.poll(() => b.nodes().join() + c.nodes().join()).toBe("dcdb");
      await expect.poll(() => b.registryDigest() === c.registryDigest()).toBe(true);
      expect(c.localChildren().has(id)).toBe(true);
      expect(b.getPids(id).map((p) => p.node)).toEqual(["dc"]);
    });
  }

  it("refuses a node outside the hub, and an id that runs nowhere", async () => {
    const [a] = await threeNodes({ type: "coldSwap" });
    await expect(a.migrate("nothing", "db")).rejects.toMatchObject({ code: "HV_ERR_HUB_CHILD_NOT_RUNNING" });
    await expect(a.migrate("nothing", "elsewhere")).rejects.toBeInstanceOf(InvalidOptionError);
  });
});
