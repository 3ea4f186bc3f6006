/**
 * NATS benchmarks on a fresh local nats-server: raw request/reply round trip, raw publish ping-pong
 * round trip (two subjects, what the transport does) and raw publish throughput with `@nats-io/transport-node`, next to the NATS transport's own frame round trip and
 * frame throughput measured in the same run with the same client, and the time from a node's
 * SIGKILL to `peerDown` on a survivor (node in a separate OS process, default probe settings).
 * `run()` returns the rows; `npx tsx bench/nats-raw.ts` prints them.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { NodeIdentity } from "../src/cluster/transport.js";
import { silentLogger } from "../src/logger.js";
import { DEFAULT_NATS_TRANSPORT_OPTIONS, NatsTransport } from "../src/transports/nats/index.js";
import { type NatsServer, startNatsServer } from "../test/support/nats-server.js";
import { ChildNode } from "../test/transports/nats/child-node.js";
import { isMain, median, medianOf, printTable, type Row } from "./common.js";

const PAYLOAD = new Uint8Array(64).fill(7);

/** Sequential raw request/reply: µs per round trip. */
export async function rawRequestRtt(url: string, rounds = 2000): Promise<number> {
  const server = await connect({ servers: url });
  const client = await connect({ servers: url });
  server.subscribe("bench.echo", {
    callback: (_e, m) => {
      m.respond(m.data);
    },
  });
  await server.flush();
  const us = await medianOf(3, async () => {
    const t0 = performance.now();
    for (let i = 0; i < rounds; i++) await client.request("bench.echo", PAYLOAD, { timeout: 5000 });
    return ((performance.now() - t0) * 1000) / rounds;
  });
  await Promise.all([server.close(), client.close()]);
  return us;
}

/** Sequential raw publish ping-pong on two subjects (what the transport does): µs per round trip. */
export async function rawPingPongRtt(url: string, rounds = 2000): Promise<number> {
  const a = await connect({ servers: url });
  const b = await connect({ servers: url });
  b.subscribe("bench.ping", {
    callback: (_e, m) => {
      b.publish("bench.pong", m.data);
    },
  });
  let onPong: () => void = () => {};
  a.subscribe("bench.pong", { callback: () => onPong() });
  await Promise.all([a.flush(), b.flush()]);
  const us = await medianOf(3, async () => {
    const t0 = performance.now();
    for (let i = 0; i < rounds; i++) {
      await new Promise<void>((resolve) => {
        onPong = resolve;
        a.publish("bench.ping", PAYLOAD);
      });
    }
    return ((performance.now() - t0) * 1000) / rounds;
  });
  await Promise.all([a.close(), b.close()]);
  return us;
}

/** Raw publish from one connection to a subscriber on another: messages per second delivered. */
export async function rawPublishThroughput(url: string, count = 200_000, runs = 3): Promise<number> {
  const pub = await connect({ servers: url });
  const sub = await connect({ servers: url });
  const rate = await medianOf(runs, () => publishRun(pub, sub, count));
  await Promise.all([pub.close(), sub.close()]);
  return rate;
}

async function publishRun(pub: NatsConnection, sub: NatsConnection, count: number): Promise<number> {
  let got = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const s = sub.subscribe("bench.pub", {
    callback: () => {
      if (++got === count) done();
    },
  });
  await sub.flush();
  const t0 = performance.now();
  for (let i = 0; i < count; i++) pub.publish("bench.pub", PAYLOAD);
  await finished;
  const rate = count / ((performance.now() - t0) / 1000);
  s.unsubscribe();
  return rate;
}

/** Two transports of one cluster, up in each other's view; `b` echoes frames starting with 1. */
async function transportPair(url: string) {
  const mk = () =>
    new NatsTransport({ connection: { servers: url }, logger: silentLogger, heartbeatIntervalMs: 1000 });
  const a = mk();
  const b = mk();
  let onA: (bytes: Uint8Array) => void = () => {};
  let onB: (bytes: Uint8Array) => void = () => {};
  let upA = false;
  let upB = false;
  const id = (node: string): NodeIdentity => ({ cluster: "bench", node, incarnation: 1 });
  await a.connect(id("a"), {
    frame: (_f, bytes) => onA(bytes),
    peerUp: () => (upA = true),
    peerDown: () => {},
  });
  await b.connect(id("b"), {
    frame: (_f, bytes) => (bytes[0] === 1 ? b.send("a", bytes) : onB(bytes)),
    peerUp: () => (upB = true),
    peerDown: () => {},
  });
  while (!upA || !upB) await new Promise((r) => setTimeout(r, 5));
  return {
    a,
    b,
    setOnA: (f: (bytes: Uint8Array) => void) => (onA = f),
    setOnB: (f: (bytes: Uint8Array) => void) => (onB = f),
    close: () => Promise.all([a.close(), b.close()]),
  };
}

/** Sequential frame round trip a → b → a over the transport: µs. */
export async function transportFrameRtt(url: string, rounds = 2000): Promise<number> {
  const p = await transportPair(url);
  const frame = new Uint8Array(64).fill(1);
  const us = await medianOf(3, async () => {
    const t0 = performance.now();
    for (let i = 0; i < rounds; i++) {
      await new Promise<void>((resolve) => {
        p.setOnA(() => resolve());
        p.a.send("b", frame);
      });
    }
    return ((performance.now() - t0) * 1000) / rounds;
  });
  await p.close();
  return us;
}

/** Frames a → b delivered per second. */
export async function transportThroughput(url: string, count = 200_000, runs = 3): Promise<number> {
  const p = await transportPair(url);
  const frame = new Uint8Array(64).fill(2);
  const rate = await medianOf(runs, async () => {
    let got = 0;
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    p.setOnB(() => {
      if (++got === count) done();
    });
    const t0 = performance.now();
    for (let i = 0; i < count; i++) p.a.send("b", frame);
    await finished;
    return count / ((performance.now() - t0) / 1000);
  });
  await p.close();
  return rate;
}

/** SIGKILL of a node in another process → `peerDown` on this one, default timings: ms, median. */
export async function killToPeerDown(url: string, kills = 3): Promise<number> {
  const times: number[] = [];
  for (let k = 0; k < kills; k++) {
    let downAt = 0;
    let up = false;
    const survivor = new NatsTransport({ connection: { servers: url }, logger: silentLogger });
    await survivor.connect(
      { cluster: `kill${k}`, node: "survivor", incarnation: 1 },
      {
        frame: () => {},
        peerUp: () => (up = true),
        peerDown: () => (downAt = performance.now()),
      },
    );
    const child = new ChildNode({
      servers: [url],
      cluster: `kill${k}`,
      node: "victim",
      incarnation: 1,
      timings: {},
    });
    while (!up) await new Promise((r) => setTimeout(r, 5));
    const killedAt = performance.now();
    child.signal("SIGKILL");
    while (downAt === 0) await new Promise((r) => setTimeout(r, 1));
    times.push(downAt - killedAt);
    await child.exited;
    await survivor.close();
  }
  return median(times);
}

/** Every NATS figure, on its own fresh nats-server. */
export async function run(): Promise<Row[]> {
  let server: NatsServer | undefined;
  try {
    server = await startNatsServer("bench");
    const url = server.url;
    const rawRtt = await rawRequestRtt(url);
    const rawPing = await rawPingPongRtt(url);
    const frameRtt = await transportFrameRtt(url);
    // Interleaved so that machine noise hits both sides alike.
    const pubRates: number[] = [];
    const frameRates: number[] = [];
    for (let i = 0; i < 5; i++) {
      pubRates.push(await rawPublishThroughput(url, 200_000, 1));
      frameRates.push(await transportThroughput(url, 200_000, 1));
    }
    const rawPub = median(pubRates);
    const frameRate = median(frameRates);
    const kill = await killToPeerDown(url);
    const d = DEFAULT_NATS_TRANSPORT_OPTIONS;
    return [
      { figure: "raw NATS request/reply RTT (64 B)", value: rawRtt, unit: "µs" },
      { figure: "raw NATS publish ping-pong RTT (64 B)", value: rawPing, unit: "µs" },
      { figure: "raw NATS publish -> subscriber (64 B, median of 5)", value: rawPub, unit: "/s" },
      {
        figure: "transport frame RTT a->b->a",
        value: frameRtt,
        unit: "µs",
        target: `<= 1.3x raw request (${(1.3 * rawRtt).toFixed(0)} µs)`,
        ok: frameRtt <= 1.3 * rawRtt,
        reference: `${(frameRtt / rawPing).toFixed(2)}x raw ping-pong`,
      },
      {
        figure: "transport frame throughput a->b (median of 5)",
        value: frameRate,
        unit: "/s",
        target: `>= 0.7x raw (${Math.round(0.7 * rawPub).toLocaleString("en-US")} /s)`,
        ok: frameRate >= 0.7 * rawPub,
      },
      {
        figure: "SIGKILL -> peerDown (median of 3)",
        value: kill,
        unit: "ms",
        target: `<= 300 ms (probe ${d.probeIntervalMs} ms x ${d.probeMisses}; hb timeout ${d.heartbeatTimeoutMs} ms)`,
        ok: kill <= 300,
      },
    ];
  } finally {
    await server?.stop();
  }
}

if (isMain(import.meta.url)) {
  printTable("NATS (raw client vs NatsTransport)", await run());
  process.exit(0);
}
