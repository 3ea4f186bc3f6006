import { describe, expect, it } from "vitest";
import type { NodeIdentity, PeerDownReason } from "../../../src/cluster/index.js";
import {
  MemoryNetwork,
  type MemoryTransport,
  TransportStateError,
  UnknownNodeError,
} from "../../../src/transports/memory/index.js";
import { InvalidOptionError } from "../../../src/errors.js";

interface Probe {
  transport: MemoryTransport;
  log: string[];
  frames: Array<[string, string]>;
}

let incarnation = 1;
async function attach(net: MemoryNetwork, node: string, cluster = "c"): Promise<Probe> {
  const transport = net.transport();
  const log: string[] = [];
  const frames: Array<[string, string]> = [];
  const self: NodeIdentity = { cluster, node, incarnation: incarnation++ };
  await transport.connect(self, {
    frame: (from, bytes) => {
      frames.push([from, Buffer.from(bytes).toString()]);
      log.push(`frame ${from} ${Buffer.from(bytes).toString()}`);
    },
    peerUp: (p) => log.push(`up ${p.node}`),
    peerDown: (p: NodeIdentity, reason: PeerDownReason) => log.push(`down ${p.node} ${reason}`),
  });
  return { transport, log, frames };
}

const bytes = (s: string) => Buffer.from(s);
const texts = (p: Probe) => p.frames.map(([, t]) => t);

describe("MemoryNetwork", () => {
  it("announces peers up before their first frame and delivers asynchronously, FIFO per pair", async () => {
    const net = new MemoryNetwork();
    const a = await attach(net, "a");
    const b = await attach(net, "b");
    for (let i = 0; i < 100; i++) a.transport.send("b", bytes(String(i)));
    expect(b.frames).toEqual([]);
    await expect.poll(() => b.frames.length).toBe(100);
    expect(texts(b)).toEqual(Array.from({ length: 100 }, (_, i) => String(i)));
    expect(b.log[0]).toBe("up a");
    expect(a.log[0]).toBe("up b");
  });

  it("keeps clusters apart and broadcasts within one", async () => {
    const net = new MemoryNetwork();
    const a = await attach(net, "a");
    const b = await attach(net, "b");
    const other = await attach(net, "x", "other");
    a.transport.broadcast(bytes("all"));
    await expect.poll(() => texts(b)).toEqual(["all"]);
    expect(other.log).toEqual([]);
  });

  it("keeps order under a delay, even when the delay shrinks", async () => {
    const net = new MemoryNetwork();
    const a = await attach(net, "a");
    const b = await attach(net, "b");
    net.setDelay(30);
    a.transport.send("b", bytes("slow"));
    net.setDelay(0);
    a.transport.send("b", bytes("fast"));
    await expect.poll(() => texts(b)).toEqual(["slow", "fast"]);
  });

  it("drops the configured fraction of frames", async () => {
    let seed = 1;
    const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const net = new MemoryNetwork({ random });
    const a = await attach(net, "a");
    const b = await attach(net, "b");
    net.setDropRate(0.5);
    for (let i = 0; i < 1000; i++) a.transport.send("b", bytes("x"));
    await expect.poll(() => net.stats.delivered + net.stats.dropped).toBe(1000);
    expect(b.frames.length).toBeGreaterThan(350);
    expect(b.frames.length).toBeLessThan(650);
    net.setDropRate(1, "a", "b");
    net.setDropRate(0);
    a.transport.send("b", bytes("lost"));
    expect(net.stats.dropped).toBeGreaterThan(350);
  });

  it("partitions by timeout on both sides and heals with peers up again", async () => {
    const net = new MemoryNetwork({ timeoutMs: 20 });
    const a = await attach(net, "a");
    const b = await attach(net, "b");
    await expect.poll(() => a.log).toEqual(["up b"]);
    net.partition(["a"], ["b"]);
    a.transport.send("b", bytes("lost"));
    await expect.poll(() => a.log).toEqual(["up b", "down b timeout"]);
    await expect.poll(() => b.log).toEqual(["up a", "down a timeout"]);
    net.heal();
    await expect.poll(() => a.log).toEqual(["up b", "down b timeout", "up b"]);
    a.transport.send("b", bytes("after"));
    await expect.poll(() => texts(b)).toEqual(["after"]);
  });

  it("kills a node: peers see connection_lost at once, or timeout when asked", async () => {
    const net = new MemoryNetwork({ timeoutMs: 20 });
    const a = await attach(net, "a");
    const b = await attach(net, "b");
    await attach(net, "c");
    await expect.poll(() => a.log.length).toBe(2);
    b.transport.send("a", bytes("in flight"));
    net.kill("b");
    await expect.poll(() => a.log).toContain("down b connection_lost");
    expect(texts(a)).toEqual([]);
    await expect.poll(() => b.log).toContain("down a connection_lost");
    net.kill("c", { detectedBy: "timeout" });
    await expect.poll(() => a.log).toContain("down c timeout");
    expect(() => net.kill("c")).toThrow(UnknownNodeError);
  });

  it("a short pause only delays frames; a long one is seen as down on both sides, then up", async () => {
    const net = new MemoryNetwork({ timeoutMs: 40 });
    const a = await attach(net, "a");
    const b = await attach(net, "b");
    await expect.poll(() => b.log).toEqual(["up a"]);
    net.pause("b");
    a.transport.send("b", bytes("held"));
    b.transport.send("a", bytes("queued while paused"));
    net.resume("b");
    await expect.poll(() => texts(b)).toEqual(["held"]);
    await expect.poll(() => texts(a)).toEqual(["queued while paused"]);
    net.pause("b");
    a.transport.send("b", bytes("stale"));
    await expect.poll(() => a.log).toContain("down b timeout");
    expect(b.log).toEqual(["up a", "frame a held"]);
    net.resume("b");
    await expect.poll(() => b.log).toEqual(["up a", "frame a held", "down a timeout", "up a"]);
    await expect.poll(() => a.log.at(-1)).toBe("up b");
    expect(texts(b)).toEqual(["held"]);
  });

  it("a graceful close delivers frames already sent, then leave", async () => {
    const net = new MemoryNetwork();
    const a = await attach(net, "a");
    const b = await attach(net, "b");
    b.transport.send("a", bytes("last words"));
    await b.transport.close();
    await expect.poll(() => a.log).toEqual(["up b", "frame b last words", "down b leave"]);
    await expect(
      b.transport.connect({ cluster: "c", node: "b", incarnation: 1 }, null as never),
    ).rejects.toBeInstanceOf(TransportStateError);
  });

  it("a node reconnecting under the same name replaces the old one", async () => {
    const net = new MemoryNetwork();
    const a = await attach(net, "a");
    await attach(net, "b");
    await expect.poll(() => a.log).toEqual(["up b"]);
    await attach(net, "b");
    await expect.poll(() => a.log).toEqual(["up b", "down b connection_lost", "up b"]);
  });

  it("injects raw bytes, in order with the channel of a known sender", async () => {
    const net = new MemoryNetwork();
    const a = await attach(net, "a");
    const b = await attach(net, "b");
    a.transport.send("b", bytes("1"));
    net.inject("b", bytes("junk"), "a");
    a.transport.send("b", bytes("2"));
    net.inject("b", bytes("?"), "stranger");
    await expect.poll(() => b.frames.length).toBe(4);
    expect(b.frames.filter(([f]) => f === "a").map(([, t]) => t)).toEqual(["1", "junk", "2"]);
    expect(b.frames).toContainEqual(["stranger", "?"]);
  });

  it("validates its options", () => {
    expect(() => new MemoryNetwork({ timeoutMs: -1 })).toThrow(InvalidOptionError);
  });
});
