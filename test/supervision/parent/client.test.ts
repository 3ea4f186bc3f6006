import { describe, expect, it } from "vitest";
import { type Pid, spawn } from "../../../src/process/index.js";
import { GenServer, noreply, ok, type ServerDest } from "../../../src/server/index.js";
import {
  ChildAlreadyStartedError,
  defineParentServer,
  InvalidChildIdError,
  MissingDepsError,
  NonUniformShutdownGroupError,
  NoParentRegistryError,
  Parent,
  ParentClient,
  ParentRegistry,
  ParentGenServer,
  ParentSupervisor,
  type StoppedChildren,
} from "../../../src/supervision/parent/index.js";
import { freshNode, Worker, type WorkerProtocol, worker } from "./helpers.js";

const node = freshNode("parent-client");

async function sup(children = [] as Parameters<typeof ParentSupervisor.start>[0], registry = false) {
  const r = await ParentSupervisor.start(children, { registry });
  if (!r.ok) throw new Error("start failed");
  return r.pid;
}

/** The `error` of a failed start (undefined for a started or ignored one). */
function errorOf(r: { ok: boolean }): unknown {
  return !r.ok && "error" in r ? r.error : undefined;
}

describe("ParentClient.startChild", () => {
  it("returns the pid, keeps an ignored child undefined (dropped if ephemeral)", async () => {
    const s = await sup();
    const a = await ParentClient.startChild(s, { id: "a", start: () => GenServer.startLink(Worker, "a") });
    expect(a.ok && node.isAlive(a.pid!)).toBe(true);
    expect(
      await ParentClient.startChild(s, { id: "ign", start: () => ({ ok: false, ignore: true }) }),
    ).toEqual({
      ok: false,
      ignore: true,
    });
    expect(
      await ParentClient.startChild(s, {
        id: "eign",
        ephemeral: true,
        start: () => ({ ok: false, ignore: true }),
      }),
    ).toEqual({ ok: false, ignore: true });
    expect((await ParentClient.children(s)).map((c) => [c.id, c.pid === undefined])).toEqual([
      ["a", false],
      ["ign", true],
    ]);
    await GenServer.stop(s);
  });

  it("accepts a plain function returning a pid, and reports a start error with nothing stored", async () => {
    const s = await sup();
    const r = await ParentClient.startChild(s, {
      id: "plain",
      start: () => spawn(async (ctx) => void (await ctx.receive())),
    });
    expect(r.ok).toBe(true);
    expect(
      await ParentClient.startChild(s, { id: "bad", start: () => ({ ok: false, error: "boom" }) }),
    ).toEqual({
      ok: false,
      error: "boom",
    });
    const thrown = await ParentClient.startChild(s, {
      id: "throws",
      start: () => {
        throw new Error("kaput");
      },
    });
    // A throw is a crashed start (a StartCrashError keeping the thrown error), not a returned error.
    expect((errorOf(thrown) as { thrown: Error }).thrown.message).toBe("kaput");
    expect((await ParentClient.children(s)).map((c) => c.id)).toEqual(["plain"]);
    await GenServer.stop(s);
  });

  it("returns named validation errors", async () => {
    const s = await sup();
    const a = await ParentClient.startChild(s, worker(node, "a", { deaths: [] }, { shutdownGroup: "g" }));
    if (!a.ok) throw new Error("a");
    const dup = await ParentClient.startChild(s, worker(node, "a", { deaths: [] }));
    expect(errorOf(dup)).toBeInstanceOf(ChildAlreadyStartedError);
    expect(errorOf(dup)).toMatchObject({ alreadyStarted: a.pid, reason: { alreadyStarted: a.pid } });
    const missing = await ParentClient.startChild(
      s,
      worker(node, "b", { deaths: [] }, { bindsTo: ["a", "x", "y"] }),
    );
    expect(errorOf(missing)).toBeInstanceOf(MissingDepsError);
    expect(errorOf(missing)).toMatchObject({ missingDeps: ["x", "y"] });
    const pidId = await ParentClient.startChild(s, worker(node, "c", { deaths: [] }, { id: a.pid as never }));
    expect(errorOf(pidId)).toBeInstanceOf(InvalidChildIdError);
    const group = await ParentClient.startChild(
      s,
      worker(node, "d", { deaths: [] }, { shutdownGroup: "g", restart: "temporary" }),
    );
    expect(errorOf(group)).toBeInstanceOf(NonUniformShutdownGroupError);
    expect(errorOf(group)).toMatchObject({ nonUniformShutdownGroup: "g" });
    expect((await ParentClient.children(s)).map((c) => c.id)).toEqual(["a"]);
    await GenServer.stop(s);
  });

  it("addresses anonymous children by pid, and binds to them by pid", async () => {
    const s = await sup();
    const log = { deaths: [] as string[] };
    const a = await ParentClient.startChild(s, { ...worker(node, "x", log), id: undefined });
    if (!a.ok) throw new Error("a");
    const b = await ParentClient.startChild(s, {
      ...worker(node, "y", log),
      id: undefined,
      bindsTo: [a.pid!],
    });
    if (!b.ok) throw new Error("b");
    expect(await ParentClient.childId(s, a.pid!)).toEqual({ ok: true, id: undefined });
    const stopped = await ParentClient.shutdownChild(s, a.pid!);
    expect(stopped.ok && [...stopped.stopped.keys()]).toEqual([a.pid, b.pid]);
    expect(log.deaths).toEqual(["y", "x"]);
    await GenServer.stop(s);
  });
});

describe("ParentClient.shutdownChild / returnChildren", () => {
  it("returns stopped children to their original places, idempotently", async () => {
    const log = { deaths: [] as string[], starts: [] as string[] };
    const s = await sup([
      worker(node, "a", log),
      worker(node, "b", log, { bindsTo: ["a"], meta: "mb" }),
      worker(node, "c", log),
    ]);
    const r = await ParentClient.shutdownChild(s, "a");
    if (!r.ok) throw new Error("shutdown");
    expect(await ParentClient.shutdownChild(s, "a")).toEqual({ ok: false, error: "not_found" });
    expect(r.stopped.get("b")).toMatchObject({ id: "b", meta: "mb", exitReason: "shutdown" });
    log.starts.length = 0;
    await ParentClient.returnChildren(s, r.stopped);
    await ParentClient.returnChildren(s, r.stopped);
    expect(log.starts).toEqual(["a", "b"]);
    expect((await ParentClient.children(s)).map((c) => c.id)).toEqual(["a", "b", "c"]);
    // the binding survived the trip
    const again = await ParentClient.shutdownChild(s, "a");
    expect(again.ok && [...again.stopped.keys()]).toEqual(["a", "b"]);
    await GenServer.stop(s);
  });

  it("returns children reported after a crash, counting it as a restart", async () => {
    const reports: StoppedChildren[] = [];
    let parentPid: Pid | undefined;
    const Returner = defineParentServer<{}>()({
      init: async (_a: undefined, ctx) => {
        parentPid = ctx.self;
        return ok(null);
      },
      handleStoppedChildren(stopped, state) {
        reports.push(stopped);
        return noreply(state);
      },
    });
    const r = await ParentGenServer.start(Returner, undefined, { maxRestarts: 1, maxSeconds: 60 });
    if (!r.ok) throw new Error("start");
    const log = { deaths: [] as string[], starts: [] as string[] };
    await ParentClient.startChild(r.pid, worker(node, "t", log, { restart: "temporary", ephemeral: true }));
    await ParentClient.startChild(r.pid, worker(node, "u", log, { restart: "temporary", ephemeral: true }));
    const t1 = (await ParentClient.childPid(r.pid, "t")) as { pid: Pid };
    node.exit(t1.pid, "kill");
    await expect.poll(() => reports.length, { timeout: 2000 }).toBe(1);
    expect((await ParentClient.children(r.pid)).map((c) => c.id)).toEqual(["u"]);
    await ParentClient.returnChildren(r.pid, reports[0]!);
    expect((await ParentClient.children(r.pid)).map((c) => c.id)).toEqual(["t", "u"]);
    // a second crash + return exceeds maxRestarts 1: the return counted as the first restart
    node.exit(((await ParentClient.childPid(r.pid, "t")) as { pid: Pid }).pid, "kill");
    await expect.poll(() => reports.length, { timeout: 2000 }).toBe(2);
    const exits: unknown[] = [];
    node.onExit(parentPid!, (_p, reason) => exits.push(reason));
    await expect(ParentClient.returnChildren(r.pid, reports[1]!)).rejects.toMatchObject({
      reason: "too_many_restarts",
    });
    expect(exits).toEqual(["too_many_restarts"]);
  });
});

describe("ParentClient queries", () => {
  it("restartChild restarts the closure (new pids, same order); shutdownAll stops all in reverse order", async () => {
    const log = { deaths: [] as string[], starts: [] as string[] };
    const s = await sup([
      worker(node, "a", log),
      worker(node, "b", log, { bindsTo: ["a"] }),
      worker(node, "c", log),
    ]);
    const before = await ParentClient.children(s);
    log.starts.length = 0;
    expect(await ParentClient.restartChild(s, "a")).toEqual({ ok: true });
    expect(await ParentClient.restartChild(s, "zz")).toEqual({ ok: false, error: "not_found" });
    expect(log.deaths).toEqual(["b", "a"]);
    expect(log.starts).toEqual(["a", "b"]);
    const after = await ParentClient.children(s);
    expect(after.map((c) => c.id)).toEqual(["a", "b", "c"]);
    expect(after[2]!.pid).toBe(before[2]!.pid);
    log.deaths.length = 0;
    const all = await ParentClient.shutdownAll(s);
    expect([...all.keys()]).toEqual(["a", "b", "c"]);
    expect(log.deaths).toEqual(["c", "b", "a"]);
    expect(await ParentClient.countChildren(s)).toEqual({ specs: 0, active: 0, supervisors: 0, workers: 0 });
    await GenServer.stop(s);
  });

  it("childPid / childMeta / updateChildMeta / whichChildren / countChildren / getChildSpec", async () => {
    const s = await sup([
      worker(node, "a", { deaths: [] }, { meta: { n: 1 } }),
      worker(node, "s", { deaths: [] }, { type: "supervisor", modules: ["Sup"] }),
    ]);
    const a = (await ParentClient.childPid(s, "a")) as { ok: true; pid: Pid };
    expect(await ParentClient.childPid(s, "nope")).toEqual({ ok: false, error: "not_found" });
    expect(await ParentClient.childMeta(s, "a")).toEqual({ ok: true, meta: { n: 1 } });
    expect(await ParentClient.updateChildMeta(s, "a", (m) => ({ ...(m as object), n: 2 }))).toEqual({
      ok: true,
    });
    expect(await ParentClient.childMeta(s, a.pid)).toEqual({ ok: true, meta: { n: 2 } });
    expect(await ParentClient.updateChildMeta(s, "zz", (m) => m)).toEqual({ ok: false, error: "not_found" });
    expect(await ParentClient.childId(s, a.pid)).toEqual({ ok: true, id: "a" });
    const which = await ParentClient.whichChildren(s);
    expect(which.map((w) => [w.id, w.type, w.modules])).toEqual([
      ["a", "worker", []],
      ["s", "supervisor", ["Sup"]],
    ]);
    expect(await ParentClient.countChildren(s)).toEqual({ specs: 2, active: 2, supervisors: 1, workers: 1 });
    const spec = await ParentClient.getChildSpec(s, "s");
    expect(spec.ok && spec.spec).toMatchObject({
      id: "s",
      shutdown: 1000,
      restart: "permanent",
      ephemeral: false,
    });
    expect(await ParentClient.getChildSpec(s, "zz")).toEqual({ ok: false, error: "not_found" });
    // meta resets to the spec's on restart
    node.exit(a.pid, "kill");
    await expect
      .poll(async () => (await ParentClient.childMeta(s, "a")) as unknown, { timeout: 2000 })
      .toEqual({ ok: true, meta: { n: 1 } });
    await GenServer.stop(s);
  });

  it("via(parent, id) names a child for GenServer calls", async () => {
    const s = await sup([worker(node, "a", { deaths: [] })]);
    const via = ParentClient.via(s, "a") as ServerDest<WorkerProtocol>;
    expect(await GenServer.call(via, "whoami")).toBe("a");
    await GenServer.stop(s);
  });
});

describe("registry", () => {
  interface BlockProtocol {
    calls: { block(): string };
  }
  let release: (() => void) | null = null;
  const Blocker = defineParentServer<BlockProtocol>()({
    init: async (children: Parameters<typeof ParentSupervisor.start>[0], ctx) => {
      for (const c of children!) await Parent.of(ctx).startChild(c);
      return ok(null);
    },
    handleCall: {
      block: (_a, s) =>
        new Promise((resolve) => {
          release = () => resolve({ reply: "done", state: s });
        }),
    },
  });

  it("lookups read the shared table without messaging the parent, with the same results", async () => {
    const spec = [worker(node, "a", { deaths: [] }, { meta: "ma" }), worker(node, "b", { deaths: [] })];
    const withReg = await ParentGenServer.start(Blocker, spec, { registry: true });
    const without = await ParentGenServer.start(
      Blocker,
      spec.map((s) => ({ ...s })),
      { registry: false },
    );
    if (!withReg.ok || !without.ok) throw new Error("start");
    const blocked = GenServer.call(withReg.pid, "block");
    // the parent is busy in `block`: only a table read can answer now
    const kids = await ParentClient.children(withReg.pid);
    expect(kids.map((c) => [c.id, c.meta])).toEqual([
      ["a", "ma"],
      ["b", undefined],
    ]);
    const aPid = await ParentClient.childPid(withReg.pid, "a");
    expect(aPid.ok && node.isAlive(aPid.pid!)).toBe(true);
    expect(await ParentClient.childMeta(withReg.pid, "a")).toEqual({ ok: true, meta: "ma" });
    expect(await ParentClient.childPid(withReg.pid, "zz")).toEqual({ ok: false, error: "not_found" });
    release!();
    expect(await blocked).toBe("done");
    // same shapes through a call
    const viaCall = await ParentClient.children(without.pid);
    expect(viaCall.map((c) => [c.id, c.meta])).toEqual(kids.map((c) => [c.id, c.meta]));
    expect(await ParentClient.childMeta(without.pid, "a")).toEqual({ ok: true, meta: "ma" });
    expect(await ParentClient.childPid(without.pid, "zz")).toEqual({ ok: false, error: "not_found" });
    await GenServer.stop(withReg.pid);
    await GenServer.stop(without.pid);
    await expect(ParentClient.children(withReg.pid)).rejects.toMatchObject({ reason: "noproc" });
  });

  it("ParentRegistry reads the table synchronously, as ParentClient would answer; throws without a registry", async () => {
    const spec = () => [
      worker(node, "a", { deaths: [] }, { meta: 1 }),
      worker(node, "b", { deaths: [] }, { type: "supervisor", bindsTo: ["a"] }),
    ];
    const reg = await ParentSupervisor.start(spec(), { registry: true, name: "reg-sup" });
    const plain = await ParentSupervisor.start(spec());
    if (!reg.ok || !plain.ok) throw new Error("start");
    expect(ParentRegistry.has("reg-sup")).toBe(true);
    expect(ParentRegistry.has(plain.pid)).toBe(false);
    const a = ParentRegistry.childPid("reg-sup", "a");
    expect(a).toEqual(await ParentClient.childPid(reg.pid, "a"));
    expect(a.ok && ParentRegistry.childId(reg.pid, a.pid!)).toEqual({ ok: true, id: "a" });
    expect(ParentRegistry.childMeta(reg.pid, "a")).toEqual({ ok: true, meta: 1 });
    expect(ParentRegistry.countChildren(reg.pid)).toEqual(await ParentClient.countChildren(plain.pid));
    expect(ParentRegistry.whichChildren(reg.pid).map((w) => [w.id, w.type])).toEqual(
      (await ParentClient.whichChildren(plain.pid)).map((w) => [w.id, w.type]),
    );
    expect(ParentRegistry.getChildSpec(reg.pid, "zz")).toEqual(
      await ParentClient.getChildSpec(plain.pid, "zz"),
    );
    expect(ParentRegistry.children(reg.pid).map((c) => c.id)).toEqual(["a", "b"]);
    // changes are visible at once
    await ParentClient.shutdownChild(reg.pid, "a");
    expect(ParentRegistry.children(reg.pid)).toEqual([]);
    expect(() => ParentRegistry.children(plain.pid)).toThrow(NoParentRegistryError);
    await GenServer.stop(reg.pid);
    expect(() => ParentRegistry.childPid(reg.pid, "a")).toThrow(NoParentRegistryError);
    await GenServer.stop(plain.pid);
  });
});
