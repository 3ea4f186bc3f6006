/**
 * Checkpoints over NATS: three hub node processes (`examples/hub-node.ts`) of a durable hub in
 * JetStream; a `tally` child (every visit checkpointed) is visited, its node is SIGKILLed, and
 * the instance its new owner starts resumes from the last checkpoint. Conditions are polled.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { HubNodeProcess } from "../../../examples/hub-node-process.js";
import { checkpointsBucketName } from "../../../src/hub/durable/checkpoint-bucket.js";
import { checkpointKey, decodeCheckpoint } from "../../../src/hub/durable/checkpoint-record.js";
import { JetStreamDurableStore } from "../../../src/hub/durable/kv-store.js";
import { startNatsServer, stopAllNatsServers } from "../../support/nats-server.js";

const procs: HubNodeProcess[] = [];
const conns: NatsConnection[] = [];
afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.kill()));
  await Promise.all(conns.splice(0).map((c) => c.close()));
});
afterAll(stopAllNatsServers);

describe("checkpoints of a durable hub over NATS, nodes as OS processes", () => {
  it("resumes a child from its last checkpoint on another node after its node is SIGKILLed", async () => {
    const s = await startNatsServer("checkpoints-js", { jetStream: true });
    const cluster = `cp${process.pid}`;
    const durable = { reconcileIntervalMs: 200, settleMs: 500, bucketPrefix: `cp${process.pid}_` };
    const byName = new Map<string, HubNodeProcess>();
    for (const name of ["a", "b", "c"]) {
      const p = new HubNodeProcess({ nats: s.url, node: name, cluster, hubId: "cp", durable });
      procs.push(p);
      byName.set(name, p);
    }
    await Promise.all(procs.map((p) => p.ready));
    const members = async () =>
      (await Promise.all(procs.map((p) => p.request("status")))).map((v) => (v.members as string[]).length);
    await expect.poll(members, { timeout: 30_000, interval: 200 }).toEqual([3, 3, 3]);
    const a = byName.get("a")!;
    const r = await a.request("start", { n: 20, prefix: "t", behaviour: "tally" });
    expect(r).toMatchObject({ status: "ok", started: 20, errors: 0 });

    // The host of t7, and a caller that is not it.
    const host = async () => {
      for (const [n, p] of byName) if (((await p.request("locals")).ids as string[]).includes("t7")) return n;
      return undefined;
    };
    const first = (await host())!;
    const caller = byName.get(first === "a" ? "b" : "a")!;
    for (let i = 1; i <= 5; i++) expect((await caller.request("visit", { child: "t7" })).value).toBe(i);
    // The last visit's checkpoint is in the bucket (read here, as the store's own client would).
    const nc = await connect({ servers: s.url });
    conns.push(nc);
    const bucket = await new JetStreamDurableStore({
      connection: nc,
      bucketPrefix: durable.bucketPrefix,
    }).open(checkpointsBucketName("cp"));
    const stored = async () => {
      const e = await bucket.get(checkpointKey("t7"));
      if (e === null || e.value === null) return null;
      const d = decodeCheckpoint("cp", "t7", e.value);
      return "refused" in d ? d.refused : "obj" in d ? d.obj : d.state;
    };
    await expect.poll(stored, { timeout: 10_000, interval: 100 }).toBe(5);

    await byName.get(first)!.kill("SIGKILL");
    procs.splice(procs.indexOf(byName.get(first)!), 1);
    byName.delete(first);
    const survivors = [...byName.values()];
    await expect
      .poll(
        async () =>
          (await Promise.all(survivors.map((p) => p.request("locals")))).some((l) =>
            (l.ids as string[]).includes("t7"),
          ),
        {
          timeout: 30_000,
          interval: 200,
        },
      )
      .toBe(true);
    expect((await caller.request("visit", { child: "t7" })).value).toBe(6);
    const restored = await Promise.all(survivors.map((p) => p.request("durable")));
    expect(
      restored.reduce((n, d) => n + (d.checkpoints as { restored: number }).restored, 0),
    ).toBeGreaterThanOrEqual(1);
  }, 120_000);
});
