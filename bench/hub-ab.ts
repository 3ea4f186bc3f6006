/**
 * Compares the hub's start and stop of N children in two copies of the sources:
 * `node --expose-gc --import tsx bench/hub-ab.ts <treeA> <treeB> [runs] [n]` (each tree a folder
 * with a `src/`, e.g. a detached worktree of an older commit). Each run is a child process of one
 * tree (two copies of the cluster codec in one process would share msgpackr's extensions), in
 * alternating order (A B B A …) so that both trees meet the same load; it builds a 3-node hub over
 * the memory transport (the `bench/hub.ts` bed: trivial children), warms up with one start and
 * stop, then times one awaited start of `n` (10,000 by default) and one awaited stop of them all,
 * in wall time and in CPU time of the process (the whole hub runs in it). Prints each tree's
 * medians and B/A.
 */
import { execFileSync } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

type Any = any;

interface Lib {
  Node: new (o: { name: string; logger: unknown }) => Any;
  Cluster: Any;
  ProcessHub: Any;
  MemoryNetwork: new () => Any;
  clusterMembership: (c: unknown) => unknown;
  silentLogger: unknown;
  defineServer: Any;
  ok: Any;
  noreply: Any;
}

async function load(tree: string): Promise<Lib> {
  const src = (p: string) => pathToFileURL(join(resolve(tree), "src", p)).href;
  const root = await import(src("index.ts"));
  const testing = await import(src("testing.ts"));
  const membership = await import(src("hub/membership.ts"));
  return { ...root, ...testing, clusterMembership: membership.clusterMembership } as Lib;
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

let beds = 0;

/** One round on `lib`: a fresh 3-node hub, start `n`, stop them; wall and CPU ms of each. */
async function round(
  lib: Lib,
  n: number,
): Promise<{ start: number; stop: number; startCpu: number; stopCpu: number }> {
  const trivial = lib.defineServer()({
    name: "trivial",
    init: (x: number | null) => lib.ok(x ?? 0),
    handleInfo: (_m: unknown, s: unknown) => lib.noreply(s),
  });
  const network = new lib.MemoryNetwork();
  const name = `hubab${beds++}`;
  const hubs: Any[] = [];
  const clusters: Any[] = [];
  for (const node of ["a", "b", "c"]) {
    const nd = new lib.Node({ name: node, logger: lib.silentLogger });
    const cluster = await lib.Cluster.join({
      node: nd,
      cluster: name,
      transport: network.transport(nd),
      logger: lib.silentLogger,
    });
    clusters.push(cluster);
    hubs.push(
      lib.ProcessHub.start({
        hubId: "ab",
        node: nd,
        membership: lib.clusterMembership(cluster),
        behaviours: { trivial },
        clusterEventDebounceMs: 10,
        logger: lib.silentLogger,
      }),
    );
  }
  while (!hubs.every((h) => h.nodes().length === 2)) await new Promise((r) => setTimeout(r, 1));
  const specs = Array.from({ length: n }, (_, i) => ({ id: `k${i}`, behaviour: "trivial" }));
  (globalThis as { gc?: () => void }).gc?.();
  let c0 = cpuMs();
  let t0 = performance.now();
  const r = await hubs[0].startChildren(specs, { awaitable: true, timeoutMs: 120_000 }).await();
  const start = performance.now() - t0;
  const startCpu = cpuMs() - c0;
  if (r.status !== "ok" || r.started.length !== n) throw new Error(`start failed: ${r.status}`);
  (globalThis as { gc?: () => void }).gc?.();
  c0 = cpuMs();
  t0 = performance.now();
  const s = await hubs[0].stopChildren(r.cids(), { awaitable: true, timeoutMs: 120_000 }).await();
  const stop = performance.now() - t0;
  const stopCpu = cpuMs() - c0;
  if (s.status !== "ok" || s.stopped.length !== n) throw new Error(`stop failed: ${s.status}`);
  for (const h of hubs) await h.stop();
  for (const c of clusters) await c.leave().catch(() => {});
  return { start, stop, startCpu, stopCpu };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

type Figures = Awaited<ReturnType<typeof round>>;

/** A child process: one tree, a warm-up round, then one measured round, printed as JSON. */
async function one(tree: string, n: number): Promise<void> {
  const lib = await load(tree);
  await round(lib, n);
  console.log(JSON.stringify(await round(lib, n)));
}

function spawnRun(tree: string, n: number): Figures {
  const out = execFileSync(
    process.execPath,
    ["--expose-gc", "--import", "tsx", new URL(import.meta.url).pathname, "--one", tree, String(n)],
    { encoding: "utf8", maxBuffer: 1 << 20 },
  );
  return JSON.parse(out.trim().split("\n").at(-1)!) as Figures;
}

const args = process.argv.slice(2);
if (args[0] === "--one") {
  await one(args[1]!, Number(args[2]));
  process.exit(0);
}
const [treeA, treeB, runsArg, nArg] = args;
if (treeA === undefined || treeB === undefined) {
  console.error("usage: node --expose-gc --import tsx bench/hub-ab.ts <treeA> <treeB> [runs] [n]");
  process.exit(2);
}
const rounds = Number(runsArg ?? 6);
const n = Number(nArg ?? 10_000);
const trees = { A: treeA, B: treeB };
const runs: Record<"A" | "B", Figures[]> = { A: [], B: [] };
const before = loadavg()[0]!;
for (let i = 0; i < rounds; i++) {
  for (const k of i % 2 === 0 ? (["A", "B"] as const) : (["B", "A"] as const))
    runs[k].push(spawnRun(trees[k], n));
}
const fig = (k: "A" | "B", f: keyof Figures) => median(runs[k].map((r) => r[f]));
console.log(`\n### hub start/stop of ${n.toLocaleString("en-US")} on 3 memory nodes, A=${treeA} B=${treeB}`);
console.log(
  `${rounds} runs each, alternated; ${cpus().length} CPUs, load ${before.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}\n`,
);
console.log("| figure (median) | A | B | B/A |\n|---|---|---|---|");
for (const [label, f] of [
  ["start, wall", "start"],
  ["start, CPU", "startCpu"],
  ["stop, wall", "stop"],
  ["stop, CPU", "stopCpu"],
] as const) {
  const a = fig("A", f);
  const b = fig("B", f);
  console.log(`| ${label} | ${a.toFixed(0)} ms | ${b.toFixed(0)} ms | ${(b / a).toFixed(2)} |`);
}
for (const k of ["A", "B"] as const)
  console.log(
    `${k} per run, stop wall / CPU ms: ${runs[k].map((r) => `${r.stop.toFixed(0)}/${r.stopCpu.toFixed(0)}`).join(", ")}`,
  );
