/**
 * Busy is not dead, for a hub (issue 21): three hub node processes over a real nats-server with
 * their default transport settings (heartbeat timeout 5 s); one holding a third of the children
 * blocks its event loop for longer than the heartbeat timeout while the others keep running.
 * Nobody may report a node down, no child may move, and the blocked node counts one busy stretch
 * and no stall; a SIGKILL afterwards is still caught and its children run again on the others.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { HubNodeProcess } from "../../examples/hub-node-process.js";
import { startNatsServer, stopAllNatsServers } from "../support/nats-server.js";

const procs: HubNodeProcess[] = [];
afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.kill()));
});
afterAll(stopAllNatsServers);

const N = 3000;

/** "ok" once every node in `nodes` sees exactly them as members and holds `n` children once each. */
async function agreed(nodes: HubNodeProcess[], n: number): Promise<string> {
  const names = nodes.map((p) => p.name).sort();
  const views = await Promise.all(nodes.map((p) => p.request("status")));
  let local = 0;
  for (const v of views) {
    if ((v.members as string[]).join() !== names.join()) return `${v.node} sees ${v.members}`;
    if (v.size !== n || v.dupes !== 0 || v.misplaced !== 0) return `${v.node}: ${JSON.stringify(v)}`;
    local += v.local as number;
  }
  return local === n ? "ok" : `${local} local children, want ${n}`;
}

const downs = (p: HubNodeProcess) => p.events.filter((e) => e.ev === "nodedown").map((e) => e.node);

describe("a hub node whose event loop is blocked past the heartbeat timeout, over NATS", () => {
  it("stays up for its peers and keeps its children; killed afterwards, it is declared down", async () => {
    const server = await startNatsServer("hub-busy");
    const cluster = `hubbusy${process.pid}`;
    for (const node of ["a", "b", "c"]) procs.push(new HubNodeProcess({ nats: server.url, node, cluster }));
    await Promise.all(procs.map((p) => p.ready));
    await expect.poll(() => agreed(procs, 0), { timeout: 60_000, interval: 200 }).toBe("ok");
    const [a, b, c] = procs as [HubNodeProcess, HubNodeProcess, HubNodeProcess];
    expect(await a.request("start", { n: N, prefix: "k" })).toMatchObject({ status: "ok", started: N });
    await expect.poll(() => agreed(procs, N), { timeout: 60_000, interval: 200 }).toBe("ok");
    const before = await c.request("status");
    expect(before.local).toBeGreaterThan(0);

    // Blocked for 8 s (the timeout is 5 s); its answer to the next request comes after.
    expect(await c.request("block", { ms: 8000 })).toMatchObject({ blocking: 8000 });
    // Its transport finds the stretch at its next timer or message, which may come after a
    // request is answered: polled until it has, keeping the longest loop delay seen meanwhile.
    let longest = 0;
    const transport = async () => {
      const load = await c.request("load");
      longest = Math.max(longest, load.maxLoopDelayMs as number);
      return load.transport as { busy: number; stalls: number };
    };
    await expect.poll(async () => (await transport()).busy, { timeout: 30_000 }).toBeGreaterThanOrEqual(1);
    // One busy stretch (the heartbeat thread covered it), no stall.
    expect(await transport()).toMatchObject({ stalls: 0, heartbeatThread: true });
    expect(longest).toBeGreaterThan(5000);
    expect(await agreed(procs, N)).toBe("ok");
    expect((await c.request("status")).local).toBe(before.local);
    expect(procs.map(downs)).toEqual([[], [], []]);

    c.signal("SIGKILL");
    await expect.poll(() => [downs(a), downs(b)], { timeout: 30_000 }).toEqual([["c"], ["c"]]);
    procs.pop();
    await expect.poll(() => agreed([a, b], N), { timeout: 60_000, interval: 200 }).toBe("ok");
  }, 240_000);
});
