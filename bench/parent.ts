/**
 * Parent benchmarks: starting 100k children one at a time under a `ParentSupervisor` and under a
 * `DynamicSupervisor` in the same run (µs per start, heap bytes per child), and a child lookup
 * from another process through the registry table (awaited `ParentClient`, sync `ParentRegistry`)
 * vs through a call into the parent.
 * `npx tsx --expose-gc bench/parent.ts` prints the table; `parentBench()` returns the rows.
 */
import { silentLogger } from "../src/logger.js";
import { Node, type Pid, setDefaultNode } from "../src/process/index.js";
import { defineServer, GenServer, ok, reply } from "../src/server/index.js";
import { childSpec } from "../src/supervision/child-spec.js";
import { DynamicSupervisor } from "../src/supervision/dynamic-supervisor.js";
import {
  ParentClient,
  ParentRegistry,
  ParentSupervisor,
  parentChildSpec,
} from "../src/supervision/parent/index.js";
import { heapUsed, isMain, median, printTable, type Row } from "./common.js";

interface PingProtocol {
  calls: { ping(): string };
}
const Pinger = defineServer<PingProtocol>()({
  name: "Pinger",
  init: (arg: number) => ok(arg),
  handleCall: { ping: (_a, s) => reply("pong", s) },
});

const now = (): number => Number(process.hrtime.bigint()) / 1000;

function freshNode(): Node {
  const node = new Node({ name: "bench", logger: silentLogger });
  setDefaultNode(node);
  return node;
}

type Kind = "parent" | "dynamic";

async function startSup(kind: Kind, registry = false): Promise<Pid> {
  freshNode();
  const r =
    kind === "parent" ? await ParentSupervisor.start([], { registry }) : await DynamicSupervisor.start();
  if (!r.ok) throw new Error("start");
  return r.pid;
}

const dynamicSpec = childSpec(Pinger, 0);
/** An anonymous ephemeral child: the Parent way of writing a dynamic child. */
const parentSpec = parentChildSpec(Pinger, 0, { id: undefined, ephemeral: true });

function startChild(kind: Kind, sup: Pid): Promise<unknown> {
  return kind === "parent"
    ? ParentClient.startChild(sup, parentSpec)
    : DynamicSupervisor.startChild(sup, dynamicSpec);
}

async function stopSup(sup: Pid): Promise<void> {
  await GenServer.stop(sup, "shutdown");
}

/** µs per child start, `n` children started one at a time from outside any process. */
async function startPerChild(kind: Kind, n: number): Promise<number> {
  const sup = await startSup(kind);
  const t0 = now();
  for (let i = 0; i < n; i++) await startChild(kind, sup);
  const us = (now() - t0) / n;
  await stopSup(sup);
  return us;
}

/** Heap bytes per child (the child process included) with `n` children. */
async function memoryPerChild(kind: Kind, n: number): Promise<number> {
  const sup = await startSup(kind);
  const before = heapUsed();
  for (let i = 0; i < n; i++) await startChild(kind, sup);
  const after = heapUsed();
  await stopSup(sup);
  return (after - before) / n;
}

type LookupPath = "call" | "client" | "sync";

/** A parent with 1000 named children, with or without the registry. */
async function lookupParent(registry: boolean): Promise<{ sup: Pid; ids: string[] }> {
  const sup = await startSup("parent", registry);
  const ids: string[] = [];
  for (let i = 0; i < 1000; i++) {
    ids.push(`child-${i}`);
    await ParentClient.startChild(sup, parentChildSpec(Pinger, i, { id: `child-${i}`, ephemeral: true }));
  }
  return { sup, ids };
}

/**
 * ns per child-pid lookup from outside the parent: `call` is `ParentClient.childPid` into a parent
 * without the registry, `client` the same function on a parent with it (table read, still a
 * promise), `sync` `ParentRegistry.childPid` (table read, no promise).
 */
async function lookup(path: LookupPath, rounds: number): Promise<number> {
  const { sup, ids } = await lookupParent(path !== "call");
  const t0 = now();
  if (path === "sync") {
    for (let i = 0; i < rounds; i++)
      if (!ParentRegistry.childPid(sup, ids[i % 1000]!).ok) throw new Error("lookup");
  } else {
    for (let i = 0; i < rounds; i++)
      if (!(await ParentClient.childPid(sup, ids[i % 1000]!)).ok) throw new Error("lookup");
  }
  const ns = ((now() - t0) * 1000) / rounds;
  await stopSup(sup);
  return ns;
}

/** Medians of interleaved runs, so that a busy machine skews all paths alike. */
async function lookups(rounds: number, runs: number): Promise<Record<LookupPath, number>> {
  const xs: Record<LookupPath, number[]> = { call: [], client: [], sync: [] };
  await lookup("call", rounds / 10);
  for (let i = 0; i < runs; i++)
    for (const p of ["call", "client", "sync"] as const) xs[p].push(await lookup(p, rounds));
  return { call: median(xs.call), client: median(xs.client), sync: median(xs.sync) };
}

/** The Parent figures, with the DynamicSupervisor measured in the same run. `scale` < 1 shrinks them. */
export async function parentBench(scale = 1): Promise<Row[]> {
  const n = Math.max(1000, Math.round(100_000 * scale));
  const runs = scale >= 1 ? 3 : 1;
  // Interleaved pairs, so that a busy machine weighs on both supervisors alike.
  const starts = { dynamic: [] as number[], parent: [] as number[] };
  const mems = { dynamic: [] as number[], parent: [] as number[] };
  await startPerChild("dynamic", Math.min(n, 10_000));
  await startPerChild("parent", Math.min(n, 10_000));
  for (let i = 0; i < runs; i++) {
    for (const kind of ["dynamic", "parent"] as const) starts[kind].push(await startPerChild(kind, n));
  }
  for (let i = 0; i < runs; i++) {
    for (const kind of ["dynamic", "parent"] as const) mems[kind].push(await memoryPerChild(kind, n));
  }
  const dynStart = median(starts.dynamic);
  const parStart = median(starts.parent);
  const dynMem = median(mems.dynamic);
  const parMem = median(mems.parent);
  const rounds = Math.max(10_000, Math.round(200_000 * scale));
  const lk = await lookups(rounds, runs === 1 ? 3 : 5);
  const startRatio = parStart / dynStart;
  const memRatio = parMem / dynMem;
  const speedup = lk.call / lk.client;
  return [
    {
      figure: `DynamicSupervisor start child (${n.toLocaleString("en-US")} children)`,
      value: dynStart,
      unit: "µs",
    },
    {
      figure: `ParentSupervisor start child (${n.toLocaleString("en-US")} children)`,
      value: parStart,
      unit: "µs",
    },
    {
      figure: "ParentSupervisor / DynamicSupervisor start child",
      value: startRatio,
      unit: "x",
      target: "<= 1.25x",
      ok: startRatio <= 1.25,
      reference: "Parent docs: ~3x",
    },
    { figure: "DynamicSupervisor memory per child", value: dynMem, unit: "B" },
    { figure: "ParentSupervisor memory per child", value: parMem, unit: "B" },
    {
      figure: "ParentSupervisor / DynamicSupervisor memory per child",
      value: memRatio,
      unit: "x",
      target: "<= 1.25x",
      ok: memRatio <= 1.25,
      reference: "Parent docs: ~2x",
    },
    { figure: "ParentClient.childPid, call into the parent", value: lk.call, unit: "ns" },
    { figure: "ParentClient.childPid, registry table (awaited)", value: lk.client, unit: "ns" },
    { figure: "ParentRegistry.childPid, registry table (sync)", value: lk.sync, unit: "ns" },
    {
      figure: "registry lookup speed-up over a call (ParentClient)",
      value: speedup,
      unit: "x",
      target: ">= 5x",
      ok: speedup >= 5,
    },
    {
      figure: "registry lookup speed-up over a call (ParentRegistry)",
      value: lk.call / lk.sync,
      unit: "x",
      target: ">= 5x",
      ok: lk.call / lk.sync >= 5,
    },
  ];
}

/** Entry point of `npm run bench` (bench/run.ts). */
export function run(): Promise<Row[]> {
  return parentBench(Number(process.env.BENCH_SCALE ?? 1));
}

if (isMain(import.meta.url)) printTable("parent", await parentBench(Number(process.env.BENCH_SCALE ?? 1)));
