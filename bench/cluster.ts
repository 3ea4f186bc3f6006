/**
 * Cross-node benchmarks: a GenServer call round trip and cast throughput from node a to a server
 * on node b, over the memory transport and over NATS, next to raw NATS request/reply and publish
 * measured in the same run with the same client (`bench/nats-raw.ts`).
 */
import { Cluster } from "../src/cluster/index.js";
import { silentLogger } from "../src/logger.js";
import { Node } from "../src/process/index.js";
import { defineServer, GenServer, noreply, ok, reply } from "../src/server/index.js";
import { MemoryNetwork } from "../src/transports/memory/index.js";
import { NatsTransport } from "../src/transports/nats/index.js";
import type { Transport } from "../src/cluster/transport.js";
import { startNatsServer } from "../test/support/nats-server.js";
import { isMain, median, medianOf, printTable, type Row } from "./common.js";
import { rawPublishThroughput, rawRequestRtt } from "./nats-raw.js";

interface EchoProtocol {
  calls: { ping(payload: string): string; count(): number };
  casts: { hit(payload: string): void };
}

const Echo = defineServer<EchoProtocol>()({
  init: () => ok(0),
  handleCall: { ping: (p, n) => reply(p, n), count: (_a, n) => reply(n, n) },
  handleCast: { hit: (_p, n) => noreply(n + 1) },
});

const PAYLOAD = "x".repeat(48);

async function pair(makeTransport: () => Transport) {
  const a = new Node({ name: "a", logger: silentLogger });
  const b = new Node({ name: "b", logger: silentLogger });
  const ca = await Cluster.join({
    node: a,
    cluster: "bench",
    transport: makeTransport(),
    logger: silentLogger,
  });
  const cb = await Cluster.join({
    node: b,
    cluster: "bench",
    transport: makeTransport(),
    logger: silentLogger,
  });
  while (!ca.isMember("b") || !cb.isMember("a")) await new Promise((r) => setTimeout(r, 5));
  const r = await GenServer.start(Echo, undefined, { node: b });
  if (!r.ok) throw new Error("echo server did not start");
  return { a, pid: r.pid, close: () => Promise.all([ca.leave(), cb.leave()]) };
}

/** µs per sequential call a → b. */
async function callRtt(p: Awaited<ReturnType<typeof pair>>, rounds: number): Promise<number> {
  return medianOf(3, async () => {
    const t0 = performance.now();
    for (let i = 0; i < rounds; i++) await GenServer.callOn(p.a, p.pid, "ping", PAYLOAD);
    return ((performance.now() - t0) * 1000) / rounds;
  });
}

/** Casts a → b handled per second (a final call, ordered after the casts, marks the end). */
async function castRate(p: Awaited<ReturnType<typeof pair>>, count: number): Promise<number> {
  const rates: number[] = [];
  for (let run = 0; run < 3; run++) {
    const before = (await GenServer.callOn(p.a, p.pid, "count", undefined)) as number;
    const t0 = performance.now();
    for (let i = 0; i < count; i++) {
      GenServer.castOn(p.a, p.pid, "hit", PAYLOAD);
      // Let the batcher flush now and then, as a real producer would between events.
      if (i % 5000 === 4999) await new Promise((r) => setImmediate(r));
    }
    const after = (await GenServer.callOn(p.a, p.pid, "count", undefined, 60_000)) as number;
    if (after - before !== count) throw new Error(`lost casts: ${after - before} of ${count}`);
    rates.push(count / ((performance.now() - t0) / 1000));
  }
  return median(rates);
}

export async function run(): Promise<Row[]> {
  const network = new MemoryNetwork();
  const mem = await pair(() => network.transport());
  const memRtt = await callRtt(mem, 20_000);
  const memRate = await castRate(mem, 200_000);
  await mem.close();

  const server = await startNatsServer("bench-cluster");
  try {
    const url = server.url;
    const rawRtt = await rawRequestRtt(url);
    const rawPub = await rawPublishThroughput(url, 200_000, 3);
    const nats = await pair(
      () =>
        new NatsTransport({ connection: { servers: url }, logger: silentLogger, heartbeatIntervalMs: 1000 }),
    );
    const natsRtt = await callRtt(nats, 2000);
    const natsRate = await castRate(nats, 200_000);
    await nats.close();
    return [
      { figure: "cross-node GenServer call RTT, memory transport", value: memRtt, unit: "µs" },
      { figure: "cross-node casts handled, memory transport", value: memRate, unit: "/s" },
      { figure: "raw NATS request/reply RTT (same run)", value: rawRtt, unit: "µs" },
      {
        figure: "cross-node GenServer call RTT over NATS",
        value: natsRtt,
        unit: "µs",
        target: `<= 1.3x raw (${(1.3 * rawRtt).toFixed(0)} µs)`,
        ok: natsRtt <= 1.3 * rawRtt,
        reference: `${(natsRtt / rawRtt).toFixed(2)}x raw`,
      },
      { figure: "raw NATS publish -> subscriber (same run)", value: rawPub, unit: "/s" },
      {
        figure: "cross-node casts handled over NATS",
        value: natsRate,
        unit: "/s",
        target: `>= 0.7x raw (${Math.round(0.7 * rawPub).toLocaleString("en-US")} /s)`,
        ok: natsRate >= 0.7 * rawPub,
        reference: `${(natsRate / rawPub).toFixed(2)}x raw`,
      },
    ];
  } finally {
    await server.stop();
  }
}

if (isMain(import.meta.url)) {
  printTable("cluster (cross-node calls and casts)", await run());
  process.exit(0);
}
