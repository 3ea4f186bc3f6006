/**
 * A stopped child stays stopped (the chaos-run resurrection), with one real hub node `a` and
 * scripted peers `y` and `z` (their wire messages are posted straight into a's hub process;
 * what a sends them goes nowhere): an old, unanswered ensure that fails late is not retried for a
 * child seen running and stopped meanwhile, and a child handed off to a node whose newer slice
 * shows it stopped is not adopted when that node leaves, a stop is not undone by an ensure of the
 * same placement arriving after it (another survivor's adoption); and (static quorum, memory transport) a
 * child the majority stopped during a partition is not restored by the minority on the heal.
 */
import { afterEach, describe, expect, it } from "vitest";
import { normalizeChildSpec } from "../../../src/hub/child-spec.js";
import { HashRing } from "../../../src/hub/hash-ring.js";
import { entryOut, itemOut } from "../../../src/hub/messages.js";
import { ProcessHub } from "../../../src/hub/process-hub.js";
import { silentLogger } from "../../../src/logger.js";
import { Node } from "../../../src/process/node.js";
import { Pid } from "../../../src/process/pid.js";
import { behaviours, StrategyHarness, scriptedMembership, specs } from "./harness.js";

let hub: ProcessHub | undefined;
afterEach(async () => {
  await hub?.stop();
  hub = undefined;
});

describe("ensure retries", () => {
  it("do not restart a child that was seen running and then stopped while the ensure was unanswered", async () => {
    const { membership, lose } = scriptedMembership();
    const node = new Node({ name: "a", logger: silentLogger });
    const adopted: number[] = [];
    hub = ProcessHub.start({
      hubId: "resurrect",
      node,
      membership,
      behaviours,
      logger: silentLogger,
      clusterEventDebounceMs: 5,
      migrationTimeoutMs: 60_000,
      hooks: { postRedistribution: (d: { left: string[] }) => d.left.includes("y") && adopted.push(1) },
    });
    const core = hub.core;
    // Two ids that y runs and z owns once y is gone.
    const ring = new HashRing(["a", "z"], core.tuning.vnodes);
    const [stopped, lost] = Array.from({ length: 200 }, (_, i) => `k${i}`).filter(
      (id) => ring.owner(id) === "z",
    );
    const entry = (id: string, on: string, epoch = 1) =>
      entryOut(id, {
        spec: normalizeChildSpec({ id, behaviour: "stateful" }),
        epoch,
        pid: Pid.fromJSON({ pid: [on, 1, 1] }),
      });
    core.post({ t: "hello", from: "y", inc: 11, reply: false });
    core.post({ t: "hello", from: "z", inc: 12, reply: false });
    await expect.poll(() => hub!.nodes().join()).toBe("y,z");
    core.post({
      t: "delta",
      from: "y",
      inc: 11,
      seq: 1,
      up: [entry(stopped!, "y"), entry(lost!, "y")],
      rm: [],
    });
    await expect.poll(() => hub!.entryExists(stopped!) && hub!.entryExists(lost!)).toBe(true);

    lose("y"); // a adopts both: it asks z (their owner now) to ensure them; z never answers
    await expect.poll(() => adopted.length).toBe(1);
    // z's slice: `stopped` started there (adopted: y's epoch + 1), then a user stopped it.
    core.post({ t: "delta", from: "z", inc: 12, seq: 1, up: [entry(stopped!, "z", 2)], rm: [] });
    core.post({ t: "delta", from: "z", inc: 12, seq: 2, up: [], rm: [stopped!] });
    await expect.poll(() => core.registry.sliceVersion("z")?.seq).toBe(2);
    expect(hub.entryExists(stopped!)).toBe(false);

    lose("z"); // the ensure fails with node_down: retried for `lost` only, now owned by a
    await expect.poll(() => hub!.localChildren().has(lost!)).toBe(true);
    expect(hub.localChildren().has(stopped!)).toBe(false);
    expect(hub.entryExists(stopped!)).toBe(false);
  });

  it("do not adopt a handed-off child that the receiver's newer slice shows stopped when the receiver leaves", async () => {
    const { membership, lose } = scriptedMembership();
    const node = new Node({ name: "a", logger: silentLogger });
    const redistributions: Array<{ left: string[]; adopted: number }> = [];
    hub = ProcessHub.start({
      hubId: "handedoff",
      node,
      membership,
      behaviours,
      logger: silentLogger,
      clusterEventDebounceMs: 5,
      hooks: { postRedistribution: (d) => redistributions.push({ left: d.left, adopted: d.adopted }) },
    });
    const core = hub.core;
    const ring = new HashRing(["a", "z"], core.tuning.vnodes);
    const [moved, other] = Array.from({ length: 200 }, (_, i) => `k${i}`).filter(
      (id) => ring.owner(id) === "z",
    );
    const entry = (id: string, on: string) =>
      entryOut(id, {
        spec: normalizeChildSpec({ id, behaviour: "stateful" }),
        epoch: 1,
        pid: Pid.fromJSON({ pid: [on, 1, 1] }),
      });
    core.post({ t: "hello", from: "y", inc: 11, reply: false });
    core.post({ t: "hello", from: "z", inc: 12, reply: false });
    await expect.poll(() => hub!.nodes().join()).toBe("y,z");
    core.post({ t: "delta", from: "y", inc: 11, seq: 1, up: [entry(moved!, "y")], rm: [] });
    core.post({ t: "delta", from: "z", inc: 12, seq: 1, up: [entry(other!, "z")], rm: [] });
    await expect.poll(() => hub!.entryExists(moved!) && hub!.entryExists(other!)).toBe(true);

    lose("y"); // a asks z to ensure `moved`: the first awaited request of this hub (req 1)
    await expect.poll(() => redistributions.some((r) => r.left.includes("y"))).toBe(true);
    // z answers that it started `moved`, but its delta listing it is lost ...
    core.post({
      t: "started",
      req: 1,
      node: "z",
      ok: [[moved!, Pid.fromJSON({ pid: ["z", 1, 2] })]],
      failed: [],
    });
    // ... and its next full slice, newer than the answer, shows `moved` stopped again.
    core.post({ t: "slice", from: "z", inc: 12, seq: 4, part: 0, parts: 1, entries: [entry(other!, "z")] });
    await expect.poll(() => core.registry.sliceVersion("z")?.seq).toBe(4);

    lose("z"); // `other` is adopted by a; `moved` stays stopped
    await expect.poll(() => hub!.localChildren().has(other!)).toBe(true);
    expect(redistributions.find((r) => r.left.includes("z"))?.adopted).toBe(1);
    expect(hub.localChildren().has(moved!)).toBe(false);
    expect(hub.entryExists(moved!)).toBe(false);
  });
});

describe("ensures arriving after a stop", () => {
  it("do not restart the stopped placement; a newer one starts", async () => {
    const node = new Node({ name: "a", logger: silentLogger });
    hub = ProcessHub.start({ hubId: "late", node, behaviours, logger: silentLogger });
    const core = hub.core;
    const hops = core.tuning.maxForwards;
    const ensure = (id: string, epoch: number) =>
      core.post({
        t: "start",
        req: null,
        origin: "y",
        hops,
        ensure: true,
        items: [itemOut({ spec: normalizeChildSpec({ id, behaviour: "stateful" }), epoch, pinned: false })],
      });
    ensure("x", 2); // y's adoption of x
    await expect.poll(() => hub!.localChildren().has("x")).toBe(true);
    core.post({ t: "stop", req: null, origin: "y", ids: ["x"] }); // a user stop
    await expect.poll(() => hub!.localChildren().has("x")).toBe(false);
    ensure("x", 2); // z's adoption of the same placement, late
    ensure("w", 1); // processed after it: once w runs, the late ensure of x was handled
    await expect.poll(() => hub!.localChildren().has("w")).toBe(true);
    expect(hub.localChildren().has("x")).toBe(false);
    ensure("x", 3); // a newer placement (say, adopted after a later start) runs
    await expect.poll(() => hub!.localChildren().has("x")).toBe(true);
  });
});

describe("partition tolerance", () => {
  let h: StrategyHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it("a child stopped by the majority during a partition stays stopped after the heal", async () => {
    h = new StrategyHarness({ partition: { type: "static", quorumSize: 2 } });
    const a = await h.add("a");
    const b = await h.add("b");
    await h.add("c");
    await h.formed();
    const all = specs(60).map((s) => s.id);
    await b.startChildren(specs(60), { awaitable: true }).await(5000);
    await h.converged(all);
    const victims = [...a.localChildren().keys()].slice(0, 5);
    expect(victims).toHaveLength(5);
    h.network.partition(["a"], ["b", "c"]);
    await expect.poll(() => a.isPartitioned()).toBe(true);
    await h.formed([["a"], ["b", "c"]]);
    await h.converged(all, ["b", "c"]); // the majority adopted a's children
    const r = await b.stopChildren(victims, { awaitable: true }).await(5000);
    expect(r.stopped.map((s) => s.id).sort()).toEqual([...victims].sort());
    h.network.heal();
    await h.formed();
    await expect.poll(() => a.isPartitioned()).toBe(false);
    await h.converged(all.filter((id) => !victims.includes(id)));
  });
});
