import { afterEach, describe, expect, it } from "vitest";
import {
  AlreadyJoinedError,
  Cluster,
  ClusterClosedError,
  NoConnectionError,
  SpawnTimeoutError,
} from "../../src/cluster/index.js";
import { InvalidOptionError } from "../../src/errors.js";
import { silentLogger } from "../../src/logger.js";
import { Node } from "../../src/process/index.js";
import { MemoryNetwork } from "../../src/transports/memory/index.js";
import { collector, meshed } from "./helpers.js";

const started: Cluster[] = [];
async function join(net: MemoryNetwork, name: string, extra: Record<string, unknown> = {}): Promise<Cluster> {
  const c = await Cluster.join({
    node: new Node({ name, logger: silentLogger }),
    cluster: "unit",
    transport: net.transport(),
    logger: silentLogger,
    ...extra,
  });
  started.push(c);
  return c;
}

afterEach(async () => {
  for (const c of started.splice(0)) await c.leave();
});

describe("Cluster.join", () => {
  it("validates its options with InvalidOptionError naming the field", async () => {
    const net = new MemoryNetwork();
    const node = new Node({ name: "a", logger: silentLogger });
    await expect(
      Cluster.join({ node, cluster: "bad name", transport: net.transport() }),
    ).rejects.toMatchObject({
      field: "cluster",
    });
    await expect(
      Cluster.join({ node, cluster: "ok", transport: net.transport(), maxFrameBytes: 1 }),
    ).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(
      Cluster.join({ node: new Node({ name: "a.b" }), cluster: "ok", transport: net.transport() }),
    ).rejects.toMatchObject({
      field: "node.name",
    });
    expect(node.router).toBe(null);
  });

  it("refuses a node that is in a cluster already", async () => {
    const net = new MemoryNetwork();
    const a = await join(net, "a");
    await expect(
      Cluster.join({ node: a.node, cluster: "unit", transport: net.transport() }),
    ).rejects.toBeInstanceOf(AlreadyJoinedError);
  });
});

describe("Cluster.leave", () => {
  it("detaches the node and refuses spawns afterwards", async () => {
    const net = new MemoryNetwork();
    const a = await join(net, "a");
    await a.leave();
    await a.leave();
    expect(a.isClosed).toBe(true);
    expect(a.node.router).toBe(null);
    await expect(a.spawnOn("b", "x")).rejects.toBeInstanceOf(ClusterClosedError);
  });
});

describe("Cluster.spawnOn", () => {
  it("times out with SpawnTimeoutError when the start never answers", async () => {
    const net = new MemoryNetwork();
    const [a, b] = [await join(net, "a"), await join(net, "b")];
    await meshed([a, b]);
    b.registerBehaviour("slow", () => new Promise(() => {}));
    await expect(a.spawnOn("b", "slow", [], { timeoutMs: 20 })).rejects.toBeInstanceOf(SpawnTimeoutError);
  });

  it("fails a pending spawn with NoConnectionError when the node goes down", async () => {
    const net = new MemoryNetwork();
    const [a, b] = [await join(net, "a"), await join(net, "b")];
    await meshed([a, b]);
    b.registerBehaviour("slow", () => new Promise(() => {}));
    const pending = a.spawnOn("b", "slow", [], { timeoutMs: 60_000 });
    net.kill("b");
    await expect(pending).rejects.toBeInstanceOf(NoConnectionError);
  });

  it("refuses to register a behaviour name twice", async () => {
    const net = new MemoryNetwork();
    const a = await join(net, "a");
    a.registerBehaviour("x", () => a.node.spawn(() => {}));
    expect(() => a.registerBehaviour("x", () => a.node.spawn(() => {}))).toThrow(/already registered/);
    expect(a.behaviours()).toEqual(["x"]);
    expect(a.unregisterBehaviour("x")).toBe(true);
  });
});

describe("batching", () => {
  it("sends a lone frame without waiting and a burst as fewer wire messages; off sends one per frame", async () => {
    const net = new MemoryNetwork();
    const [a, b] = [await join(net, "a"), await join(net, "b", { batching: false })];
    await meshed([a, b]);
    const boxB = collector(b.node);
    const boxA = collector(a.node);
    const before = a.stats.messagesOut;
    a.node.send(boxB.pid, "lone");
    await expect.poll(() => boxB.got).toEqual(["lone"]);
    expect(a.stats.messagesOut).toBe(before + 1);
    for (let i = 0; i < 100; i++) a.node.send(boxB.pid, i);
    await expect.poll(() => boxB.got.length).toBe(101);
    expect(a.stats.messagesOut).toBe(before + 2);
    const bBefore = b.stats.messagesOut;
    for (let i = 0; i < 10; i++) b.node.send(boxA.pid, i);
    await expect.poll(() => boxA.got.length).toBe(10);
    expect(b.stats.messagesOut).toBe(bBefore + 10);
  });

  it("never builds a batch above maxFrameBytes", async () => {
    const net = new MemoryNetwork();
    const [a, b] = [
      await join(net, "a", { maxFrameBytes: 4096 }),
      await join(net, "b", { maxFrameBytes: 4096 }),
    ];
    await meshed([a, b]);
    const box = collector(b.node);
    for (let i = 0; i < 20; i++) a.node.send(box.pid, "x".repeat(1000));
    await expect.poll(() => box.got.length).toBe(20);
    expect(b.stats.rejected.oversized).toBe(0);
    expect(a.stats.messagesOut).toBeGreaterThanOrEqual(5);
  });
});
