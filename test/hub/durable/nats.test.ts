/**
 * The JetStream store and durable hubs over NATS: the store's compare-and-set (a create over a
 * deleted key, a write with the stream gone) and watch against a real `nats-server -js`; then three hub node processes (`examples/hub-node.ts`) with 10k
 * declared children, 1k of them stopped, all SIGKILLed and started again: every declared child
 * runs again exactly once, on its owner, and none of the stopped ones. Conditions are polled.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { HubNodeProcess } from "../../../examples/hub-node-process.js";
import { DurableConflictError, DurableStoreError } from "../../../src/hub/durable/errors.js";
import { JetStreamDurableStore } from "../../../src/hub/durable/kv-store.js";
import { decodeLog, isLogKey } from "../../../src/hub/durable/log.js";
import { decodePage } from "../../../src/hub/durable/pages.js";
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
    // A deletion comes as no value; an empty value put after it, as a value (not a deletion).
    await bucket.delete("d.b");
    await expect.poll(() => seen.length).toBe(4);
    expect(seen[3]).toMatchObject({ key: "d.b", value: null });
    await bucket.create("d.b", new Uint8Array(0));
    await expect.poll(() => seen.length).toBe(5);
    expect(seen[4]!.value?.length).toBe(0);
    w.stop();

    // A key whose last entry is a deletion is created again (its revision is not 0 any more).
    await bucket.delete("d.b");
    const r4 = await bucket.create("d.b", bytes("b3"));
    expect(r4).toBeGreaterThan(r3);
    expect(new TextDecoder().decode((await bucket.get("d.b"))!.value!)).toBe("b3");
    // With the bucket's stream gone, a write fails with the store's named error, not a hang.
    await (await jetstreamManager(nc)).streams.delete(`KV_hubvisor_unit${process.pid}`);
    await expect(bucket.update("d.a", bytes("4"), r2)).rejects.toBeInstanceOf(DurableStoreError);
    await expect(bucket.create("d.c", bytes("c"))).rejects.toBeInstanceOf(DurableStoreError);
    await bucket.close();
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

describe("durable hub on a 3-server JetStream cluster", () => {
  it("loses no declared child when a JetStream server is killed, and keeps taking writes", async () => {
    const { startNatsCluster } = await import("../../support/nats-server.js");
    const { Cluster } = await import("../../../src/cluster/index.js");
    const { Node } = await import("../../../src/process/node.js");
    const { ProcessHub } = await import("../../../src/hub/process-hub.js");
    const { silentLogger } = await import("../../../src/logger.js");
    const { defineServer, ok } = await import("../../../src/server/index.js");
    const { MemoryNetwork } = await import("../../../src/transports/memory/index.js");
    const cl = await startNatsCluster(3, `js${process.pid}`, { jetStream: true });
    try {
      // The hub's own cluster is in memory: what is under test is the store.
      const nc = await connect({ servers: cl.urls, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
      conns.push(nc);
      const store = new JetStreamDurableStore({
        connection: nc,
        replicas: 3,
        bucketPrefix: `r3_${process.pid}_`,
      });
      // A replicated stream needs its servers to agree on a leader first; retry the open briefly.
      let opened = false;
      for (let i = 0; i < 50 && !opened; i++)
        opened = await store.open("warm").then(
          () => true,
          () => new Promise<boolean>((r) => setTimeout(() => r(false), 200)),
        );
      expect(opened).toBe(true);
      // Fencing decides on reads alone, so its bucket is opened for current reads: gets go to
      // the stream's leader, never to a possibly lagging replica (no direct gets).
      await store.open("fenced", { currentReads: true });
      const jsm = await jetstreamManager(nc);
      expect((await jsm.streams.info(`KV_${store.bucketName("fenced")}`)).config.allow_direct).toBe(false);
      expect((await jsm.streams.info(`KV_${store.bucketName("warm")}`)).config.allow_direct).toBe(true);
      const W = defineServer<{}>()({ name: "w", init: () => ok({}) });
      const node = new Node({ name: "r3", logger: silentLogger });
      const net = new MemoryNetwork();
      const cluster = await Cluster.join({
        node,
        cluster: "r3",
        transport: net.transport(node),
        logger: silentLogger,
      });
      const hub = ProcessHub.start({
        hubId: "r3",
        node,
        cluster,
        behaviours: { w: W },
        logger: silentLogger,
        durability: { store, reconcileIntervalMs: 100, settleMs: 0 },
      });
      const ids = Array.from({ length: 1000 }, (_, i) => ({ id: `r${i}`, behaviour: "w" }));
      const r = await hub.startChildren(ids, { awaitable: true, timeoutMs: 30_000 }).await();
      expect(r.errors).toEqual([]);
      await cl.servers[0]!.kill("SIGKILL");
      // Every declaration is still there, read through a fresh watch on the survivors.
      const nc2 = await connect({ servers: cl.urls.slice(1) });
      conns.push(nc2);
      const survivors = new JetStreamDurableStore({
        connection: nc2,
        replicas: 3,
        bucketPrefix: `r3_${process.pid}_`,
      });
      // The stream elects a new leader after the kill: opening may time out meanwhile.
      let bucket: Awaited<ReturnType<typeof survivors.open>> | undefined;
      for (let i = 0; i < 60 && bucket === undefined; i++)
        bucket = await survivors
          .open("r3")
          .catch(() => new Promise<undefined>((r) => setTimeout(() => r(undefined), 250)));
      if (bucket === undefined) throw new Error("bucket not reachable on the surviving servers");
      // Reading may time out too until the new leader serves it: read again, a bounded number of times.
      let keys = new Set<string>();
      for (let i = 0; i < 60; i++) {
        const seen = new Set<string>();
        // Declarations live in the log (an entry per chunk of a call) until a fold writes them
        // into pages (a key per hash bucket of ids): count the ids either holds.
        const w = bucket.watch("d.", (e) => {
          if (e.value === null) return;
          const decoded = isLogKey(e.key)
            ? decodeLog("r3", e.key, e.value, e.revision)
            : decodePage("r3", e.key, e.value, e.revision);
          if ("declared" in decoded) for (const d of decoded.declared) seen.add(d.id);
        });
        const read = await w.ready.then(
          () => true,
          () => false,
        );
        w.stop();
        if (read) {
          keys = seen;
          break;
        }
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(keys.size).toBe(1000);
      // And the hub still writes: a stop is declared and carried out.
      await expect
        .poll(
          async () => (await hub.stopChildren(["r1"], { awaitable: true, timeoutMs: 10_000 }).await()).status,
          {
            timeout: 20_000,
            interval: 200,
          },
        )
        .toBe("ok");
      expect(hub.localChildren().size).toBe(999);
      await hub.stop();
      await cluster.leave();
    } finally {
      await cl.stop();
    }
  }, 120_000);
});
