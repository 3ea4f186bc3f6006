import { describe, expect, it } from "vitest";
import { ExitMessage, shutdownWith } from "../../src/process/index.js";
import { idle, newNode, probe, started, watchExit } from "./helpers.js";

describe("Node.exit (signal table of reference §A)", () => {
  it("ignores a normal signal from another process when the target does not trap exits", async () => {
    const node = newNode();
    const target = idle(node);
    await started(node, target);
    const sender = probe(node);
    await started(node, sender.pid);
    sender.ctx().exit(target, "normal");
    node.exit(target, "normal");
    expect(node.isAlive(target)).toBe(true);
  });

  it("delivers {EXIT, from, normal} for a normal signal from another process to a trapping target", async () => {
    const node = newNode();
    const target = probe(node, (ctx) => ctx.trapExit(true));
    const sender = probe(node);
    await started(node, sender.pid);
    sender.ctx().exit(target.pid, "normal");
    await expect.poll(() => target.got.length).toBe(1);
    expect(target.got[0]).toEqual(new ExitMessage(sender.pid, "normal"));
    expect(node.isAlive(target.pid)).toBe(true);
  });

  it("ends a non-trapping process that sends normal to itself, with reason normal", async () => {
    const node = newNode();
    const target = probe(node);
    const seen = watchExit(node, target.pid);
    await started(node, target.pid);
    target.ctx().exit(target.pid, "normal");
    expect(seen).toEqual({ dead: true, reason: "normal" });
    expect(node.isAlive(target.pid)).toBe(false);
  });

  it("delivers {EXIT, self, normal} to a trapping process that sends normal to itself", async () => {
    const node = newNode();
    const target = probe(node, (ctx) => ctx.trapExit(true));
    await started(node, target.pid);
    target.ctx().exit(target.pid, "normal");
    await expect.poll(() => target.got.length).toBe(1);
    expect(target.got[0]).toEqual(new ExitMessage(target.pid, "normal"));
    expect(node.isAlive(target.pid)).toBe(true);
  });

  it("kills a non-trapping process with kill, which exits killed", async () => {
    const node = newNode();
    const target = idle(node);
    const seen = watchExit(node, target);
    node.exit(target, "kill");
    expect(seen).toEqual({ dead: true, reason: "killed" });
  });

  it("kills a trapping process with kill too: kill is untrappable and the reason is killed", async () => {
    const node = newNode();
    const target = probe(node, (ctx) => ctx.trapExit(true));
    await started(node, target.pid);
    const seen = watchExit(node, target.pid);
    node.exit(target.pid, "kill");
    expect(seen).toEqual({ dead: true, reason: "killed" });
    expect(target.got).toEqual([]);
  });

  it("kills a process that sends kill to itself with reason killed (exit/2 semantics)", async () => {
    const node = newNode();
    const target = probe(node, (ctx) => ctx.trapExit(true));
    await started(node, target.pid);
    const seen = watchExit(node, target.pid);
    target.ctx().exit(target.pid, "kill");
    expect(seen).toEqual({ dead: true, reason: "killed" });
  });

  for (const reason of ["shutdown", shutdownWith({ why: "maintenance" }), "boom", new Error("bad")]) {
    const label = reason instanceof Error ? "an Error" : JSON.stringify(reason);
    it(`ends a non-trapping process with reason ${label}, which re-propagates to its links`, async () => {
      const node = newNode();
      const target = idle(node);
      const linked = probe(node, (ctx) => {
        ctx.trapExit(true);
        ctx.link(target);
      });
      await started(node, linked.pid);
      const seen = watchExit(node, target);
      node.exit(target, reason);
      expect(seen).toEqual({ dead: true, reason });
      await expect.poll(() => linked.got.length).toBe(1);
      expect(linked.got[0]).toEqual(new ExitMessage(target, reason));
      expect((linked.got[0] as ExitMessage).reason).toBe(reason);
    });

    it(`turns ${label} into an EXIT message for a trapping process, which lives`, async () => {
      const node = newNode();
      const target = probe(node, (ctx) => ctx.trapExit(true));
      const sender = probe(node);
      await started(node, sender.pid);
      await started(node, target.pid);
      sender.ctx().exit(target.pid, reason);
      await expect.poll(() => target.got.length).toBe(1);
      expect(target.got[0]).toEqual(new ExitMessage(sender.pid, reason));
      expect(node.isAlive(target.pid)).toBe(true);
    });
  }

  it("names the node's system pid as the sender of a signal sent from outside any process", async () => {
    const node = newNode();
    const target = probe(node, (ctx) => ctx.trapExit(true));
    await started(node, target.pid);
    node.exit(target.pid, "shutdown");
    await expect.poll(() => target.got.length).toBe(1);
    expect((target.got[0] as ExitMessage).from.equals(node.systemPid)).toBe(true);
  });

  it("is a no-op on a dead target", async () => {
    const node = newNode();
    const target = idle(node);
    node.exit(target, "kill");
    expect(() => node.exit(target, "kill")).not.toThrow();
    expect(() => node.exit(target, "boom")).not.toThrow();
    expect(node.isAlive(target)).toBe(false);
    expect(node.processCount).toBe(0);
  });
});

describe("exit propagation over links", () => {
  it("propagates killed, not kill, from a killed process: a trapping link gets EXIT killed and lives", async () => {
    const node = newNode();
    const victim = idle(node);
    const linked = probe(node, (ctx) => {
      ctx.trapExit(true);
      ctx.link(victim);
    });
    await started(node, linked.pid);
    node.exit(victim, "kill");
    await expect.poll(() => linked.got.length).toBe(1);
    expect(linked.got[0]).toEqual(new ExitMessage(victim, "killed"));
    expect(node.isAlive(linked.pid)).toBe(true);
  });

  it("ends a non-trapping link of a killed process with killed, and it propagates further", async () => {
    const node = newNode();
    const victim = idle(node);
    const middle = probe(node, (ctx) => ctx.link(victim));
    await started(node, middle.pid);
    const outer = probe(node, (ctx) => {
      ctx.trapExit(true);
      ctx.link(middle.pid);
    });
    await started(node, outer.pid);
    const seen = watchExit(node, middle.pid);
    node.exit(victim, "kill");
    expect(seen).toEqual({ dead: true, reason: "killed" });
    await expect.poll(() => outer.got.length).toBe(1);
    expect(outer.got[0]).toEqual(new ExitMessage(middle.pid, "killed"));
  });

  it("propagates a trappable kill from a process that exits with reason kill itself (exit/1)", async () => {
    const node = newNode();
    const self = probe(node);
    await started(node, self.pid);
    const trapping = probe(node, (ctx) => {
      ctx.trapExit(true);
      ctx.link(self.pid);
    });
    const plain = probe(node, (ctx) => ctx.link(self.pid));
    await started(node, trapping.pid);
    await started(node, plain.pid);
    const plainExit = watchExit(node, plain.pid);
    self.ctx().stop("kill");
    await expect.poll(() => trapping.got.length).toBe(1);
    expect(trapping.got[0]).toEqual(new ExitMessage(self.pid, "kill"));
    expect(node.isAlive(trapping.pid)).toBe(true);
    expect(plainExit).toEqual({ dead: true, reason: "kill" });
  });

  it("does not end a non-trapping link when a process exits normal", async () => {
    const node = newNode();
    const child = probe(node);
    const linked = probe(node, (ctx) => ctx.link(child.pid));
    await started(node, linked.pid);
    await started(node, child.pid);
    child.ctx().stop("normal");
    expect(node.isAlive(linked.pid)).toBe(true);
    expect(node.processInfo(linked.pid)?.links).toEqual([]);
  });

  it("delivers EXIT normal to a trapping link when a process returns", async () => {
    const node = newNode();
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const child = node.spawn(async () => {
      await gate;
    });
    const linked = probe(node, (ctx) => {
      ctx.trapExit(true);
      ctx.link(child);
    });
    await started(node, linked.pid);
    release();
    await expect.poll(() => linked.got.length).toBe(1);
    expect(linked.got[0]).toEqual(new ExitMessage(child, "normal"));
  });
});
