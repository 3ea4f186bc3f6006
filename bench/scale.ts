/**
 * `npm run bench -- scale` (issue 21): the same call workload — `CALLERS` processes × `CALLS`
 * sequential GenServer calls to `SERVERS` echo servers — on one thread; on a node per core in one
 * process (`startNodeThreads`), with 0, 50 and 100 % of the calls to the other thread's servers;
 * on two OS processes joined by NATS with 0, 50 and 100 % cross-node calls; and on the BEAM when
 * `escript` is installed (`bench/beam/scale.escript`, the same workload in Erlang). Then the round trip of
 * one call across threads and across processes (p50 / p99), next to raw NATS request/reply and
 * raw NATS publish throughput measured in the same run.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Cluster } from "../src/cluster/index.js";
import { silentLogger } from "../src/logger.js";
import { Node, type Pid } from "../src/process/index.js";
import { GenServer } from "../src/server/index.js";
import { startNodeThreads } from "../src/threads/index.js";
import { NatsTransport } from "../src/transports/nats/index.js";
import { startNatsServer } from "../test/support/nats-server.js";
import { isMain, median, printTable, type Row } from "./common.js";
import { rawPublishThroughput, rawRequestRtt } from "./nats-raw.js";
import { startBenchNode } from "./scale-node.js";

/** Smaller for a quick look: `HV_SCALE_CALLERS=1000 npm run bench -- scale`. */
const CALLERS = Number(process.env.HV_SCALE_CALLERS ?? 10_000);
const CALLS = 100;
const SERVERS = 100;
const here = dirname(fileURLToPath(import.meta.url));

/** Calls/s of one `run` on every node named, all started at once; `cross` of them to the others. */
async function rate(orch: Node, nodes: string[], cross: number): Promise<number> {
  const pids = new Map<string, Pid[]>();
  for (const n of nodes)
    pids.set(
      n,
      (await orch.call({ name: "bench", node: n }, (from) => ({ op: "pids", from }), 30_000)) as Pid[],
    );
  const each = CALLERS / nodes.length;
  const times = await Promise.all(
    nodes.map(
      (n) =>
        orch.call(
          { name: "bench", node: n },
          (from) => ({
            op: "run",
            from,
            callers: each,
            calls: CALLS,
            cross,
            local: pids.get(n)!,
            remote: nodes.filter((o) => o !== n).flatMap((o) => pids.get(o)!),
          }),
          600_000,
        ) as Promise<number>,
    ),
  );
  return (CALLERS * CALLS) / (Math.max(...times) / 1000);
}

/** Round trips of `rounds` sequential calls from `orch` to a server of `node`: [p50, p99] in µs. */
async function rtt(orch: Node, node: string, rounds = 3000): Promise<[number, number]> {
  const [pid] = (await orch.call({ name: "bench", node }, (from) => ({ op: "pids", from }), 30_000)) as Pid[];
  const xs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    await GenServer.callOn(orch, pid!, "ping", i);
    xs.push((performance.now() - t0) * 1000);
  }
  xs.sort((a, b) => a - b);
  return [xs[Math.floor(xs.length * 0.5)]!, xs[Math.floor(xs.length * 0.99)]!];
}

/**
 * CPU time (user + system, ms) the child processes have used so far, from `/proc` (Linux); NaN
 * elsewhere. Per call it is a figure a loaded machine bends less than calls/s: the wall time of
 * a run waits for the cores others hold, its CPU time mostly does not.
 */
function cpuMs(children: ChildProcess[]): number {
  try {
    let ticks = 0;
    for (const ch of children) {
      const fields = readFileSync(`/proc/${ch.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    }
    return ticks * 10; // USER_HZ is 100 on Linux
  } catch {
    return Number.NaN;
  }
}

async function oneThread(): Promise<number> {
  const node = new Node({ name: "solo", logger: silentLogger });
  await startBenchNode(node, SERVERS);
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) runs.push(await rate(node, ["solo"], 0));
  return median(runs);
}

async function threads(): Promise<{ rates: number[]; rtt: [number, number] }> {
  const n = Math.min(2, availableParallelism());
  process.env.HV_SCALE_SERVERS = String(SERVERS / n);
  const names = Array.from({ length: n }, (_, i) => `t${i}`);
  const nt = await startNodeThreads({
    module: new URL("./scale-node.ts", import.meta.url),
    names,
    quiet: true,
  });
  try {
    const orch = new Node({ name: "orch", logger: silentLogger });
    const c = await nt.join(orch, { logger: silentLogger });
    while (c.nodes().length < n) await new Promise((r) => setTimeout(r, 10));
    const rates: number[] = [];
    for (const cross of [0, 0.5, 1])
      rates.push(median([await rate(orch, names, cross), await rate(orch, names, cross)]));
    return { rates, rtt: await rtt(orch, names[0]!) };
  } finally {
    await nt.stop();
  }
}

async function overNats(url: string): Promise<{ rates: number[]; cpu: number[]; rtt: [number, number] }> {
  const names = ["p0", "p1"];
  const cluster = `scale${process.pid}`;
  const children: ChildProcess[] = names.map((name) =>
    spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        join(here, "scale-process.ts"),
        JSON.stringify({ url, cluster, name, servers: SERVERS / 2 }),
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    ),
  );
  try {
    await Promise.all(
      children.map(
        (ch) =>
          new Promise<void>((resolve, reject) => {
            ch.stdout!.on("data", (d: Buffer) => d.toString().includes("ready") && resolve());
            ch.once("exit", (code) => reject(new Error(`scale node exited with ${code}`)));
          }),
      ),
    );
    const orch = new Node({ name: "orch", logger: silentLogger });
    const c = await Cluster.join({
      node: orch,
      cluster,
      transport: new NatsTransport({ connection: { servers: url }, logger: silentLogger }),
      logger: silentLogger,
    });
    while (c.nodes().length < 2) await new Promise((r) => setTimeout(r, 10));
    const rates: number[] = [];
    const cpu: number[] = [];
    for (const cross of [0, 0.5, 1]) {
      const c0 = cpuMs(children);
      rates.push(median([await rate(orch, names, cross), await rate(orch, names, cross)]));
      cpu.push(((cpuMs(children) - c0) * 1000) / (2 * CALLERS * CALLS));
    }
    const r = await rtt(orch, "p0");
    await c.leave();
    return { rates, cpu, rtt: r };
  } finally {
    for (const ch of children) ch.kill("SIGKILL");
  }
}

/** The BEAM's calls/s on the same workload, or undefined without `escript`. */
function beam(): number | undefined {
  try {
    const script = join(here, "beam", "scale.escript");
    const out = execFileSync("escript", [script, String(CALLERS), String(CALLS), String(SERVERS)], {
      encoding: "utf8",
      timeout: 300_000,
    });
    const m = /calls_per_s=(\d+)/.exec(out);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

export async function run(): Promise<Row[]> {
  const load = () => loadavg()[0]!.toFixed(1);
  const rows: Row[] = [];
  const startLoad = load();
  const solo = await oneThread();
  rows.push({
    figure: `calls/s, one thread (${CALLERS / 1000}k callers × ${CALLS} calls, ${SERVERS} servers)`,
    value: solo,
    unit: "/s",
  });
  const t = await threads();
  const labels = ["0 %", "50 %", "100 %"];
  t.rates.forEach((v, i) => {
    rows.push({
      figure: `calls/s, a node per core in one process (2 threads), ${labels[i]} cross-thread`,
      value: v,
      unit: "/s",
      ...(i === 0
        ? {
            target: ">= 1.8x one thread",
            ok: v >= 1.8 * solo,
            reference: `${(v / solo).toFixed(2)}x one thread`,
          }
        : {}),
    });
  });
  const server = await startNatsServer("bench-scale");
  try {
    const n = await overNats(server.url);
    n.rates.forEach((v, i) => {
      rows.push({
        figure: `calls/s, 2 processes over NATS, ${labels[i]} cross-node`,
        value: v,
        unit: "/s",
        ...(i === 2 ? { target: ">= 300k/s", ok: v >= 300_000, reference: "77k/s before (issue 21)" } : {}),
      });
    });
    n.cpu.forEach((v, i) => {
      rows.push({
        figure: `CPU per call, both node processes, ${labels[i]} cross-node`,
        value: v,
        unit: "µs",
      });
    });
    rows.push({ figure: "call round trip across threads, p50", value: t.rtt[0], unit: "µs" });
    rows.push({ figure: "call round trip across threads, p99", value: t.rtt[1], unit: "µs" });
    rows.push({ figure: "call round trip across processes over NATS, p50", value: n.rtt[0], unit: "µs" });
    rows.push({ figure: "call round trip across processes over NATS, p99", value: n.rtt[1], unit: "µs" });
    const rawRtt = await rawRequestRtt(server.url);
    rows.push({
      figure: "raw NATS request/reply RTT (same run)",
      value: rawRtt,
      unit: "µs",
      reference: `hubvisor call p50 = ${(n.rtt[0] / rawRtt).toFixed(2)}x raw`,
    });
    const rawPub = await rawPublishThroughput(server.url, 200_000, 3);
    rows.push({
      figure: "raw NATS publish -> subscriber (same run)",
      value: rawPub,
      unit: "/s",
      reference: `100 % cross-node calls = ${((2 * n.rates[2]!) / rawPub).toFixed(2)}x raw (2 messages per call)`,
    });
  } finally {
    await server.stop();
  }
  const b = beam();
  if (b !== undefined)
    rows.push({ figure: "calls/s, the BEAM (OTP, default schedulers), same workload", value: b, unit: "/s" });
  rows.push({
    figure: `1-min load average before / after (${availableParallelism()} vCPUs)`,
    value: Number(startLoad),
    unit: `/ ${load()}`,
  });
  return rows;
}

if (isMain(import.meta.url)) {
  printTable("scale", await run());
  process.exit(0);
}
