import { afterEach, describe, expect, it } from "vitest";
import { InvalidOptionError } from "../../src/errors.js";
import { CallExitError, defaultNode, Node, type Pid, setDefaultNode } from "../../src/process/index.js";
import { GenServer, StartCrashError, type StartResult } from "../../src/server/index.js";
import { type ChildSpec, childSpec } from "../../src/supervision/child-spec.js";
import {
  BadStartReturnError,
  DuplicateChildNameError,
  InvalidRestartTypeError,
  InvalidSignificantError,
} from "../../src/supervision/errors.js";
import type { ChildInfo } from "../../src/supervision/results.js";
import { DynamicSupervisor } from "../../src/supervision/dynamic-supervisor.js";
import { Supervisor } from "../../src/supervision/supervisor.js";
import {
  alive,
  crash,
  RecordingLogger,
  startLogging,
  startSlow,
  startStepped,
  startWorker,
  waitDown,
  Worker,
} from "./helpers.js";

let logger = new RecordingLogger();
setDefaultNode(new Node({ name: "sup", logger }));
afterEach(() => {
  logger = new RecordingLogger();
  defaultNode().logger = logger;
});

type Restart = "permanent" | "transient" | "temporary";

const w = (id: string, restart: Restart = "permanent", extra: Partial<ChildSpec> = {}): ChildSpec => ({
  id,
  start: () => startWorker(id),
  restart,
  ...extra,
});
const logged = (id: string, log: string[], restart: Restart = "permanent"): ChildSpec => ({
  id,
  start: () => startLogging(id, log),
  restart,
});

async function startSup(children: ChildSpec[], opts: Record<string, unknown> = {}): Promise<Pid> {
  const r = await Supervisor.start(children, { strategy: "one_for_one", ...opts } as never);
  if (!r.ok) throw new Error(`start failed: ${JSON.stringify(r)}`);
  return r.pid;
}

async function pidOf(sup: Pid, id: string): Promise<Pid | string | undefined> {
  return (await Supervisor.whichChildren(sup)).find((c) => c.id === id)?.pid;
}

/** Waits until child `id` runs under a pid other than `old`; returns it. */
async function restartedPid(sup: Pid, id: string, old: Pid): Promise<Pid> {
  let now: Pid | undefined;
  await expect
    .poll(async () => {
      const p = await pidOf(sup, id);
      if (typeof p === "object" && !p.equals(old) && alive(p)) now = p;
      return now !== undefined;
    })
    .toBe(true);
  return now!;
}

async function livePid(sup: Pid, id: string): Promise<Pid> {
  const p = await pidOf(sup, id);
  if (typeof p !== "object") throw new Error(`${id} is not running`);
  return p;
}

describe("Supervisor.startLink / start", () => {
  it("starts children in list order and returns once all are started", async () => {
    const log: string[] = [];
    const sup = await startSup([logged("a", log), logged("b", log), logged("c", log)]);
    expect(log).toEqual(["start a", "start b", "start c"]);
    expect(await Supervisor.countChildren(sup)).toEqual({ specs: 3, active: 3, supervisors: 0, workers: 3 });
  });

  it("throws InvalidOptionError when strategy is missing", () => {
    expect(() => Supervisor.start([], {} as never)).toThrow(InvalidOptionError);
  });

  it("returns supervisorData errors for bad flags", async () => {
    expect(await Supervisor.start([], { strategy: "one_for_some" as never })).toEqual({
      ok: false,
      error: { supervisorData: { invalidStrategy: "one_for_some" } },
    });
    expect(await Supervisor.start([], { strategy: "one_for_one", maxRestarts: -1 })).toEqual({
      ok: false,
      error: { supervisorData: { invalidIntensity: -1 } },
    });
    expect(await Supervisor.start([], { strategy: "one_for_one", maxSeconds: 0 })).toEqual({
      ok: false,
      error: { supervisorData: { invalidPeriod: 0 } },
    });
  });

  it("returns startSpec errors for an invalid spec or duplicate ids, starting nothing", async () => {
    const log: string[] = [];
    const bad = await Supervisor.start(
      [logged("a", log), { id: "b", start: () => startWorker(), restart: "x" as never }],
      {
        strategy: "one_for_one",
      },
    );
    expect(bad.ok).toBe(false);
    const badErr = (bad as { error: { startSpec: InvalidRestartTypeError } }).error.startSpec;
    expect(badErr).toBeInstanceOf(InvalidRestartTypeError);
    expect(badErr.reason).toEqual({ invalidRestartType: "x" });
    const dup = await Supervisor.start([w("a"), w("a")], { strategy: "one_for_one" });
    const dupErr = (dup as { error: { startSpec: DuplicateChildNameError } }).error.startSpec;
    expect(dupErr).toBeInstanceOf(DuplicateChildNameError);
    expect(dupErr.reason).toEqual({ duplicateChildName: "a" });
    expect(log).toEqual([]);
  });

  it("stops started children in reverse order and never starts later ones when a child fails", async () => {
    const log: string[] = [];
    const before = defaultNode().processCount;
    const r = await Supervisor.start(
      [
        logged("a", log),
        logged("b", log),
        { id: "c", start: () => ({ ok: false, error: "no" }) },
        logged("d", log),
      ],
      { strategy: "one_for_one" },
    );
    expect(r).toEqual({ ok: false, error: { shutdown: { failedToStartChild: "c", reason: "no" } } });
    expect(log).toEqual(["start a", "start b", "stop b shutdown", "stop a shutdown"]);
    expect(defaultNode().processCount).toBe(before);
  });

  it("treats a throwing or garbage-returning start as a failure", async () => {
    const boom = new Error("boom");
    const thrown = await Supervisor.start(
      [
        w("a"),
        {
          id: "b",
          start: () => {
            throw boom;
          },
        },
      ],
      { strategy: "one_for_one" },
    );
    // A throw is a crashed start: a StartCrashError keeping what was thrown.
    expect(thrown).toEqual({
      ok: false,
      error: { shutdown: { failedToStartChild: "b", reason: expect.any(StartCrashError) } },
    });
    expect(!thrown.ok && "error" in thrown && (thrown.error as any).shutdown.reason.thrown).toBe(boom);
    const garbage = await Supervisor.start([{ id: "g", start: () => 42 as never }], {
      strategy: "one_for_one",
    });
    expect(garbage).toEqual({
      ok: false,
      error: { shutdown: { failedToStartChild: "g", reason: expect.any(BadStartReturnError) } },
    });
  });

  it("keeps an ignoring child as undefined, drops an ignoring temporary one, lists newest first", async () => {
    const ignore = (): StartResult => ({ ok: false, ignore: true });
    const sup = await startSup([
      w("a"),
      { id: "ign", start: ignore },
      { id: "tmp", start: ignore, restart: "temporary" },
      w("b"),
    ]);
    const which = await Supervisor.whichChildren(sup);
    expect(which.map((c) => [c.id, typeof c.pid])).toEqual([
      ["b", "object"],
      ["ign", "undefined"],
      ["a", "object"],
    ]);
    expect(await Supervisor.countChildren(sup)).toEqual({ specs: 3, active: 2, supervisors: 0, workers: 3 });
  });

  it("supports module init: children and flags, ignore, bad return", async () => {
    const Mod = {
      name: "MySup",
      init: (n: number) => ({ strategy: "one_for_one" as const, children: [w(`c${n}`)] }),
    };
    const r = await Supervisor.start(Mod, 7);
    expect(r.ok).toBe(true);
    if (r.ok) expect((await Supervisor.whichChildren(r.pid)).map((c) => c.id)).toEqual(["c7"]);
    if (r.ok) expect(defaultNode().processInfo(r.pid)?.behaviour).toBe("MySup");
    expect(await Supervisor.start({ init: () => ({ ignore: true as const }) }, undefined)).toEqual({
      ok: false,
      ignore: true,
    });
    expect(await Supervisor.start({ init: () => 5 as never }, undefined)).toEqual({
      ok: false,
      error: { badReturn: 5 },
    });
  });

  it("registers a name, usable in every call", async () => {
    const sup = await startSup([w("a")], { name: "named_sup" });
    expect(await Supervisor.countChildren("named_sup")).toMatchObject({ active: 1 });
    expect(await Supervisor.start([], { strategy: "one_for_one", name: "named_sup" })).toEqual({
      ok: false,
      error: { alreadyStarted: sup },
    });
  });

  it("rejects significant children that are permanent or under autoShutdown never", async () => {
    const perm = await Supervisor.start([w("a", "permanent", { significant: true })], {
      strategy: "one_for_one",
      autoShutdown: "any_significant",
    });
    expect((perm as { error: { startSpec: unknown } }).error.startSpec).toBeInstanceOf(
      InvalidSignificantError,
    );
    const never = await Supervisor.start([w("a", "transient", { significant: true })], {
      strategy: "one_for_one",
    });
    expect((never as { error: { startSpec: unknown } }).error.startSpec).toBeInstanceOf(
      InvalidSignificantError,
    );
  });

  it("stops when its linked parent exits, even normally", async () => {
    let supPid: Pid | undefined;
    const parent = defaultNode().spawn(async (ctx) => {
      const r = await Supervisor.startLink([w("a")], { strategy: "one_for_one" });
      if (r.ok) supPid = r.pid;
      await ctx.receive();
    });
    await expect.poll(() => supPid !== undefined).toBe(true);
    const child = await livePid(supPid!, "a");
    const supDown = waitDown(supPid!);
    defaultNode().send(parent, "go");
    expect(await supDown).toBe("normal");
    expect(alive(child)).toBe(false);
  });

  it("builds nested supervisor specs with Supervisor.childSpec and DynamicSupervisor.childSpec", async () => {
    const sup = await startSup([
      Supervisor.childSpec("inner", [w("leaf")], { strategy: "one_for_one" }),
      DynamicSupervisor.childSpec("pool", { maxChildren: 1 }),
    ]);
    expect(await Supervisor.getChildSpec(sup, "inner")).toMatchObject({
      ok: true,
      spec: { type: "supervisor", shutdown: "infinity", modules: ["Supervisor"] },
    });
    const inner = await livePid(sup, "inner");
    expect(defaultNode().processInfo(inner)?.links).toContainEqual(sup);
    expect((await Supervisor.whichChildren(inner)).map((c) => c.id)).toEqual(["leaf"]);
    const pool = await livePid(sup, "pool");
    expect((await DynamicSupervisor.startChild(pool, w("x"))).ok).toBe(true);
    expect(await DynamicSupervisor.startChild(pool, w("y"))).toEqual({ ok: false, error: "max_children" });
  });

  it("runs nested supervisors", async () => {
    const inner = (id: string): ChildSpec => ({
      id,
      type: "supervisor",
      start: () => Supervisor.startLink([w(`${id}.x`)], { strategy: "one_for_one" }),
    });
    const sup = await startSup([inner("left"), inner("right")]);
    const left = await livePid(sup, "left");
    const leaf = await livePid(left, "left.x");
    crash(leaf);
    await restartedPid(left, "left.x", leaf);
    crash(left, "kill");
    const left2 = await restartedPid(sup, "left", left);
    expect((await Supervisor.whichChildren(left2)).length).toBe(1);
    await Supervisor.stop(sup);
    expect(alive(left2)).toBe(false);
  });
});

describe("Supervisor.stop", () => {
  it("stops children one at a time in reverse start order (order_of_children)", async () => {
    const log: string[] = [];
    const sup = await startSup(
      ["a", "b", "c"].map((id) => ({
        id,
        start: () => startStepped(id, log),
        shutdown: "infinity" as const,
      })),
    );
    log.length = 0;
    await Supervisor.stop(sup);
    expect(log).toEqual(["enter c", "leave c", "enter b", "leave b", "enter a", "leave a"]);
    expect(alive(sup)).toBe(false);
  });

  it("exits with the given reason", async () => {
    const sup = await startSup([w("a")]);
    const down = waitDown(sup);
    await Supervisor.stop(sup, { shutdown: "bye" });
    expect(await down).toEqual({ shutdown: "bye" });
  });

  it("kills a child past its shutdown timeout, kills brutal_kill children at once", async () => {
    const sup = await startSup([
      { id: "slow", start: () => startSlow("slow"), shutdown: 10 },
      { id: "bk", start: () => startSlow("bk"), shutdown: "brutal_kill" },
    ]);
    const slow = waitDown(await livePid(sup, "slow"));
    const bk = waitDown(await livePid(sup, "bk"));
    await Supervisor.stop(sup);
    expect(await slow).toBe("killed");
    expect(await bk).toBe("killed");
  });

  it("does not hang on a child that unlinked itself (child_unlink)", async () => {
    const sup = await startSup([
      {
        id: "u",
        start: () => {
          const supPid = defaultNode().self();
          const pid = defaultNode().spawn(async (ctx) => {
            ctx.unlink(supPid);
            await ctx.receive();
          });
          return { ok: true, pid };
        },
      },
    ]);
    const u = await livePid(sup, "u");
    await expect.poll(() => defaultNode().processInfo(u)?.links.length).toBe(0);
    await Supervisor.stop(sup);
    expect(alive(u)).toBe(false);
  });
});

describe("Supervisor restarts", () => {
  it("one_for_one restarts only the dead child, in the same position", async () => {
    const sup = await startSup([w("a"), w("b"), w("c")]);
    const [a, b, c] = [await livePid(sup, "a"), await livePid(sup, "b"), await livePid(sup, "c")];
    crash(b);
    const b2 = await restartedPid(sup, "b", b);
    expect((await Supervisor.whichChildren(sup)).map((x: ChildInfo) => x.pid)).toEqual([c, b2, a]);
    expect(logger.messages()).toContain("supervisor: child terminated");
    const report = logger.records.find((r) => r.msg === "supervisor: child terminated")!;
    expect(report.obj).toMatchObject({
      supervisor: String(sup),
      id: "b",
      process: String(b),
      reason: "crashed",
    });
  });

  it("one_for_all stops the others in reverse order and restarts all in start order", async () => {
    const log: string[] = [];
    const sup = await startSup([logged("a", log), logged("b", log), logged("c", log)], {
      strategy: "one_for_all",
    });
    log.length = 0;
    const b = await livePid(sup, "b");
    GenServer.cast(b, "stop", "boom");
    await restartedPid(sup, "b", b);
    expect(log).toEqual([
      "stop b boom",
      "stop c shutdown",
      "stop a shutdown",
      "start a",
      "start b",
      "start c",
    ]);
  });

  it("rest_for_one restarts the dead child and younger ones, leaving older ones", async () => {
    const log: string[] = [];
    const sup = await startSup([logged("a", log), logged("b", log), logged("c", log), logged("d", log)], {
      strategy: "rest_for_one",
    });
    const a = await livePid(sup, "a");
    log.length = 0;
    const b = await livePid(sup, "b");
    GenServer.cast(b, "stop", "boom");
    await restartedPid(sup, "b", b);
    expect(log).toEqual([
      "stop b boom",
      "stop d shutdown",
      "stop c shutdown",
      "start b",
      "start c",
      "start d",
    ]);
    expect(await livePid(sup, "a")).toEqual(a);
  });

  it("one_for_all removes temporary bystanders instead of restarting them (temporary_bystander)", async () => {
    const sup = await startSup([w("perm"), w("tmp", "temporary")], { strategy: "one_for_all" });
    const tmp = await livePid(sup, "tmp");
    const perm = await livePid(sup, "perm");
    crash(perm);
    await restartedPid(sup, "perm", perm);
    expect(alive(tmp)).toBe(false);
    expect((await Supervisor.whichChildren(sup)).map((c) => c.id)).toEqual(["perm"]);
  });

  it("one_for_all also starts specs that were not running", async () => {
    const sup = await startSup([w("a"), w("b")], { strategy: "one_for_all" });
    await Supervisor.terminateChild(sup, "a");
    const b = await livePid(sup, "b");
    crash(b);
    await restartedPid(sup, "b", b);
    expect(typeof (await pidOf(sup, "a"))).toBe("object");
  });

  it("restarts transient children only after abnormal exits; temporary ones never, and forgets them", async () => {
    const sup = await startSup([
      w("t1", "transient"),
      w("t2", "transient"),
      w("t3", "transient"),
      w("tmp", "temporary"),
    ]);
    const [t1, t2, t3, tmp] = await Promise.all(["t1", "t2", "t3", "tmp"].map((id) => livePid(sup, id)));
    GenServer.cast(t1!, "stop", "normal");
    GenServer.cast(t2!, "stop", { shutdown: 1 });
    crash(t3!, "boom");
    crash(tmp!, "boom");
    await restartedPid(sup, "t3", t3!);
    await expect
      .poll(async () => (await Supervisor.whichChildren(sup)).map((c) => [c.id, typeof c.pid]))
      .toEqual([
        ["t3", "object"],
        ["t2", "undefined"],
        ["t1", "undefined"],
      ]);
  });

  it("ignores EXITs from processes that are not children", async () => {
    const sup = await startSup([w("a")]);
    defaultNode().exit(sup, "noise");
    expect(await Supervisor.countChildren(sup)).toMatchObject({ active: 1 });
  });
});

describe("Supervisor restart intensity", () => {
  it("tolerates maxRestarts restarts, exits shutdown on the next, stopping the others", async () => {
    const sup = await startSup([w("a"), w("b")], { maxRestarts: 2, maxSeconds: 3600 });
    const down = waitDown(sup);
    const a = await livePid(sup, "a");
    let b = await livePid(sup, "b");
    for (let i = 0; i < 2; i++) {
      crash(b);
      b = await restartedPid(sup, "b", b);
    }
    crash(b);
    expect(await down).toBe("shutdown");
    expect(alive(a)).toBe(false);
    expect(logger.messages()).toContain("supervisor: reached max restart intensity, shutting down");
  });

  it("with maxRestarts 0 gives up on the first restart", async () => {
    const sup = await startSup([w("a")], { maxRestarts: 0 });
    const down = waitDown(sup);
    crash(await livePid(sup, "a"));
    expect(await down).toBe("shutdown");
  });

  it("counts a multi-child restart once", async () => {
    const sup = await startSup([w("a"), w("b"), w("c")], { strategy: "one_for_all", maxRestarts: 1 });
    const a = await livePid(sup, "a");
    crash(a);
    await restartedPid(sup, "a", a);
    expect(alive(sup)).toBe(true);
  });

  it("never accumulates spaced-out crashes (multiple_restarts)", async () => {
    let now = 0;
    const sup = await startSup([w("a")], { maxRestarts: 1, maxSeconds: 5, clock: () => now });
    let a = await livePid(sup, "a");
    for (let i = 0; i < 5; i++) {
      now += 6000;
      crash(a);
      a = await restartedPid(sup, "a", a);
    }
    expect(alive(sup)).toBe(true);
  });

  it("escalates when a restarted child never starts again, each retry counted (one_for_one_escalation)", async () => {
    let starts = 0;
    const sup = await startSup(
      [{ id: "a", start: () => (starts++ === 0 ? startWorker() : { ok: false, error: "down" }) }],
      { maxRestarts: 4, maxSeconds: 3600 },
    );
    const down = waitDown(sup);
    crash(await livePid(sup, "a"));
    expect(await down).toBe("shutdown");
    expect(starts).toBe(5);
    expect(logger.messages()).toContain("supervisor: child failed to start");
  });
});

describe("Supervisor restarting children (hanging_restart_loop)", () => {
  function flaky() {
    const state = { fail: false, starts: 0 };
    const spec: ChildSpec = {
      id: "f",
      start: () => {
        state.starts++;
        return state.fail ? { ok: false, error: "down" } : startWorker();
      },
    };
    return { state, spec };
  }

  it("shows restarting and refuses start/restart/delete while retrying; terminate stops the retries", async () => {
    const { state, spec } = flaky();
    const sup = await startSup([spec, w("other")], { maxRestarts: 1_000_000, maxSeconds: 1 });
    state.fail = true;
    crash(await livePid(sup, "f"));
    await expect.poll(() => pidOf(sup, "f")).toBe("restarting");
    expect(await Supervisor.countChildren(sup)).toEqual({ specs: 2, active: 1, supervisors: 0, workers: 2 });
    expect(await Supervisor.startChild(sup, spec)).toEqual({ ok: false, error: "already_present" });
    expect(await Supervisor.restartChild(sup, "f")).toEqual({ ok: false, error: "restarting" });
    expect(await Supervisor.deleteChild(sup, "f")).toEqual({ ok: false, error: "restarting" });
    expect(await Supervisor.terminateChild(sup, "f")).toEqual({ ok: true });
    expect(await pidOf(sup, "f")).toBeUndefined();
    const starts = state.starts;
    expect(await Supervisor.countChildren(sup)).toMatchObject({ specs: 2, active: 1 });
    expect(state.starts).toBe(starts);
    state.fail = false;
    const r = await Supervisor.restartChild(sup, "f");
    expect(r.ok).toBe(true);
  });

  it("recovers by itself when the start works again", async () => {
    const { state, spec } = flaky();
    const sup = await startSup([spec], { maxRestarts: 1_000_000, maxSeconds: 1 });
    state.fail = true;
    const f = await livePid(sup, "f");
    crash(f);
    await expect.poll(() => pidOf(sup, "f")).toBe("restarting");
    state.fail = false;
    await restartedPid(sup, "f", f);
  });

  it("one_for_all restarts the whole group again when a sibling fails mid-restart", async () => {
    let aStarts = 0;
    let bFail = false;
    const sup = await startSup(
      [
        {
          id: "a",
          start: () => {
            aStarts++;
            return startWorker();
          },
        },
        { id: "b", start: () => (bFail ? { ok: false, error: "down" } : startWorker()) },
      ],
      { strategy: "one_for_all", maxRestarts: 1_000_000, maxSeconds: 1 },
    );
    bFail = true;
    crash(await livePid(sup, "a"));
    await expect.poll(() => aStarts).toBeGreaterThan(3);
    bFail = false;
    await expect.poll(async () => (await Supervisor.countChildren(sup)).active).toBe(2);
  });

  it("rest_for_one retries from the failed child on", async () => {
    let bStarts = 0;
    let cFail = false;
    const sup = await startSup(
      [
        w("a"),
        {
          id: "b",
          start: () => {
            bStarts++;
            return startWorker();
          },
        },
        { id: "c", start: () => (cFail ? { ok: false, error: "down" } : startWorker()) },
      ],
      { strategy: "rest_for_one", maxRestarts: 1_000_000, maxSeconds: 1 },
    );
    cFail = true;
    const b = await livePid(sup, "b");
    crash(b);
    await expect.poll(() => pidOf(sup, "c")).toBe("restarting");
    expect(bStarts).toBe(2);
    cFail = false;
    await expect.poll(async () => (await Supervisor.countChildren(sup)).active).toBe(3);
    expect(bStarts).toBe(2);
  });

  it("an automatic restart returning ignore leaves the child undefined, no retry", async () => {
    let n = 0;
    const sup = await startSup([
      { id: "i", start: () => (n++ === 0 ? startWorker() : { ok: false, ignore: true }) },
    ]);
    crash(await livePid(sup, "i"));
    await expect.poll(() => pidOf(sup, "i")).toBeUndefined();
    expect(n).toBe(2);
  });
});

describe("Supervisor auto-shutdown", () => {
  it("any_significant: exits shutdown when a significant transient child exits normally", async () => {
    const sup = await startSup([w("a"), w("sig", "transient", { significant: true })], {
      autoShutdown: "any_significant",
    });
    const down = waitDown(sup);
    GenServer.cast(await livePid(sup, "sig"), "stop", "normal");
    expect(await down).toBe("shutdown");
  });

  it("any_significant: a significant transient crash is restarted, not a shutdown", async () => {
    const sup = await startSup([w("sig", "transient", { significant: true })], {
      autoShutdown: "any_significant",
    });
    const sig = await livePid(sup, "sig");
    crash(sig, "boom");
    await restartedPid(sup, "sig", sig);
  });

  it("all_significant: exits only when the last significant child has exited", async () => {
    const sup = await startSup(
      [w("s1", "temporary", { significant: true }), w("s2", "temporary", { significant: true })],
      {
        autoShutdown: "all_significant",
      },
    );
    crash(await livePid(sup, "s1"), "boom");
    await expect.poll(async () => (await Supervisor.countChildren(sup)).specs).toBe(1);
    expect(alive(sup)).toBe(true);
    const down = waitDown(sup);
    crash(await livePid(sup, "s2"), "boom");
    expect(await down).toBe("shutdown");
  });

  it("terminateChild of a significant child does not trigger it", async () => {
    const sup = await startSup([w("sig", "transient", { significant: true })], {
      autoShutdown: "any_significant",
    });
    expect(await Supervisor.terminateChild(sup, "sig")).toEqual({ ok: true });
    expect(alive(sup)).toBe(true);
  });
});

describe("Supervisor.startChild", () => {
  it("appends and starts a child; returns info when the start gives one", async () => {
    const sup = await startSup([w("a")]);
    const r = await Supervisor.startChild(sup, w("b"));
    expect(r.ok && r.pid !== undefined).toBe(true);
    expect((await Supervisor.whichChildren(sup)).map((c) => c.id)).toEqual(["b", "a"]);
    const withInfo = await Supervisor.startChild(sup, {
      id: "c",
      start: async () => ({ ...((await startWorker()) as { ok: true; pid: Pid }), info: 42 }),
    });
    expect(withInfo).toMatchObject({ ok: true, info: 42 });
  });

  it("keeps an ignoring child unless temporary", async () => {
    const sup = await startSup([]);
    const ignore = (): StartResult => ({ ok: false, ignore: true });
    expect(await Supervisor.startChild(sup, { id: "i", start: ignore })).toEqual({
      ok: false,
      ignore: true,
    });
    expect(await Supervisor.startChild(sup, { id: "t", start: ignore, restart: "temporary" })).toEqual({
      ok: false,
      ignore: true,
    });
    expect((await Supervisor.whichChildren(sup)).map((c) => c.id)).toEqual(["i"]);
  });

  it("distinguishes alreadyStarted from already_present", async () => {
    const sup = await startSup([w("a")]);
    const a = await livePid(sup, "a");
    expect(await Supervisor.startChild(sup, w("a"))).toEqual({ ok: false, error: { alreadyStarted: a } });
    await Supervisor.terminateChild(sup, "a");
    expect(await Supervisor.startChild(sup, w("a"))).toEqual({ ok: false, error: "already_present" });
  });

  it("returns a start failure as its bare reason (as every start does), and keeps nothing", async () => {
    const sup = await startSup([]);
    const r = await Supervisor.startChild(sup, { id: "x", start: () => ({ ok: false, error: "nope" }) });
    expect(r).toEqual({ ok: false, error: "nope" });
    expect((await Supervisor.countChildren(sup)).specs).toBe(0);
  });

  it("passes an alreadyStarted from the start function unwrapped", async () => {
    const sup = await startSup([]);
    const first = await GenServer.start(Worker, undefined, { name: "taken_name" });
    if (!first.ok) throw new Error("start");
    const r = await Supervisor.startChild(sup, {
      id: "dup",
      start: () => GenServer.startLink(Worker, undefined, { name: "taken_name" }),
    });
    expect(r).toEqual({ ok: false, error: { alreadyStarted: first.pid } });
  });

  it("returns the validation error for an invalid spec", async () => {
    const sup = await startSup([]);
    const r = await Supervisor.startChild(sup, {
      id: "x",
      start: () => startWorker(),
      restart: "again" as never,
    });
    expect((r as { error: unknown }).error).toBeInstanceOf(InvalidRestartTypeError);
  });

  it("accepts specs built by childSpec", async () => {
    const sup = await startSup([childSpec(Worker, "hello", { id: "w1" })]);
    expect(await GenServer.call(await livePid(sup, "w1"), "arg")).toBe("hello");
  });
});

describe("Supervisor.terminateChild", () => {
  it("stops a child and keeps its spec; ok again when not running", async () => {
    const sup = await startSup([w("a")]);
    const a = await livePid(sup, "a");
    expect(await Supervisor.terminateChild(sup, "a")).toEqual({ ok: true });
    expect(alive(a)).toBe(false);
    expect(await Supervisor.terminateChild(sup, "a")).toEqual({ ok: true });
    expect(await Supervisor.countChildren(sup)).toEqual({ specs: 1, active: 0, supervisors: 0, workers: 1 });
  });

  it("forgets a temporary child's spec", async () => {
    const sup = await startSup([w("t", "temporary")]);
    await Supervisor.terminateChild(sup, "t");
    expect((await Supervisor.countChildren(sup)).specs).toBe(0);
  });

  it("returns not_found for an unknown id or a pid", async () => {
    const sup = await startSup([w("a")]);
    expect(await Supervisor.terminateChild(sup, "zzz")).toEqual({ ok: false, error: "not_found" });
    expect(await Supervisor.terminateChild(sup, await livePid(sup, "a"))).toEqual({
      ok: false,
      error: "not_found",
    });
  });
});

describe("Supervisor.restartChild", () => {
  it("starts a kept, stopped child; refuses running and unknown ones", async () => {
    const sup = await startSup([w("a")]);
    expect(await Supervisor.restartChild(sup, "a")).toEqual({ ok: false, error: "running" });
    expect(await Supervisor.restartChild(sup, "nope")).toEqual({ ok: false, error: "not_found" });
    await Supervisor.terminateChild(sup, "a");
    const r = await Supervisor.restartChild(sup, "a");
    expect(r.ok).toBe(true);
    if (r.ok) expect(await pidOf(sup, "a")).toEqual(r.pid);
  });

  it("returns the start error and leaves the child undefined; ignore gives { ok: false, ignore: true }", async () => {
    let mode: "ok" | "fail" | "ignore" = "ok";
    const sup = await startSup([
      {
        id: "m",
        start: (): StartResult | Promise<StartResult> =>
          mode === "ok"
            ? startWorker()
            : mode === "fail"
              ? { ok: false, error: "bad" }
              : { ok: false, ignore: true },
      },
    ]);
    await Supervisor.terminateChild(sup, "m");
    mode = "fail";
    expect(await Supervisor.restartChild(sup, "m")).toEqual({ ok: false, error: "bad" });
    expect(await pidOf(sup, "m")).toBeUndefined();
    mode = "ignore";
    expect(await Supervisor.restartChild(sup, "m")).toEqual({ ok: false, ignore: true });
  });
});

describe("Supervisor extra return values (extra_return)", () => {
  it("returns the info of a start from startChild and restartChild", async () => {
    const sup = await startSup([]);
    const spec: ChildSpec = {
      id: "x",
      start: async () => {
        const r = await startWorker();
        return r.ok ? { ...r, info: "extra" } : r;
      },
    };
    expect(await Supervisor.startChild(sup, spec)).toMatchObject({ ok: true, info: "extra" });
    await Supervisor.terminateChild(sup, "x");
    expect(await Supervisor.restartChild(sup, "x")).toMatchObject({ ok: true, info: "extra" });
    expect(typeof (await pidOf(sup, "x"))).toBe("object");
  });
});

describe("Supervisor child start linking", () => {
  it("links a child its start function did not link, and restarts it when it dies", async () => {
    const sup = await startSup([{ id: "u", start: () => GenServer.start(Worker, undefined) }]);
    const u = await livePid(sup, "u");
    expect(defaultNode().processInfo(u)?.links).toContainEqual(sup);
    crash(u);
    await restartedPid(sup, "u", u);
  });

  it("sees a child that was already dead when its start returned as exited (noproc)", async () => {
    let n = 0;
    const sup = await startSup([
      {
        id: "d",
        start: async () => {
          const r = await GenServer.start(Worker, undefined);
          if (r.ok && n++ === 0) defaultNode().exit(r.pid, "kill");
          return r;
        },
      },
    ]);
    await expect.poll(async () => typeof (await pidOf(sup, "d")) === "object" && n === 2).toBe(true);
    expect(alive((await pidOf(sup, "d")) as Pid)).toBe(true);
  });
});

describe("Supervisor.deleteChild", () => {
  it("deletes a stopped child's spec; refuses running and unknown ones", async () => {
    const sup = await startSup([w("a")]);
    expect(await Supervisor.deleteChild(sup, "a")).toEqual({ ok: false, error: "running" });
    expect(await Supervisor.deleteChild(sup, "b")).toEqual({ ok: false, error: "not_found" });
    await Supervisor.terminateChild(sup, "a");
    expect(await Supervisor.deleteChild(sup, "a")).toEqual({ ok: true });
    expect(await Supervisor.whichChildren(sup)).toEqual([]);
  });
});

describe("Supervisor.whichChildren / countChildren / getChildSpec", () => {
  it("lists id, pid, type and modules newest first and counts by type", async () => {
    const sup = await startSup([
      w("a", "permanent", { modules: ["Worker"] }),
      { id: "s", type: "supervisor", start: () => Supervisor.startLink([], { strategy: "one_for_one" }) },
    ]);
    const which = await Supervisor.whichChildren(sup);
    expect(which.map((c) => [c.id, c.type, c.modules])).toEqual([
      ["s", "supervisor", []],
      ["a", "worker", ["Worker"]],
    ]);
    expect(await Supervisor.countChildren(sup)).toEqual({ specs: 2, active: 2, supervisors: 1, workers: 1 });
  });

  it("returns a spec with its defaults, or not_found", async () => {
    const sup = await startSup([w("a"), { id: "s", type: "supervisor", start: () => startWorker() }]);
    expect(await Supervisor.getChildSpec(sup, "a")).toMatchObject({
      ok: true,
      spec: { id: "a", restart: "permanent", shutdown: 5000, type: "worker", significant: false },
    });
    expect(await Supervisor.getChildSpec(sup, "s")).toMatchObject({
      ok: true,
      spec: { shutdown: "infinity" },
    });
    expect(await Supervisor.getChildSpec(sup, "x")).toEqual({ ok: false, error: "not_found" });
  });

  it("fails with CallExitError noproc on a dead supervisor or unknown name", async () => {
    const sup = await startSup([]);
    await Supervisor.stop(sup);
    await expect(Supervisor.whichChildren(sup)).rejects.toBeInstanceOf(CallExitError);
    await expect(Supervisor.countChildren("nobody_here")).rejects.toMatchObject({ reason: "noproc" });
  });
});
