import { describe, expect, it } from "vitest";
import { silentLogger } from "../../src/logger.js";
import { ExitMessage, Node, type Pid, type ProcessContext, setDefaultNode } from "../../src/process/index.js";
import { Task, TaskExitError, TaskTimeoutError } from "../../src/server/task-index.js";

const node = new Node({ name: "task", logger: silentLogger });
setDefaultNode(node);

/** Runs `fn` as a process; resolves with what it returns (or rejects with what it throws). */
function inProcess<T>(
  fn: (ctx: ProcessContext) => Promise<T> | T,
  trapExit = false,
): Promise<T> & { pid: Pid } {
  let pid!: Pid;
  const p = new Promise<T>((resolve, reject) => {
    pid = node.spawn(
      async (ctx) => {
        try {
          resolve(await fn(ctx));
        } catch (e) {
          reject(e);
        }
      },
      { trapExit },
    );
  });
  return Object.assign(p, { pid });
}

/** A task body that waits for a `go` message, then returns `value`. */
function waitsForGo<T>(value: T) {
  return async (ctx: ProcessContext) => {
    await ctx.receive((m) => m === "go");
    return value;
  };
}

describe("Task.async", () => {
  it("runs a function in its own process and Task.await gives its result", async () => {
    const t = Task.async(() => 40 + 2);
    expect(await Task.await(t)).toBe(42);
    const t2 = Task.async(async (ctx) => `ran in ${ctx.self}`);
    expect(await Task.await(t2)).toBe(`ran in ${t2.pid}`);
    expect(node.isAlive(t2.pid)).toBe(false);
  });

  it("links the task to the calling process", async () => {
    const links = await inProcess((ctx) => {
      const t = Task.async(waitsForGo(1));
      return { links: node.processInfo(t.pid)?.links, self: ctx.self, owner: t.owner };
    });
    expect(links.links).toEqual([links.self]);
    expect(links.owner).toEqual(links.self);
  });

  it("takes an explicit owner for code after an await", async () => {
    const owner = await inProcess(async (ctx) => {
      await Promise.resolve();
      const t = Task.async(() => "x", { owner: ctx });
      return [t.owner, await Task.await(t)];
    });
    expect(owner[1]).toBe("x");
    expect(owner[0]).toBeDefined();
  });

  it("crashes a non-trapping owner when the task crashes", async () => {
    let taskPid: Pid | undefined;
    const owner = inProcess(async () => {
      const t = Task.async(() => {
        throw new Error("task failed");
      });
      taskPid = t.pid;
      await Task.await(t);
      return "unreachable";
    });
    owner.catch(() => {});
    await expect.poll(() => node.isAlive(owner.pid)).toBe(false);
    expect(taskPid).toBeDefined();
    expect(node.isAlive(taskPid!)).toBe(false);
  });

  it("gives a trapping owner the EXIT message, and Task.await throws TaskExitError with the reason", async () => {
    const r = await inProcess(async (ctx) => {
      const t = Task.async(() => {
        throw new Error("task failed");
      });
      const err = await Task.await(t).catch((e) => e);
      const exit = await ctx.receive((m) => m instanceof ExitMessage, 1000);
      return { err, exit, pid: t.pid };
    }, true);
    expect(r.err).toBeInstanceOf(TaskExitError);
    expect((r.err as TaskExitError).reason).toBeInstanceOf(Error);
    expect(((r.err as TaskExitError).reason as Error).message).toBe("task failed");
    expect(r.exit).toBeInstanceOf(ExitMessage);
    expect((r.exit as ExitMessage).from).toEqual(r.pid);
  });

  it("ends the task when its owner dies", async () => {
    let taskPid: Pid | undefined;
    const owner = inProcess(async (ctx) => {
      taskPid = Task.async(waitsForGo(1)).pid;
      await ctx.receive((m) => m === "never");
    });
    await expect.poll(() => taskPid).toBeDefined();
    node.exit(owner.pid, "kill");
    expect(node.isAlive(taskPid!)).toBe(false);
  });
});

describe("Task.await", () => {
  it("throws TaskTimeoutError when the result does not come in time, leaving the task running", async () => {
    const t = Task.async(waitsForGo("late"));
    const err = await Task.await(t, 20).catch((e) => e);
    expect(err).toBeInstanceOf(TaskTimeoutError);
    expect((err as TaskTimeoutError).code).toBe("HV_ERR_TASK_TIMEOUT");
    expect(node.isAlive(t.pid)).toBe(true);
    node.send(t.pid, "go");
    expect(await Task.await(t)).toBe("late");
  });

  it("throws TaskExitError for a task killed before answering", async () => {
    const t = Task.async(waitsForGo(1));
    node.exit(t.pid, "kill");
    const err = await Task.await(t).catch((e) => e);
    expect(err).toBeInstanceOf(TaskExitError);
    expect((err as TaskExitError).reason).toBe("killed");
  });

  it("gives the same result when awaited again", async () => {
    const t = Task.async(() => ({ n: 1 }));
    const a = await Task.await(t);
    expect(await Task.await(t)).toBe(a);
  });
});

describe("Task.yield", () => {
  it("returns undefined while the task runs, then its result", async () => {
    const t = Task.async(waitsForGo(7));
    expect(await Task.yield(t, 10)).toBeUndefined();
    node.send(t.pid, "go");
    expect(await Task.yield(t)).toEqual({ ok: true, value: 7 });
  });

  it("returns the exit reason of a task that exited without a result", async () => {
    const t = Task.start(() => undefined);
    expect(t.ok).toBe(true);
    const crashing = Task.async(async (ctx) => ctx.stop("boom"));
    expect(await Task.yield(crashing)).toEqual({ ok: false, exit: "boom" });
  });
});

describe("Task.shutdown", () => {
  it("stops a running task and returns undefined", async () => {
    const t = Task.async(waitsForGo(1));
    expect(await Task.shutdown(t)).toBeUndefined();
    expect(node.isAlive(t.pid)).toBe(false);
  });

  it("returns the result of a task that already finished", async () => {
    const t = Task.async(() => "done");
    await Task.yield(t);
    expect(await Task.shutdown(t)).toEqual({ ok: true, value: "done" });
  });

  it("returns the exit of a task that crashed", async () => {
    const t = Task.async(async (ctx) => ctx.stop({ custom: 1 }));
    await Task.yield(t);
    expect(await Task.shutdown(t)).toEqual({ ok: false, exit: { custom: 1 } });
  });

  it("kills a task that traps exits after the shutdown time, or at once with brutal_kill", async () => {
    const trapping = () =>
      Task.async(async (ctx) => {
        ctx.trapExit(true);
        await ctx.receive((m) => m === "never");
      });
    const slow = trapping();
    await Promise.resolve();
    expect(await Task.shutdown(slow, 20)).toBeUndefined();
    expect(node.isAlive(slow.pid)).toBe(false);
    // One spelling of brutal kill everywhere: the child spec's "brutal_kill".
    const brutal = trapping();
    await Promise.resolve();
    const stopping = Task.shutdown(brutal, "brutal_kill");
    expect(node.isAlive(brutal.pid)).toBe(false);
    expect(await stopping).toBeUndefined();
    // The old spelling still works (deprecated).
    const t = Task.async(waitsForGo(1));
    expect(await Task.shutdown(t, "brutalKill")).toBeUndefined();
    expect(node.isAlive(t.pid)).toBe(false);
  });

  it("unlinks the task first, so the owner survives", async () => {
    const r = await inProcess(async (ctx) => {
      const t = Task.async(waitsForGo(1), { owner: ctx });
      await Task.shutdown(t, "brutal_kill");
      return node.isAlive(ctx.self);
    });
    expect(r).toBe(true);
  });
});

describe("Task.awaitMany", () => {
  it("returns all results in order", async () => {
    const tasks = [3, 1, 2].map((n) => Task.async(async () => n * 10));
    expect(await Task.awaitMany(tasks)).toEqual([30, 10, 20]);
  });

  it("throws TaskExitError when one task exits without a result", async () => {
    const tasks = [Task.async(() => 1), Task.async(async (ctx) => ctx.stop("bad"))];
    const err = await Task.awaitMany(tasks).catch((e) => e);
    expect(err).toBeInstanceOf(TaskExitError);
    expect((err as TaskExitError).reason).toBe("bad");
  });

  it("throws TaskTimeoutError when not all results come in time", async () => {
    const slow = Task.async(waitsForGo(2));
    const err = await Task.awaitMany([Task.async(() => 1), slow], 20).catch((e) => e);
    expect(err).toBeInstanceOf(TaskTimeoutError);
    await Task.shutdown(slow);
  });
});

describe("Task.yieldMany", () => {
  it("returns outcomes, undefined for tasks still running", async () => {
    const slow = Task.async(waitsForGo(2));
    const r = await Task.yieldMany([Task.async(() => 1), slow], 20);
    expect(r).toEqual([{ ok: true, value: 1 }, undefined]);
    await Task.shutdown(slow);
  });
});

describe("Task.start", () => {
  it("runs unlinked: a crash does not reach the caller", async () => {
    const r = await inProcess(async (ctx) => {
      const { pid } = Task.start(() => {
        throw new Error("ignored");
      });
      const ref = ctx.monitor(pid);
      await ctx.receive((m) => (m as { ref?: unknown }).ref === ref);
      return node.isAlive(ctx.self);
    });
    expect(r).toBe(true);
  });
});

describe("Task.startLink", () => {
  it("links the task to the caller", async () => {
    const r = await inProcess((ctx) => {
      const { pid } = Task.startLink(waitsForGo(1));
      return { links: node.processInfo(pid)?.links, self: ctx.self, pid };
    });
    expect(r.links).toEqual([r.self]);
    node.exit(r.pid, "kill");
  });
});
