import { describe, expect, it } from "vitest";
import { Pid } from "../../../src/process/index.js";
import { GenServer } from "../../../src/server/index.js";
import { ChildRecord } from "../../../src/supervision/parent/child-record.js";
import { parseParentChildSpec } from "../../../src/supervision/parent/child-spec.js";
import { ChildrenTable } from "../../../src/supervision/parent/children-table.js";
import { ParentClient, ParentSupervisor } from "../../../src/supervision/parent/index.js";
import { freshNode, Worker } from "./helpers.js";

const node = freshNode("parent-table");

function record(t: ChildrenTable, id?: string): ChildRecord {
  const spec = parseParentChildSpec({ id, start: () => ({ ok: false, ignore: true }), meta: "m" });
  const r = new ChildRecord(spec, t.takeOrder());
  t.insert(r);
  return r;
}

describe("ChildrenTable", () => {
  it("keeps startup order and the pid index across growth, removal and re-insertion", () => {
    const t = new ChildrenTable("here", 1);
    const rs: ChildRecord[] = [];
    // Past one chunk of slots, so the position and pid tables grow and later shrink.
    for (let i = 0; i < 3000; i++) {
      const r = record(t);
      t.setPid(r, new Pid("here", 10_000 + i * 3, 1));
      rs.push(r);
    }
    const early = rs[5]!;
    const pid = early.pid!;
    t.setPid(early, undefined);
    t.remove(early);
    for (let i = 100; i < 3000; i++) t.remove(rs[i]!);
    expect(t.has(early)).toBe(false);
    expect(t.findByPid(pid)).toBeUndefined();
    t.insert(early);
    t.setPid(early, new Pid("here", 7, 1));
    expect(t.list().map((r) => r.order)).toEqual(rs.slice(0, 100).map((r) => r.order));
    expect(t.findByPid(new Pid("here", 7, 1))).toBe(early);
    for (let i = 0; i < 100; i++) if (i !== 5) expect(t.find(rs[i]!.pid!)).toBe(rs[i]);
    expect(t.findByPid(new Pid("here", 10_000 + 150 * 3, 1))).toBeUndefined();
  });

  it("indexes pids of other nodes and incarnations by key", () => {
    const t = new ChildrenTable("here", 1);
    const a = record(t, "a");
    const b = record(t, "b");
    t.setPid(a, new Pid("there", 1, 1));
    t.setPid(b, new Pid("here", 1, 2));
    expect(t.findByPid(new Pid("there", 1, 1))).toBe(a);
    expect(t.findByPid(new Pid("here", 1, 2))).toBe(b);
    expect(t.findByPid(new Pid("here", 1, 1))).toBeUndefined();
    t.setPid(a, undefined);
    expect(t.findByPid(new Pid("there", 1, 1))).toBeUndefined();
    expect(t.findById("a")).toBe(a);
  });

  it("a record's rarely used parts read as unset until written, and its meta as the spec's", () => {
    const t = new ChildrenTable("here", 1);
    const r = record(t);
    expect([r.meta, r.timer, r.deps, r.boundTo, r.dependents, r.restarting]).toEqual([
      "m",
      null,
      null,
      null,
      null,
      false,
    ]);
    r.meta = undefined;
    expect(r.meta).toBeUndefined();
    r.restarting = true;
    expect(r.restarting).toBe(true);
    r.meta = r.spec.meta;
    expect(r.meta).toBe("m");
  });
});

describe("ParentSupervisor with many children", () => {
  it("lists them in startup order after one is shut down and returned, and finds each by pid", async () => {
    const s = await ParentSupervisor.start([], { registry: true });
    if (!s.ok) throw new Error("start failed");
    for (let i = 0; i < 1500; i++) {
      await ParentClient.startChild(s.pid, { id: `c${i}`, start: () => GenServer.startLink(Worker, i) });
    }
    const r = await ParentClient.shutdownChild(s.pid, "c3");
    if (!r.ok) throw new Error("not found");
    await ParentClient.returnChildren(s.pid, r.stopped);
    const children = await ParentClient.children(s.pid);
    expect(children.map((c) => c.id)).toEqual(Array.from({ length: 1500 }, (_, i) => `c${i}`));
    for (const c of children)
      expect(await ParentClient.childId(s.pid, c.pid!)).toEqual({ ok: true, id: c.id });
    expect((await ParentClient.countChildren(s.pid)).active).toBe(1500);
    await GenServer.stop(s.pid);
    expect(node.isAlive(s.pid)).toBe(false);
  });
});

describe("returnChildren with another parent's stopped children", () => {
  it("ignores them and keeps its own children intact", async () => {
    const a = await ParentSupervisor.start([], {});
    const b = await ParentSupervisor.start([], {});
    if (!a.ok || !b.ok) throw new Error("start failed");
    await ParentClient.startChild(a.pid, { id: "x", start: () => GenServer.startLink(Worker, 1) });
    await ParentClient.startChild(b.pid, { id: "y", start: () => GenServer.startLink(Worker, 2) });
    const r = await ParentClient.shutdownChild(a.pid, "x");
    if (!r.ok) throw new Error("not found");
    // x held position 0 in a; y holds position 0 in b.
    await ParentClient.returnChildren(b.pid, r.stopped);
    expect((await ParentClient.children(b.pid)).map((c) => c.id)).toEqual(["y"]);
    expect((await ParentClient.countChildren(b.pid)).active).toBe(1);
    await GenServer.stop(a.pid);
    await GenServer.stop(b.pid);
  });
});
