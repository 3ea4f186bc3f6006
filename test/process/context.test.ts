import { describe, expect, it } from "vitest";
import { type From, type Ref, shutdownWith } from "../../src/process/index.js";
import { idle, newNode, probe, started, watchExit } from "./helpers.js";

describe("ProcessContext after the process died", () => {
  it("does nothing: a killed process still running until its next await sends no message or signal", async () => {
    const node = newNode();
    const target = probe(node, (ctx) => ctx.trapExit(true));
    const requests: unknown[] = [];
    const server = node.spawnHandler((msg) => {
      requests.push(msg);
      node.reply((msg as [From])[0], "answered");
    }, null).pid;
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const outcomes: unknown[] = [];
    let monitorRef: Ref | undefined;
    const zombie = node.spawn(async (ctx) => {
      await gate;
      ctx.send(target.pid, "from a dead process");
      ctx.exit(target.pid, "boom");
      monitorRef = ctx.monitor(target.pid);
      ctx.link(target.pid);
      outcomes.push("ran on");
      void ctx.call(server, (from) => [from]).then((v) => outcomes.push(v));
    });
    await started(node, target.pid);
    node.exit(zombie, "kill");
    release();
    await expect.poll(() => outcomes).toEqual(["ran on"]);
    const witness = idle(node);
    node.send(target.pid, "marker");
    await expect.poll(() => target.got).toEqual(["marker"]);
    expect(monitorRef).toBeDefined();
    expect(node.processInfo(target.pid)).toMatchObject({ links: [], monitoredBy: [] });
    expect(requests).toEqual([]);
    expect(node.pendingCalls).toBe(0);
    expect(node.isAlive(witness)).toBe(true);
  });
});

describe("ProcessContext.stop", () => {
  it("ends the process at once with the given reason; a later receive never resolves", async () => {
    const node = newNode();
    const after: unknown[] = [];
    const seen: unknown[] = [];
    const pid = node.spawn(async (ctx) => {
      ctx.stop(shutdownWith("done"));
      seen.push(node.isAlive(ctx.self));
      after.push(await ctx.receive(undefined, 0));
    });
    const exit = watchExit(node, pid);
    await expect.poll(() => exit.dead).toBe(true);
    expect(exit.reason).toEqual({ shutdown: "done" });
    const witness = probe(node);
    node.send(witness.pid, "flushed");
    await expect.poll(() => witness.got).toEqual(["flushed"]);
    expect(seen).toEqual([false]);
    expect(after).toEqual([]);
  });
});
