/**
 * Hub nodes as separate OS processes over a real `nats-server` (`examples/hub-node.ts`, driven
 * through `examples/hub-node-process.ts`): three processes form one hub, start children, one is
 * SIGKILLed, and the survivors must run every child again exactly once, on its owner, with
 * identical registries. Conditions are polled; nothing is timed.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { HubNodeProcess } from "../../examples/hub-node-process.js";
import { type NatsServer, startNatsServer, stopAllNatsServers } from "../support/nats-server.js";

let server: NatsServer | undefined;
const procs: HubNodeProcess[] = [];
afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.kill()));
});
afterAll(stopAllNatsServers);

/** One summary of the survivors' views: "ok" once they agree and every child runs exactly once. */
async function verdict(nodes: HubNodeProcess[], n: number): Promise<string> {
  const names = nodes.map((p) => p.name).sort();
  const views = await Promise.all(nodes.map((p) => p.request("status", { digest: true })));
  let local = 0;
  for (const v of views) {
    if ((v.members as string[]).join() !== names.join()) return `${v.node} sees ${v.members}`;
    if (v.size !== n) return `${v.node} registry holds ${v.size}, want ${n}`;
    if (v.dupes !== 0) return `${v.node}: ${v.dupes} children run more than once`;
    if (v.misplaced !== 0) return `${v.node}: ${v.misplaced} children off their owner`;
    if (v.digest !== views[0]!.digest) return `registry of ${v.node} differs`;
    local += v.local as number;
  }
  return local === n ? "ok" : `${local} local children, want ${n}`;
}

describe("hub nodes as OS processes over NATS", () => {
  it("restarts a SIGKILLed node's children on the survivors, each exactly once", async () => {
    server ??= await startNatsServer("hub-processes");
    const cluster = `hubproc${process.pid}`;
    for (const name of ["a", "b", "c"])
      procs.push(new HubNodeProcess({ nats: server.url, node: name, cluster }));
    await Promise.all(procs.map((p) => p.ready));
    await expect.poll(() => verdict(procs, 0), { timeout: 20_000, interval: 100 }).toBe("ok");

    const [a, b, c] = procs as [HubNodeProcess, HubNodeProcess, HubNodeProcess];
    const r = await a.request("start", { n: 3000, prefix: "k" });
    expect(r).toMatchObject({ status: "ok", started: 3000, errors: 0, nodes: 3 });
    await expect.poll(() => verdict(procs, 3000), { timeout: 20_000, interval: 100 }).toBe("ok");
    const onC = (await c.request("status")).local as number;
    expect(onC).toBeGreaterThan(0);

    await c.kill("SIGKILL");
    await expect.poll(() => verdict([a, b], 3000), { timeout: 20_000, interval: 100 }).toBe("ok");

    const s = await b.request("stop", { n: 3000, prefix: "k" });
    expect(s).toMatchObject({ status: "ok", stopped: 3000 });
    await expect.poll(() => verdict([a, b], 0), { timeout: 20_000, interval: 100 }).toBe("ok");
  });
});
