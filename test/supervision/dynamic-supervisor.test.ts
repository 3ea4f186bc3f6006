import { afterEach, describe, expect, it } from "vitest";
import { CallExitError, defaultNode, Node, type Pid, setDefaultNode } from "../../src/process/index.js";
import { GenServer } from "../../src/server/index.js";
import { childSpec } from "../../src/supervision/child-spec.js";
import { DynamicSupervisor } from "../../src/supervision/dynamic-supervisor.js";
import {
  InvalidChildSpecError,
  InvalidRestartTypeError,
  InvalidSignificantError,
} from "../../src/supervision/errors.js";
import { alive, crash, Gate, RecordingLogger, startSlow, startWorker, waitDown, Worker } from "./helpers.js";

let logger = new RecordingLogger();
setDefaultNode(new Node({ name: "dynsup", logger }));
afterEach(() => {
  logger = new RecordingLogger();
  defaultNode().logger = logger;
});

async function startSup(opts = {}): Promise<Pid> {
  const r = await DynamicSupervisor.start(opts);
  if (!r.ok) throw new Error(`start failed: ${JSON.stringify(r)}`);
  return r.pid;
}

const worker = (restart: "permanent" | "transient" | "temporary" = "permanent", arg?: unknown) => ({
  start: () => startWorker(arg),
  restart,
});

describe("DynamicSupervisor.startLink / start", () => {
  it("starts with no children", async () => {
    const sup = await startSup();
    expect(await DynamicSupervisor.whichChildren(sup)).toEqual([]);
    expect(await DynamicSupervisor.countChildren(sup)).toEqual({
      specs: 0,
      active: 0,
      supervisors: 0,
      workers: 0,
    });
  });

  it("rejects a strategy other than one_for_one", async () => {
    const r = await DynamicSupervisor.start({ strategy: "one_for_all" });
    expect(r).toEqual({ ok: false, error: { supervisorData: { invalidStrategy: "one_for_all" } } });
  });

  it("rejects bad maxChildren, extraArguments, intensity, period and auto-shutdown", async () => {
    expect(await DynamicSupervisor.start({ maxChildren: -1 })).toEqual({
      ok: false,
      error: { supervisorData: { invalidMaxChildren: -1 } },
    });
    expect(await DynamicSupervisor.start({ extraArguments: -1 as never })).toEqual({
      ok: false,
      error: { supervisorData: { invalidExtraArguments: -1 } },
    });
    expect(await DynamicSupervisor.start({ maxRestarts: -1 })).toEqual({
      ok: false,
      error: { supervisorData: { invalidIntensity: -1 } },
    });
    expect(await DynamicSupervisor.start({ maxSeconds: 0 })).toEqual({
      ok: false,
      error: { supervisorData: { invalidPeriod: 0 } },
    });
    expect(await DynamicSupervisor.start({ autoShutdown: "any_significant" })).toEqual({
      ok: false,
      error: { supervisorData: { invalidAutoShutdown: "any_significant" } },
    });
  });

  it("returns ignore when a module init returns ignore, and the process is gone", async () => {
    const before = defaultNode().processCount;
    const r = await DynamicSupervisor.start({ init: () => ({ ignore: true as const }) }, undefined);
    expect(r).toEqual({ ok: false, ignore: true });
    expect(defaultNode().processCount).toBe(before);
  });

  it("takes its flags from a module init", async () => {
    const r = await DynamicSupervisor.start({ init: (max: number) => ({ maxChildren: max }) }, 0);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(await DynamicSupervisor.startChild(r.pid, worker())).toEqual({ ok: false, error: "max_children" });
  });

  it("registers a name and reports alreadyStarted for a taken one", async () => {
    const sup = await startSup({ name: "dyn_named" });
    expect(defaultNode().whereis("dyn_named")).toEqual(sup);
    expect(await DynamicSupervisor.start({ name: "dyn_named" })).toEqual({
      ok: false,
      error: { alreadyStarted: sup },
    });
    const r = await DynamicSupervisor.startChild("dyn_named", worker());
    expect(r.ok).toBe(true);
  });

  it("links to the starting process, which the supervisor follows on exit", async () => {
    let supPid: Pid | undefined;
    const parent = defaultNode().spawn(async (ctx) => {
      const r = await DynamicSupervisor.startLink({});
      if (r.ok) supPid = r.pid;
      await ctx.receive();
    });
    await expect.poll(() => supPid !== undefined).toBe(true);
    const child = await DynamicSupervisor.startChild(supPid!, worker());
    expect(child.ok).toBe(true);
    crash(parent, "bye");
    await expect.poll(() => alive(supPid)).toBe(false);
    if (child.ok) expect(alive(child.pid)).toBe(false);
  });
});

describe("DynamicSupervisor.startChild", () => {
  it("starts a child and returns its pid", async () => {
    const sup = await startSup();
    const r = await DynamicSupervisor.startChild(sup, worker());
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(await GenServer.call(r.pid, "ping")).toBe("pong");
    expect(defaultNode().processInfo(r.pid)?.links).toContainEqual(sup);
  });

  it("passes info through", async () => {
    const sup = await startSup();
    const r = await DynamicSupervisor.startChild(sup, {
      start: async () => {
        const s = await startWorker();
        return s.ok ? { ...s, info: "extra" } : s;
      },
    });
    expect(r).toMatchObject({ ok: true, info: "extra" });
  });

  it("returns ignore and keeps nothing", async () => {
    const sup = await startSup();
    const r = await DynamicSupervisor.startChild(sup, { start: () => ({ ok: false, ignore: true }) });
    expect(r).toEqual({ ok: false, ignore: true });
    expect((await DynamicSupervisor.countChildren(sup)).specs).toBe(0);
  });

  it("returns the start error as is, a stray value as a BadStartReturnError, a throw or a rejection as a StartCrashError", async () => {
    const sup = await startSup();
    expect(await DynamicSupervisor.startChild(sup, { start: () => ({ ok: false, error: "nope" }) })).toEqual({
      ok: false,
      error: "nope",
    });
    expect(await DynamicSupervisor.startChild(sup, { start: () => "garbage" as never })).toEqual({
      ok: false,
      error: expect.objectContaining({ code: "HV_ERR_PARENT_BAD_START_RETURN", value: "garbage" }),
    });
    const boom = new Error("boom");
    expect(
      await DynamicSupervisor.startChild(sup, {
        start: () => {
          throw boom;
        },
      }),
    ).toEqual({ ok: false, error: expect.objectContaining({ code: "HV_ERR_START_CRASH", thrown: boom }) });
    expect(await DynamicSupervisor.startChild(sup, { start: () => Promise.reject(boom) })).toEqual({
      ok: false,
      error: expect.objectContaining({ code: "HV_ERR_START_CRASH", thrown: boom }),
    });
    expect((await DynamicSupervisor.countChildren(sup)).specs).toBe(0);
  });

  it("returns a GenServer init failure as an error", async () => {
    const sup = await startSup();
    const Failing = { init: () => ({ stop: "bad_init" }) };
    const r = await DynamicSupervisor.startChild(sup, {
      start: () => GenServer.startLink(Failing, undefined),
    });
    expect(r).toEqual({ ok: false, error: "bad_init" });
    expect(alive(sup)).toBe(true);
  });

  it("validates the spec before calling the supervisor", async () => {
    const sup = await startSup();
    const empty = await DynamicSupervisor.startChild(sup, {} as never);
    expect(empty.ok).toBe(false);
    if (!empty.ok && "error" in empty) {
      expect(empty.error).toBeInstanceOf(InvalidChildSpecError);
      expect((empty.error as InvalidChildSpecError).reason).toEqual({ invalidChildSpec: {} });
    }
    const sig = await DynamicSupervisor.startChild(sup, { ...worker("transient"), significant: true });
    expect(!sig.ok && "error" in sig && sig.error).toBeInstanceOf(InvalidSignificantError);
    const restart = await DynamicSupervisor.startChild(sup, { ...worker(), restart: "sometimes" as never });
    expect(!restart.ok && "error" in restart && restart.error).toBeInstanceOf(InvalidRestartTypeError);
  });

  it("ignores ids: duplicates are fine", async () => {
    const sup = await startSup();
    const spec = childSpec(Worker, 1);
    expect((await DynamicSupervisor.startChild(sup, spec)).ok).toBe(true);
    expect((await DynamicSupervisor.startChild(sup, spec)).ok).toBe(true);
    expect((await DynamicSupervisor.countChildren(sup)).active).toBe(2);
  });

  it("passes extraArguments before the spec's own arguments", async () => {
    const sup = await startSup({ extraArguments: ["a", "b"] });
    const seen: unknown[][] = [];
    const r = await DynamicSupervisor.startChild(sup, {
      start: (...args: unknown[]) => {
        seen.push(args);
        return startWorker(args);
      },
    });
    expect(seen).toEqual([["a", "b"]]);
    const viaSpec = await DynamicSupervisor.startChild(sup, childSpec(Worker, "own"));
    expect(r.ok && viaSpec.ok).toBe(true);
    if (viaSpec.ok) expect(await GenServer.call(viaSpec.pid, "arg")).toEqual(["a", "b", "own"]);
  });

  it("refuses beyond maxChildren without calling start, counting restarting children", async () => {
    const sup = await startSup({ maxChildren: 1, maxRestarts: 1_000_000 });
    let starts = 0;
    let fail = false;
    const spec = {
      start: () => {
        starts++;
        return fail ? { ok: false as const, error: "down" } : startWorker();
      },
    };
    const first = await DynamicSupervisor.startChild(sup, spec);
    expect(first.ok).toBe(true);
    expect(await DynamicSupervisor.startChild(sup, spec)).toEqual({ ok: false, error: "max_children" });
    expect(starts).toBe(1);
    fail = true;
    if (first.ok) crash(first.pid);
    await expect.poll(async () => (await DynamicSupervisor.whichChildren(sup))[0]?.pid).toBe("restarting");
    const before = starts;
    expect(await DynamicSupervisor.startChild(sup, worker())).toEqual({ ok: false, error: "max_children" });
    expect(starts).toBeGreaterThanOrEqual(before);
    if (first.ok) expect(await DynamicSupervisor.terminateChild(sup, first.pid)).toEqual({ ok: true });
  });
});

describe("DynamicSupervisor.terminateChild", () => {
  it("stops the child and forgets it; a second call is not_found", async () => {
    const sup = await startSup();
    const r = await DynamicSupervisor.startChild(sup, worker());
    if (!r.ok) throw new Error("start");
    expect(await DynamicSupervisor.terminateChild(sup, r.pid)).toEqual({ ok: true });
    expect(alive(r.pid)).toBe(false);
    expect(await DynamicSupervisor.terminateChild(sup, r.pid)).toEqual({ ok: false, error: "not_found" });
    expect((await DynamicSupervisor.countChildren(sup)).specs).toBe(0);
  });

  it("returns not_found for a live process that is not its child", async () => {
    const sup = await startSup();
    const other = await GenServer.start(Worker, undefined);
    if (!other.ok) throw new Error("start");
    expect(await DynamicSupervisor.terminateChild(sup, other.pid)).toEqual({ ok: false, error: "not_found" });
    expect(alive(other.pid)).toBe(true);
  });

  it("kills a trapping child that does not stop within its shutdown", async () => {
    const sup = await startSup();
    const r = await DynamicSupervisor.startChild(sup, { start: () => startSlow("stuck"), shutdown: 20 });
    if (!r.ok) throw new Error("start");
    const down = waitDown(r.pid);
    expect(await DynamicSupervisor.terminateChild(sup, r.pid)).toEqual({ ok: true });
    expect(await down).toBe("killed");
  });

  it("kills at once with brutal_kill", async () => {
    const sup = await startSup();
    const r = await DynamicSupervisor.startChild(sup, {
      start: () => startSlow("bk"),
      shutdown: "brutal_kill",
    });
    if (!r.ok) throw new Error("start");
    const down = waitDown(r.pid);
    expect(await DynamicSupervisor.terminateChild(sup, r.pid)).toEqual({ ok: true });
    expect(await down).toBe("killed");
  });

  it("is not restarted after being terminated, even when permanent", async () => {
    const sup = await startSup();
    const r = await DynamicSupervisor.startChild(sup, worker("permanent"));
    if (!r.ok) throw new Error("start");
    await DynamicSupervisor.terminateChild(sup, r.pid);
    expect((await DynamicSupervisor.countChildren(sup)).specs).toBe(0);
  });
});

describe("DynamicSupervisor restarts", () => {
  async function childPids(sup: Pid): Promise<Array<Pid | string | undefined>> {
    return (await DynamicSupervisor.whichChildren(sup)).map((c) => c.pid);
  }

  it("restarts a permanent child with a new pid", async () => {
    const sup = await startSup();
    const r = await DynamicSupervisor.startChild(sup, worker("permanent"));
    if (!r.ok) throw new Error("start");
    crash(r.pid);
    await expect
      .poll(async () => {
        const [p] = await childPids(sup);
        return typeof p === "object" && !p.equals(r.pid) && alive(p);
      })
      .toBe(true);
    expect(logger.messages()).toContain("supervisor: child terminated");
    expect(logger.messages()).toContain("supervisor: child restarted");
    const report = logger.records.find((x) => x.msg === "supervisor: child terminated")!;
    expect(report.obj).toMatchObject({ supervisor: String(sup), process: String(r.pid), reason: "crashed" });
  });

  it("restarts a transient child only after an abnormal exit", async () => {
    const sup = await startSup();
    const a = await DynamicSupervisor.startChild(sup, worker("transient"));
    const b = await DynamicSupervisor.startChild(sup, worker("transient"));
    const c = await DynamicSupervisor.startChild(sup, worker("transient"));
    if (!a.ok || !b.ok || !c.ok) throw new Error("start");
    GenServer.cast(a.pid, "stop", "normal");
    GenServer.cast(b.pid, "stop", { shutdown: "done" });
    crash(c.pid, "boom");
    await expect.poll(async () => (await DynamicSupervisor.countChildren(sup)).specs).toBe(1);
    await expect.poll(async () => (await DynamicSupervisor.countChildren(sup)).active).toBe(1);
    const [p] = await childPids(sup);
    expect(p).not.toEqual(c.pid);
  });

  it("never restarts a temporary child", async () => {
    const sup = await startSup();
    const r = await DynamicSupervisor.startChild(sup, worker("temporary"));
    if (!r.ok) throw new Error("start");
    crash(r.pid, "boom");
    await expect.poll(async () => (await DynamicSupervisor.countChildren(sup)).specs).toBe(0);
  });

  it("removes a child whose restart returns ignore", async () => {
    const sup = await startSup();
    let n = 0;
    const r = await DynamicSupervisor.startChild(sup, {
      start: () => (n++ === 0 ? startWorker() : { ok: false, ignore: true }),
    });
    if (!r.ok) throw new Error("start");
    crash(r.pid);
    await expect.poll(async () => (await DynamicSupervisor.countChildren(sup)).specs).toBe(0);
    expect(alive(sup)).toBe(true);
  });

  it("exits shutdown when restarts exceed the intensity, stopping the other children", async () => {
    const sup = await startSup({ maxRestarts: 2, maxSeconds: 60 });
    const supDown = waitDown(sup);
    const bystander = await DynamicSupervisor.startChild(sup, worker("temporary"));
    const r = await DynamicSupervisor.startChild(sup, worker());
    if (!r.ok || !bystander.ok) throw new Error("start");
    let current = r.pid;
    for (let i = 0; i < 3; i++) {
      crash(current);
      if (i === 2) break;
      await expect
        .poll(async () => {
          const ps = await childPids(sup);
          const p = ps.find((x) => typeof x === "object" && !x.equals(bystander.pid));
          if (typeof p === "object" && !p.equals(current)) current = p;
          return typeof p === "object" && alive(p) && !p.equals(r.pid);
        })
        .toBe(true);
    }
    expect(await supDown).toBe("shutdown");
    expect(alive(bystander.pid)).toBe(false);
    expect(logger.messages()).toContain("supervisor: reached max restart intensity, shutting down");
  });

  it("keeps a failed restart as restarting, retries it, and counts each retry", async () => {
    const sup = await startSup({ maxRestarts: 5, maxSeconds: 60 });
    const supDown = waitDown(sup);
    let starts = 0;
    const r = await DynamicSupervisor.startChild(sup, {
      start: () => (starts++ === 0 ? startWorker() : { ok: false, error: "cannot" }),
    });
    if (!r.ok) throw new Error("start");
    crash(r.pid);
    expect(await supDown).toBe("shutdown");
    // 1 initial start + 5 tolerated restarts; the 6th restart gives up before calling start.
    expect(starts).toBe(6);
  });

  it("shows a restarting child and lets it be terminated by its old pid", async () => {
    const sup = await startSup({ maxRestarts: 1_000_000, maxSeconds: 1 });
    let fail = false;
    const r = await DynamicSupervisor.startChild(sup, {
      start: () => (fail ? { ok: false, error: "down" } : startWorker()),
    });
    if (!r.ok) throw new Error("start");
    fail = true;
    crash(r.pid);
    await expect.poll(async () => childPids(sup)).toEqual(["restarting"]);
    expect(await DynamicSupervisor.countChildren(sup)).toEqual({
      specs: 1,
      active: 0,
      supervisors: 0,
      workers: 1,
    });
    expect(await DynamicSupervisor.terminateChild(sup, r.pid)).toEqual({ ok: true });
    expect(await DynamicSupervisor.countChildren(sup)).toEqual({
      specs: 0,
      active: 0,
      supervisors: 0,
      workers: 0,
    });
    expect(alive(sup)).toBe(true);
  });

  it("ignores EXITs from processes that are not its children", async () => {
    const sup = await startSup();
    defaultNode().exit(sup, "whatever");
    expect(await DynamicSupervisor.countChildren(sup)).toEqual({
      specs: 0,
      active: 0,
      supervisors: 0,
      workers: 0,
    });
  });
});

describe("DynamicSupervisor.whichChildren / countChildren", () => {
  it("lists children with undefined ids and counts workers and supervisors", async () => {
    const sup = await startSup();
    const w = await DynamicSupervisor.startChild(sup, { ...worker(), modules: ["Worker"] });
    const s = await DynamicSupervisor.startChild(sup, {
      start: () => DynamicSupervisor.startLink(),
      type: "supervisor",
    });
    if (!w.ok || !s.ok) throw new Error("start");
    const which = await DynamicSupervisor.whichChildren(sup);
    expect(which).toHaveLength(2);
    expect(which).toContainEqual({ id: undefined, pid: w.pid, type: "worker", modules: ["Worker"] });
    expect(which).toContainEqual({ id: undefined, pid: s.pid, type: "supervisor", modules: [] });
    expect(await DynamicSupervisor.countChildren(sup)).toEqual({
      specs: 2,
      active: 2,
      supervisors: 1,
      workers: 1,
    });
  });

  it("lists children in the order they were started, however many", async () => {
    const sup = await startSup();
    const started: Pid[] = [];
    // Enough children, with other processes spawned in between, for the pid table to wrap.
    for (let i = 0; i < 40; i++) {
      const r = await DynamicSupervisor.startChild(sup, worker());
      if (!r.ok) throw new Error("start");
      started.push(r.pid);
      defaultNode().spawn(() => undefined);
    }
    expect((await DynamicSupervisor.whichChildren(sup)).map((c) => String(c.pid))).toEqual(
      started.map(String),
    );
  });

  it("fails with CallExitError (noproc) on a dead supervisor", async () => {
    const sup = await startSup();
    await DynamicSupervisor.stop(sup);
    await expect(DynamicSupervisor.whichChildren(sup)).rejects.toBeInstanceOf(CallExitError);
    await expect(DynamicSupervisor.countChildren("no_such_sup")).rejects.toMatchObject({ reason: "noproc" });
  });
});

describe("DynamicSupervisor.stop", () => {
  it("signals every child at once, then waits for them", async () => {
    const sup = await startSup();
    const gate = new Gate();
    const pids: Pid[] = [];
    for (const name of ["a", "b", "c"]) {
      const r = await DynamicSupervisor.startChild(sup, {
        start: () => startSlow(name, gate),
        shutdown: "infinity",
      });
      if (r.ok) pids.push(r.pid);
    }
    let stopped = false;
    const stopping = DynamicSupervisor.stop(sup).then(() => {
      stopped = true;
    });
    await expect.poll(() => gate.entered.length).toBe(3);
    expect(stopped).toBe(false);
    gate.open();
    await stopping;
    expect(pids.every((p) => !alive(p))).toBe(true);
    expect(alive(sup)).toBe(false);
  });

  it("kills children still running when their own timer expires", async () => {
    const sup = await startSup();
    const quick = await DynamicSupervisor.startChild(sup, worker());
    const stuck = await DynamicSupervisor.startChild(sup, { start: () => startSlow("stuck"), shutdown: 10 });
    if (!quick.ok || !stuck.ok) throw new Error("start");
    const down = waitDown(stuck.pid);
    await DynamicSupervisor.stop(sup, "shutdown");
    expect(await down).toBe("killed");
    expect(alive(quick.pid)).toBe(false);
  });

  it("stops nested supervisors and their children", async () => {
    const sup = await startSup();
    const inner = await DynamicSupervisor.startChild(sup, {
      start: () => DynamicSupervisor.startLink(),
      type: "supervisor",
    });
    if (!inner.ok) throw new Error("start");
    const leaf = await DynamicSupervisor.startChild(inner.pid, worker());
    if (!leaf.ok) throw new Error("start");
    await DynamicSupervisor.stop(sup);
    expect(alive(inner.pid)).toBe(false);
    expect(alive(leaf.pid)).toBe(false);
  });
});

describe("DynamicSupervisor on another Node of the program", () => {
  it("is reachable by pid from outside any process", async () => {
    const other = new Node({ name: "other", logger: new RecordingLogger() });
    const r = await DynamicSupervisor.start({ node: other });
    if (!r.ok) throw new Error("start");
    expect(other.isAlive(r.pid)).toBe(true);
    const c = await DynamicSupervisor.startChild(r.pid, worker());
    expect(c.ok).toBe(true);
    if (c.ok) expect(other.isAlive(c.pid)).toBe(true);
    expect((await DynamicSupervisor.countChildren(r.pid)).active).toBe(1);
    if (c.ok) expect(await DynamicSupervisor.terminateChild(r.pid, c.pid)).toEqual({ ok: true });
    await DynamicSupervisor.stop(r.pid);
    expect(other.isAlive(r.pid)).toBe(false);
  });
});

describe("DynamicSupervisor crash reports", () => {
  it("carry the supervisor, the child pid, the reason and the stack", async () => {
    const sup = await startSup();
    const r = await DynamicSupervisor.startChild(sup, worker());
    if (!r.ok) throw new Error("start");
    crash(r.pid, new Error("kaput"));
    await expect.poll(() => logger.messages()).toContain("supervisor: child terminated");
    const rep = logger.records.find((x) => x.msg === "supervisor: child terminated")!;
    expect(rep.level).toBe("error");
    expect(rep.obj).toMatchObject({
      supervisor: String(sup),
      process: String(r.pid),
      reason: "Error: kaput",
    });
    expect(String(rep.obj.stack)).toContain("kaput");
  });
});
