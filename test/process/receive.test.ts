import { describe, expect, it } from "vitest";
import { silentLogger } from "../../src/logger.js";
import { Node, ReceiveError, TIMEOUT } from "../../src/process/index.js";
import { newNode, probe, started, watchExit } from "./helpers.js";

describe("ProcessContext.receive", () => {
  it("returns messages in arrival order without a match", async () => {
    const node = newNode();
    const got: unknown[] = [];
    const pid = node.spawn(async (ctx) => {
      for (let i = 0; i < 3; i++) got.push(await ctx.receive());
    });
    node.send(pid, 1);
    node.send(pid, 2);
    node.send(pid, 3);
    await expect.poll(() => got).toEqual([1, 2, 3]);
  });

  it("takes the first matching message and leaves the others queued in order", async () => {
    const node = newNode();
    const got: unknown[] = [];
    const pid = node.spawn(async (ctx) => {
      got.push(await ctx.receive((m) => typeof m === "number"));
      got.push(await ctx.receive((m) => typeof m === "number"));
      got.push(await ctx.receive(), await ctx.receive(), await ctx.receive());
    });
    for (const m of ["a", 1, "b", 2, "c"]) node.send(pid, m);
    await expect.poll(() => got).toEqual([1, 2, "a", "b", "c"]);
  });

  it("waits for a matching message that arrives later, queueing the others", async () => {
    const node = newNode();
    const got: unknown[] = [];
    const pid = node.spawn(async (ctx) => {
      got.push(await ctx.receive((m) => m === "wanted"));
      got.push(await ctx.receive(), await ctx.receive());
    });
    await started(node, pid);
    node.send(pid, "x");
    node.send(pid, "y");
    expect(node.processInfo(pid)?.mailboxLength).toBe(2);
    expect(node.processInfo(pid)?.status).toBe("waiting");
    node.send(pid, "wanted");
    await expect.poll(() => got).toEqual(["wanted", "x", "y"]);
  });

  it("resolves TIMEOUT when no matching message comes in time, leaving non-matching ones", async () => {
    const node = newNode();
    const got: unknown[] = [];
    const pid = node.spawn(async (ctx) => {
      got.push(await ctx.receive((m) => m === "never", 20));
      got.push(await ctx.receive());
    });
    node.send(pid, "other");
    await expect.poll(() => got).toEqual([TIMEOUT, "other"]);
    expect(node.wheel.size).toBe(0);
  });

  it("resolves TIMEOUT at once with a zero timeout and an empty mailbox", async () => {
    const node = newNode();
    const got: unknown[] = [];
    node.spawn(async (ctx) => {
      got.push(await ctx.receive(undefined, 0));
    });
    await expect.poll(() => got).toEqual([TIMEOUT]);
  });

  it("cancels the timeout when a message arrives", async () => {
    const node = newNode();
    const got: unknown[] = [];
    const pid = node.spawn(async (ctx) => {
      got.push(await ctx.receive(undefined, 60_000));
    });
    await started(node, pid);
    expect(node.wheel.size).toBe(1);
    node.send(pid, "in time");
    await expect.poll(() => got).toEqual(["in time"]);
    expect(node.wheel.size).toBe(0);
  });

  it("throws ReceiveError for a second receive while one is pending", async () => {
    const node = newNode();
    const errors: unknown[] = [];
    node.spawn(async (ctx) => {
      void ctx.receive();
      try {
        await ctx.receive();
      } catch (e) {
        errors.push(e);
      }
    });
    await expect.poll(() => errors.length).toBe(1);
    expect(errors[0]).toBeInstanceOf(ReceiveError);
  });

  it("never resolves again in a killed process: messages sent after the kill are never seen", async () => {
    const node = newNode();
    const handled: unknown[] = [];
    const pid = node.spawn(async (ctx) => {
      for (;;) handled.push(await ctx.receive());
    });
    await started(node, pid);
    node.send(pid, "first");
    node.exit(pid, "kill");
    node.send(pid, "second");
    const witness = probe(node);
    node.send(witness.pid, "flushed");
    await expect.poll(() => witness.got).toEqual(["flushed"]);
    // The hand-off of "first" happened before the kill: the running step may still see it (kill
    // takes effect at the next boundary), but nothing after it.
    expect(handled).not.toContain("second");
    expect(handled.length).toBeLessThanOrEqual(1);
  });

  it("drops a resumption deferred past a macrotask when the process is killed meanwhile", async () => {
    const node = new Node({ name: "deferred", yieldEvery: 1, logger: silentLogger });
    const handled: unknown[] = [];
    const pid = node.spawn(async (ctx) => {
      for (;;) handled.push(await ctx.receive());
    });
    await started(node, pid);
    node.send(pid, "deferred");
    node.exit(pid, "kill");
    await new Promise<void>((resolve) => setImmediate(resolve));
    const witness = probe(node);
    node.send(witness.pid, "flushed");
    await expect.poll(() => witness.got).toEqual(["flushed"]);
    expect(handled).toEqual([]);
  });

  it("drops the receive timer of a process killed while waiting", async () => {
    const node = newNode();
    const pid = node.spawn(async (ctx) => {
      await ctx.receive(undefined, 60_000);
    });
    await started(node, pid);
    expect(node.wheel.size).toBe(1);
    node.exit(pid, "kill");
    expect(node.wheel.size).toBe(0);
  });

  it("crashes the receiving process, not the sender, when its match predicate throws", async () => {
    const node = newNode();
    const receiver = node.spawn(async (ctx) => {
      await ctx.receive((m) => {
        if (m === "poison") throw new Error("predicate failed");
        return false;
      });
    });
    await started(node, receiver);
    const seen = watchExit(node, receiver);
    const sender = probe(node);
    await started(node, sender.pid);
    expect(() => sender.ctx().send(receiver, "poison")).not.toThrow();
    expect(() => node.send(receiver, "poison")).not.toThrow();
    expect(node.isAlive(sender.pid)).toBe(true);
    expect(seen.dead).toBe(true);
    expect((seen.reason as Error).message).toBe("predicate failed");
  });

  it("crashes the process when its match predicate throws on a queued message", async () => {
    const node = newNode();
    const pid = node.spawn(async (ctx) => {
      await ctx.receive((m) => {
        if (m === "poison") throw new Error("predicate failed on queued");
        return false;
      });
    });
    const seen = watchExit(node, pid);
    node.send(pid, "poison");
    await expect.poll(() => seen.dead).toBe(true);
    expect((seen.reason as Error).message).toBe("predicate failed on queued");
  });
});
