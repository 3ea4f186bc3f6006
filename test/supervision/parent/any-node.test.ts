/**
 * `ParentClient` from any node, without `setDefaultNode`: a program runs two nodes that are not
 * connected, the default node is one, the parent runs on the other. A parent named by its pid is
 * reached through its own node by every function; a parent named by a name registered on the
 * other node is reached with the `…On(node, …)` forms, as `GenServer.callOn`.
 */
import { describe, expect, it } from "vitest";
import {
  CallExitError,
  GenServer,
  Node,
  ParentClient,
  ParentSupervisor,
  type Pid,
  setDefaultNode,
  silentLogger,
} from "../../../src/index.js";
import { Worker } from "./helpers.js";

const home = new Node({ name: "pc-home", logger: silentLogger });
const away = new Node({ name: "pc-away", logger: silentLogger });
setDefaultNode(home);

const w = (id: string) => ({ id, start: () => GenServer.startLink(Worker, id), meta: 0 });

async function parentAway(options: { name?: string; registry?: boolean } = {}): Promise<Pid> {
  const r = await ParentSupervisor.start([w("a")], { node: away, ...options });
  if (!r.ok) throw new Error(`parent did not start: ${JSON.stringify(r)}`);
  return r.pid;
}

function pidOf(r: { ok: boolean; pid?: Pid | undefined }): Pid {
  if (!r.ok || r.pid === undefined) throw new Error(`no pid: ${JSON.stringify(r)}`);
  return r.pid;
}

describe("ParentClient on a parent of another node, by pid", () => {
  for (const registry of [false, true]) {
    it(`every function works while the default node is another one (registry ${registry})`, async () => {
      const p = await parentAway({ registry });
      const b = pidOf(await ParentClient.startChild(p, w("b")));
      expect(away.isAlive(b)).toBe(true);
      expect((await ParentClient.children(p)).map((c) => c.id)).toEqual(["a", "b"]);
      expect(await ParentClient.childPid(p, "b")).toEqual({ ok: true, pid: b });
      expect(await ParentClient.childId(p, b)).toEqual({ ok: true, id: "b" });
      expect(await ParentClient.updateChildMeta(p, "b", (m) => (m as number) + 1)).toEqual({ ok: true });
      expect(await ParentClient.childMeta(p, "b")).toEqual({ ok: true, meta: 1 });
      expect((await ParentClient.whichChildren(p)).length).toBe(2);
      expect(await ParentClient.countChildren(p)).toMatchObject({ specs: 2, active: 2 });
      expect(await ParentClient.getChildSpec(p, "b")).toMatchObject({ ok: true, spec: { id: "b" } });
      expect(await ParentClient.restartChild(p, "b")).toEqual({ ok: true });
      const b2 = pidOf((await ParentClient.childPid(p, "b")) as { ok: boolean; pid?: Pid });
      expect(b2.equals(b)).toBe(false);
      expect(ParentClient.via(p, "b").via.whereisName("b")).toEqual(b2);
      const stopped = await ParentClient.shutdownChild(p, "b");
      expect(stopped.ok).toBe(true);
      const all = await ParentClient.shutdownAll(p);
      expect(all.size).toBe(1);
      await ParentClient.returnChildren(p, all);
      expect((await ParentClient.children(p)).map((c) => c.id)).toEqual(["a"]);
      away.exit(p, "kill");
    });
  }
});

describe("ParentClient.…On(node, …): a parent named on another node", () => {
  it("looks the name up on the given node; the plain forms look it up on the current one", async () => {
    const p = await parentAway({ name: "away_parent" });
    await expect(ParentClient.children("away_parent")).rejects.toBeInstanceOf(CallExitError);
    expect((await ParentClient.childrenOn(away, "away_parent")).map((c) => c.id)).toEqual(["a"]);
    const b = pidOf(await ParentClient.startChildOn(away, "away_parent", w("b")));
    expect(await ParentClient.childPidOn(away, "away_parent", "b")).toEqual({ ok: true, pid: b });
    expect(await ParentClient.childIdOn(away, "away_parent", b)).toEqual({ ok: true, id: "b" });
    expect(await ParentClient.countChildrenOn(away, "away_parent")).toMatchObject({ active: 2 });
    expect(ParentClient.viaOn(away, "away_parent", "b").via.whereisName("b")).toEqual(b);
    expect(ParentClient.via("away_parent", "b").via.whereisName("b")).toBeUndefined();
    expect(await ParentClient.shutdownChildOn(away, "away_parent", "b")).toMatchObject({ ok: true });
    away.exit(p, "kill");
  });
});
