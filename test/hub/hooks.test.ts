/**
 * Hub hooks across nodes (memory transport): every hook is registered on every node, and each
 * action of the test — a node joining, a start (with one child failing), a crash, a stop, a
 * forwarded start, a node joining a running hub and a node dying — is checked to fire exactly the
 * hooks it should, with the payload that describes it, on the nodes that see it. Lock state is
 * read from inside the handlers (`isLocked()`). `handoverReceived` and `duplicateStopped` are
 * registered too; their firing is covered by `strategies/strategy-scenarios.ts`.
 */
import { afterEach, describe, expect, it } from "vitest";
import { normalizeChildSpec } from "../../src/hub/child-spec.js";
import type { HubHookEvents, HubHookName } from "../../src/hub/hooks.js";
import type { ChildStarter } from "../../src/hub/local-children.js";
import type { ProcessHub } from "../../src/hub/process-hub.js";
import type { StartResult } from "../../src/hub/results.js";
import type { Pid } from "../../src/process/pid.js";
import { MemoryHubCluster } from "./memory-cluster.js";
import { behaviours, HubHarness, specs } from "./scenarios.js";

/** Every hook name: the object type makes the compiler reject a missing or unknown one. */
const ALL_HOOKS: { [K in HubHookName]: true } = {
  childRegistered: true,
  childUnregistered: true,
  pidUpdated: true,
  preNodeJoin: true,
  postNodeJoin: true,
  preNodeLeave: true,
  postNodeLeave: true,
  preRedistribution: true,
  postRedistribution: true,
  childrenMigrated: true,
  startForwarded: true,
  preChildrenStart: true,
  postChildrenStart: true,
  lockStateChanged: true,
  handoverReceived: true,
  duplicateStopped: true,
  reconcileRound: true,
  logFolded: true,
  leaseAcquired: true,
  leaseLost: true,
  fencedStartRefused: true,
  claimTakenOver: true,
  checkpointFailed: true,
  childActivated: true,
  childrenPassivated: true,
};

interface Fired {
  hook: HubHookName;
  data: unknown;
  /** `isLocked()` of the hub when the handler ran. */
  locked: boolean;
}

/** Records every hook of one hub, in firing order. */
class Recorder {
  readonly log: Fired[] = [];
  hub: ProcessHub | undefined;
  readonly hooks = Object.fromEntries(
    (Object.keys(ALL_HOOKS) as HubHookName[]).map((hook) => [
      hook,
      (data: unknown): void => {
        this.log.push({ hook, data, locked: this.hub?.isLocked() ?? false });
      },
    ]),
  ) as { [K in HubHookName]: (d: HubHookEvents[K]) => void };

  of<K extends HubHookName>(hook: K): Array<HubHookEvents[K]> {
    return this.log.filter((f) => f.hook === hook).map((f) => f.data as HubHookEvents[K]);
  }

  /** Hooks that fired, without repeats, in first-firing order. */
  fired(): HubHookName[] {
    return [...new Set(this.log.map((f) => f.hook))];
  }

  /** Index of the first firing of `hook` matching `pred`. */
  at<K extends HubHookName>(hook: K, pred: (d: HubHookEvents[K]) => boolean = () => true): number {
    return this.log.findIndex((f) => f.hook === hook && pred(f.data as HubHookEvents[K]));
  }

  clear(): void {
    this.log.length = 0;
  }
}

const broken: ChildStarter = {
  start: () => {
    throw new Error("refuses to start");
  },
};

const sorted = (xs: Iterable<string>) => [...xs].sort();

/** A topology change's hooks on one node: lock, pre hooks, redistribution, post hooks, unlock. */
function expectTopologyOrder(r: Recorder, pre: "preNodeJoin" | "preNodeLeave", node: string): void {
  const post = pre === "preNodeJoin" ? "postNodeJoin" : "postNodeLeave";
  const order = [
    r.at("lockStateChanged", (d) => d.locked),
    r.at(pre, (d) => d.node === node),
    r.at("preRedistribution"),
    r.at(post, (d) => d.node === node),
    r.at("postRedistribution"),
    r.at("lockStateChanged", (d) => !d.locked),
  ];
  expect(order.every((i) => i >= 0)).toBe(true);
  expect([...order].sort((x, y) => x - y)).toEqual(order);
  expect(r.of("lockStateChanged")).toEqual([
    { locked: true, reason: "topology" },
    { locked: false, reason: "topology" },
  ]);
  // The hub is locked while it handles the change, and only then.
  for (const f of r.log) {
    if (
      f.hook === "preRedistribution" ||
      f.hook === "postRedistribution" ||
      f.hook === pre ||
      f.hook === post
    )
      expect(f.locked).toBe(true);
  }
  expect(
    r.log.find((f) => f.hook === "lockStateChanged" && !(f.data as { locked: boolean }).locked)?.locked,
  ).toBe(false);
}

function pidsEqual(a: Pid | undefined, b: Pid | undefined): boolean {
  return a !== undefined && b !== undefined && a.equals(b);
}

describe("hub hooks across nodes", () => {
  let h: HubHarness | undefined;
  afterEach(async () => {
    if (h === undefined) return;
    for (const hub of h.hubs.values()) await hub.stop().catch(() => {});
    await h.cluster.close();
    h = undefined;
  });

  it("fires every hook with the payload of the action that caused it", async () => {
    h = new HubHarness(new MemoryHubCluster());
    const harness = h;
    const rec = new Map<string, Recorder>();
    const add = async (name: string): Promise<ProcessHub> => {
      const r = new Recorder();
      rec.set(name, r);
      const hub = await harness.add(name, { hooks: r.hooks, behaviours: { ...behaviours, broken } });
      r.hub = hub;
      return hub;
    };
    const ra = (): Recorder => rec.get("a")!;
    const rb = (): Recorder => rec.get("b")!;
    const clearAll = () => {
      for (const r of rec.values()) r.clear();
    };

    // ---- b joins a: join hooks and a locked redistribution, on both sides.
    const a = await add("a");
    const b = await add("b");
    await h.formed();
    for (const [r, other] of [
      [ra(), "b"],
      [rb(), "a"],
    ] as const) {
      await expect.poll(() => r.of("postRedistribution").length).toBe(1);
      expect(r.of("preNodeJoin")).toEqual([{ node: other }]);
      expect(r.of("postNodeJoin")).toEqual([{ node: other }]);
      expect(r.of("preRedistribution")).toEqual([{ joined: [other], left: [], members: ["a", "b"] }]);
      expect(r.of("postRedistribution")).toEqual([
        {
          joined: [other],
          left: [],
          members: ["a", "b"],
          migrated: 0,
          adopted: 0,
          durationMs: expect.any(Number),
        },
      ]);
      expectTopologyOrder(r, "preNodeJoin", other);
      expect(r.of("preNodeLeave")).toEqual([]);
    }
    expect(a.isLocked()).toBe(false);
    expect(b.isLocked()).toBe(false);

    // ---- an awaited start from a, one child (owned by b) failing there.
    clearAll();
    const list = specs(30, "k");
    const bad = Array.from({ length: 50 }, (_, i) => `bad${i}`).find((id) => a.ownerOf(id) === "b")!;
    expect(bad).toBeDefined();
    const r = await a
      .startChildren([...list, { id: bad, behaviour: "broken" }], { awaitable: true })
      .await(5000);
    expect(r.errors).toMatchObject([{ id: bad, node: "b", reason: "start_failed" }]);
    const where = new Map(r.started.map((s) => [s.id, s.nodes[0]!]));
    const onA = list.map((s) => s.id).filter((id) => a.ownerOf(id) === "a");
    const onB = list.map((s) => s.id).filter((id) => a.ownerOf(id) === "b");
    expect(onA.length).toBeGreaterThan(1);
    expect(onB.length).toBeGreaterThan(1);
    expect(
      ra()
        .of("preChildrenStart")
        .map((d) => sorted(d.ids)),
    ).toEqual([sorted(onA)]);
    expect(
      rb()
        .of("preChildrenStart")
        .map((d) => sorted(d.ids)),
    ).toEqual([sorted([...onB, bad])]);
    for (const [rr, mine, failed] of [
      [ra(), onA, []],
      [rb(), onB, [bad]],
    ] as const) {
      const post = rr.of("postChildrenStart");
      expect(post).toHaveLength(1);
      expect(post[0]!.failed).toEqual(failed);
      expect(sorted(post[0]!.started.map((s) => s.id))).toEqual(sorted(mine));
      for (const s of post[0]!.started) {
        expect(s.node).toBe(where.get(s.id)!.node);
        expect(pidsEqual(s.pid, where.get(s.id)!.pid)).toBe(true);
      }
    }
    for (const rr of [ra(), rb()]) {
      await expect.poll(() => rr.of("childRegistered").length).toBe(list.length);
      for (const d of rr.of("childRegistered")) {
        expect(d.node).toBe(where.get(d.id)!.node);
        expect(pidsEqual(d.pid, where.get(d.id)!.pid)).toBe(true);
      }
      expect(rr.of("childRegistered").some((d) => d.id === bad)).toBe(false);
      expect(rr.fired().sort()).toEqual(["childRegistered", "postChildrenStart", "preChildrenStart"]);
    }

    // ---- a child on b crashes and restarts there: pidUpdated everywhere.
    clearAll();
    const crashed = onB[0]!;
    const oldPid = where.get(crashed)!.pid;
    b.node.exit(oldPid, "kill");
    for (const rr of [ra(), rb()]) {
      await expect.poll(() => rr.of("pidUpdated").length).toBe(1);
      const d = rr.of("pidUpdated")[0]!;
      expect(d.id).toBe(crashed);
      expect(d.node).toBe("b");
      expect(pidsEqual(d.previous, oldPid)).toBe(true);
      expect(d.pid.equals(oldPid)).toBe(false);
      expect(pidsEqual(d.pid, b.localPid(crashed))).toBe(true);
      expect(rr.fired()).toEqual(["pidUpdated"]);
    }

    // ---- b stops a child running on a: childUnregistered everywhere.
    clearAll();
    const stopped = onA[0]!;
    const s = await b.stopChild(stopped, { awaitable: true }).await(5000);
    expect(s.stopped).toEqual([{ id: stopped, nodes: ["a"] }]);
    for (const rr of [ra(), rb()]) {
      await expect.poll(() => rr.of("childUnregistered")).toEqual([{ id: stopped, node: "a" }]);
      expect(rr.fired()).toEqual(["childUnregistered"]);
    }

    // ---- a start that reaches b for children a owns (a stale ring) is forwarded to a, both
    // without an answer (b passes the start on) and awaited (the caller re-sends it to a).
    clearAll();
    const candidates = Array.from({ length: 50 }, (_, i) => `fwd${i}`).filter((id) => a.ownerOf(id) === "a");
    const [fwd1, fwd2] = candidates;
    const item = (id: string) => ({
      spec: normalizeChildSpec({ id, behaviour: "counter" }),
      epoch: 1,
      pinned: false,
    });
    b.core.requests.start(new Map([["b", [item(fwd1!)]]]), { timeoutMs: 5000 });
    const awaited = await new Promise<StartResult>((resolve) =>
      b.core.requests.start(new Map([["b", [item(fwd2!)]]]), { timeoutMs: 5000, onDone: resolve }),
    );
    expect(awaited.status).toBe("ok");
    expect(awaited.started.map((x) => [x.id, x.nodes[0]!.node])).toEqual([[fwd2, "a"]]);
    await expect.poll(() => rb().of("startForwarded").length).toBe(2);
    expect(rb().of("startForwarded")).toEqual([
      { to: "a", ids: [fwd1] },
      { to: "a", ids: [fwd2] },
    ]);
    expect(rb().of("preChildrenStart")).toEqual([]);
    await expect.poll(() => ra().of("preChildrenStart").length).toBe(2);
    expect(
      sorted(
        ra()
          .of("preChildrenStart")
          .flatMap((d) => d.ids),
      ),
    ).toEqual(sorted([fwd1!, fwd2!]));
    expect(ra().of("startForwarded")).toEqual([]);
    await expect.poll(() => ra().of("childRegistered").length).toBe(2);
    expect(
      ra()
        .of("childRegistered")
        .every((d) => d.node === "a"),
    ).toBe(true);

    // ---- c joins the running hub: a and b hand it the children it now owns (cold swap).
    const live = [...list.map((x) => x.id).filter((id) => id !== stopped), fwd1!, fwd2!];
    await h.expectConverged(live);
    const before = new Map(live.map((id) => [id, a.childLookup(id)!.nodes[0]!.node]));
    clearAll();
    await add("c");
    await h.formed();
    await h.expectConverged(live);
    const toC = live.filter((id) => a.childLookup(id)!.nodes[0]!.node === "c");
    expect(toC.length).toBeGreaterThan(0);
    for (const [name, rr] of [
      ["a", ra()],
      ["b", rb()],
    ] as const) {
      const mine = toC.filter((id) => before.get(id) === name);
      await expect.poll(() => rr.of("postRedistribution").length).toBe(1);
      expect(rr.of("preNodeJoin")).toEqual([{ node: "c" }]);
      expect(rr.of("postNodeJoin")).toEqual([{ node: "c" }]);
      expect(rr.of("preRedistribution")).toEqual([{ joined: ["c"], left: [], members: ["a", "b", "c"] }]);
      expect(rr.of("postRedistribution")[0]).toMatchObject({
        joined: ["c"],
        migrated: mine.length,
        adopted: 0,
      });
      expect(rr.of("childrenMigrated").every((d) => d.to === "c")).toBe(true);
      expect(sorted(rr.of("childrenMigrated").flatMap((d) => d.ids))).toEqual(sorted(mine));
      expectTopologyOrder(rr, "preNodeJoin", "c");
      await expect
        .poll(() => sorted(rr.of("childUnregistered").map((d) => `${d.id}@${d.node}`)))
        .toEqual(sorted(toC.map((id) => `${id}@${before.get(id)}`)));
      await expect
        .poll(() => sorted(rr.of("childRegistered").map((d) => `${d.id}@${d.node}`)))
        .toEqual(sorted(toC.map((id) => `${id}@c`)));
    }
    const startedOnC = rec
      .get("c")!
      .of("postChildrenStart")
      .flatMap((d) => d.started.map((x) => x.id));
    expect(sorted(startedOnC)).toEqual(sorted(toC));

    // ---- c dies: a and b remove its placements and restart its children on their new owners.
    clearAll();
    await h.kill("c");
    await h.formed();
    await h.expectConverged(live);
    for (const [name, rr] of [
      ["a", ra()],
      ["b", rb()],
    ] as const) {
      const adopted = toC.filter((id) => a.ownerOf(id) === name);
      await expect.poll(() => rr.of("postRedistribution").length).toBe(1);
      expect(rr.of("preNodeLeave")).toEqual([{ node: "c" }]);
      expect(rr.of("postNodeLeave")).toEqual([{ node: "c" }]);
      expect(rr.of("preNodeJoin")).toEqual([]);
      expect(rr.of("preRedistribution")).toEqual([{ joined: [], left: ["c"], members: ["a", "b"] }]);
      expect(rr.of("postRedistribution")[0]).toMatchObject({
        joined: [],
        left: ["c"],
        migrated: 0,
        adopted: adopted.length,
      });
      expectTopologyOrder(rr, "preNodeLeave", "c");
      expect(sorted(rr.of("childUnregistered").map((d) => `${d.id}@${d.node}`))).toEqual(
        sorted(toC.map((id) => `${id}@c`)),
      );
      await expect.poll(() => sorted(rr.of("childRegistered").map((d) => d.id))).toEqual(sorted(toC));
      expect(sorted(rr.of("postChildrenStart").flatMap((d) => d.started.map((x) => x.id)))).toEqual(
        sorted(adopted),
      );
    }
    expect(a.isLocked()).toBe(false);
  });
});
