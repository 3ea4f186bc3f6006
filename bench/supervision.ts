/**
 * Supervision benchmarks: start/terminate GenServers one at a time under a DynamicSupervisor,
 * memory per idle child, restart after a crash (one_for_one), and a Supervisor with 10k static
 * children (start per child, stop total). `supervisionBench()` returns the rows; run directly
 * (`npx tsx --expose-gc bench/supervision.ts`) to print the table.
 */
import { silentLogger } from "../src/logger.js";
import { Node, type Pid, setDefaultNode } from "../src/process/index.js";
import { defineServer, ok, reply } from "../src/server/index.js";
import { childSpec } from "../src/supervision/child-spec.js";
import { DynamicSupervisor } from "../src/supervision/dynamic-supervisor.js";
import { Supervisor } from "../src/supervision/supervisor.js";
import { heapUsed, isMain, medianOf, printTable, type Row } from "./common.js";

interface PingProtocol {
  calls: { ping(): string };
}
const Pinger = defineServer<PingProtocol>()({
  init: (arg: number) => ok(arg),
  handleCall: { ping: (_a, s) => reply("pong", s) },
});

const now = (): number => Number(process.hrtime.bigint()) / 1000;

async function freshSup(): Promise<Pid> {
  setDefaultNode(new Node({ name: "bench", logger: silentLogger }));
  const r = await DynamicSupervisor.start();
  if (!r.ok) throw new Error("start");
  return r.pid;
}

/** µs per start and per terminate, one at a time. */
async function dynamicStartTerminate(n: number): Promise<{ start: number; terminate: number }> {
  const sup = await freshSup();
  const spec = childSpec(Pinger, 0);
  const pids: Pid[] = new Array(n);
  let t0 = now();
  for (let i = 0; i < n; i++) {
    const r = await DynamicSupervisor.startChild(sup, spec);
    if (r.ok) pids[i] = r.pid;
  }
  const start = (now() - t0) / n;
  t0 = now();
  for (let i = 0; i < n; i++) await DynamicSupervisor.terminateChild(sup, pids[i]!);
  const terminate = (now() - t0) / n;
  await DynamicSupervisor.stop(sup);
  return { start, terminate };
}

/** Bytes per idle child with `n` children. */
async function memoryPerChild(n: number): Promise<number> {
  const sup = await freshSup();
  const spec = childSpec(Pinger, 0);
  const before = heapUsed();
  for (let i = 0; i < n; i++) await DynamicSupervisor.startChild(sup, spec);
  const after = heapUsed();
  await DynamicSupervisor.stop(sup);
  return (after - before) / n;
}

/** µs from a crash to the restarted child answering (one_for_one). */
async function restartAfterCrash(rounds: number): Promise<number> {
  setDefaultNode(new Node({ name: "bench", logger: silentLogger }));
  const node = new Node({ name: "bench", logger: silentLogger });
  setDefaultNode(node);
  const r = await Supervisor.start([childSpec(Pinger, 0, { id: "p" })], {
    strategy: "one_for_one",
    maxRestarts: 1_000_000,
  });
  if (!r.ok) throw new Error("start");
  const sup = r.pid;
  let pid = ((await Supervisor.whichChildren(sup))[0]!.pid as Pid)!;
  const t0 = now();
  for (let i = 0; i < rounds; i++) {
    node.exit(pid, "crash");
    for (;;) {
      const c = (await Supervisor.whichChildren(sup))[0]!.pid;
      if (typeof c === "object" && !c.equals(pid)) {
        pid = c;
        break;
      }
    }
  }
  const per = (now() - t0) / rounds;
  await Supervisor.stop(sup);
  return per;
}

/** µs per child to start 10k static children, and ms to stop them all. */
async function staticTree(n: number): Promise<{ startPerChild: number; stopMs: number }> {
  setDefaultNode(new Node({ name: "bench", logger: silentLogger }));
  const specs = Array.from({ length: n }, (_, i) => childSpec(Pinger, i, { id: i }));
  let t0 = now();
  const r = await Supervisor.start(specs, { strategy: "one_for_one" });
  const startPerChild = (now() - t0) / n;
  if (!r.ok) throw new Error("start");
  t0 = now();
  await Supervisor.stop(r.pid);
  return { startPerChild, stopMs: (now() - t0) / 1000 };
}

export async function supervisionBench(scale = 1): Promise<Row[]> {
  const n = Math.round(100_000 * scale);
  const st = { start: 0, terminate: 0 };
  const starts: number[] = [];
  const terms: number[] = [];
  await medianOf(3, async () => {
    const r = await dynamicStartTerminate(n);
    starts.push(r.start);
    terms.push(r.terminate);
    return r.start;
  });
  st.start = starts.sort((a, b) => a - b)[starts.length >> 1]!;
  st.terminate = terms.sort((a, b) => a - b)[terms.length >> 1]!;
  const mem = await medianOf(3, () => memoryPerChild(n));
  const restart = await medianOf(3, () => restartAfterCrash(Math.round(20_000 * scale)));
  const starts10k: number[] = [];
  const stop10k = await medianOf(3, async () => {
    const r = await staticTree(10_000);
    starts10k.push(r.startPerChild);
    return r.stopMs;
  });
  const start10k = starts10k.sort((a, b) => a - b)[starts10k.length >> 1]!;
  return [
    {
      figure: "start one GenServer under a DynamicSupervisor",
      value: st.start,
      unit: "µs",
      target: "<= 2 µs",
      ok: st.start <= 2,
      reference: "6.7 µs",
    },
    {
      figure: "terminate one child of a DynamicSupervisor",
      value: st.terminate,
      unit: "µs",
      target: "<= 2 µs",
      ok: st.terminate <= 2,
      reference: "6.9 µs",
    },
    {
      figure: `memory per idle child (${n.toLocaleString("en-US")} children)`,
      value: mem,
      unit: "B",
      target: "<= 1,000 B",
      ok: mem <= 1000,
    },
    {
      figure: "restart after crash (one_for_one), crash to new pid visible",
      value: restart,
      unit: "µs",
      target: "<= 10 µs",
      ok: restart <= 10,
    },
    {
      figure: "Supervisor with 10k static children: start per child",
      value: start10k,
      unit: "µs",
      target: "<= 2 µs",
      ok: start10k <= 2,
    },
    {
      figure: "Supervisor with 10k static children: stop",
      value: stop10k,
      unit: "ms",
      target: "<= 15 ms",
      ok: stop10k <= 15,
    },
  ];
}

/** Entry point of `npm run bench` (`BENCH_SCALE` scales the child counts). */
export function run(): Promise<Row[]> {
  return supervisionBench(Number(process.env.BENCH_SCALE ?? "1"));
}

if (isMain(import.meta.url)) {
  const scale = Number(process.env.BENCH_SCALE ?? "1");
  printTable("Supervision", await supervisionBench(scale));
  process.exit(0);
}
