import { describe, expect, it } from "vitest";
import { DownMessage, ExitMessage, isDownMessage, shutdownWith } from "../../src/process/index.js";
import { idle, newNode, probe, started } from "./helpers.js";

describe("Node.monitor", () => {
  it("is stackable: two monitors give two refs and two DOWN messages", async () => {
    const node = newNode();
    const target = idle(node);
    const refs: unknown[] = [];
    const w = probe(node, (ctx) => {
      refs.push(ctx.monitor(target), ctx.monitor(target));
    });
    await started(node, w.pid);
    expect(node.processInfo(w.pid)?.monitors).toEqual([target, target]);
    node.exit(target, "boom");
    await expect.poll(() => w.got.length).toBe(2);
    expect(w.got).toEqual([
      new DownMessage(refs[0] as never, target, "boom"),
      new DownMessage(refs[1] as never, target, "boom"),
    ]);
    expect(node.processInfo(w.pid)?.monitors).toEqual([]);
  });

  for (const reason of ["normal", "shutdown", shutdownWith(1), "killed", new Error("x")]) {
    it(`sends DOWN with the exit reason ${reason instanceof Error ? "Error" : JSON.stringify(reason)}`, async () => {
      const node = newNode();
      const target = probe(node);
      const w = probe(node, (ctx) => ctx.monitor(target.pid));
      await started(node, w.pid);
      await started(node, target.pid);
      if (reason === "killed") node.exit(target.pid, "kill");
      else target.ctx().stop(reason);
      await expect.poll(() => w.got.length).toBe(1);
      const down = w.got[0] as DownMessage;
      expect(isDownMessage(down)).toBe(true);
      expect(down.pid).toEqual(target.pid);
      expect(down.reason).toBe(reason);
    });
  }

  it("sends DOWN noproc at once for a dead pid", async () => {
    const node = newNode();
    const dead = idle(node);
    node.exit(dead, "kill");
    let ref: unknown;
    const w = probe(node, (ctx) => {
      ref = ctx.monitor(dead);
    });
    await expect.poll(() => w.got.length).toBe(1);
    expect(w.got).toEqual([new DownMessage(ref as never, dead, "noproc")]);
    expect(node.processInfo(w.pid)?.monitors).toEqual([]);
  });

  it("sends DOWN noproc at once for an unregistered name", async () => {
    const node = newNode();
    const w = probe(node, (ctx) => ctx.monitor("nobody"));
    await expect.poll(() => w.got.length).toBe(1);
    expect((w.got[0] as DownMessage).reason).toBe("noproc");
  });

  it("monitors a registered name's process", async () => {
    const node = newNode();
    const target = idle(node, { name: "svc" });
    const w = probe(node, (ctx) => ctx.monitor("svc"));
    await started(node, w.pid);
    node.exit(target, "shutdown");
    await expect.poll(() => w.got.length).toBe(1);
    expect((w.got[0] as DownMessage).reason).toBe("shutdown");
  });

  it("is one-way: the watcher's death does not touch the target", async () => {
    const node = newNode();
    const target = idle(node);
    const w = probe(node, (ctx) => ctx.monitor(target));
    await started(node, w.pid);
    node.exit(w.pid, "boom");
    expect(node.isAlive(target)).toBe(true);
    expect(node.processInfo(target)?.monitoredBy).toEqual([]);
  });

  it("lists the watcher in the target's monitoredBy", async () => {
    const node = newNode();
    const target = idle(node);
    const w = probe(node, (ctx) => ctx.monitor(target));
    await started(node, w.pid);
    expect(node.processInfo(target)?.monitoredBy).toEqual([w.pid]);
  });
});

describe("Node.demonitor", () => {
  it("stops delivery of the DOWN and returns true for an active monitor", async () => {
    const node = newNode();
    const target = idle(node);
    let ref: unknown;
    const w = probe(node, (ctx) => {
      ref = ctx.monitor(target);
    });
    await started(node, w.pid);
    expect(w.ctx().demonitor(ref as never)).toBe(true);
    expect(node.processInfo(target)?.monitoredBy).toEqual([]);
    node.exit(target, "boom");
    const marker = Symbol("after");
    node.send(w.pid, marker);
    await expect.poll(() => w.got).toEqual([marker]);
  });

  it("returns false for a monitor that already fired", async () => {
    const node = newNode();
    const target = idle(node);
    let ref: unknown;
    const w = probe(node, (ctx) => {
      ref = ctx.monitor(target);
    });
    await started(node, w.pid);
    node.exit(target, "boom");
    await expect.poll(() => w.got.length).toBe(1);
    expect(w.ctx().demonitor(ref as never)).toBe(false);
  });

  it("with flush, also drops a DOWN already queued in the mailbox", async () => {
    const node = newNode();
    const target = idle(node);
    const log: unknown[] = [];
    const w = node.spawn(async (ctx) => {
      const ref = ctx.monitor(target);
      await ctx.receive((m) => m === "go");
      ctx.demonitor(ref, { flush: true });
      log.push(await ctx.receive(undefined, 0));
    });
    await started(node, w);
    node.exit(target, "boom");
    expect(node.processInfo(w)?.mailboxLength).toBe(1);
    node.send(w, "go");
    await expect.poll(() => log.length).toBe(1);
    expect(log[0]).not.toBeInstanceOf(DownMessage);
  });

  it("works from outside any process (the system pid holds the monitor)", () => {
    const node = newNode();
    const target = idle(node);
    const ref = node.monitor(target);
    expect(node.processInfo(target)?.monitoredBy).toEqual([node.systemPid]);
    expect(node.demonitor(ref)).toBe(true);
    expect(node.processInfo(target)?.monitoredBy).toEqual([]);
    expect(node.demonitor(ref)).toBe(false);
  });
});

describe("Node.spawnMonitor", () => {
  it("spawns and monitors in one step", async () => {
    const node = newNode();
    let spawned: { pid: unknown; ref: unknown } | undefined;
    const w = probe(node, (ctx) => {
      spawned = ctx.node.spawnMonitor(async () => {
        throw new Error("at once");
      });
    });
    await expect.poll(() => w.got.length).toBe(1);
    const down = w.got[0] as DownMessage;
    expect(down.ref).toBe(spawned?.ref);
    expect(down.pid).toBe(spawned?.pid);
    expect((down.reason as Error).message).toBe("at once");
  });
});

describe("signal ordering", () => {
  it("delivers EXIT before DOWN to a process that links and monitors the same target", async () => {
    const node = newNode();
    const target = idle(node);
    const w = probe(node, (ctx) => {
      ctx.trapExit(true);
      ctx.monitor(target);
      ctx.link(target);
    });
    await started(node, w.pid);
    node.exit(target, "boom");
    await expect.poll(() => w.got.length).toBe(2);
    expect(w.got[0]).toBeInstanceOf(ExitMessage);
    expect(w.got[1]).toBeInstanceOf(DownMessage);
  });

  it("delivers messages and the final signal of a sender in send order", async () => {
    const node = newNode();
    const w = probe(node, (ctx) => ctx.trapExit(true));
    await started(node, w.pid);
    const sender = node.spawn(async (ctx) => {
      ctx.link(w.pid);
      ctx.monitor(w.pid);
      for (let i = 0; i < 100; i++) ctx.send(w.pid, i);
      throw new Error("last");
    });
    await expect.poll(() => w.got.length).toBe(101);
    expect(w.got.slice(0, 100)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(w.got[100]).toBeInstanceOf(ExitMessage);
    expect((w.got[100] as ExitMessage).from).toEqual(sender);
  });
});
