/**
 * Process-layer and GenServer benchmarks: ping-pong round trips, call round trip, spawn/exit
 * memory stability over 1M cycles.
 */
import { silentLogger } from "../src/logger.js";
import { Node, setDefaultNode } from "../src/process/index.js";
import { defineServer, GenServer, ok, reply } from "../src/server/index.js";
import { heapUsed, isMain, medianOf, printTable, type Row } from "./common.js";

/** Two handler-driven processes bouncing a counter: the raw send/receive round trip. */
async function handlerPingPong(rounds: number): Promise<number> {
  const node = new Node({ name: "bench", logger: silentLogger });
  return new Promise((resolve) => {
    let t0 = 0;
    let pong: ReturnType<Node["spawnHandler"]>;
    const ping = node.spawnHandler((n) => {
      if ((n as number) >= rounds) {
        resolve(Number(process.hrtime.bigint() - BigInt(t0)) / rounds);
        return;
      }
      node.send(pong.pid, (n as number) + 1);
    }, null);
    pong = node.spawnHandler((n) => node.send(ping.pid, n), null);
    t0 = Number(process.hrtime.bigint());
    node.send(pong.pid, 0);
  });
}

/** The same with two async-function processes using `receive` (one promise per receive). */
async function fiberPingPong(rounds: number): Promise<number> {
  const node = new Node({ name: "bench", logger: silentLogger });
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const pong = node.spawn(async (ctx) => {
      for (;;) {
        const m = (await ctx.receive()) as { from: import("../src/process/pid.js").Pid; n: number };
        ctx.send(m.from, m.n);
      }
    });
    node.spawn(async (ctx) => {
      for (let i = 0; i < rounds; i++) {
        ctx.send(pong, { from: ctx.self, n: i });
        await ctx.receive();
      }
      resolve(Number(process.hrtime.bigint() - t0) / rounds);
      ctx.exit(pong, "kill");
    });
  });
}

interface PingProtocol {
  calls: { ping(): string };
}
const Pinger = defineServer<PingProtocol>()({
  init: (arg: number) => ok(arg),
  handleCall: { ping: (_a, s) => reply("pong", s) },
});

async function callRoundTrip(rounds: number): Promise<number> {
  const node = new Node({ name: "bench", logger: silentLogger });
  setDefaultNode(node);
  const r = await GenServer.start(Pinger, 0, { node });
  if (!r.ok) throw new Error("start failed");
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) await GenServer.call(r.pid, "ping");
  return Number(process.hrtime.bigint() - t0) / rounds;
}

/** Heap growth after `cycles` spawn/exit cycles (bytes); should be ~0. */
async function spawnExitCycles(
  cycles: number,
): Promise<{ before: number; after: number; nsPerCycle: number }> {
  const node = new Node({ name: "bench", logger: silentLogger });
  const before = heapUsed();
  const t0 = process.hrtime.bigint();
  const batch = 10_000;
  for (let done = 0; done < cycles; done += batch) {
    const pids = [];
    for (let i = 0; i < batch; i++) pids.push(node.spawnHandler(() => undefined, null).pid);
    for (const pid of pids) node.exit(pid, "kill");
    await new Promise((r) => setImmediate(r));
  }
  const nsPerCycle = Number(process.hrtime.bigint() - t0) / cycles;
  if (node.processCount !== 0) throw new Error(`leak: ${node.processCount} processes left`);
  const after = heapUsed();
  return { before, after, nsPerCycle };
}

export async function run(): Promise<Row[]> {
  const raw = await medianOf(5, () => handlerPingPong(200_000));
  const fiber = await medianOf(5, () => fiberPingPong(100_000));
  const call = await medianOf(5, () => callRoundTrip(200_000));
  const cycles = await spawnExitCycles(1_000_000);
  return [
    {
      figure: "raw send/receive ping-pong round trip (handler processes)",
      value: raw,
      unit: "ns",
      target: "<= 200 ns",
      ok: raw <= 200,
      reference: "346 ns",
    },
    {
      figure: "ping-pong round trip (async functions with receive)",
      value: fiber,
      unit: "ns",
      reference: "346 ns",
    },
    {
      figure: "GenServer call round trip",
      value: call,
      unit: "ns",
      target: "<= 500 ns",
      ok: call <= 500,
      reference: "1,194 ns",
    },
    { figure: "1M spawn/exit cycles: time per cycle", value: cycles.nsPerCycle, unit: "ns" },
    {
      figure: "1M spawn/exit cycles: heap after - before",
      value: cycles.after - cycles.before,
      unit: "B",
      target: "~0 (< 1 MB)",
      ok: cycles.after - cycles.before < 1_000_000,
    },
  ];
}

if (isMain(import.meta.url)) printTable("process and GenServer", await run());
