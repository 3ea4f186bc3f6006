import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import {
  CallExitError,
  CallTimeoutError,
  type DownMessage,
  type From,
  type Node,
  type Pid,
  TIMEOUT,
} from "../../src/process/index.js";
import { idle, newNode, probe, started, watchExit } from "./helpers.js";

/** A handler process answering `[from, n]` with `n * 2`, and `[from, "defer"]` on the next "go". */
function doubler(node: Node, name?: string): Pid {
  let deferred: From | undefined;
  return node.spawnHandler(
    (msg) => {
      if (msg === "go" && deferred !== undefined) return node.reply(deferred, "deferred answer");
      if (msg === "crash") throw new Error("doubler crashed");
      const [from, arg] = msg as [From, unknown];
      if (arg === "defer") deferred = from;
      else if (arg === "ignore") return;
      else node.reply(from, (arg as number) * 2);
    },
    null,
    { name, behaviour: "doubler" },
  ).pid;
}

describe("Node.spawn", () => {
  it("runs the function as a process that exits normal when it returns", async () => {
    const node = newNode();
    const pid = node.spawn(async () => {});
    const seen = watchExit(node, pid);
    expect(node.isAlive(pid)).toBe(true);
    await expect.poll(() => seen).toEqual({ dead: true, reason: "normal" });
    expect(node.isAlive(pid)).toBe(false);
  });

  it("crashes only the throwing process, with the Error and its stack as reason", async () => {
    const node = newNode();
    const other = probe(node);
    const w = probe(node, (ctx) => {
      ctx.monitor(
        ctx.node.spawn(() => {
          throw new Error("sync boom");
        }),
      );
    });
    await expect.poll(() => w.got.length).toBe(1);
    const reason = (w.got[0] as DownMessage).reason as Error;
    expect(reason).toBeInstanceOf(Error);
    expect(reason.message).toBe("sync boom");
    expect(reason.stack).toContain("sync boom");
    node.send(other.pid, "still working");
    await expect.poll(() => other.got).toEqual(["still working"]);
  });

  it("crashes only the process whose promise rejects, with the rejection as reason", async () => {
    const node = newNode();
    const other = probe(node);
    const w = probe(node, (ctx) => {
      ctx.monitor(
        ctx.node.spawn(async (c) => {
          await c.receive(undefined, 1);
          await Promise.reject(new TypeError("async boom"));
        }),
      );
    });
    await expect.poll(() => w.got.length).toBe(1);
    const reason = (w.got[0] as DownMessage).reason as Error;
    expect(reason).toBeInstanceOf(TypeError);
    expect(reason.stack).toContain("async boom");
    node.send(other.pid, "ok");
    await expect.poll(() => other.got).toEqual(["ok"]);
    expect(node.isAlive(w.pid)).toBe(true);
  });

  it("crashes only a handler process that throws or rejects", async () => {
    const node = newNode();
    const thrower = doubler(node);
    const rejecter = node.spawnHandler(async () => {
      throw new Error("rejected");
    }, null).pid;
    const t = watchExit(node, thrower);
    const r = watchExit(node, rejecter);
    node.send(thrower, "crash");
    node.send(rejecter, "anything");
    await expect.poll(() => t.dead && r.dead).toBe(true);
    expect((t.reason as Error).message).toBe("doubler crashed");
    expect((r.reason as Error).message).toBe("rejected");
    const healthy = doubler(node);
    await expect(node.call(healthy, (from) => [from, 21], 1000)).resolves.toBe(42);
  });

  it("starts a process trapping exits with the trapExit option", () => {
    const node = newNode();
    const pid = idle(node, { trapExit: true });
    expect(node.processInfo(pid)?.trapExit).toBe(true);
  });
});

describe("Node.send", () => {
  it("delivers messages between a pair in send order", async () => {
    const node = newNode();
    const receiver = probe(node);
    node.spawn((ctx) => {
      for (let i = 0; i < 1000; i++) ctx.send(receiver.pid, i);
    });
    await expect.poll(() => receiver.got.length).toBe(1000);
    expect(receiver.got).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it("silently drops a message to a dead pid", () => {
    const node = newNode();
    const pid = idle(node);
    node.exit(pid, "kill");
    expect(() => node.send(pid, "lost")).not.toThrow();
  });

  it("silently drops a message to a pid of an older incarnation of the node", () => {
    const node = newNode("same");
    const pid = idle(node);
    const reborn = newNode("same");
    expect(() => reborn.send(pid, "lost")).not.toThrow();
    expect(reborn.isAlive(pid)).toBe(false);
  });
});

describe("Node.isAlive", () => {
  it("is true while the process runs and false after it exits", async () => {
    const node = newNode();
    const p = probe(node);
    expect(node.isAlive(p.pid)).toBe(true);
    await started(node, p.pid);
    p.ctx().stop("shutdown");
    expect(node.isAlive(p.pid)).toBe(false);
  });
});

describe("Node.processInfo", () => {
  it("reports status, mailbox length, links, monitors, name, behaviour and trapExit", async () => {
    const node = newNode();
    const other = idle(node);
    const p = node.spawn(
      async (ctx) => {
        ctx.trapExit(true);
        ctx.link(other);
        ctx.monitor(other);
        await ctx.receive((m) => m === "never");
      },
      { name: "info", behaviour: "tester" },
    );
    expect(node.processInfo(p)?.status).toBe("running");
    await started(node, p);
    node.send(p, "queued");
    const info = node.processInfo(p);
    expect(info).toEqual({
      pid: p,
      status: "waiting",
      mailboxLength: 1,
      links: [other],
      monitors: [other],
      monitoredBy: [],
      name: "info",
      behaviour: "tester",
      trapExit: true,
    });
    expect(node.processInfo(other)?.monitoredBy).toEqual([p]);
  });

  it("reports idle for a handler process without mail, and its behaviour", () => {
    const node = newNode();
    const pid = doubler(node);
    expect(node.processInfo(pid)).toMatchObject({ status: "idle", behaviour: "doubler", mailboxLength: 0 });
  });

  it("reports running for a handler process asking about itself while it handles a message", async () => {
    const node = newNode();
    const statuses: unknown[] = [];
    const { pid } = node.spawnHandler(() => {
      statuses.push(node.processInfo(pid)?.status);
    }, null);
    node.send(pid, "who am I");
    await expect.poll(() => statuses).toEqual(["running"]);
    expect(node.processInfo(pid)?.status).toBe("idle");
  });

  it("reports suspended for a handler process awaiting a promise", async () => {
    const node = newNode();
    let release: () => void = () => {};
    const { pid } = node.spawnHandler(
      () =>
        new Promise<void>((r) => {
          release = r;
        }),
      null,
    );
    node.send(pid, "start");
    await expect.poll(() => node.processInfo(pid)?.status).toBe("suspended");
    release();
    await expect.poll(() => node.processInfo(pid)?.status).toBe("idle");
  });

  it("returns undefined for a dead process", () => {
    const node = newNode();
    const pid = idle(node);
    node.exit(pid, "kill");
    expect(node.processInfo(pid)).toBeUndefined();
  });
});

describe("Node.call and Node.reply", () => {
  it("resolves with the reply", async () => {
    const node = newNode();
    const pid = doubler(node, "dbl");
    await expect(node.call(pid, (from) => [from, 2], 1000)).resolves.toBe(4);
    await expect(node.call("dbl", (from) => [from, 5], 1000)).resolves.toBe(10);
    expect(node.pendingCalls).toBe(0);
  });

  it("resolves with a deferred reply sent while handling a later message", async () => {
    const node = newNode();
    const pid = doubler(node);
    const answer = node.call(pid, (from) => [from, "defer"], 1000);
    node.send(pid, "go");
    await expect(answer).resolves.toBe("deferred answer");
  });

  it("fails with CallTimeoutError when no reply comes in time, and forgets the call", async () => {
    const node = newNode();
    const pid = doubler(node);
    const err = await node.call(pid, (from) => [from, "ignore"], 20).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CallTimeoutError);
    expect((err as CallTimeoutError).code).toBe("HV_ERR_CALL_TIMEOUT");
    expect((err as CallTimeoutError).timeoutMs).toBe(20);
    expect(node.pendingCalls).toBe(0);
    expect(node.wheel.size).toBe(0);
  });

  it("ignores a reply that comes after the timeout", async () => {
    const node = newNode();
    const pid = doubler(node);
    const call = node.call(pid, (from) => [from, "defer"], 10);
    await expect(call).rejects.toBeInstanceOf(CallTimeoutError);
    node.send(pid, "go");
    expect(node.pendingCalls).toBe(0);
    expect(node.isAlive(pid)).toBe(true);
  });

  it("fails with CallExitError carrying the reason when the target dies mid-call", async () => {
    const node = newNode();
    const pid = doubler(node);
    const call = node.call(pid, (from) => [from, "defer"], 60_000);
    node.exit(pid, "shutdown");
    const err = await call.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CallExitError);
    expect((err as CallExitError).reason).toBe("shutdown");
    expect(node.pendingCalls).toBe(0);
  });

  it("fails with CallExitError noproc for a dead target or an unknown name", async () => {
    const node = newNode();
    const pid = doubler(node);
    node.exit(pid, "kill");
    const dead = await node.call(pid, (from) => [from, 1], 100).catch((e: unknown) => e);
    expect(dead).toBeInstanceOf(CallExitError);
    expect((dead as CallExitError).reason).toBe("noproc");
    const unknown = await node.call("ghost", (from) => [from, 1], 100).catch((e: unknown) => e);
    expect((unknown as CallExitError).reason).toBe("noproc");
    expect(node.pendingCalls).toBe(0);
  });

  it("fails with CallExitError calling_self when a process calls itself", async () => {
    const node = newNode();
    const errors: unknown[] = [];
    const { pid } = node.spawnHandler(() => {
      node.call(pid, (from) => [from], 60_000).catch((e: unknown) => errors.push(e));
    }, null);
    node.send(pid, "call yourself");
    const fiber = node.spawn(async (ctx) => {
      await ctx.call(ctx.self, (from) => [from], 60_000).catch((e: unknown) => errors.push(e));
    });
    await expect.poll(() => errors.length).toBe(2);
    expect(errors.map((e) => (e as CallExitError).reason)).toEqual(["calling_self", "calling_self"]);
    expect(node.pendingCalls).toBe(0);
    await expect.poll(() => node.isAlive(fiber)).toBe(false);
  });

  it("names the calling process in From when called through its context, even after an await", async () => {
    const node = newNode();
    const seenFrom: Pid[] = [];
    const server = node.spawnHandler((msg) => {
      const [from] = msg as [From];
      seenFrom.push(from.pid);
      node.reply(from, "ok");
    }, null).pid;
    const results: unknown[] = [];
    const client = node.spawn(async (ctx) => {
      await ctx.receive(undefined, 1);
      results.push(await ctx.call(server, (from) => [from]));
    });
    await expect.poll(() => results).toEqual(["ok"]);
    expect(seenFrom).toEqual([client]);
  });

  it("never settles the call of a process killed while it waits", async () => {
    const node = newNode();
    const server = doubler(node);
    const after: unknown[] = [];
    const client = node.spawn(async (ctx) => {
      try {
        after.push(await ctx.call(server, (from) => [from, "defer"]));
      } catch (e) {
        after.push(e);
      }
    });
    await expect.poll(() => node.pendingCalls).toBe(1);
    node.exit(client, "kill");
    node.send(server, "go");
    await expect.poll(() => node.pendingCalls).toBe(0);
    const witness = probe(node);
    node.send(witness.pid, "later");
    await expect.poll(() => witness.got).toEqual(["later"]);
    expect(after).toEqual([]);
  });
});

describe("Node.callTaggedInto", () => {
  /** A process answering a local tagged call (it receives the call itself) with `arg * 2`. */
  function taggedDoubler(node: Node): Pid {
    return node.spawnHandler((msg) => {
      const call = msg as From & { arg: number };
      if (call.arg >= 0) node.reply(call, call.arg * 2);
    }, null).pid;
  }

  it("settles the given resolve with the reply and returns the call's deadline", async () => {
    const node = newNode();
    const pid = taggedDoubler(node);
    const before = performance.now();
    const got = new Promise((resolve, reject) => {
      const deadline = node.callTaggedInto(pid, "$gen_call", "double", 21, 1000, resolve, reject);
      expect(deadline).toBeGreaterThanOrEqual(before + 1000);
    });
    await expect(got).resolves.toBe(42);
    expect(node.pendingCalls).toBe(0);
  });

  it("returns CallExitError noproc for a dead target, without calling reject", () => {
    const node = newNode();
    const pid = taggedDoubler(node);
    node.exit(pid, "kill");
    const rejected: unknown[] = [];
    const sent = node.callTaggedInto(
      pid,
      "$gen_call",
      "double",
      1,
      1000,
      () => {},
      (e) => rejected.push(e),
    );
    expect(sent).toBeInstanceOf(CallExitError);
    expect((sent as CallExitError).reason).toBe("noproc");
    expect(rejected).toEqual([]);
    expect(node.pendingCalls).toBe(0);
  });

  it("settles the given reject when the target dies mid-call", async () => {
    const node = newNode();
    const pid = taggedDoubler(node);
    const failed = new Promise((resolve, reject) =>
      node.callTaggedInto(pid, "$gen_call", "never", -1, 60_000, resolve, reject),
    );
    node.exit(pid, "shutdown");
    const err = await failed.catch((e: unknown) => e);
    expect((err as CallExitError).reason).toBe("shutdown");
    expect(node.pendingCalls).toBe(0);
  });
});

describe("leak freedom", () => {
  it("leaves no process, name, monitor, pending call or timer after many spawn/exit cycles", async () => {
    const node = newNode();
    const server = doubler(node, "server");
    const cycles = 2000;
    let done = 0;
    for (let i = 0; i < cycles; i++) {
      const peer = idle(node);
      node.spawn(
        async (ctx) => {
          ctx.link(peer);
          ctx.monitor(server);
          ctx.monitor(peer);
          await ctx.call(server, (from) => [from, i]);
          await ctx.call(server, (from) => [from, "ignore"], 1).catch(() => undefined);
          await ctx.receive(undefined, 1);
          done++;
          if (i % 2 === 0) throw new Error("crash on purpose");
          ctx.exit(peer, "kill");
        },
        { name: `worker-${i}` },
      );
    }
    await expect.poll(() => done, { timeout: 20_000 }).toBe(cycles);
    await expect.poll(() => node.processCount, { timeout: 20_000 }).toBe(1);
    node.exit(server, "kill");
    expect(node.processCount).toBe(0);
    expect(node.registeredNames()).toEqual([]);
    expect(node.pendingCalls).toBe(0);
    await expect.poll(() => node.wheel.size).toBe(0);
  });

  it("returns to zero processes after 100k spawn/exit cycles of both kinds", async () => {
    const node = newNode();
    for (let round = 0; round < 10; round++) {
      const pids: Pid[] = [];
      for (let i = 0; i < 5000; i++) {
        pids.push(node.spawnHandler(() => undefined, null).pid);
        node.spawn(() => undefined);
      }
      for (const pid of pids) node.exit(pid, "kill");
      await expect.poll(() => node.processCount).toBe(0);
    }
    expect(node.registeredNames()).toEqual([]);
    expect(node.pendingCalls).toBe(0);
    expect(node.wheel.size).toBe(0);
  });

  it("returns the process count to zero after processes killed in every state", async () => {
    const node = newNode();
    const pids: Pid[] = [];
    for (let i = 0; i < 300; i++) {
      pids.push(idle(node));
      pids.push(node.spawn(async (ctx) => void (await ctx.receive(undefined, 60_000))));
      pids.push(node.spawnHandler(() => new Promise(() => {}), null).pid);
      pids.push(node.spawn(async () => new Promise(() => {})));
    }
    for (const pid of pids) node.send(pid, "wake");
    await expect.poll(() => node.processInfo(pids[2]!)?.status).toBe("suspended");
    for (const pid of pids) node.exit(pid, "kill");
    expect(node.processCount).toBe(0);
    expect(node.wheel.size).toBe(0);
    const witness = probe(node);
    node.send(witness.pid, TIMEOUT);
    await expect.poll(() => witness.got.length).toBe(1);
  });
});

const execFileAsync = promisify(execFile);

/** Runs the liveness fixture in a child program; resolves with what it printed once it exits. */
async function runFixture(mode: string): Promise<string> {
  const fixture = fileURLToPath(new URL("./fixtures/liveness.ts", import.meta.url));
  const { stdout } = await execFileAsync(process.execPath, ["--import", "tsx", fixture, mode], {
    timeout: 25_000,
  });
  return stdout.trim();
}

describe("timers and program liveness", () => {
  it("lets the program exit once a call with a long timeout has been answered", async () => {
    expect(await runFixture("answered-call")).toBe("pong");
  });

  it("keeps the program alive while a call waits, until it times out", async () => {
    expect(await runFixture("unanswered-call")).toBe("HV_ERR_CALL_TIMEOUT");
  });

  it("lets the program exit once a receive with a long timeout got its message", async () => {
    expect(await runFixture("answered-receive")).toBe("message");
  });

  it("keeps the program alive while a receive waits, until it times out", async () => {
    expect(await runFixture("unanswered-receive")).toBe("Symbol(hubvisor.timeout)");
  });
});
