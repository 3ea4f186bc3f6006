import { afterEach, describe, expect, it } from "vitest";
import {
  DuplicateChildIdError,
  HubAlreadyStartedError,
  HubStoppedError,
  InvalidChildMappingError,
  InvalidHubChildSpecError,
  NoChildrenError,
  UnknownHubBehaviourError,
  UnknownHubError,
} from "../../src/hub/errors.js";
import { ProcessHub } from "../../src/hub/process-hub.js";
import { silentLogger } from "../../src/logger.js";
import { Node } from "../../src/process/node.js";
import { behaviours, HubHarness, specs } from "./scenarios.js";
import { MemoryHubCluster } from "./memory-cluster.js";

const started: ProcessHub[] = [];
function solo(hubId = "solo", extra: Partial<Parameters<typeof ProcessHub.start>[0]> = {}): ProcessHub {
  const hub = ProcessHub.start({
    hubId,
    node: new Node({ name: "solo", logger: silentLogger }),
    behaviours,
    ...extra,
  });
  started.push(hub);
  return hub;
}
afterEach(async () => {
  for (const h of started.splice(0)) await h.stop();
});

describe("ProcessHub.start / get", () => {
  it("finds a hub by id on its node and refuses a second one", () => {
    const hub = solo("h1");
    expect(ProcessHub.get("h1", hub.node)).toBe(hub);
    expect(ProcessHub.whereis("nope", hub.node)).toBeUndefined();
    expect(() => ProcessHub.get("nope", hub.node)).toThrow(UnknownHubError);
    expect(() => ProcessHub.start({ hubId: "h1", node: hub.node })).toThrow(HubAlreadyStartedError);
  });

  it("starts static child specs once", async () => {
    const hub = solo("static", { childSpecs: specs(5, "s") });
    await expect.poll(() => hub.localChildren().size).toBe(5);
  });
});

describe("ProcessHub.startChildren", () => {
  it("is asynchronous by default and registers the children", async () => {
    const hub = solo();
    expect(hub.startChildren(specs(3))).toEqual({ status: "start_initiated" });
    await expect.poll(() => hub.processList("local").length).toBe(3);
    expect(hub.getPid("c0")).toBeDefined();
    expect(hub.localPid("c0")?.equals(hub.getPid("c0"))).toBe(true);
  });

  it("rejects misuse with named errors", () => {
    const hub = solo();
    expect(() => hub.startChildren([])).toThrow(NoChildrenError);
    expect(() => hub.startChildren([{ id: "x", behaviour: "missing" }])).toThrow(UnknownHubBehaviourError);
    expect(() => hub.startChildren([...specs(2), ...specs(1)])).toThrow(DuplicateChildIdError);
    expect(() => hub.startChildren([{ id: "", behaviour: "counter" }])).toThrow(InvalidHubChildSpecError);
    expect(() => hub.startChildren(specs(1), { childMapping: { c0: "elsewhere" } })).toThrow(
      InvalidChildMappingError,
    );
  });

  it("rejects already started ids with checkExisting, and reports them per node without it", async () => {
    const hub = solo();
    const r = await hub.startChildren(specs(2), { awaitable: true }).await(2000);
    expect(r.status).toBe("ok");
    expect(hub.startChildren(specs(3))).toEqual({ status: "already_started", ids: ["c0", "c1"] });
    const again = await hub.startChildren(specs(3), { awaitable: true }).await(2000);
    expect(again.errors.map((e) => [e.id, e.reason])).toEqual([
      ["c0", "already_started"],
      ["c1", "already_started"],
    ]);
    const loose = await hub.startChildren(specs(3), { awaitable: true, checkExisting: false }).await(2000);
    expect(loose.cids()).toEqual(["c2"]);
    expect(loose.errors.every((e) => e.reason === "already_started" && e.node === "solo")).toBe(true);
  });

  it("rolls back what started when something failed", async () => {
    const hub = solo("rb", {
      behaviours: {
        ...behaviours,
        broken: {
          start: () => {
            throw new Error("no");
          },
        },
      },
    });
    const r = await hub
      .startChildren([...specs(2), { id: "bad", behaviour: "broken" }], {
        awaitable: true,
        onFailure: "rollback",
      })
      .await(2000);
    expect(r.status).toBe("error");
    expect(r.rollback).toBe(true);
    expect(r.rollbackErrors).toEqual([]);
    expect(r.errors).toEqual([
      {
        id: "bad",
        node: "solo",
        reason: "start_failed",
        detail: "StartCrashError: broken.start threw Error: no",
        error: expect.objectContaining({ code: "HV_ERR_START_CRASH", callback: "broken.start" }),
      },
    ]);
    await expect.poll(() => hub.registryDump().size).toBe(0);
  });

  it("merges call metadata and answers tag queries", async () => {
    const hub = solo();
    await hub.startChildren(specs(3), { awaitable: true, metadata: { tag: "blue" } }).await(2000);
    expect(
      hub
        .tagQuery("blue")
        .map((e) => e.id)
        .sort(),
    ).toEqual(["c0", "c1", "c2"]);
    expect(hub.childLookup("c1")?.metadata).toEqual({ tag: "blue" });
  });
});

describe("ProcessHub.stopChildren", () => {
  it("stops children and reports unknown ids as not_found", async () => {
    const hub = solo();
    await hub.startChildren(specs(2), { awaitable: true }).await(2000);
    const pid = hub.getPid("c0")!;
    const r = await hub.stopChildren(["c0", "ghost"], { awaitable: true }).await(2000);
    expect(r.stopped).toEqual([{ id: "c0", nodes: ["solo"] }]);
    expect(r.errors).toEqual([{ id: "ghost", node: undefined, reason: "not_found" }]);
    expect(hub.node.isAlive(pid)).toBe(false);
    expect(hub.stopChild("c1")).toEqual({ status: "stop_initiated" });
    await expect.poll(() => hub.entryExists("c1")).toBe(false);
  });

  it("refuses requests once the hub is stopped", async () => {
    const hub = ProcessHub.start({
      hubId: "gone",
      node: new Node({ name: "g", logger: silentLogger }),
      behaviours,
    });
    await hub.stop();
    expect(hub.isAlive()).toBe(false);
    expect(() => hub.startChildren(specs(1))).toThrow(HubStoppedError);
    expect(() => ProcessHub.get("gone", hub.node)).toThrow(UnknownHubError);
  });
});

describe("hub hooks and timeouts across nodes", () => {
  it("fires join, registration and redistribution hooks, and times out a silent node per node", async () => {
    const h = new HubHarness(new MemoryHubCluster());
    const events: string[] = [];
    const a = await h.add("a", {
      hooks: {
        postNodeJoin: (d) => events.push(`join:${d.node}`),
        postRedistribution: (d) => events.push(`redist:${d.joined.join()}`),
      },
    });
    a.registerHook("childRegistered", (d) => events.push(`reg:${d.id}`), { id: "reg" });
    await h.add("b");
    await h.formed();
    await a.startChildren(specs(20), { awaitable: true }).await(5000);
    expect(events).toContain("join:b");
    expect(events).toContain("redist:b");
    expect(events.filter((e) => e.startsWith("reg:"))).toHaveLength(20);
    expect(a.cancelHook("childRegistered", "reg")).toBe(1);
    // Partition b away without telling a: a start for b's children must time out, not hang.
    const net = (h.cluster as MemoryHubCluster).network;
    net.setDropRate(1, "a", "b");
    const r = await a.startChildren(specs(40, "late"), { awaitable: true, timeout: 200 }).await(5000);
    expect(r.errors.length).toBeGreaterThan(0);
    expect(r.errors.every((e) => e.node === "b" && e.reason === "node_receive_timeout")).toBe(true);
    expect(r.started.length + r.errors.length).toBe(40);
    net.clearFaults();
    for (const hub of h.hubs.values()) await hub.stop();
    await h.cluster.close();
  });
});

describe("onFailure: rollback across nodes", () => {
  let h: HubHarness | undefined;
  afterEach(async () => {
    if (h === undefined) return;
    (h.cluster as MemoryHubCluster).network.clearFaults();
    for (const hub of h.hubs.values()) await hub.stop().catch(() => {});
    await h.cluster.close();
    h = undefined;
  });

  async function twoNodes(): Promise<{ a: ProcessHub; b: ProcessHub; net: MemoryHubCluster["network"] }> {
    h = new HubHarness(new MemoryHubCluster());
    const a = await h.add("a");
    const b = await h.add("b");
    await h.formed();
    return { a, b, net: (h.cluster as MemoryHubCluster).network };
  }

  it("also stops the children of a node whose answer timed out, once they started there", async () => {
    const { a, b, net } = await twoNodes();
    const list = specs(40, "rb");
    const onB = list.filter((s) => a.ownerOf(s.id) === "b").map((s) => s.id);
    expect(onB.length).toBeGreaterThan(0);
    const startedOnB: string[] = [];
    b.registerHook("postChildrenStart", (d) => startedOnB.push(...d.started.map((s) => s.id)));
    // b gets the start (and answers) only after the caller's per-node timeout.
    net.setDelay(300, "a", "b");
    const r = await a
      .startChildren(list, { awaitable: true, timeout: 100, onFailure: "rollback" })
      .await(5000);
    expect(r.rollback).toBe(true);
    expect(r.started.map((s) => s.id).sort()).toEqual(
      list
        .map((s) => s.id)
        .filter((id) => !onB.includes(id))
        .sort(),
    );
    expect(r.errors.map((e) => e.id).sort()).toEqual([...onB].sort());
    expect(r.errors.every((e) => e.node === "b" && e.reason === "node_receive_timeout")).toBe(true);
    // The rollback's stop reaches b as late: its outcome was not known when the result came.
    expect(r.rollbackErrors.map((e) => e.id).sort()).toEqual([...onB].sort());
    expect(r.rollbackErrors.every((e) => e.node === "b" && e.reason === "node_receive_timeout")).toBe(true);
    expect(r.format()).toMatchObject({ ok: false, rollback: true });
    // b did start them after all; the rollback's stop, queued behind the start, removes them.
    await expect.poll(() => startedOnB.length, { timeout: 5000 }).toBe(onB.length);
    net.clearFaults();
    await h!.expectConverged([]);
  });

  it("resolves, never rejects, when the hub stops before it could roll back", async () => {
    const { a, net } = await twoNodes();
    net.setDelay(300, "a", "b");
    const f = a.startChildren(specs(20, "rs"), { awaitable: true, timeout: 5000, onFailure: "rollback" });
    await a.stop();
    const r = await f.await(5000);
    expect(r.status).toBe("error");
    expect(r.rollback).toBe(true);
    expect(r.errors.some((e) => e.reason === "hub_stopped")).toBe(true);
    expect(r.rollbackErrors.length).toBeGreaterThan(0);
    expect(r.rollbackErrors.every((e) => e.reason === "hub_stopped" && e.node === undefined)).toBe(true);
    expect(r.rollbackErrors[0]!.detail).toMatch(/stopped/);
  });
});

describe("ProcessHub.containsChildren", () => {
  it("answers which of the ids are registered, on every node of the hub", async () => {
    const h = new HubHarness(new MemoryHubCluster());
    try {
      const a = await h.add("a");
      const b = await h.add("b");
      await h.formed();
      await a.startChildren(specs(10), { awaitable: true }).await(5000);
      await h.expectConverged(specs(10).map((s) => s.id));
      const asked = ["nope", "c3", "c9", "c0", "other"];
      expect(a.containsChildren(asked)).toEqual(["c3", "c9", "c0"]);
      expect(b.containsChildren(new Set(asked))).toEqual(["c3", "c9", "c0"]);
      expect(b.containsChildren([])).toEqual([]);
      await b.stopChild("c3", { awaitable: true }).await(5000);
      await expect.poll(() => a.containsChildren(asked)).toEqual(["c9", "c0"]);
    } finally {
      for (const hub of h.hubs.values()) await hub.stop();
      await h.cluster.close();
    }
  });
});
