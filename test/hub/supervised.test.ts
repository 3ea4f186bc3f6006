/**
 * `ProcessHub.childSpec`: a hub as a child of a Supervisor tree. The supervisor starts it linked,
 * restarts it when it crashes, and stopping the supervisor stops the hub gracefully.
 */
import { describe, expect, it } from "vitest";
import { ProcessHub } from "../../src/hub/process-hub.js";
import { silentLogger } from "../../src/logger.js";
import { Node } from "../../src/process/node.js";
import { Supervisor } from "../../src/supervision/index.js";
import { behaviours, specs } from "./scenarios.js";

describe("ProcessHub.childSpec", () => {
  it("describes a permanent supervisor-type child named after the hub", () => {
    const spec = ProcessHub.childSpec({ hubId: "tree", behaviours });
    expect(spec).toMatchObject({
      id: "ProcessHub:tree",
      restart: "permanent",
      shutdown: "infinity",
      type: "supervisor",
    });
    expect(ProcessHub.childSpec({ hubId: "x", id: "mine", shutdown: 1000 })).toMatchObject({
      id: "mine",
      shutdown: 1000,
    });
  });

  it("runs a hub under a Supervisor, restarted after a crash and stopped with the tree", async () => {
    const node = new Node({ name: "suphub", logger: silentLogger });
    const r = await Supervisor.startLink(
      [ProcessHub.childSpec({ hubId: "tree", node, behaviours, logger: silentLogger })],
      { strategy: "one_for_one", node },
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const sup = r.pid;
    const hub = ProcessHub.get("tree", node);
    expect(hub.isAlive()).toBe(true);
    const which = await Supervisor.whichChildren(sup);
    expect(which.map((c) => c.id)).toEqual(["ProcessHub:tree"]);
    expect(String(which[0]!.pid)).toBe(String(hub.pid));

    const started = await hub.startChildren(specs(10), { awaitable: true }).await(5000);
    expect(started.status).toBe("ok");

    node.exit(hub.pid, "kill");
    await expect
      .poll(() => {
        const again = ProcessHub.whereis("tree", node);
        return again !== undefined && again !== hub && again.isAlive();
      })
      .toBe(true);
    const restarted = ProcessHub.get("tree", node);
    expect(String((await Supervisor.whichChildren(sup))[0]!.pid)).toBe(String(restarted.pid));
    const again = await restarted.startChildren(specs(5, "r"), { awaitable: true }).await(5000);
    expect(again.started).toHaveLength(5);
    const childPids = again.pids();

    await Supervisor.stop(sup);
    expect(restarted.isAlive()).toBe(false);
    expect(ProcessHub.whereis("tree", node)).toBeUndefined();
    for (const pid of childPids) expect(node.isAlive(pid)).toBe(false);
  });

  it("answers an error, not a throw, when the hub already runs on the node", async () => {
    const node = new Node({ name: "suphub2", logger: silentLogger });
    const first = ProcessHub.start({ hubId: "dup", node, logger: silentLogger });
    const spec = ProcessHub.childSpec({ hubId: "dup", node });
    const r = spec.start();
    expect(r.ok).toBe(false);
    await first.stop();
  });
});

describe("ProcessHub.start with linkTo", () => {
  it("links to an async process's context after an await, on that process's node", async () => {
    const node = new Node({ name: "ctxhub", logger: silentLogger });
    let hubPid: unknown;
    const owner = node.spawn(async (ctx) => {
      await Promise.resolve();
      const hub = ProcessHub.start({ hubId: "ctx", linkTo: ctx, behaviours, logger: silentLogger });
      hubPid = hub.pid;
      await ctx.receive();
    });
    await expect.poll(() => hubPid !== undefined).toBe(true);
    const hub = ProcessHub.get("ctx", node);
    expect(node.processInfo(owner)?.links.map(String)).toContain(String(hub.pid));
    // The owner's exit stops the hub (gracefully: it is the link's signal).
    node.exit(owner, "shutdown");
    await expect.poll(() => hub.isAlive()).toBe(false);
  });
});
