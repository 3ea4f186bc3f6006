/**
 * The hub's redundancy, migration and synchronization strategies over a real `nats-server` (one
 * server from the test harness, nodes in this process, `nats-bed.ts`): replication active/active
 * and active/passive (signals after the active node is killed, i.e. its NATS connection closed),
 * cold swap with replication, hot swap with handoff on a join and on a graceful hub stop (the
 * state arrives), gossip start and stop, and interval sync repairing a registry. Each ends with
 * the placement invariant of `harness.ts`. The partition strategies are in `nats-partition.test.ts`.
 */
import { afterAll, describe, expect, it } from "vitest";
import { type NatsServer, startNatsServer, stopAllNatsServers } from "../../support/nats-server.js";
import { specs } from "./harness.js";
import { natsBeds } from "./nats-bed.js";

let server: Promise<NatsServer> | undefined;
const url = async () => (await (server ??= startNatsServer("hub-strategies"))).url;
afterAll(stopAllNatsServers);

const setup = natsBeds(url);

const ids = (n: number) => specs(n).map((s) => s.id);

describe("redundancy over NATS", () => {
  it("replication 2, active/active: every child runs on its two replicas, both active, also after a kill", async () => {
    const b = setup({ redundancy: { type: "replication", factor: 2 } });
    const a = await b.add("a");
    await b.add("b");
    await b.add("c");
    await b.check.formed();
    const r = await a.startChildren(specs(90), { awaitable: true }).await(10_000);
    expect(r.status).toBe("ok");
    expect(r.started.every((s) => s.nodes.length === 2)).toBe(true);
    await b.check.converged(ids(90));
    for (const id of ids(90).slice(0, 10)) {
      const [first, second] = a.replicasOf(id);
      await expect.poll(() => b.modes(id)).toEqual({ [first!]: "active", [second!]: "active" });
    }
    await b.kill("b");
    await b.check.formed();
    // Two nodes left, factor 2: every child now runs on both, and every copy is active.
    await b.check.converged(ids(90));
    expect(a.localChildren().size).toBe(90);
    for (const id of ids(90).slice(0, 10))
      await expect.poll(() => b.modes(id)).toEqual({ a: "active", c: "active" });
  }, 30_000);

  it("replication 2, active/passive: killing the active node signals the passive replica active", async () => {
    const b = setup({ redundancy: { type: "replication", factor: 2, mode: "activePassive" } });
    const a = await b.add("a");
    await b.add("b");
    await b.add("c");
    await b.check.formed();
    const r = await a.startChildren(specs(90), { awaitable: true }).await(10_000);
    expect(r.status).toBe("ok");
    await b.check.converged(ids(90));
    const onC = ids(90).filter((id) => a.replicasOf(id)[0] === "c");
    expect(onC.length).toBeGreaterThan(0);
    const second = new Map(onC.map((id) => [id, a.replicasOf(id)[1]!]));
    for (const id of onC)
      await expect.poll(() => b.modes(id)).toEqual({ c: "active", [second.get(id)!]: "passive" });
    await b.kill("c");
    await b.check.formed();
    await b.check.converged(ids(90));
    // Every child that was active on c is now active on its former passive replica, and has a
    // fresh passive replica on the last node.
    for (const id of onC) {
      const other = second.get(id) === "a" ? "b" : "a";
      await expect.poll(() => b.modes(id)).toEqual({ [second.get(id)!]: "active", [other]: "passive" });
    }
    expect(b.check.placementProblem(ids(90))).toBe("ok");
  }, 30_000);

  it("cold swap with replication: a joining node takes over exactly the replicas it now owns", async () => {
    const b = setup({ redundancy: { type: "replication", factor: 2 } });
    const a = await b.add("a");
    await b.add("b");
    await b.add("c");
    await b.check.formed();
    await a.startChildren(specs(120), { awaitable: true }).await(10_000);
    await b.check.converged(ids(120));
    const before = new Map(ids(120).map((id) => [id, a.getPids(id).map(String).sort().join()]));
    const d = await b.add("d");
    await b.check.formed();
    await b.check.converged(ids(120));
    const onD = [...d.localChildren().keys()];
    expect(onD.length).toBeGreaterThan(0);
    // Only replica sets that gained d changed; every other child kept both of its pids.
    for (const id of ids(120)) {
      const gainedD = a.replicasOf(id).includes("d");
      expect(onD.includes(id)).toBe(gainedD);
      if (!gainedD) expect(a.getPids(id).map(String).sort().join()).toBe(before.get(id));
    }
  }, 30_000);
});

describe("migration over NATS", () => {
  it("hot swap with handoff: children moving to a joining node arrive with their state", async () => {
    const b = setup({ migration: { type: "hotSwap", retentionMs: 5000 } });
    const a = await b.add("a");
    await b.add("b");
    await b.check.formed();
    await a.startChildren(specs(80), { awaitable: true }).await(10_000);
    await b.check.converged(ids(80));
    for (const [i, id] of ids(80).entries()) await b.call(a.getPid(id)!, "add", i + 1);
    const received: string[] = [];
    const c = await b.add("c", {
      hooks: { handoverReceived: (d: { id: string; ok: boolean }) => d.ok && received.push(d.id) },
    });
    await b.check.formed();
    await b.check.converged(ids(80));
    const onC = [...c.localChildren().keys()];
    expect(onC.length).toBeGreaterThan(5);
    expect(new Set(received)).toEqual(new Set(onC));
    for (const [i, id] of ids(80).entries()) expect(await b.call(a.getPid(id)!, "get")).toBe(i + 1);
    expect(b.check.placementProblem(ids(80))).toBe("ok");
  }, 30_000);

  it("hot swap on graceful shutdown: a stopping hub hands every local child's state to its next owner", async () => {
    const b = setup({ migration: { type: "hotSwap", retentionMs: 5000 } });
    const a = await b.add("a");
    const leaving = await b.add("b");
    await b.add("c");
    await b.check.formed();
    await a.startChildren(specs(90), { awaitable: true }).await(10_000);
    await b.check.converged(ids(90));
    for (const [i, id] of ids(90).entries()) await b.call(a.getPid(id)!, "add", i + 1);
    const moving = [...leaving.localChildren().keys()];
    expect(moving.length).toBeGreaterThan(5);
    await b.stopHub("b");
    await b.check.formed();
    await b.check.converged(ids(90));
    for (const [i, id] of ids(90).entries()) expect(await b.call(a.getPid(id)!, "get")).toBe(i + 1);
  }, 30_000);
});

describe("synchronization over NATS", () => {
  it("gossip: starts and stops children over four nodes, every registry converging", async () => {
    const b = setup({ synchronization: { type: "gossip", recipients: 1, intervalMs: 150 } });
    const a = await b.add("a");
    for (const n of ["b", "c", "d"]) await b.add(n);
    await b.check.formed();
    const r = await a.startChildren(specs(200), { awaitable: true }).await(10_000);
    expect(r.status).toBe("ok");
    await b.check.converged(ids(200));
    const s = await b.hub("c").stopChildren(ids(200).slice(0, 120), { awaitable: true }).await(10_000);
    expect(s.stopped).toHaveLength(120);
    await b.check.converged(ids(200).slice(120));
  }, 30_000);

  it("interval sync: the periodic anti-entropy repairs a registry that lost a node's entries", async () => {
    const b = setup();
    const a = await b.add("a");
    const other = await b.add("b");
    await b.add("c");
    await b.check.formed();
    await a.startChildren(specs(60), { awaitable: true }).await(10_000);
    await b.check.converged(ids(60));
    other.core.registry.dropNode("a");
    expect(other.registryDigest()).not.toBe(a.registryDigest());
    await b.check.converged(ids(60));
  }, 30_000);
});
