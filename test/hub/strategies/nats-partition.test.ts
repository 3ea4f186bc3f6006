/**
 * The hub's partition strategies over real `nats-server`s. A network partition over NATS is made
 * with two routed servers: the nodes of one side are pinned to the server that is stopped (their
 * clients ignore the cluster's other addresses), so they lose everyone else until it is started
 * again on the same ports and they reconnect. Static quorum (the cut-off node stops its children,
 * refuses starts and stops, restores them on heal) and divergence (both sides run every child;
 * after the heal one copy each, on the ring owner; under hot swap that copy holds what both
 * sides' copies collected) use that split; dynamic and majority quorum
 * lose nodes to kills (NATS connection closed without a leave). Each ends with the placement
 * invariant of `harness.ts`.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { HubPartitionedError } from "../../../src/hub/strategies/errors.js";
import { type NatsCluster, startNatsCluster, stopAllNatsServers } from "../../support/nats-server.js";
import { behaviours, ledger, specs } from "./harness.js";
import { natsBeds } from "./nats-bed.js";

let servers: Promise<NatsCluster> | undefined;
const routed = () => (servers ??= startNatsCluster(2, "hvpart"));
/** The server the bulk of the nodes use; the other one is the one a partition stops. */
const url = async () => (await routed()).urls[0]!;
afterAll(stopAllNatsServers);

const setup = natsBeds(url);
afterEach(async () => {
  // A failed test may leave the second server stopped.
  const c = await routed();
  if (!c.servers[1]!.running) await c.servers[1]!.start();
  await c.waitForRoutes();
});

/** Cuts the nodes pinned to the second server off from the rest. */
async function split(): Promise<void> {
  await (await routed()).servers[1]!.stop();
}

async function heal(): Promise<void> {
  const c = await routed();
  await c.servers[1]!.start();
  await c.waitForRoutes();
}

const ids = (n: number) => specs(n).map((s) => s.id);

describe("partition strategies over NATS", () => {
  it("static quorum: the cut-off node stops its children, refuses starts and stops, restores them on heal", async () => {
    const locks: Array<{ locked: boolean; reason?: string }> = [];
    const b = setup({ partition: { type: "static", quorumSize: 2 } });
    const side = (await routed()).urls[1]!;
    const a = await b.add("a", { hooks: { lockStateChanged: (d) => locks.push(d) } }, side);
    const hb = await b.add("b");
    await b.add("c");
    await b.check.formed();
    await hb.startChildren(specs(120), { awaitable: true }).await(10_000);
    await b.check.converged(ids(120));
    expect(a.localChildren().size).toBeGreaterThan(0);
    await split();
    await expect.poll(() => a.isPartitioned(), { timeout: 15_000 }).toBe(true);
    await expect.poll(() => a.localChildren().size).toBe(0);
    expect(() => a.startChild({ id: "x", behaviour: "stateful" })).toThrow(HubPartitionedError);
    expect(() => a.stopChild("c1")).toThrow(HubPartitionedError);
    await b.check.formed([["a"], ["b", "c"]], 15_000);
    await b.check.converged(ids(120), ["b", "c"]);
    expect(hb.isPartitioned()).toBe(false);
    expect(locks).toContainEqual({ locked: true, reason: "partition" });
    await heal();
    await b.check.formed(undefined, 15_000);
    await expect.poll(() => a.isPartitioned()).toBe(false);
    await b.check.converged(ids(120));
    expect(a.localChildren().size).toBeGreaterThan(0);
    expect(locks).toContainEqual({ locked: false, reason: "partition" });
  }, 60_000);

  it("divergence: both sides run every child during the split; one copy each, on its owner, after the heal", async () => {
    // A duplicate goes either as the loser of the epoch rule or, when the heal's rebalance gets
    // there first, as a copy off its owner moved there (the owner's running copy absorbs it).
    const stopped: string[] = [];
    const onDup = (d: { id: string }) => stopped.push(d.id);
    const onMoved = (d: { ids: string[] }) => stopped.push(...d.ids);
    const hooks = { duplicateStopped: onDup, childrenMigrated: onMoved };
    const b = setup();
    const side = (await routed()).urls[1]!;
    const a = await b.add("a", { hooks });
    await b.add("b", { hooks });
    await b.add("c", { hooks }, side);
    await b.check.formed();
    await a.startChildren(specs(120), { awaitable: true }).await(10_000);
    await b.check.converged(ids(120));
    await split();
    await b.check.formed([["a", "b"], ["c"]], 15_000);
    await b.check.converged(ids(120), ["a", "b"]);
    await b.check.converged(ids(120), ["c"]);
    stopped.length = 0;
    await heal();
    await b.check.formed(undefined, 15_000);
    await b.check.converged(ids(120));
    // c ran every child alone during the split: the heal found duplicates and stopped them.
    expect(stopped.length).toBeGreaterThan(0);
  }, 60_000);

  it("divergence under hot swap: after the heal the one copy left holds what both sides' copies collected", async () => {
    const duplicates: Array<{ id: string; handedOver: boolean }> = [];
    const received: string[] = [];
    let healed = false;
    const hooks = {
      duplicateStopped: (d: { id: string; handedOver: boolean }) => duplicates.push(d),
      handoverReceived: (d: { id: string; ok: boolean }) => healed && d.ok && received.push(d.id),
    };
    const b = setup({
      migration: { type: "hotSwap", retentionMs: 5000 },
      behaviours: { ...behaviours, ledger },
    });
    const side = (await routed()).urls[1]!;
    const a = await b.add("a", { hooks });
    const hb = await b.add("b", { hooks });
    const c = await b.add("c", { hooks }, side);
    await b.check.formed();
    const list = Array.from({ length: 45 }, (_, i) => ({ id: `l${i}`, behaviour: "ledger" }));
    const lids = list.map((x) => x.id);
    await a.startChildren(list, { awaitable: true }).await(10_000);
    await b.check.converged(lids);
    for (const id of lids) await b.call(a.getPid(id)!, "mark", "before");
    await split();
    await b.check.formed([["a", "b"], ["c"]], 15_000);
    await b.check.converged(lids, ["a", "b"]);
    await b.check.converged(lids, ["c"]);
    for (const id of lids) {
      await b.call(hb.getPid(id)!, "mark", "side-ab");
      await b.call(c.getPid(id)!, "mark", "side-c");
    }
    healed = true;
    await heal();
    await b.check.formed(undefined, 15_000);
    await b.check.converged(lids);
    // One copy per side per child. The heal stops one of the two, having handed its data over
    // (`duplicateStopped`), or, when the non-owner's hot swap reaches the owner's copy first,
    // the owner's copy takes the mover's data (`handoverReceived`) and the mover stops as after
    // any hot swap. Which of the two happens for an id is a race; every id gets one of them.
    const merged = new Set([...duplicates.map((d) => d.id), ...received]);
    expect(lids.filter((id) => !merged.has(id))).toEqual([]);
    expect(duplicates.filter((d) => !d.handedOver)).toEqual([]);
    for (const id of lids)
      expect(await b.call(a.getPid(id)!, "marks")).toEqual(["before", "side-ab", "side-c"]);
  }, 60_000);

  it("dynamic quorum: the node that lost two of the three nodes it saw within the window stops its children", async () => {
    const b = setup({ partition: { type: "dynamic", quorumPercent: 60, windowMs: 60_000 } });
    const a = await b.add("a");
    await b.add("b");
    await b.add("c");
    await b.check.formed();
    await a.startChildren(specs(60), { awaitable: true }).await(10_000);
    await b.check.converged(ids(60));
    await b.kill("c");
    await b.check.formed();
    // 2 of 3 seen in the window: 66% ≥ 60%, quorum holds and c's children run on a and b.
    await b.check.converged(ids(60));
    expect(a.isPartitioned()).toBe(false);
    await b.kill("b");
    await b.check.formed();
    await expect.poll(() => a.isPartitioned()).toBe(true);
    await expect.poll(() => a.localChildren().size).toBe(0);
    expect(() => a.startChild({ id: "late", behaviour: "stateful" })).toThrow(HubPartitionedError);
    // A node that joins is not one of those lost: with d, a sees 2 members and 2 lost, 50%.
    await b.add("d");
    await b.check.formed();
    expect(a.isPartitioned()).toBe(true);
    // b coming back (a new incarnation of the same node) leaves one lost node of four: 75%.
    await b.add("b");
    await b.check.formed();
    await expect.poll(() => a.isPartitioned()).toBe(false);
    await b.check.converged(ids(60));
  }, 30_000);

  it("majority quorum: with two of three nodes gone, the survivor stops its children and refuses starts", async () => {
    const b = setup({ partition: { type: "majority" } });
    const a = await b.add("a");
    await b.add("b");
    await b.add("c");
    await b.check.formed();
    await a.startChildren(specs(60), { awaitable: true }).await(10_000);
    await b.check.converged(ids(60));
    await b.kill("c");
    await b.check.formed();
    await b.check.converged(ids(60)); // two of three: still a majority
    expect(a.isPartitioned()).toBe(false);
    await b.kill("b");
    await b.check.formed();
    await expect.poll(() => a.isPartitioned()).toBe(true);
    await expect.poll(() => a.localChildren().size).toBe(0);
    expect(() => a.startChild({ id: "late", behaviour: "stateful" })).toThrow(HubPartitionedError);
    expect(() => a.stopChild("c1")).toThrow(HubPartitionedError);
    // After an intended downsize the survivor runs everything again.
    a.resetClusterSize(1);
    await expect.poll(() => a.isPartitioned()).toBe(false);
    await b.check.converged(ids(60));
  }, 30_000);
});
