import { describe, expect, it } from "vitest";
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
import { freshNode, Worker, worker } from "./helpers.js";

const node = freshNode("parent-flow");

const reports: StoppedChildren[] = [];
const infos: unknown[] = [];
const Recorder = defineParentServer<{}>()({
  handleInfo(msg, s) {
    infos.push(msg);
    return noreply(s);
  },
  async init(children: ParentChildSpec[], ctx) {
    for (const c of children) await Parent.of(ctx).startChild(c);
    return ok(null);
  },
  handleStoppedChildren(stopped, s) {
    reports.push(stopped);
    return noreply(s);
  },
});

/** A spec whose start succeeds the first time and then fails while `failing.on` is set. */
function flaky(id: string, failing: { on: boolean }, extra: Partial<ParentChildSpec> = {}): ParentChildSpec {
  let first = true;
  return {
    id,
    start: () => {
      if (!first && failing.on) return { ok: false, error: `${id} failed` };
      first = false;
      return GenServer.startLink(Worker, id);
    },
    ...extra,
  };
}

async function pid(sup: Pid, id: string): Promise<Pid | undefined> {
  const r = await ParentClient.childPid(sup, id);
  return r.ok ? r.pid : undefined;
}

describe("restart flow", () => {
  it("a member failing during a closure restart stops only its own closure; unrelated members still start", async () => {
    reports.length = 0;
    const failing = { on: true };
    const log = { deaths: [] as string[], starts: [] as string[] };
    const r = await ParentGenServer.start(
      Recorder,
      [
        worker(node, "a", log),
        flaky("b", failing, { bindsTo: ["a"], restart: "temporary", ephemeral: true }),
        worker(node, "c", log, { bindsTo: ["a"] }),
        flaky("d", failing, { bindsTo: ["a"], restart: "temporary" }),
      ],
      { maxRestarts: 10 },
    );
    if (!r.ok) throw new Error("start");
    log.starts.length = 0;
    node.exit((await pid(r.pid, "a"))!, "kill");
    await expect.poll(() => reports.length, { timeout: 2000 }).toBe(1);
    expect(log.starts).toEqual(["a", "c"]);
    // temporary ephemeral failure: removed and reported with its start error
    expect(reports[0]!.get("b")!.exitReason).toBe("b failed");
    // temporary non-ephemeral failure: kept undefined
    const kids = await ParentClient.children(r.pid);
    expect(kids.map((k) => [k.id, k.pid !== undefined])).toEqual([
      ["a", true],
      ["c", true],
      ["d", false],
    ]);
    await GenServer.stop(r.pid);
  });

  it("shutdownChild and restartChild work on a child that is not running", async () => {
    const log = { deaths: [] as string[], starts: [] as string[] };
    const r = await ParentSupervisor.start([
      worker(node, "t", log, { restart: "temporary" }),
      worker(node, "u", log, { restart: "temporary" }),
    ]);
    if (!r.ok) throw new Error("start");
    node.exit((await pid(r.pid, "t"))!, "kill");
    node.exit((await pid(r.pid, "u"))!, "kill");
    await expect
      .poll(async () => (await ParentClient.countChildren(r.pid)).active, { timeout: 2000 })
      .toBe(0);
    expect(await ParentClient.restartChild(r.pid, "t")).toEqual({ ok: true });
    expect(await pid(r.pid, "t")).toBeDefined();
    const s = await ParentClient.shutdownChild(r.pid, "u");
    expect(s.ok && s.stopped.get("u")).toMatchObject({ id: "u", pid: undefined });
    expect((await ParentClient.children(r.pid)).map((c) => c.id)).toEqual(["t"]);
    await GenServer.stop(r.pid);
  });

  it("returnChildren after shutdownAll restores everything in the original order", async () => {
    const log = { deaths: [] as string[], starts: [] as string[] };
    const r = await ParentSupervisor.start([
      worker(node, "a", log),
      worker(node, "b", log, { shutdownGroup: "g" }),
      worker(node, "c", log, { shutdownGroup: "g" }),
    ]);
    if (!r.ok) throw new Error("start");
    const all = await ParentClient.shutdownAll(r.pid);
    await ParentClient.startChild(r.pid, worker(node, "late", log));
    log.starts.length = 0;
    // returned in two parts, the later one first: positions still follow the original order
    const part1 = new Map([...all].filter(([k]) => k !== "a"));
    const part2 = new Map([...all].filter(([k]) => k === "a"));
    await ParentClient.returnChildren(r.pid, part1);
    await ParentClient.returnChildren(r.pid, part2);
    expect(log.starts).toEqual(["b", "c", "a"]);
    expect((await ParentClient.children(r.pid)).map((c) => c.id)).toEqual(["a", "b", "c", "late"]);
    // the group survived the trip
    log.deaths.length = 0;
    await ParentClient.shutdownChild(r.pid, "b");
    expect(log.deaths).toEqual(["c", "b"]);
    await GenServer.stop(r.pid);
  });

  it("returnChildren in two parts, the dependent first: the binding comes back with its target", async () => {
    const log = { deaths: [] as string[], starts: [] as string[] };
    const r = await ParentSupervisor.start([
      worker(node, "a", log),
      worker(node, "b", log, { bindsTo: ["a"] }),
    ]);
    if (!r.ok) throw new Error("start");
    const s = await ParentClient.shutdownChild(r.pid, "a");
    if (!s.ok) throw new Error("shutdown");
    expect([...s.stopped.keys()]).toEqual(["a", "b"]);
    await ParentClient.returnChildren(r.pid, new Map([...s.stopped].filter(([k]) => k === "b")));
    await ParentClient.returnChildren(r.pid, new Map([...s.stopped].filter(([k]) => k === "a")));
    expect((await ParentClient.children(r.pid)).map((c) => c.id)).toEqual(["a", "b"]);
    log.deaths.length = 0;
    const again = await ParentClient.shutdownChild(r.pid, "a");
    expect(again.ok && [...again.stopped.keys()]).toEqual(["a", "b"]);
    expect(log.deaths).toEqual(["b", "a"]);
    await GenServer.stop(r.pid);
  });

  it("a sibling that died before its closure was stopped reports its own exit reason, and its EXIT is consumed", async () => {
    reports.length = 0;
    infos.length = 0;
    const log = { deaths: [] as string[] };
    const r = await ParentGenServer.start(Recorder, [
      worker(node, "a", log, { restart: "temporary", ephemeral: true }),
      worker(node, "b", log, { restart: "temporary", ephemeral: true, bindsTo: ["a"] }),
    ]);
    if (!r.ok) throw new Error("start");
    const a = (await pid(r.pid, "a"))!;
    const b = (await pid(r.pid, "b"))!;
    node.exit(a, "boom-a");
    node.exit(b, "boom-b");
    await expect.poll(() => reports.length, { timeout: 2000 }).toBe(1);
    expect(reports[0]!.get("a")!.exitReason).toBe("boom-a");
    expect(reports[0]!.get("b")!.exitReason).toBe("boom-b");
    node.send(r.pid, "marker");
    await expect.poll(() => infos, { timeout: 2000 }).toEqual(["marker"]);
    await GenServer.stop(r.pid);
  });

  it("transient: a { shutdown: term } exit restarts too (only normal is normal)", async () => {
    const log = { deaths: [] as string[], starts: [] as string[] };
    const r = await ParentSupervisor.start([worker(node, "t", log, { restart: "transient" })]);
    if (!r.ok) throw new Error("start");
    node.exit((await pid(r.pid, "t"))!, { shutdown: "bye" });
    await expect.poll(() => log.starts, { timeout: 2000 }).toEqual(["t", "t"]);
    await GenServer.stop(r.pid);
  });
});
