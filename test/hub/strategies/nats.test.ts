/**
 * The key hub strategies over a real `nats-server` (one server from the test harness, three
 * nodes in this process, each with its own `NatsTransport` and `Cluster`, short probe settings):
 * replication factor 2 with active/passive signals after the active node is killed (its NATS
 * connection closed, which is what a crash looks like), hot swap with handoff on a join (the
 * state arrives), and majority quorum (the survivor of three refuses starts with `partitioned`).
 * Each ends with the placement invariant of `harness.ts`.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { type HubOptions, ProcessHub } from "../../../src/hub/process-hub.js";
import { HubPartitionedError } from "../../../src/hub/strategies/errors.js";
import type { Pid } from "../../../src/process/pid.js";
import { GenServer } from "../../../src/server/index.js";
import { type NatsServer, startNatsServer, stopAllNatsServers } from "../../support/nats-server.js";
import { NatsHubCluster } from "../nats-cluster.js";
import { behaviours, StrategyHarness, specs } from "./harness.js";

let server: Promise<NatsServer> | undefined;
const url = async () => (await (server ??= startNatsServer("hub-strategies"))).url;
afterAll(stopAllNatsServers);

/** Hubs over NATS; the invariant checks of `StrategyHarness` run on `check.hubs`. */
class NatsStrategyBed {
  readonly nats = new NatsHubCluster(url);
  readonly check = new StrategyHarness();

  constructor(private readonly options: Partial<HubOptions>) {}

  async add(name: string, extra: Partial<HubOptions> = {}): Promise<ProcessHub> {
    const { node, membership } = await this.nats.addNode(name);
    const hub = ProcessHub.start({
      hubId: "stratnats",
      node,
      membership,
      behaviours,
      clusterEventDebounceMs: 5,
      syncIntervalMs: 200,
      discoverIntervalMs: 100,
      ...this.options,
      ...extra,
    });
    this.check.hubs.set(name, hub);
    return hub;
  }

  /** Closes the node's NATS connection without a leave: a crash, as the others see it. */
  async kill(name: string): Promise<void> {
    this.check.hubs.delete(name);
    await this.nats.killNode(name);
  }

  hub(name: string): ProcessHub {
    return this.check.hubs.get(name)!;
  }

  async call(pid: Pid, name: string, arg?: unknown): Promise<unknown> {
    return GenServer.callOn(this.hub(pid.node).node, pid, name, arg);
  }

  async close(): Promise<void> {
    await this.check.close();
    await this.nats.close();
  }
}

let bed: NatsStrategyBed | undefined;
const setup = (options: Partial<HubOptions> = {}) => {
  bed = new NatsStrategyBed(options);
  return bed;
};
afterEach(async () => {
  await bed?.close();
  bed = undefined;
});

const ids = (n: number) => specs(n).map((s) => s.id);

describe("hub strategies over NATS", () => {
  it("replication 2, active/passive: killing the active node signals the passive replica active", async () => {
    const b = setup({ redundancy: { type: "replication", factor: 2, mode: "activePassive" } });
    const a = await b.add("a");
    await b.add("b");
    await b.add("c");
    await b.check.formed();
    const r = await a.startChildren(specs(90), { awaitable: true }).await(10_000);
    expect(r.status).toBe("ok");
    expect(r.started.every((s) => s.nodes.length === 2)).toBe(true);
    await b.check.converged(ids(90));
    const onC = ids(90).filter((id) => a.replicasOf(id)[0] === "c");
    expect(onC.length).toBeGreaterThan(0);
    const modes = async (id: string) => {
      const out: Record<string, unknown> = {};
      for (const { node, pid } of a.childLookup(id)?.nodes ?? []) out[node] = await b.call(pid, "mode");
      return out;
    };
    const second = new Map(onC.map((id) => [id, a.replicasOf(id)[1]!]));
    for (const id of onC)
      await expect.poll(() => modes(id)).toEqual({ c: "active", [second.get(id)!]: "passive" });
    await b.kill("c");
    await b.check.formed();
    await b.check.converged(ids(90));
    // Every child that was active on c is now active on its former passive replica, and has a
    // fresh passive replica on the last node.
    for (const id of onC) {
      const other = second.get(id) === "a" ? "b" : "a";
      await expect.poll(() => modes(id)).toEqual({ [second.get(id)!]: "active", [other]: "passive" });
    }
    expect(b.check.placementProblem(ids(90))).toBe("ok");
  }, 30_000);

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
