import { describe, expect, it } from "vitest";
import { silentLogger } from "../../src/logger.js";
import { Node, type Pid, type ProcessContext, setDefaultNode } from "../../src/process/index.js";
import { Task, TaskExitError, TaskStartError } from "../../src/server/task-index.js";
import { Supervisor, TaskSupervisor } from "../../src/supervision/index.js";

const node = new Node({ name: "tasksup", logger: silentLogger });
setDefaultNode(node);

async function startSup(options: Parameters<typeof TaskSupervisor.start>[0] = {}): Promise<Pid> {
  const r = await TaskSupervisor.start(options);
  if (!r.ok) throw new Error(`task supervisor did not start: ${JSON.stringify(r)}`);
  return r.pid;
}

function waitsForGo<T>(value: T) {
  return async (ctx: ProcessContext) => {
    await ctx.receive((m) => m === "go");
    return value;
  };
}

/** Runs `fn` as a process; resolves with what it returns. */
function inProcess<T>(fn: (ctx: ProcessContext) => Promise<T> | T): Promise<T> & { pid: Pid } {
  let pid!: Pid;
  const p = new Promise<T>((resolve, reject) => {
    pid = node.spawn(async (ctx) => {
      try {
        resolve(await fn(ctx));
      } catch (e) {
        reject(e);
      }
    });
  });
  return Object.assign(p, { pid });
}

describe("TaskSupervisor.start", () => {
  it("starts an empty supervisor, optionally under a name", async () => {
    const sup = await startSup({ name: "tasks" });
    expect(node.whereis("tasks")).toEqual(sup);
    expect(await TaskSupervisor.children("tasks")).toEqual([]);
    await TaskSupervisor.stop(sup);
  });
});

describe("TaskSupervisor.startChild", () => {
  it("runs fire-and-forget work under the supervisor and lists it while it runs", async () => {
    const sup = await startSup();
    const r = await TaskSupervisor.startChild(sup, waitsForGo(1));
    if (!r.ok) throw new Error("start failed");
    expect(await TaskSupervisor.children(sup)).toEqual([r.pid]);
    expect(node.processInfo(r.pid)?.links).toEqual([sup]);
    node.send(r.pid, "go");
    await expect.poll(() => TaskSupervisor.children(sup)).toEqual([]);
    await TaskSupervisor.stop(sup);
  });

  it("does not restart a crashed temporary task, and the supervisor survives", async () => {
    const sup = await startSup();
    const r = await TaskSupervisor.startChild(sup, () => {
      throw new Error("fails");
    });
    expect(r.ok).toBe(true);
    await expect.poll(() => TaskSupervisor.children(sup)).toEqual([]);
    expect(node.isAlive(sup)).toBe(true);
    await TaskSupervisor.stop(sup);
  });

  it("restarts a transient task after a crash", async () => {
    const sup = await startSup();
    let runs = 0;
    await TaskSupervisor.startChild(
      sup,
      () => {
        runs++;
        if (runs < 3) throw new Error(`run ${runs} fails`);
      },
      { restart: "transient" },
    );
    await expect.poll(() => runs).toBe(3);
    await expect.poll(() => TaskSupervisor.children(sup)).toEqual([]);
    await TaskSupervisor.stop(sup);
  });

  it("refuses work beyond maxChildren", async () => {
    const sup = await startSup({ maxChildren: 1 });
    const a = await TaskSupervisor.startChild(sup, waitsForGo(1));
    const b = await TaskSupervisor.startChild(sup, waitsForGo(2));
    expect(a.ok).toBe(true);
    expect(b).toEqual({ ok: false, error: "max_children" });
    await expect(TaskSupervisor.async(sup, () => 3)).rejects.toBeInstanceOf(TaskStartError);
    await TaskSupervisor.stop(sup);
  });
});

describe("TaskSupervisor.async", () => {
  it("runs a supervised task whose result the caller awaits", async () => {
    const sup = await startSup();
    const t = await TaskSupervisor.async(sup, async () => "result");
    expect(await Task.await(t)).toBe("result");
    await TaskSupervisor.stop(sup);
  });

  it("links the task to both the supervisor and the caller", async () => {
    const sup = await startSup();
    const r = await inProcess(async (ctx) => {
      const t = await TaskSupervisor.async(sup, waitsForGo(1), { owner: ctx });
      const links = node.processInfo(t.pid)?.links ?? [];
      node.send(t.pid, "go");
      return { links, self: ctx.self, value: await Task.await(t) };
    });
    expect(r.links).toHaveLength(2);
    expect(r.links).toContainEqual(sup);
    expect(r.links).toContainEqual(r.self);
    expect(r.value).toBe(1);
    await TaskSupervisor.stop(sup);
  });
});

describe("TaskSupervisor.asyncNolink", () => {
  it("keeps the caller alive when the task crashes; await throws TaskExitError", async () => {
    const sup = await startSup();
    const r = await inProcess(async (ctx) => {
      const t = await TaskSupervisor.asyncNolink(
        sup,
        () => {
          throw new Error("nolink crash");
        },
        { owner: ctx },
      );
      const err = await Task.await(t).catch((e) => e);
      return { err, alive: node.isAlive(ctx.self) };
    });
    expect(r.err).toBeInstanceOf(TaskExitError);
    expect(r.alive).toBe(true);
    expect(node.isAlive(sup)).toBe(true);
    await TaskSupervisor.stop(sup);
  });
});

describe("TaskSupervisor.terminateChild / stop", () => {
  it("stops one task, and all of them when the supervisor stops", async () => {
    const sup = await startSup();
    const a = await TaskSupervisor.startChild(sup, waitsForGo(1));
    const b = await TaskSupervisor.startChild(sup, waitsForGo(2));
    if (!a.ok || !b.ok) throw new Error("start failed");
    expect(await TaskSupervisor.terminateChild(sup, a.pid)).toEqual({ ok: true });
    expect(node.isAlive(a.pid)).toBe(false);
    expect(await TaskSupervisor.children(sup)).toEqual([b.pid]);
    await TaskSupervisor.stop(sup);
    expect(node.isAlive(b.pid)).toBe(false);
    expect(node.isAlive(sup)).toBe(false);
  });
});

describe("TaskSupervisor.childSpec", () => {
  it("puts a named task supervisor under a Supervisor, as {Task.Supervisor, name: …}; a restart keeps the name", async () => {
    const r = await Supervisor.start([TaskSupervisor.childSpec({ name: "spec_tasks" })], {
      strategy: "one_for_one",
    });
    if (!r.ok) throw new Error(`supervisor did not start: ${JSON.stringify(r)}`);
    const [info] = await Supervisor.whichChildren(r.pid);
    expect(info).toMatchObject({ id: "TaskSupervisor", type: "supervisor", modules: ["TaskSupervisor"] });
    const first = node.whereis("spec_tasks");
    expect(first).toEqual(info!.pid);
    expect(node.processInfo(first!)?.links).toEqual([r.pid]);
    const v = await inProcess(async (ctx) =>
      Task.await(await TaskSupervisor.async("spec_tasks", () => 7, { owner: ctx })),
    );
    expect(v).toBe(7);
    node.exit(first!, "kill");
    await expect.poll(() => node.whereis("spec_tasks")).not.toBeUndefined();
    expect(node.whereis("spec_tasks")).not.toEqual(first);
    await Supervisor.stop(r.pid);
    expect(node.whereis("spec_tasks")).toBeUndefined();
  });

  it("takes spec overrides: two task supervisors under one Supervisor by id", async () => {
    const r = await Supervisor.start(
      [TaskSupervisor.childSpec({}, { id: "a" }), TaskSupervisor.childSpec({}, { id: "b", shutdown: 100 })],
      { strategy: "one_for_one" },
    );
    if (!r.ok) throw new Error(`supervisor did not start: ${JSON.stringify(r)}`);
    expect((await Supervisor.whichChildren(r.pid)).map((c) => c.id)).toEqual(["b", "a"]);
    const b = await Supervisor.getChildSpec(r.pid, "b");
    expect(b).toMatchObject({ ok: true, spec: { shutdown: 100, restart: "permanent" } });
    await Supervisor.stop(r.pid);
  });
});
