/**
 * `Node.kill` (SIGKILL) and `Node.pause` / `resume` (SIGSTOP / SIGCONT) on a node alone. Proving
 * that something did *not* happen needs time to pass: each such test waits for a timer set
 * after, and due later than, the one the frozen or dead node would have fired, so a node that
 * was not frozen would have acted first.
 */
import { describe, expect, it } from "vitest";
import { CallTimeoutError, type Node, type Pid, TIMEOUT } from "../../src/process/index.js";
import { defineServer, GenServer, noreply, ok, reply } from "../../src/server/index.js";
import { idle, newNode, started } from "./helpers.js";

/** Resolves once `ms` have passed on a timer of the program (not of any node under test). */
function later(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A handler process that records every message it handles. */
function recorder(node: Node, log: unknown[]): Pid {
  return node.spawnHandler((msg) => void log.push(msg), null).pid;
}

const Ticker = defineServer<{ calls: { ticks(): number } }>()({
  name: "ticker",
  init: (log: string[]) => ok({ log, n: 0 }),
  handleCall: { ticks: (_a, s) => reply(s.n, s) },
  handleInfo: (_m, s) => noreply({ ...s, n: s.n + 1 }),
  terminate: (_reason, s) => void s.log.push("terminate"),
});

describe("Node.kill", () => {
  it("ends every process at once, running no exit hook, terminate, link or monitor", async () => {
    const node = newNode();
    const log: string[] = [];
    const server = await GenServer.start(Ticker, log, { node, trapExit: true });
    if (!server.ok) throw new Error("no server");
    const fiber = idle(node, { name: "fiber" });
    await started(node, fiber);
    node.onExit(fiber, () => log.push("exit hook"));
    const watcher = idle(node);
    node.runAs(watcher, () => {
      node.monitor(fiber);
      node.link(server.pid);
    });
    expect(node.processCount).toBe(3);

    node.kill();

    expect(node.state).toBe("killed");
    expect(node.processCount).toBe(0);
    for (const pid of [server.pid, fiber, watcher]) expect(node.isAlive(pid)).toBe(false);
    expect(node.whereis("fiber")).toBeUndefined();
    await later(20);
    expect(log).toEqual([]);
  });

  it("stops its timers: a process that ticked on a timeout does nothing afterwards", async () => {
    const node = newNode();
    let ticks = 0;
    node.spawn(async (ctx) => {
      for (;;) {
        await ctx.receive(() => false, 2);
        ticks++;
      }
    });
    await expect.poll(() => ticks).toBeGreaterThan(2);
    const target = idle(node);
    const call = node.call(target, () => "no answer", 10);
    let settled = false;
    call.then(
      () => (settled = true),
      () => (settled = true),
    );
    node.kill();
    const atKill = ticks;
    await later(40);
    expect(ticks).toBe(atKill);
    // The caller is gone with its node: its call neither answers nor times out.
    expect(settled).toBe(false);
    expect(node.pendingCalls).toBe(0);
  });

  it("drops what it is asked afterwards: send, exit and monitor do nothing, spawn never runs, calls never settle", async () => {
    const node = newNode();
    const other = idle(node, { name: "other" });
    node.kill();
    expect(() => node.send(other, "x")).not.toThrow();
    expect(() => node.send("other", "x")).not.toThrow();
    expect(() => node.exit(other, "kill")).not.toThrow();
    expect(() => node.monitor(other)).not.toThrow();
    let ran = false;
    const pid = node.spawn(() => {
      ran = true;
    });
    expect(node.isAlive(pid)).toBe(false);
    const start = await GenServer.start(Ticker, [], { node });
    expect(start).toEqual({ ok: false, error: "killed" });
    let settled = false;
    node
      .call(other, () => "x", 5)
      .then(
        () => (settled = true),
        () => (settled = true),
      );
    await later(30);
    expect(ran).toBe(false);
    expect(settled).toBe(false);
    expect(node.processCount).toBe(0);
  });

  it("kills a paused node too, for good", () => {
    const node = newNode();
    idle(node);
    node.pause();
    node.kill();
    node.resume();
    expect(node.state).toBe("killed");
    expect(node.processCount).toBe(0);
  });
});

describe("Node.pause / resume", () => {
  it("runs no process while paused; the mail held meanwhile is handled after resume, in order", async () => {
    const node = newNode();
    const log: unknown[] = [];
    const rec = recorder(node, log);
    let fiberRan = false;
    node.pause();
    expect(node.state).toBe("paused");
    for (const m of [1, 2, 3]) node.send(rec, m);
    node.spawn(() => {
      fiberRan = true;
    });
    await later(20);
    expect(log).toEqual([]);
    expect(fiberRan).toBe(false);
    expect(node.processInfo(rec)?.mailboxLength).toBe(3);
    node.resume();
    expect(node.state).toBe("running");
    await expect.poll(() => log).toEqual([1, 2, 3]);
    await expect.poll(() => fiberRan).toBe(true);
  });

  it("holds a fiber's receive: it takes the first matching held message after resume", async () => {
    const node = newNode();
    const got: unknown[] = [];
    const fiber = node.spawn(async (ctx) => {
      got.push(await ctx.receive((m) => typeof m === "number"));
      got.push(await ctx.receive());
    });
    await started(node, fiber);
    node.pause();
    node.send(fiber, "text");
    node.send(fiber, 7);
    await later(10);
    expect(got).toEqual([]);
    node.resume();
    await expect.poll(() => got).toEqual([7, "text"]);
  });

  it("fires no timeout while paused; at resume the overdue ones fire first, in deadline order, before any process runs", async () => {
    const node = newNode();
    const log: string[] = [];
    const waiter = node.spawn(async (ctx) => {
      const r = await ctx.receive((m) => m === "x", 20);
      log.push(r === TIMEOUT ? "receive timed out" : "receive got x");
      log.push(`then got ${String(await ctx.receive())}`);
    });
    await started(node, waiter);
    const silent = idle(node);
    const call = node
      .call(silent, () => "no answer", 30)
      .then(
        () => "answered",
        (e: unknown) => (e instanceof CallTimeoutError ? "call timed out" : String(e)),
      );
    const handled: unknown[] = [];
    const rec = recorder(node, handled);
    node.pause();
    await later(60);
    expect(log).toEqual([]);
    expect(node.pendingCalls).toBe(1);
    node.send(waiter, "x");
    node.send(rec, "held");

    node.resume();
    // The timers phase ran inside `resume`: both timeouts are settled, no mail is handled yet.
    expect(node.pendingCalls).toBe(0);
    expect(node.processInfo(waiter)?.status).toBe("running");
    expect(handled).toEqual([]);
    expect(await call).toBe("call timed out");
    // The receive was due before the call: it timed out though "x" had arrived meanwhile, as a
    // resumed OS process runs its timers before it reads its sockets.
    await expect.poll(() => log).toEqual(["receive timed out", "then got x"]);
    await expect.poll(() => handled).toEqual(["held"]);
  });

  it("fires overdue wheel timers and call timeouts as one sequence in deadline order", async () => {
    const node = newNode();
    const seen: Array<[string, number]> = [];
    node.wheel.add(4, () => seen.push(["early timer", node.pendingCalls]));
    const call = node.call(idle(node), () => "no answer", 20).catch(() => "timed out");
    node.wheel.add(40, () => seen.push(["late timer", node.pendingCalls]));
    node.pause();
    await later(80);
    expect(seen).toEqual([]);
    node.resume();
    // Each timer saw the call pending or not as its deadline came before or after the call's.
    expect(seen).toEqual([
      ["early timer", 1],
      ["late timer", 0],
    ]);
    expect(await call).toBe("timed out");
  });

  it("a timeout not yet due at resume fires on time afterwards", async () => {
    const node = newNode();
    const log: unknown[] = [];
    const fiber = node.spawn(async (ctx) => {
      log.push(await ctx.receive(() => false, 60));
    });
    await started(node, fiber);
    node.pause();
    node.resume();
    expect(log).toEqual([]);
    await expect.poll(() => log).toEqual([TIMEOUT]);
  });
});
