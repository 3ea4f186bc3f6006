/**
 * Fuzzing of the cluster's inbound path, end to end: bytes handed to a joined node (memory
 * transport `inject`) are random, or valid frames of every kind with bytes flipped, cut or
 * spliced. Whatever arrives, nothing throws; a wire message either dispatches frames or is
 * counted as rejected; and nothing the node has changes — no process dies, no peer is dropped,
 * no link or monitor appears — unless a frame was valid and addressed to it.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cluster, Codec, FrameTag, PROTOCOL_VERSION, totalRejected } from "../../src/cluster/index.js";
import { silentLogger } from "../../src/logger.js";
import { Node, Pid, Ref } from "../../src/process/index.js";
import { MemoryNetwork } from "../../src/transports/memory/index.js";

const codec = new Codec();
let net: MemoryNetwork;
let a: Cluster;
let b: Cluster;
let victims: Pid[];

beforeAll(async () => {
  net = new MemoryNetwork();
  const join = (name: string) =>
    Cluster.join({
      node: new Node({ name, logger: silentLogger }),
      cluster: "fuzz",
      transport: net.transport(),
      logger: silentLogger,
    });
  a = await join("a");
  b = await join("b");
  for (let i = 0; i < 500 && !(a.isMember("b") && b.isMember("a")); i++) {
    await new Promise((r) => setTimeout(r, 5));
  }
  // Processes that ignore everything: they die only of an exit signal.
  victims = Array.from({ length: 4 }, () =>
    b.node.spawn(async (ctx) => {
      for (;;) await ctx.receive();
    }),
  );
});
afterAll(async () => {
  await a.leave();
  await b.leave();
});

/** Valid frames of every kind, from a to b, that would change nothing if delivered. */
function templates(): Uint8Array[] {
  const incA = a.node.creation;
  const from = new Pid("a", 999_999, incA);
  const gone = new Pid("b", 888_888, b.node.creation);
  const ref = new Ref("a", 1, incA);
  const frames: unknown[] = [
    [FrameTag.Hello, PROTOCOL_VERSION, incA, true],
    [FrameTag.Send, gone, { t: "x", n: 1 }],
    [FrameTag.SendNamed, "nobody", ["m", 1]],
    [FrameTag.Link, from, gone],
    [FrameTag.Unlink, from, gone],
    [FrameTag.Monitor, from, gone, ref],
    [FrameTag.MonitorName, from, "nobody", ref],
    [FrameTag.Demonitor, from, gone, ref],
    [FrameTag.Exit, from, gone, "kill", false],
    [FrameTag.Down, new Pid("b", 1, 1), ref, from, "normal"],
    [FrameTag.Reply, new Pid("b", 777_777, b.node.creation), ref, 42],
    [FrameTag.SpawnRequest, 1, "no-such-behaviour", [1, 2]],
    [FrameTag.SpawnReply, 123_456, true, from],
    [FrameTag.Lookup, from, ref, gone],
    [FrameTag.Call, from.id, incA, gone.id, gone.creation, ref.id, { t: "x", n: 1 }],
    [FrameTag.GenCall, from.id, incA, gone.id, gone.creation, ref.id, "$gen_call", "get", [1]],
    [FrameTag.CallReply, 777_777, b.node.creation, ref.id, 42],
  ];
  return frames.map((f) => codec.encode(f));
}

function mutate(bytes: Uint8Array, flips: Array<[number, number]>, cut: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  for (const [at, bit] of flips) out[at % out.length]! ^= 1 << bit;
  return out.subarray(0, Math.max(1, out.length - cut));
}

function snapshot() {
  return {
    alive: victims.map((p) => b.node.isAlive(p)).join(),
    processes: b.node.processCount,
    members: b.nodes().join(),
    links: victims.map((p) => b.node.processInfo(p)?.links.length).join(),
    monitors: victims.map((p) => b.node.processInfo(p)?.monitoredBy.length).join(),
  };
}

describe("cluster inbound fuzzing (memory inject)", () => {
  it("mutated frames of every kind: nothing throws, each message is handled or rejected, nothing changes", async () => {
    const base = templates();
    const before = snapshot();
    let inputs = 0;
    fc.assert(
      fc.property(
        fc.nat(base.length - 1),
        fc.array(fc.tuple(fc.nat(), fc.nat(7)), { minLength: 1, maxLength: 4 }),
        fc.nat(6),
        fc.boolean(),
        (which, flips, cut, batch) => {
          const one = mutate(base[which]!, flips, cut);
          const bytes = batch ? new Uint8Array([...base[(which + 1) % base.length]!, ...one]) : one;
          net.inject("b", bytes, "a");
          inputs++;
        },
      ),
      { numRuns: 1500, seed: 20 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), (bytes) => {
        net.inject("b", bytes, "a");
        inputs++;
      }),
      { numRuns: 1500, seed: 21 },
    );
    await expect.poll(() => b.stats.messagesIn, { timeout: 10_000 }).toBeGreaterThanOrEqual(inputs);
    const s = b.stats;
    expect(totalRejected(s) + s.framesIn).toBeGreaterThanOrEqual(inputs);
    expect(totalRejected(s)).toBeGreaterThan(0);
    expect(snapshot()).toEqual(before);
    // Still a working pair.
    const box = b.node.spawn(async (ctx) => {
      const m = (await ctx.receive()) as { ping: Pid };
      ctx.send(m.ping, "pong");
    });
    const got = a.node.spawn(async (ctx) => {
      ctx.send(box, { ping: ctx.self });
      await ctx.receive();
    });
    await expect.poll(() => a.node.isAlive(got), { timeout: 5000 }).toBe(false);
  });
});
