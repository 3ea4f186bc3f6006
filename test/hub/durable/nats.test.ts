/**
 * The JetStream store and durable hubs over NATS: the store's compare-and-set and watch against
 * a real `nats-server -js`; then three hub node processes (`examples/hub-node.ts`) with 10k
 * declared children, 1k of them stopped, all SIGKILLed and started again: every declared child
 * runs again exactly once, on its owner, and none of the stopped ones. Conditions are polled.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { HubNodeProcess } from "../../../examples/hub-node-process.js";
import { DurableConflictError } from "../../../src/hub/durable/errors.js";
import { JetStreamDurableStore } from "../../../src/hub/durable/kv-store.js";
import type { StoreEntry } from "../../../src/hub/durable/store.js";
import { type NatsServer, startNatsServer, stopAllNatsServers } from "../../support/nats-server.js";

let server: NatsServer | undefined;
const conns: NatsConnection[] = [];
const procs: HubNodeProcess[] = [];
afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.kill()));
  await Promise.all(conns.splice(0).map((c) => c.close()));
});
afterAll(stopAllNatsServers);

async function js(): Promise<NatsServer> {
  server ??= await startNatsServer("durable-js", { jetStream: true });
  return server;
}

const bytes = (s: string) => new TextEncoder().encode(s);

describe("JetStreamDurableStore", () => {
  it("writes by compare-and-set and watches current values, then changes", async () => {
    const s = await js();
    const nc = await connect({ servers: s.url });
    conns.push(nc);
    const store = new JetStreamDurableStore({ connection: nc });
    const bucket = await store.open(`unit${process.pid}`);
    const empty: StoreEntry[] = [];
    const w0 = bucket.watch("d.", (e) => empty.push(e));
    await w0.ready;
    w0.stop();
    expect(empty).toEqual([]);

    const r1 = await bucket.create("d.a", bytes("1"));
    await expect(bucket.create("d.a", bytes("2"))).rejects.toBeInstanceOf(DurableConflictError);
    const r2 = await bucket.update("d.a", bytes("2"), r1);
    await expect(bucket.update("d.a", bytes("3"), r1)).rejects.toBeInstanceOf(DurableConflictError);
    await bucket.create("d.b", bytes("b"));
    await bucket.create("x.other", bytes("not watched"));
    expect((await bucket.get("d.a"))?.revision).toBe(r2);
    expect(await bucket.get("d.none")).toBeNull();

    const seen: StoreEntry[] = [];
    const w = bucket.watch("d.", (e) => seen.push(e));
    await w.ready;
    expect(seen.map((e) => [e.key, new TextDecoder().decode(e.value!)])).toEqual([
      ["d.a", "2"],
      ["d.b", "b"],
    ]);
    const r3 = await bucket.update("d.b", bytes("b2"), seen[1]!.revision);
    await expect.poll(() => seen.length).toBe(3);
    expect(seen[2]).toMatchObject({ key: "d.b", revision: r3 });
    w.stop();
  });
});

describe("durable hub over NATS, nodes as OS processes", () => {
  it("brings 9k declared children back exactly once after all three nodes are SIGKILLed", async () => {
    const s = await js();
    const cluster = `durable${process.pid}`;
    const durable = { reconcileIntervalMs: 500, settleMs: 1000, bucketPrefix: `t${process.pid}_` };
    const spawn = () => {
      for (const name of ["a", "b", "c"])
        procs.push(new HubNodeProcess({ nats: s.url, node: name, cluster, hubId: "durable", durable }));
      return Promise.all(procs.map((p) => p.ready));
    };
    const verdict = async (n: number): Promise<string> => {
      const views = await Promise.all(procs.map((p) => p.request("status")));
      let local = 0;
      for (const v of views) {
        if ((v.members as string[]).length !== 3) return `${v.node} sees ${v.members}`;
        if (v.size !== n) return `${v.node} registry holds ${v.size}, want ${n}`;
        if (v.dupes !== 0) return `${v.node}: ${v.dupes} children run more than once`;
        if (v.misplaced !== 0) return `${v.node}: ${v.misplaced} children off their owner`;
        local += v.local as number;
      }
      return local === n ? "ok" : `${local} local children, want ${n}`;
    };
    await spawn();
    const [a, b] = procs as [HubNodeProcess, HubNodeProcess];
    await expect.poll(() => verdict(0), { timeout: 30_000, interval: 200 }).toBe("ok");
    const r = await a.request("start", { n: 10_000, prefix: "k" });
    expect(r).toMatchObject({ status: "ok", started: 10_000, errors: 0 });
    const stopped = Array.from({ length: 1000 }, (_, i) => `k${i * 10}`);
    const st = await b.request("stop", { ids: stopped });
    expect(st).toMatchObject({ status: "ok", stopped: 1000 });
    await expect.poll(() => verdict(9000), { timeout: 30_000, interval: 200 }).toBe("ok");

    await Promise.all(procs.splice(0).map((p) => p.kill("SIGKILL")));
    await spawn();
    await expect.poll(() => verdict(9000), { timeout: 60_000, interval: 250 }).toBe("ok");
    for (const p of procs) expect((await p.request("registered", { ids: stopped })).count).toBe(0);
    const counters = await Promise.all(procs.map((p) => p.request("durable")));
    expect(counters.reduce((n, c) => n + (c.reconciledStarts as number), 0)).toBe(9000);
    for (const c of counters) expect(c).toMatchObject({ declared: 10_000, refused: 0 });
  }, 180_000);
});
