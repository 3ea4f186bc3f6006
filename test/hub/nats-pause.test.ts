/**
 * A hub node frozen (SIGSTOP) just past the heartbeat timeout, then resumed (SIGCONT), over a
 * real `nats-server` with quorum-based partition tolerance: the peers adopt its children while it
 * is frozen; when it comes back it must rejoin as a new incarnation, not be mistaken for the old
 * one, and no child may be lost. Five OS processes (`examples/hub-node.ts`, its default timings:
 * heartbeat every 500 ms, timeout 5 s). The pause lasts until the peers' hub views have lost the
 * node (a condition, polled): just past the timeout, while they adopt its children. Before the
 * fix, every child of the paused node was lost in most runs (the node's heartbeat went out before
 * its own stall check, the peers migrated the children back, and it parked them for lack of
 * quorum while they stopped theirs).
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { HubNodeProcess } from "../../examples/hub-node-process.js";
import type { HubOptions } from "../../src/hub/process-hub.js";
import { type NatsServer, startNatsServer, stopAllNatsServers } from "../support/nats-server.js";

let server: NatsServer | undefined;
const procs: HubNodeProcess[] = [];
afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.kill()));
});
afterAll(stopAllNatsServers);

const N = 10_000;

async function verdict(nodes: HubNodeProcess[], n: number): Promise<string> {
  const names = nodes.map((p) => p.name).sort();
  const views = await Promise.all(nodes.map((p) => p.request("status", { digest: true })));
  let local = 0;
  for (const v of views) {
    if (v.error !== undefined) return `${v.node ?? "?"}: ${v.error}`;
    if ((v.members as string[]).join() !== names.join()) return `${v.node} sees ${v.members}`;
    if (v.partitioned === true) return `${v.node} is partitioned`;
    if (v.size !== n) return `${v.node} registry holds ${v.size}, want ${n}`;
    if (v.dupes !== 0) return `${v.node}: ${v.dupes} children run more than once`;
    if (v.misplaced !== 0) return `${v.node}: ${v.misplaced} children off their owner`;
    if (v.localMismatch !== 0) return `${v.node}: ${v.localMismatch} local children out of step`;
    if (v.digest !== views[0]!.digest) return `registry of ${v.node} differs`;
    local += v.local as number;
  }
  return local === n ? "ok" : `${local} local children, want ${n}`;
}

const cases: Array<[string, Partial<HubOptions>]> = [
  [
    "static quorum, hot swap",
    { partition: { type: "static", quorumSize: 3 }, migration: { type: "hotSwap" } },
  ],
  ["majority, cold swap", { partition: { type: "majority" }, migration: { type: "coldSwap" } }],
];

describe("a hub node paused past the heartbeat timeout over NATS", () => {
  for (const [label, hub] of cases) {
    it(`${label}: rejoins as a new incarnation and loses no child`, async () => {
      server ??= await startNatsServer("hub-pause");
      const cluster = `hubpause${process.pid}${label.length}`;
      for (const name of ["a", "b", "c", "d", "e"])
        procs.push(new HubNodeProcess({ nats: server.url, node: name, cluster, hub }));
      await Promise.all(procs.map((p) => p.ready));
      await expect.poll(() => verdict(procs, 0), { timeout: 30_000, interval: 100 }).toBe("ok");
      const [a, , , , e] = procs as [
        HubNodeProcess,
        HubNodeProcess,
        HubNodeProcess,
        HubNodeProcess,
        HubNodeProcess,
      ];
      const r = await a.request("start", { n: N, prefix: "k" });
      expect(r).toMatchObject({ status: "ok", started: N, errors: 0 });
      await expect.poll(() => verdict(procs, N), { timeout: 30_000, interval: 100 }).toBe("ok");
      expect((await e.request("status")).local).toBeGreaterThan(0);

      e.signal("SIGSTOP");
      const rest = procs.slice(0, 4);
      // Frozen until the others have timed it out (their hub views lost it): just past the
      // heartbeat timeout, while they adopt its children.
      const dropped = async () => {
        const views = await Promise.all(rest.map((p) => p.request("status")));
        return views.every((v) => (v.members as string[]).length === 4);
      };
      await expect.poll(dropped, { timeout: 30_000, interval: 20 }).toBe(true);
      e.signal("SIGCONT");

      await expect.poll(() => verdict(procs, N), { timeout: 45_000, interval: 200 }).toBe("ok");
    }, 120_000);
  }
});
