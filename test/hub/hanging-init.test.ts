/**
 * One child whose start never finishes does not hold up its hub: the hub process keeps starting
 * and stopping other children and applying its peers' registry changes while that start waits,
 * and the start fails after `initTimeoutMs` with `ChildStartTimeoutError` (the child killed) —
 * for a GenServer `init`, a `ChildStarter`, and a crashed child whose restart hangs.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ChildStartTimeoutError } from "../../src/hub/errors.js";
import type { ChildStarter } from "../../src/hub/local-children.js";
import { ProcessHub } from "../../src/hub/process-hub.js";
import { silentLogger } from "../../src/logger.js";
import type { Pid } from "../../src/process/pid.js";
import { defineServer, ok } from "../../src/server/index.js";
import { startMemoryCluster } from "../../src/testing.js";

/** `init` never returns for "hang"; "hang-on-restart" hangs from its second start on. */
let restarts = 0;
const Sleepy = defineServer<{}>()({
  name: "sleepy",
  init: (how: string) => {
    if (how === "hang") return new Promise<never>(() => {});
    if (how === "hang-on-restart" && restarts++ > 0) return new Promise<never>(() => {});
    return ok({});
  },
});

/** A starter whose pid comes only when released: too late for the hub. */
let release: ((pid: Pid) => void) | undefined;
const LateStarter: ChildStarter = {
  start: () => new Promise<Pid>((r) => (release = r)),
};

let leave: (() => Promise<void>) | undefined;
afterEach(async () => {
  await leave?.();
  leave = undefined;
});

async function twoNodes(initTimeoutMs = 300) {
  const { nodes, clusters } = await startMemoryCluster(["ha", "hb"]);
  const hubs = nodes.map((node, i) =>
    ProcessHub.start({
      hubId: "hang",
      node,
      cluster: clusters[i]!,
      behaviours: { sleepy: Sleepy, late: LateStarter },
      initTimeoutMs,
      logger: silentLogger,
    }),
  );
  leave = async () => {
    for (const h of hubs) await h.stop();
    for (const c of clusters) await c.leave();
  };
  await expect.poll(() => hubs.every((h) => h.nodes().length === 1)).toBe(true);
  return { hubs: hubs as [ProcessHub, ProcessHub], nodes };
}

describe("a child whose start hangs", () => {
  it("does not hold up its hub, and fails with ChildStartTimeoutError", async () => {
    const { hubs } = await twoNodes();
    const [a, b] = hubs;
    const hanging = a
      .startChildren([{ id: "stuck", behaviour: "sleepy", args: "hang" }], {
        awaitable: true,
        childMapping: { stuck: "ha" },
      })
      .await(10_000);
    // While `stuck` starts, ha's hub starts, registers and stops other children of its own, and
    // applies hb's registrations.
    const others = Array.from({ length: 20 }, (_, i) => ({
      id: `ok${i}`,
      behaviour: "sleepy",
      args: "fine",
    }));
    const mapping = Object.fromEntries(others.map((s) => [s.id, "ha"]));
    const r = await a.startChildren(others, { awaitable: true, childMapping: mapping }).await(10_000);
    expect(r.errors).toEqual([]);
    expect(r.started.length).toBe(20);
    expect(a.localChildren().size).toBe(20);
    await b
      .startChildren([{ id: "on-b", behaviour: "sleepy", args: "fine" }], {
        awaitable: true,
        childMapping: { "on-b": "hb" },
      })
      .await(10_000);
    await expect.poll(() => a.getPid("on-b") !== undefined).toBe(true);
    const stopped = await a.stopChildren(["ok0", "ok1"], { awaitable: true }).await(10_000);
    expect(stopped.stopped.map((s) => s.id).sort()).toEqual(["ok0", "ok1"]);

    const res = await hanging;
    expect(res.started).toEqual([]);
    expect(res.errors.map((e) => [e.id, e.reason])).toEqual([["stuck", "start_failed"]]);
    expect(res.errors[0]!.error).toBeInstanceOf(ChildStartTimeoutError);
    expect((res.errors[0]!.error as ChildStartTimeoutError).code).toBe("HV_ERR_HUB_CHILD_START_TIMEOUT");
    expect(a.getPid("stuck")).toBeUndefined();
    expect(a.localChildren().has("stuck")).toBe(false);
  });

  it("reports the timeout across nodes with its error class", async () => {
    const { hubs } = await twoNodes();
    const r = await hubs[0]
      .startChildren([{ id: "far", behaviour: "sleepy", args: "hang" }], {
        awaitable: true,
        childMapping: { far: "hb" },
      })
      .await(10_000);
    expect(r.errors.map((e) => [e.id, e.node, e.reason])).toEqual([["far", "hb", "start_failed"]]);
    expect(r.errors[0]!.error).toBeInstanceOf(ChildStartTimeoutError);
  });

  it("a ChildStarter whose pid comes too late fails, and that pid is killed when it comes", async () => {
    const { hubs, nodes } = await twoNodes();
    const r = await hubs[0]
      .startChildren([{ id: "late", behaviour: "late" }], { awaitable: true, childMapping: { late: "ha" } })
      .await(10_000);
    expect(r.errors[0]!.error).toBeInstanceOf(ChildStartTimeoutError);
    const pid = nodes[0]!.spawn(async (ctx) => {
      await ctx.receive(() => true);
    });
    release!(pid);
    await expect.poll(() => nodes[0]!.isAlive(pid)).toBe(false);
  });

  it("a crashed child whose restart hangs does not hold up its hub", async () => {
    restarts = 0;
    const { hubs, nodes } = await twoNodes();
    const [a] = hubs;
    await a
      .startChildren([{ id: "flaky", behaviour: "sleepy", args: "hang-on-restart" }], {
        awaitable: true,
        childMapping: { flaky: "ha" },
      })
      .await(10_000);
    const pid = a.getPid("flaky")!;
    nodes[0]!.exit(pid, "crash");
    // The restart hangs; the hub meanwhile serves a start and a stop.
    const r = await a
      .startChildren([{ id: "meanwhile", behaviour: "sleepy", args: "fine" }], {
        awaitable: true,
        childMapping: { meanwhile: "ha" },
      })
      .await(10_000);
    expect(r.started.map((s) => s.id)).toEqual(["meanwhile"]);
    // The restart timed out: the child is gone from the node and from the registry.
    await expect.poll(() => a.getPid("flaky")).toBeUndefined();
    expect(a.localChildren().has("flaky")).toBe(false);
  });

  it("holds up no other child's answer of the same start", async () => {
    const { hubs } = await twoNodes(60_000);
    const specs = [
      { id: "slow", behaviour: "sleepy", args: "hang" },
      ...Array.from({ length: 5 }, (_, i) => ({ id: `quick${i}`, behaviour: "sleepy", args: "fine" })),
    ];
    const mapping = Object.fromEntries(specs.map((s) => [s.id, "hb"]));
    // The caller waits 2 s per node; the hanging init would be killed only after 60 s.
    const r = await hubs[0]
      .startChildren(specs, { awaitable: true, childMapping: mapping, timeoutMs: 2000 })
      .await(10_000);
    expect(r.started.map((s) => s.id).sort()).toEqual(["quick0", "quick1", "quick2", "quick3", "quick4"]);
    expect(r.errors.map((e) => [e.id, e.reason])).toEqual([["slow", "node_receive_timeout"]]);
  });
});
