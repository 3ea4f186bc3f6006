/**
 * Frame size is a hard limit (issue 22): hub messages (starts, start answers, deltas, slices) are
 * split by encoded bytes as well as by count, so children with large arguments reach every
 * registry; a spec too large to ever travel is refused at `startChildren` with a named error; a
 * message that cannot be sent is a (rate-limited) warning, and a start waiting on it fails at
 * once instead of timing out. Over the memory transport, which encodes every frame through the
 * cluster codec and enforces `maxFrameBytes` like NATS does.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Cluster } from "../../src/cluster/index.js";
import { ChildSpecTooLargeError } from "../../src/hub/errors.js";
import { clusterMembership } from "../../src/hub/membership.js";
import { MAX_SPEC_BYTES } from "../../src/hub/messages.js";
import { ProcessHub } from "../../src/hub/process-hub.js";
import { type Logger, silentLogger } from "../../src/logger.js";
import { Node } from "../../src/process/node.js";
import { startMemoryCluster } from "../../src/testing.js";
import { MemoryNetwork } from "../../src/transports/memory/index.js";
import { behaviours } from "./scenarios.js";

const hubs: ProcessHub[] = [];
const clusters: Cluster[] = [];
afterEach(async () => {
  for (const h of hubs.splice(0)) await h.stop().catch(() => {});
  for (const c of clusters.splice(0)) await c.leave().catch(() => {});
});

/** 2 KB of arguments per child: 1,000 of them (the count cap) are ~2 MB, twice the default frame limit. */
const ARG = "x".repeat(2048);
const bigSpecs = (n: number, prefix: string) =>
  Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, behaviour: "counter", args: ARG }));

/**
 * Anti-entropy slices only every minute: within a test, registries converge by deltas (and by
 * the slice a joiner is sent), so a lost delta shows as a missing entry instead of being healed.
 */
const TUNING = { clusterEventDebounceMs: 5, syncIntervalMs: 60_000, discoverIntervalMs: 100 };

function hubOn(cluster: Cluster, logger: Logger = silentLogger): ProcessHub {
  const hub = ProcessHub.start({
    hubId: "frames",
    node: cluster.node,
    membership: clusterMembership(cluster),
    behaviours,
    logger,
    ...TUNING,
  });
  hubs.push(hub);
  return hub;
}

async function formed(list: ProcessHub[]): Promise<void> {
  await expect
    .poll(() => list.every((h) => h.nodes().length === list.length - 1), { timeout: 5000 })
    .toBe(true);
}

async function threeHubs(): Promise<ProcessHub[]> {
  const { clusters: cs } = await startMemoryCluster(["a", "b", "c"], { cluster: `frames${seq++}` });
  clusters.push(...cs);
  const list = cs.map((c) => hubOn(c));
  await formed(list);
  return list;
}
let seq = 0;

/** A logger that keeps its warnings. */
function recording(): Logger & { warnings: Array<{ msg: string; obj: Record<string, unknown> }> } {
  const warnings: Array<{ msg: string; obj: Record<string, unknown> }> = [];
  return { ...silentLogger, warn: (obj, msg) => warnings.push({ msg, obj }), warnings };
}

describe("hub messages are split by bytes", () => {
  it("1,500 children with 2 KB arguments pinned to another node reach every registry", async () => {
    const [a, b, c] = await threeHubs();
    const specs = bigSpecs(1500, "p");
    const childMapping = Object.fromEntries(specs.map((s) => [s.id, "b"]));
    const r = await a!.startChildren(specs, { awaitable: true, childMapping, timeout: 20_000 }).await(25_000);
    expect(r.errors).toEqual([]);
    expect(r.started).toHaveLength(1500);
    expect(b!.localChildren().size).toBe(1500);
    for (const h of [a!, b!, c!])
      await expect.poll(() => h.registryDump().size, { timeout: 10_000 }).toBe(1500);
    expect(c!.childLookup("p1499")?.spec.args).toBe(ARG);
  });

  it("1,500 children with 2 KB arguments pinned to the starting node reach every registry", async () => {
    const [a, b, c] = await threeHubs();
    const specs = bigSpecs(1500, "s");
    const childMapping = Object.fromEntries(specs.map((s) => [s.id, "a"]));
    const r = await a!.startChildren(specs, { awaitable: true, childMapping }).await(25_000);
    expect(r.status).toBe("ok");
    for (const h of [b!, c!]) await expect.poll(() => h.registryDump().size, { timeout: 10_000 }).toBe(1500);
    expect(a!.registryDigest()).toBe(b!.registryDigest());
    expect(c!.registryDigest()).toBe(b!.registryDigest());
  });

  it("1,500 children with 2 KB arguments spread over 3 nodes all start and are registered everywhere", async () => {
    const [a, b, c] = await threeHubs();
    const r = await a!.startChildren(bigSpecs(1500, "d"), { awaitable: true, timeout: 20_000 }).await(25_000);
    expect(r.errors).toEqual([]);
    expect(r.started).toHaveLength(1500);
    for (const h of [a!, b!, c!]) {
      expect(h.localChildren().size).toBeGreaterThan(0);
      await expect.poll(() => h.registryDump().size, { timeout: 10_000 }).toBe(1500);
    }
  });

  it("a node joining later receives the whole slice of a node holding 3 MB of specs", async () => {
    const network = new MemoryNetwork();
    const name = `frames${seq++}`;
    const joinNamed = async (n: string) => {
      const c = await Cluster.join({
        node: new Node({ name: n, logger: silentLogger }),
        cluster: name,
        transport: network.transport(),
        logger: silentLogger,
      });
      clusters.push(c);
      return c;
    };
    const a = hubOn(await joinNamed("a"));
    const r = await a.startChildren(bigSpecs(1500, "j"), { awaitable: true }).await(25_000);
    expect(r.status).toBe("ok");
    // Half of them move to the joiner; the other half it learns of only from a's slice.
    const b = hubOn(await joinNamed("b"));
    await formed([a, b]);
    await expect.poll(() => b.registryDump().size, { timeout: 10_000 }).toBe(1500);
  });
});

describe("a spec too large to travel", () => {
  it("a 2 MB id is refused at startChild with ChildSpecTooLargeError, and nothing starts", async () => {
    const [a, b, c] = await threeHubs();
    const huge = "i".repeat(2 * 1024 * 1024);
    let err: unknown;
    try {
      a!.startChild({ id: huge, behaviour: "counter" }, { awaitable: true });
    } catch (e) {
      err = e;
    }
    // Not started anywhere: a start sent after it is answered, and registered everywhere, first.
    const r = await b!.startChild({ id: "later", behaviour: "counter" }, { awaitable: true }).await(5000);
    expect(r.status).toBe("ok");
    for (const h of [a!, b!, c!]) await expect.poll(() => h.entryExists("later")).toBe(true);
    for (const h of [a!, b!, c!])
      expect([h.entryExists(huge), h.localChildren().size]).toEqual([false, h.localPid("later") ? 1 : 0]);
    expect(err).toBeInstanceOf(ChildSpecTooLargeError);
    const e = err as ChildSpecTooLargeError;
    expect(e.code).toBe("HV_ERR_HUB_CHILD_SPEC_TOO_LARGE");
    expect(e.limit).toBe(MAX_SPEC_BYTES);
    expect(e.size).toBeGreaterThan(MAX_SPEC_BYTES);
    // The id is shortened in the error (it may be logged, or travel itself).
    expect(e.childId.length).toBeLessThan(100);
    expect(e.message.length).toBeLessThan(400);
  });

  it("one spec with arguments over the limit refuses the whole call: none of its children starts", async () => {
    const [a, b, c] = await threeHubs();
    const specs = [
      { id: "fine", behaviour: "counter" },
      { id: "too-big", behaviour: "counter", args: "y".repeat(MAX_SPEC_BYTES) },
    ];
    expect(() => a!.startChildren(specs, { awaitable: true })).toThrow(ChildSpecTooLargeError);
    // Metadata counts too (it travels with the spec).
    expect(() =>
      b!.startChildren([
        { id: "meta", behaviour: "counter", metadata: { blob: "z".repeat(MAX_SPEC_BYTES) } },
      ]),
    ).toThrow(ChildSpecTooLargeError);
    // A later start through the same hubs is answered, and by then "fine" would be registered.
    const r = await a!
      .startChildren([{ id: "after", behaviour: "counter" }], { awaitable: true })
      .await(5000);
    expect(r.status).toBe("ok");
    for (const h of [a!, b!, c!]) await expect.poll(() => h.entryExists("after")).toBe(true);
    for (const h of [a!, b!, c!]) expect(h.entryExists("fine")).toBe(false);
  });

  it("a spec just under the limit starts and is registered everywhere", async () => {
    const [a, b, c] = await threeHubs();
    const args = "w".repeat(MAX_SPEC_BYTES - 200);
    const r = await a!
      .startChild({ id: "edge", behaviour: "counter", args }, { awaitable: true })
      .await(10_000);
    expect(r.status).toBe("ok");
    for (const h of [a!, b!, c!])
      await expect.poll(() => h.entryExists("edge"), { timeout: 10_000 }).toBe(true);
  });
});

describe("a message that cannot be sent", () => {
  it("is a warning, and the start waiting for it fails at once instead of timing out", async () => {
    // A cluster whose frame limit is below the hub's budget: the hub cannot know it (the
    // cluster does not expose it), so its start frames are refused by the codec.
    const network = new MemoryNetwork();
    const name = `small${seq++}`;
    const logger = recording();
    const list: ProcessHub[] = [];
    for (const n of ["a", "b"]) {
      const c = await Cluster.join({
        node: new Node({ name: n, logger: silentLogger }),
        cluster: name,
        transport: network.transport(),
        logger: silentLogger,
        maxFrameBytes: 64 * 1024,
      });
      clusters.push(c);
      list.push(hubOn(c, n === "a" ? logger : silentLogger));
    }
    await formed(list);
    const [a] = list;
    const specs = bigSpecs(200, "t");
    const childMapping = Object.fromEntries(specs.map((s) => [s.id, "b"]));
    const t0 = Date.now();
    const r = await a!.startChildren(specs, { awaitable: true, childMapping, timeout: 60_000 }).await(10_000);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(r.status).not.toBe("ok");
    expect(r.errors).toHaveLength(200);
    expect(new Set(r.errors.map((e) => e.reason))).toEqual(new Set(["start_failed"]));
    expect(r.errors[0]!.node).toBe("b");
    expect(r.errors[0]!.detail).toMatch(/FrameTooLargeError/);
    const w = logger.warnings.filter((x) => x.msg === "hub message too large to send");
    expect(w.length).toBeGreaterThanOrEqual(1);
    expect(w[0]!.obj).toMatchObject({ hub: "frames", node: "b", t: "start", limit: 64 * 1024 });
    expect(w[0]!.obj.unsent).toBeGreaterThanOrEqual(1);
    // Rate-limited: one warning for the whole burst of refused frames.
    expect(w.length).toBe(1);
  });
});
