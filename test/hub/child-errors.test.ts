/**
 * Hub child errors keep their values, locally and across nodes: `already_started` carries the pid
 * of the running copy, `start_failed` the start's error — what an `init` stopped with, or a
 * `StartCrashError` (thrown value and stack) for a start that threw — beside the printable detail.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ProcessHub } from "../../src/hub/process-hub.js";
import { silentLogger } from "../../src/logger.js";
import { Pid } from "../../src/process/pid.js";
import { defineServer, ok, StartCrashError } from "../../src/server/index.js";
import { startMemoryCluster } from "../../src/testing.js";

const Picky = defineServer<{}>()({
  name: "picky",
  init: (how: string) => {
    if (how === "throw") throw new Error("boom");
    if (how === "stop") return { stop: { code: "no_room", seats: 0 } };
    return ok({});
  },
});

let leave: (() => Promise<void>) | undefined;
afterEach(async () => {
  await leave?.();
  leave = undefined;
});

async function twoNodes() {
  const { nodes, clusters } = await startMemoryCluster(["ea", "eb"]);
  const hubs = nodes.map((node, i) =>
    ProcessHub.start({
      hubId: "errs",
      node,
      cluster: clusters[i]!,
      behaviours: { picky: Picky },
      logger: silentLogger,
    }),
  );
  leave = async () => {
    for (const h of hubs) await h.stop();
    for (const c of clusters) await c.leave();
  };
  await expect.poll(() => hubs.every((h) => h.nodes().length === 1)).toBe(true);
  return hubs as [ProcessHub, ProcessHub];
}

describe("hub child errors", () => {
  it("start_failed carries the error value, from this node and from another", async () => {
    const [a] = await twoNodes();
    for (const node of ["ea", "eb"]) {
      const r = await a
        .startChildren(
          [
            { id: `thrown-${node}`, behaviour: "picky", args: "throw" },
            { id: `stopped-${node}`, behaviour: "picky", args: "stop" },
          ],
          { awaitable: true, childMapping: { [`thrown-${node}`]: node, [`stopped-${node}`]: node } },
        )
        .await(5000);
      const byId = new Map(r.errors.map((e) => [e.id, e]));
      const thrown = byId.get(`thrown-${node}`)!;
      expect(thrown).toMatchObject({ reason: "start_failed", node });
      expect(thrown.error).toBeInstanceOf(StartCrashError);
      expect(((thrown.error as StartCrashError).thrown as Error).message).toBe("boom");
      expect(thrown.detail).toContain("boom");
      const stopped = byId.get(`stopped-${node}`)!;
      expect(stopped).toMatchObject({ reason: "start_failed", error: { code: "no_room", seats: 0 } });
    }
  });

  it("already_started carries the running pid, whether checked up front or by the owner", async () => {
    const [a, b] = await twoNodes();
    const spec = { id: "room", behaviour: "picky", args: "ok" };
    const first = await a.startChildren([spec], { awaitable: true }).await(5000);
    const pid = first.started[0]!.nodes[0]!.pid;
    await expect.poll(() => b.getPid("room")?.equals(pid)).toBe(true);
    const upFront = await b.startChildren([spec], { awaitable: true }).await(5000);
    expect(upFront.errors[0]).toMatchObject({ reason: "already_started" });
    expect(upFront.errors[0]!.pid).toBeInstanceOf(Pid);
    expect(upFront.errors[0]!.pid!.equals(pid)).toBe(true);
    const byOwner = await b.startChildren([spec], { awaitable: true, checkExisting: false }).await(5000);
    expect(byOwner.errors[0]).toMatchObject({ reason: "already_started" });
    expect(byOwner.errors[0]!.pid!.equals(pid)).toBe(true);
  });
});
