import { describe, expect, it } from "vitest";
import { GenServer } from "../../../src/server/index.js";
import { ParentClient, ParentSupervisor } from "../../../src/supervision/parent/index.js";
import { freshNode, worker } from "./helpers.js";

const node = freshNode("parent-closure");

async function sixChildren() {
  const log = { deaths: [] as string[], starts: [] as string[] };
  const r = await ParentSupervisor.start([
    worker(node, "c1", log, { shutdownGroup: "g1" }),
    worker(node, "c2", log, { bindsTo: ["c1"], shutdownGroup: "g2" }),
    worker(node, "c3", log, { bindsTo: ["c2"] }),
    worker(node, "c4", log, { shutdownGroup: "g1" }),
    worker(node, "c5", log, { shutdownGroup: "g2" }),
    worker(node, "c6", log),
  ]);
  if (!r.ok) throw new Error("start failed");
  return { sup: r.pid, log };
}

describe("closure", () => {
  it("stops all dependencies in the opposite startup order (the worked example)", async () => {
    const { sup, log } = await sixChildren();
    const r = await ParentClient.shutdownChild(sup, "c4");
    expect(r.ok).toBe(true);
    expect(log.deaths).toEqual(["c5", "c4", "c3", "c2", "c1"]);
    if (!r.ok) return;
    expect([...r.stopped.keys()]).toEqual(["c1", "c2", "c3", "c4", "c5"]);
    for (const s of r.stopped.values()) expect(s.exitReason).toBe("shutdown");
    const left = await ParentClient.children(sup);
    expect(left.map((c) => c.id)).toEqual(["c6"]);
    expect(node.isAlive(left[0]!.pid!)).toBe(true);
    await GenServer.stop(sup);
  });

  it("restarts the closure of a crashed child in startup order, positions preserved, others untouched", async () => {
    const { sup, log } = await sixChildren();
    const before = await ParentClient.children(sup);
    log.starts.length = 0;
    const c6 = before[5]!.pid!;
    node.exit(before[3]!.pid!, "kill");
    await expect.poll(() => log.starts.length, { timeout: 2000 }).toBe(5);
    expect(log.deaths).toEqual(["c4", "c5", "c3", "c2", "c1"]);
    expect(log.starts).toEqual(["c1", "c2", "c3", "c4", "c5"]);
    const after = await ParentClient.children(sup);
    expect(after.map((c) => c.id)).toEqual(["c1", "c2", "c3", "c4", "c5", "c6"]);
    for (let i = 0; i < 5; i++) expect(after[i]!.pid!.equals(before[i]!.pid)).toBe(false);
    expect(after[5]!.pid).toBe(c6);
    await GenServer.stop(sup);
  });

  it("binding is one-way: a crash of a bound child does not touch what it is bound to", async () => {
    const { sup, log } = await sixChildren();
    const before = await ParentClient.children(sup);
    log.starts.length = 0;
    node.exit(before[2]!.pid!, "kill");
    await expect.poll(() => log.starts, { timeout: 2000 }).toEqual(["c3"]);
    const after = await ParentClient.children(sup);
    expect(after.filter((c, i) => c.pid !== before[i]!.pid).map((c) => c.id)).toEqual(["c3"]);
    await GenServer.stop(sup);
  });
});
