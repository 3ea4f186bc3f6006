import { afterEach, describe, expect, it, vi } from "vitest";
import type { Pid } from "../../../src/process/index.js";
import { GenServer, noreply, ok } from "../../../src/server/index.js";
import {
  defineParentServer,
  Parent,
  ParentClient,
  type ParentChildSpec,
  ParentGenServer,
  ParentSupervisor,
  type StoppedChildren,
} from "../../../src/supervision/parent/index.js";
import { type Captured, freshNode, worker } from "./helpers.js";

const logs: Captured[] = [];
const node = freshNode("parent-restarts", logs);

/** A parent server that records what `handleStoppedChildren` gets. */
const reports: StoppedChildren[] = [];
const Recorder = defineParentServer<{}>()({
  name: "Recorder",
  async init(children: ParentChildSpec[], ctx) {
    for (const c of children) {
      const r = await Parent.of(ctx).startChild(c);
      if (!r.ok && "error" in r) return { stop: r.error };
    }
    return ok(null);
  },
  handleStoppedChildren(stopped, state) {
    reports.push(stopped);
    return noreply(state);
  },
});

function exitReasonOf(pid: Pid): { reason: unknown } {
  const box = { reason: undefined as unknown };
  node.onExit(pid, (_p, r) => {
    box.reason = r;
  });
  return box;
}

async function pidOf(sup: Pid, id: string): Promise<Pid | undefined> {
  const r = await ParentClient.childPid(sup, id);
  return r.ok ? r.pid : undefined;
}

afterEach(() => {
  vi.useRealTimers();
  reports.length = 0;
});

describe("automatic restarts", () => {
  it("restarts a permanent child whatever its exit reason", async () => {
    const log = { deaths: [] as string[] };
    const r = await ParentSupervisor.start([worker(node, "a", log)]);
    if (!r.ok) throw new Error("start");
    const first = (await pidOf(r.pid, "a"))!;
    await GenServer.stop(first, "normal");
    await expect.poll(async () => (await pidOf(r.pid, "a"))?.equals(first), { timeout: 2000 }).toBe(false);
    expect(await pidOf(r.pid, "a")).toBeDefined();
    await GenServer.stop(r.pid);
  });

  it("transient: a normal exit is not restarted (kept undefined), a shutdown exit is", async () => {
    const log = { deaths: [] as string[] };
    const r = await ParentSupervisor.start([
      worker(node, "t1", log, { restart: "transient" }),
      worker(node, "t2", log, { restart: "transient" }),
    ]);
    if (!r.ok) throw new Error("start");
    const t1 = (await pidOf(r.pid, "t1"))!;
    const t2 = (await pidOf(r.pid, "t2"))!;
    await GenServer.stop(t1, "normal");
    node.exit(t2, "shutdown");
    await expect.poll(async () => (await pidOf(r.pid, "t2"))?.equals(t2), { timeout: 2000 }).toBe(false);
    expect(await pidOf(r.pid, "t2")).toBeDefined();
    expect(await ParentClient.childPid(r.pid, "t1")).toEqual({ ok: true, pid: undefined });
    expect((await ParentClient.children(r.pid)).map((c) => c.id)).toEqual(["t1", "t2"]);
    await GenServer.stop(r.pid);
  });

  it("temporary: not restarted; non-ephemeral kept undefined, ephemeral removed and reported", async () => {
    const log = { deaths: [] as string[] };
    const r = await ParentGenServer.start(Recorder, [
      worker(node, "keep", log, { restart: "temporary" }),
      worker(node, "gone", log, { restart: "temporary", ephemeral: true, meta: { m: 1 } }),
    ]);
    if (!r.ok) throw new Error("start");
    const keep = (await pidOf(r.pid, "keep"))!;
    const gone = (await pidOf(r.pid, "gone"))!;
    node.exit(keep, "kill");
    node.exit(gone, "boom");
    await expect.poll(() => reports.length, { timeout: 2000 }).toBe(1);
    const entry = reports[0]!.get("gone")!;
    expect(entry).toMatchObject({ id: "gone", pid: gone, meta: { m: 1 }, exitReason: "boom" });
    expect(await ParentClient.children(r.pid)).toEqual([{ id: "keep", pid: undefined, meta: undefined }]);
    await GenServer.stop(r.pid);
  });

  it("a non-restarted child keeps its non-ephemeral siblings undefined and reports the ephemeral ones", async () => {
    const log = { deaths: [] as string[] };
    const r = await ParentGenServer.start(Recorder, [
      worker(node, "root", log, { restart: "temporary" }),
      worker(node, "eph", log, { restart: "temporary", ephemeral: true, bindsTo: ["root"] }),
      worker(node, "kept", log, { bindsTo: ["root"] }),
    ]);
    if (!r.ok) throw new Error("start");
    node.exit((await pidOf(r.pid, "root"))!, "kill");
    await expect.poll(() => reports.length, { timeout: 2000 }).toBe(1);
    expect([...reports[0]!.keys()]).toEqual(["eph"]);
    expect(reports[0]!.get("eph")!.exitReason).toBe("shutdown");
    expect(await ParentClient.children(r.pid)).toEqual([
      { id: "root", pid: undefined, meta: undefined },
      { id: "kept", pid: undefined, meta: undefined },
    ]);
    expect(log.deaths).toEqual(["root", "kept", "eph"]);
    await GenServer.stop(r.pid);
  });

  it("an ephemeral child's closure is removed and reported when it is not restarted", async () => {
    const log = { deaths: [] as string[] };
    const r = await ParentGenServer.start(Recorder, []);
    if (!r.ok) throw new Error("start");
    const a = await ParentClient.startChild(
      r.pid,
      worker(node, "a", log, { restart: "transient", ephemeral: true }),
    );
    await ParentClient.startChild(
      r.pid,
      worker(node, "b", log, { restart: "transient", ephemeral: true, bindsTo: ["a"] }),
    );
    if (!a.ok) throw new Error("a");
    await GenServer.stop(a.pid!, "normal");
    await expect.poll(() => reports.length, { timeout: 2000 }).toBe(1);
    expect([...reports[0]!.keys()]).toEqual(["a", "b"]);
    expect(reports[0]!.get("a")!.exitReason).toBe("normal");
    expect(await ParentClient.children(r.pid)).toEqual([]);
    await GenServer.stop(r.pid);
  });

  it("a child with a timeoutMs is stopped with reason timeout and handled as a crash", async () => {
    const log = { deaths: [] as string[] };
    const r = await ParentGenServer.start(Recorder, []);
    if (!r.ok) throw new Error("start");
    await ParentClient.startChild(
      r.pid,
      worker(node, "job", log, { restart: "temporary", ephemeral: true, timeoutMs: 20 }),
    );
    await expect.poll(() => reports.length, { timeout: 2000 }).toBe(1);
    expect(reports[0]!.get("job")!.exitReason).toBe("timeout");
    // `timeout`, the deprecated spelling of `timeoutMs`, still works.
    const again = await ParentClient.startChild(r.pid, worker(node, "perm", log, { timeout: 20 }));
    if (!again.ok) throw new Error("perm");
    await expect
      .poll(async () => (await pidOf(r.pid, "perm"))?.equals(again.pid), { timeout: 2000 })
      .toBe(false);
    await GenServer.stop(r.pid);
  });

  it("a transient child's timeout is abnormal: it is restarted, not kept stopped", async () => {
    const log = { deaths: [] as string[] };
    const r = await ParentSupervisor.start([]);
    if (!r.ok) throw new Error("start");
    const first = await ParentClient.startChild(
      r.pid,
      worker(node, "t", log, { restart: "transient", timeout: 30 }),
    );
    if (!first.ok) throw new Error("t");
    await expect
      .poll(async () => (await pidOf(r.pid, "t"))?.equals(first.pid), { timeout: 2000 })
      .toBe(false);
    expect(await pidOf(r.pid, "t")).toBeDefined();
    await GenServer.stop(r.pid);
  });
});

describe("restart intensity", () => {
  it("gives up past maxRestarts: stops the others in reverse order and exits too_many_restarts", async () => {
    logs.length = 0;
    const log = { deaths: [] as string[] };
    const r = await ParentSupervisor.start(
      [worker(node, "a", log), worker(node, "b", log), worker(node, "c", log)],
      { maxRestarts: 2, maxSeconds: 60 },
    );
    if (!r.ok) throw new Error("start");
    const exit = exitReasonOf(r.pid);
    for (let i = 0; i < 3; i++) {
      const pid = (await pidOf(r.pid, "b"))!;
      log.deaths.length = 0;
      node.exit(pid, "kill");
      if (i < 2)
        await expect.poll(async () => (await pidOf(r.pid, "b"))?.equals(pid), { timeout: 2000 }).toBe(false);
    }
    await expect.poll(() => node.isAlive(r.pid), { timeout: 2000 }).toBe(false);
    expect(exit.reason).toBe("too_many_restarts");
    expect(log.deaths).toEqual(["b", "c", "a"]);
    expect(logs.some((l) => l.msg.includes("Too many restarts in parent process"))).toBe(true);
  });

  it("maxRestarts 0: the first crash of a permanent child stops the parent", async () => {
    const log = { deaths: [] as string[] };
    const r = await ParentSupervisor.start([worker(node, "a", log), worker(node, "b", log)], {
      maxRestarts: 0,
    });
    if (!r.ok) throw new Error("start");
    const exit = exitReasonOf(r.pid);
    log.deaths.length = 0;
    node.exit((await pidOf(r.pid, "a"))!, "kill");
    await expect.poll(() => node.isAlive(r.pid), { timeout: 2000 }).toBe(false);
    expect(exit.reason).toBe("too_many_restarts");
    expect(log.deaths).toEqual(["a", "b"]);
  });

  it("counts per child too: a child's own maxRestarts escalates even with an unlimited parent", async () => {
    const log = { deaths: [] as string[] };
    const r = await ParentSupervisor.start([worker(node, "a", log, { maxRestarts: 1, maxSeconds: 60 })], {
      maxRestarts: "infinity",
    });
    if (!r.ok) throw new Error("start");
    const exit = exitReasonOf(r.pid);
    const p1 = (await pidOf(r.pid, "a"))!;
    node.exit(p1, "kill");
    await expect.poll(async () => (await pidOf(r.pid, "a"))?.equals(p1), { timeout: 2000 }).toBe(false);
    node.exit((await pidOf(r.pid, "a"))!, "kill");
    await expect.poll(() => node.isAlive(r.pid), { timeout: 2000 }).toBe(false);
    expect(exit.reason).toBe("too_many_restarts");
  });

  it("restarts spaced out beyond maxSeconds never accumulate (ms clock)", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(1_000_000);
    const log = { deaths: [] as string[] };
    const r = await ParentSupervisor.start([worker(node, "a", log)], { maxRestarts: 1, maxSeconds: 1 });
    if (!r.ok) throw new Error("start");
    for (let i = 0; i < 5; i++) {
      const pid = (await pidOf(r.pid, "a"))!;
      node.exit(pid, "kill");
      await expect.poll(async () => (await pidOf(r.pid, "a"))?.equals(pid), { timeout: 2000 }).toBe(false);
      vi.setSystemTime(1_000_000 + (i + 1) * 1000);
    }
    expect(node.isAlive(r.pid)).toBe(true);
    await GenServer.stop(r.pid);
  });

  it("retries a failed restart, each attempt counting, until the limit", async () => {
    const exits: unknown[] = [];
    let starts = 0;
    const flaky: ParentChildSpec = {
      id: "flaky",
      start: async () => {
        starts++;
        if (starts > 1) return { ok: false, error: "nope" };
        return GenServer.startLink((await import("./helpers.js")).Worker, "flaky");
      },
    };
    const log = { deaths: [] as string[] };
    const r = await ParentSupervisor.start([worker(node, "other", log), flaky], {
      maxRestarts: 3,
      maxSeconds: 60,
    });
    if (!r.ok) throw new Error("start");
    node.onExit(r.pid, (_p, reason) => exits.push(reason));
    node.exit((await pidOf(r.pid, "flaky"))!, "kill");
    await expect.poll(() => exits, { timeout: 2000 }).toEqual(["too_many_restarts"]);
    // the crash restart + 3 retries are counted: the 4th restart exceeds 3
    expect(starts).toBe(1 + 3);
    expect(log.deaths).toEqual(["other"]);
  });

  it("a failed restart that later succeeds leaves the child running; which_children shows restarting meanwhile", async () => {
    let starts = 0;
    const { Worker } = await import("./helpers.js");
    const flaky: ParentChildSpec = {
      id: "flaky",
      start: () => {
        starts++;
        return starts === 2 ? { ok: false, error: "once" } : GenServer.startLink(Worker, "flaky");
      },
    };
    const r = await ParentSupervisor.start([flaky], { maxRestarts: 5 });
    if (!r.ok) throw new Error("start");
    const p1 = (await pidOf(r.pid, "flaky"))!;
    node.exit(p1, "kill");
    await expect.poll(() => starts, { timeout: 2000 }).toBe(3);
    await expect.poll(async () => (await pidOf(r.pid, "flaky")) !== undefined, { timeout: 2000 }).toBe(true);
    expect(node.isAlive(r.pid)).toBe(true);
    await GenServer.stop(r.pid);
  });
});
