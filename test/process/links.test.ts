import { describe, expect, it } from "vitest";
import { ExitMessage, NotInProcessError } from "../../src/process/index.js";
import { idle, newNode, probe, started, watchExit } from "./helpers.js";

describe("Node.link", () => {
  it("links both ways: each side lists the other", async () => {
    const node = newNode();
    const a = idle(node);
    const b = probe(node, (ctx) => ctx.link(a));
    await started(node, b.pid);
    expect(node.processInfo(a)?.links).toEqual([b.pid]);
    expect(node.processInfo(b.pid)?.links).toEqual([a]);
  });

  it("carries a death in either direction", async () => {
    const node = newNode();
    const a = probe(node, (ctx) => ctx.trapExit(true));
    const b = probe(node, (ctx) => {
      ctx.trapExit(true);
      ctx.link(a.pid);
    });
    await started(node, b.pid);
    node.exit(b.pid, "kill");
    await expect.poll(() => a.got).toEqual([new ExitMessage(b.pid, "killed")]);
    const c = probe(node, (ctx) => ctx.trapExit(true));
    await started(node, c.pid);
    const d = probe(node, (ctx) => ctx.link(c.pid));
    await started(node, d.pid);
    c.ctx().stop("boom");
    expect(node.isAlive(d.pid)).toBe(false);
  });

  it("keeps at most one link per pair: linking twice is linking once", async () => {
    const node = newNode();
    const a = idle(node);
    const b = probe(node, (ctx) => {
      ctx.trapExit(true);
      ctx.link(a);
      ctx.link(a);
    });
    await started(node, b.pid);
    expect(node.processInfo(a)?.links).toEqual([b.pid]);
    b.ctx().unlink(a);
    expect(node.processInfo(a)?.links).toEqual([]);
    node.exit(a, "boom");
    expect(b.got).toEqual([]);
  });

  it("does nothing when a process links to itself", async () => {
    const node = newNode();
    const a = probe(node, (ctx) => ctx.link(ctx.self));
    await started(node, a.pid);
    expect(node.processInfo(a.pid)?.links).toEqual([]);
  });

  it("ends a non-trapping caller with noproc when the target is dead", async () => {
    const node = newNode();
    const dead = idle(node);
    node.exit(dead, "kill");
    const caller = probe(node);
    await started(node, caller.pid);
    const seen = watchExit(node, caller.pid);
    caller.ctx().link(dead);
    expect(seen).toEqual({ dead: true, reason: "noproc" });
  });

  it("sends {EXIT, pid, noproc} to a trapping caller when the target is dead", async () => {
    const node = newNode();
    const dead = idle(node);
    node.exit(dead, "kill");
    const caller = probe(node, (ctx) => {
      ctx.trapExit(true);
      ctx.link(dead);
    });
    await expect.poll(() => caller.got).toEqual([new ExitMessage(dead, "noproc")]);
    expect(node.isAlive(caller.pid)).toBe(true);
    expect(node.processInfo(caller.pid)?.links).toEqual([]);
  });

  it("throws NotInProcessError when called outside any process", () => {
    const node = newNode();
    const a = idle(node);
    expect(() => node.link(a)).toThrow(NotInProcessError);
  });

  it("links a spawned process to its parent with the link option", async () => {
    const node = newNode();
    const parent = probe(node, (ctx) => {
      ctx.trapExit(true);
      ctx.spawn(
        async () => {
          throw new Error("child failed");
        },
        { link: true },
      );
    });
    await expect.poll(() => parent.got.length).toBe(1);
    const exit = parent.got[0] as ExitMessage;
    expect(exit).toBeInstanceOf(ExitMessage);
    expect((exit.reason as Error).message).toBe("child failed");
  });
});

describe("Node.unlink", () => {
  it("removes the link in both directions, whichever side unlinks", async () => {
    const node = newNode();
    const a = probe(node, (ctx) => ctx.trapExit(true));
    const b = probe(node, (ctx) => {
      ctx.trapExit(true);
      ctx.link(a.pid);
    });
    await started(node, b.pid);
    a.ctx().unlink(b.pid);
    expect(node.processInfo(a.pid)?.links).toEqual([]);
    expect(node.processInfo(b.pid)?.links).toEqual([]);
    node.exit(a.pid, "kill");
    node.exit(b.pid, "kill");
    expect(a.got).toEqual([]);
    expect(b.got).toEqual([]);
  });

  it("is a no-op for an absent link and for a dead pid", async () => {
    const node = newNode();
    const a = probe(node);
    const other = idle(node);
    const dead = idle(node);
    node.exit(dead, "kill");
    await started(node, a.pid);
    expect(() => a.ctx().unlink(other)).not.toThrow();
    expect(() => a.ctx().unlink(dead)).not.toThrow();
    expect(node.isAlive(a.pid)).toBe(true);
    expect(node.processInfo(a.pid)?.links).toEqual([]);
  });
});
