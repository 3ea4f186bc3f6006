/**
 * Checkpoints larger than a store entry: written to the store's blobs (JetStream's object store),
 * the entry pointing at them. Over `MemoryDurableStore` with a small entry size, and over a real
 * `nats-server -js` (a 2 MiB state, twice a NATS message), one hub node on the memory transport
 * whose store is JetStream: a crash restarts the child from the large checkpoint, a newer one
 * replaces the blob (the old blob is deleted), a small one goes back into the entry, and a stop
 * for good deletes the entry and its blob. Conditions are polled, never slept on.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { Cluster } from "../../../src/cluster/index.js";
import { checkpointsBucketName } from "../../../src/hub/durable/checkpoint-bucket.js";
import { checkpointKey, decodeCheckpoint } from "../../../src/hub/durable/checkpoint-record.js";
import { withCheckpoints } from "../../../src/hub/durable/checkpointed.js";
import { JetStreamDurableStore } from "../../../src/hub/durable/kv-store.js";
import { MemoryDurableStore } from "../../../src/hub/durable/memory-store.js";
import type { DurableStore } from "../../../src/hub/durable/store.js";
import { ProcessHub } from "../../../src/hub/process-hub.js";
import { silentLogger } from "../../../src/logger.js";
import { Node } from "../../../src/process/node.js";
import { defineServer, ok, reply } from "../../../src/server/index.js";
import { MemoryNetwork } from "../../../src/transports/memory/index.js";
import { startNatsServer, stopAllNatsServers } from "../../support/nats-server.js";

interface BlobP {
  calls: { fill(a: { bytes: number; mark: string }): number; get(): string; crash(): never };
}

/** A state of `bytes` characters that says which fill made it (`mark`), checkpointed at once. */
const Filler = withCheckpoints(
  defineServer<BlobP>()({
    name: "filler",
    init: (_a: null, ctx) => ok(ProcessHub.lastCheckpoint<string>(ctx) ?? ""),
    handleCall: {
      fill: ({ bytes, mark }, _s, ctx) => {
        const next = mark + "x".repeat(bytes - mark.length);
        ProcessHub.checkpoint(ctx, next);
        return reply(next.length, next);
      },
      get: (_a, s) => reply(s, s),
      crash: () => {
        throw new Error("boom");
      },
    },
  }),
  { debounceMs: 0, maxBytes: 8 * 1024 * 1024 },
);

const hubs: ProcessHub[] = [];
const conns: NatsConnection[] = [];
afterEach(async () => {
  for (const h of hubs.splice(0)) await h.stop().catch(() => {});
  await Promise.all(conns.splice(0).map((c) => c.close()));
});
afterAll(stopAllNatsServers);

async function hubOn(store: DurableStore): Promise<ProcessHub> {
  const network = new MemoryNetwork({ timeoutMs: 150 });
  const node = new Node({ name: "a", logger: silentLogger });
  const cluster = await Cluster.join({
    node,
    cluster: "blobs",
    transport: network.transport(node),
    logger: silentLogger,
  });
  const hub = ProcessHub.start({
    hubId: "blobs",
    node,
    cluster,
    behaviours: { filler: Filler },
    logger: silentLogger,
    durability: { store, reconcileIntervalMs: 100, settleMs: 100 },
  });
  hubs.push(hub);
  return hub;
}

/** What the entry of child `f` says: the blob it points at, `inline`, or null (none). */
async function entryOf(store: DurableStore): Promise<string | null> {
  const bucket = await store.open(checkpointsBucketName("blobs"));
  const e = await bucket.get(checkpointKey("f"));
  if (e === null || e.value === null) return null;
  const d = decodeCheckpoint("blobs", "f", e.value);
  return "refused" in d ? `refused: ${d.refused}` : "obj" in d ? d.obj : "inline";
}

/**
 * The run both stores go through: `big` bytes twice (each in a blob, the second replacing the
 * first), a crash in between that restarts from the blob, a small state (inline again), and a
 * stop for good. `blobNames` lists the blobs left in the store.
 */
async function scenario(store: DurableStore, big: number, blobNames: () => Promise<string[]>): Promise<void> {
  const hub = await hubOn(store);
  const r = await hub
    .startChildren([{ id: "f", behaviour: "filler", args: null }], { awaitable: true, timeoutMs: 10_000 })
    .await();
  expect(r.errors).toEqual([]);
  const f = hub.ref<BlobP>("f", { timeoutMs: 20_000 });
  expect(await f.call("fill", { bytes: big, mark: "first" })).toBe(big);
  await expect.poll(() => entryOf(store), { timeout: 20_000 }).toMatch(/^c\./);
  const first = (await entryOf(store))!;
  expect(await blobNames()).toEqual([first]);
  // A crash restarts the child in place from its last checkpoint: read back from the blob.
  await f.call("crash").catch(() => {});
  await expect
    .poll(async () => (await f.call("get").catch(() => "")).slice(0, 5), { timeout: 20_000 })
    .toBe("first");
  expect((await f.call("get")).length).toBe(big);
  // A newer large state: a new blob, the entry points at it, the old blob is gone.
  await f.call("fill", { bytes: big, mark: "second" });
  await expect.poll(async () => (await entryOf(store)) !== first, { timeout: 20_000 }).toBe(true);
  const second = (await entryOf(store))!;
  expect(second).toMatch(/^c\./);
  await expect.poll(blobNames, { timeout: 20_000 }).toEqual([second]);
  // A small state goes back into the entry; its blob is deleted.
  await f.call("fill", { bytes: 10, mark: "small" });
  await expect.poll(() => entryOf(store), { timeout: 20_000 }).toBe("inline");
  await expect.poll(blobNames, { timeout: 20_000 }).toEqual([]);
  // Large again, then stopped for good: the entry and the blob go.
  await f.call("fill", { bytes: big, mark: "third" });
  await expect.poll(async () => (await blobNames()).length, { timeout: 20_000 }).toBe(1);
  await hub.stopChildren(["f"], { awaitable: true, timeoutMs: 10_000 }).await();
  await expect.poll(() => entryOf(store), { timeout: 20_000 }).toBeNull();
  await expect.poll(blobNames, { timeout: 20_000 }).toEqual([]);
}

describe("checkpoints larger than a store entry", () => {
  it("go to the memory store's blobs, the entry pointing at them", async () => {
    const store = new MemoryDurableStore(100_000);
    await scenario(store, 300_000, async () => store.blobNames(checkpointsBucketName("blobs")));
  });

  it("go to JetStream's object store over a real nats-server (2 MiB, twice a message)", async () => {
    const s = await startNatsServer("checkpoint-blobs", { jetStream: true });
    const nc = await connect({ servers: s.url });
    conns.push(nc);
    const store = new JetStreamDurableStore({ connection: nc, bucketPrefix: `blobs${process.pid}_` });
    const { Objm } = await import("@nats-io/obj");
    const names = async () => {
      const os = await new Objm(nc).open(store.bucketName(checkpointsBucketName("blobs")));
      return (await os.list()).filter((o) => !o.deleted).map((o) => o.name);
    };
    await scenario(store, 2 * 1024 * 1024, names);
  }, 120_000);
});
