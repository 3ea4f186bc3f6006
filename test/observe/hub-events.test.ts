/**
 * The newer parts of the hub on the event stream, as a subscriber sees them (`hub:hook` events
 * of `hubvisor:hub:hook`): a durable hub's reconcile rounds, with the round that brings back a
 * child declared running that runs nowhere; an entity's activation by a reference and its
 * passivation once idle. Fencing's hooks (leaseLost, fencedStartRefused, …) travel the same way;
 * their firing is tested with the lease code (test/hub/durable), their metrics in metrics.test.ts.
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  defineServer,
  entity,
  MemoryDurableStore,
  MemoryNetwork,
  Node,
  noreply,
  ok,
  ProcessHub,
  reply,
  silentLogger,
  Cluster,
} from "../../src/index.js";
import { type HubEvent, type HubvisorEvent, subscribe } from "../../src/observe.js";
import { startMemoryCluster } from "../../src/testing.js";

const Tally = defineServer<{ calls: { add(n: number): number } }>()({
  name: "tally",
  init: () => ok(0),
  handleCall: { add: (n, s) => reply(s + n, s + n) },
  handleInfo: (_m, s) => noreply(s),
});

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

function record(node: string): HubvisorEvent[] {
  const seen: HubvisorEvent[] = [];
  cleanups.push(subscribe((e) => seen.push(e), { node }));
  return seen;
}

/** The data of every `hook` event in `seen`. */
function hooks<K extends HubEvent["hook"]>(seen: HubvisorEvent[], hook: K) {
  return seen.filter((e): e is Extract<HubEvent, { hook: K }> => e.type === "hub:hook" && e.hook === hook);
}

describe("hub events of the newer parts", () => {
  it("reconcileRound: each round of a durable hub, and the one that starts a declared child", async () => {
    const store = new MemoryDurableStore();
    const network = new MemoryNetwork();
    const durability = { store, reconcileIntervalMs: 50, settleMs: 100, graceMs: 150 };
    const start = async (name: string) => {
      const node = new Node({ name, logger: silentLogger });
      const cluster = await Cluster.join({
        node,
        cluster: "rec",
        transport: network.transport(node),
        logger: silentLogger,
      });
      cleanups.push(() => cluster.leave().catch(() => {}));
      const hub = ProcessHub.start({
        hubId: "rec",
        node,
        cluster,
        behaviours: { tally: Tally },
        logger: silentLogger,
        durability,
      });
      return hub;
    };
    const first = await start("rec-a");
    await first.startChildren([{ id: "kept", behaviour: "tally" }], { awaitable: true }).await(5000);
    // The whole "cluster" dies; a new node with the same store brings the declared child back.
    network.kill("rec-a");
    const seen = record("rec-b");
    const second = await start("rec-b");
    cleanups.push(() => second.stop());
    await expect
      .poll(() => hooks(seen, "reconcileRound").some((e) => e.data.started === 1), { timeout: 10_000 })
      .toBe(true);
    const round = hooks(seen, "reconcileRound").find((e) => e.data.started === 1)!;
    expect(round).toMatchObject({
      type: "hub:hook",
      node: "rec-b",
      hub: "rec",
      hook: "reconcileRound",
      data: { declared: 1, started: 1, stopped: 0 },
    });
    expect(round.data.durationMs).toBeGreaterThanOrEqual(0);
    await expect.poll(() => second.localChildren().has("kept"), { timeout: 10_000 }).toBe(true);
  });

  it("childActivated and childrenPassivated: a reference starts an entity, idleness stops it", async () => {
    const { clusters } = await startMemoryCluster(["ent-a"]);
    cleanups.push(() => clusters[0]!.leave().catch(() => {}));
    const seen = record("ent-a");
    const hub = ProcessHub.start({
      hubId: "ent",
      cluster: clusters[0]!,
      behaviours: { tally: entity(Tally, { idleTimeoutMs: 100 }) },
      logger: silentLogger,
    });
    cleanups.push(() => hub.stop());
    const ref = hub.ref<typeof Tally>("t1", { activate: { behaviour: "tally" } });
    expect(await ref.call("add", 2)).toBe(2);
    // The call may be answered before the activation hears its start's result: wait for it.
    await expect.poll(() => hooks(seen, "childActivated").length, { timeout: 10_000 }).toBe(1);
    const activated = hooks(seen, "childActivated")[0]!;
    expect(activated).toMatchObject({
      node: "ent-a",
      hub: "ent",
      data: { id: "t1", started: true, attempts: 1 },
    });
    expect(activated.data.pid.node).toBe("ent-a");
    expect(activated.data.durationMs).toBeGreaterThanOrEqual(0);
    await expect.poll(() => hooks(seen, "childrenPassivated").length, { timeout: 10_000 }).toBe(1);
    expect(hooks(seen, "childrenPassivated")[0]).toMatchObject({
      node: "ent-a",
      hub: "ent",
      data: { idle: ["t1"], beyondMaxActive: [] },
    });
    await expect.poll(() => hub.localChildren().has("t1"), { timeout: 10_000 }).toBe(false);
    // Passivated, then called again: a second activation starts it anew.
    expect(await ref.call("add", 1)).toBe(1);
    await expect.poll(() => hooks(seen, "childActivated").length, { timeout: 10_000 }).toBe(2);
    expect(hooks(seen, "childActivated")[1]!.data.pid.equals(activated.data.pid)).toBe(false);
  });
});
