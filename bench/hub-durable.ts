/**
 * Durable hub benchmarks over NATS JetStream, every hub node a separate OS process
 * (`examples/hub-node.ts`) on a private `nats-server -js` on a free loopback port:
 * - start and stop 10k children in one awaited call on 3 nodes, durable against not durable
 *   (goal: durable at most 2x; medians of 8 runs each, in halves plain, durable, durable, plain,
 *   each half a bed of 3 processes warmed up and alone), and durable with fencing (medians of 5);
 *   the lease traffic of fencing (by design: per node, nothing per child);
 * - full-cluster restart: 10k and 100k declared children, every node SIGKILLed, 3 new processes
 *   started: ms from their spawn (and from all of them joined) until every child runs exactly
 *   once on its owner;
 * - 1,000 calls of one child each, at once (entity-like activations), durable and not, and the log
 *   entries the durable ones took (small concurrent calls share entries);
 * - raw declaration writes per second to the KV bucket (64 in flight), the cost under a start;
 * - checkpoint throughput: 1,000 checkpointed children (`tally`, debounce 50 ms) visited
 *   continuously from one node for 5 s: checkpoints stored per second on the 3 nodes.
 * `npm run bench -- hub-durable`. For experiments: `HUB_DURABLE_KINDS` (beds measured, e.g.
 * `plain,durable`), `HUB_DURABLE_CHECKPOINTS=0`, `HUB_DURABLE_RESTART=0`, `HUB_DURABLE_SEPARATE=0`
 * skip parts; `HUB_DURABLE_FOLD_MS` and `HUB_DURABLE_RECONCILE_MS` set the durable beds'
 * `foldDelayMs` (default 5000) and `reconcileIntervalMs` (250 here).
 */
import { connect } from "@nats-io/transport-node";
import { HubNodeProcess } from "../examples/hub-node-process.js";
import { DEFAULT_FENCING } from "../src/hub/durable/fencing-options.js";
import { JetStreamDurableStore } from "../src/hub/durable/kv-store.js";
import { startNatsServer } from "../test/support/nats-server.js";
import { isMain, median, printTable, type Row } from "./common.js";

interface Bed {
  url: string;
  cluster: string;
  durable: boolean;
  /** A durable hub with fencing (`durability.fencing: true`, the default timings). */
  fenced?: boolean;
  nodes: HubNodeProcess[];
}

let beds = 0;

async function until(cond: () => Promise<boolean>, timeoutMs = 300_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("benchmark condition not reached in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function converged(b: Bed, n: number): Promise<boolean> {
  const views = await Promise.all(b.nodes.map((p) => p.request("status")));
  let local = 0;
  for (const v of views) {
    if (
      (v.members as string[]).length !== b.nodes.length ||
      v.size !== n ||
      v.dupes !== 0 ||
      v.misplaced !== 0
    )
      return false;
    local += v.local as number;
  }
  return local === n;
}

function spawn(b: Bed, prefix: string): Promise<unknown> {
  b.nodes = ["a", "b", "c"].map(
    (node) =>
      new HubNodeProcess({
        nats: b.url,
        node,
        cluster: b.cluster,
        hubId: "bench",
        ...(b.durable
          ? {
              durable: {
                bucketPrefix: prefix,
                reconcileIntervalMs: Number(process.env.HUB_DURABLE_RECONCILE_MS ?? 250),
                settleMs: 500,
                fencing: b.fenced === true,
                ...(process.env.HUB_DURABLE_FOLD_MS
                  ? { foldDelayMs: Number(process.env.HUB_DURABLE_FOLD_MS) }
                  : {}),
              },
            }
          : {}),
      }),
  );
  return Promise.all(b.nodes.map((p) => p.ready));
}

async function bed(url: string, durable: boolean, fenced = false): Promise<Bed> {
  const b: Bed = { url, cluster: `durbench${process.pid}x${beds}`, durable, fenced, nodes: [] };
  await spawn(b, `bench${process.pid}x${beds++}_`);
  await until(() => converged(b, 0));
  return b;
}

async function close(b: Bed): Promise<void> {
  await Promise.all(b.nodes.map((p) => p.kill()));
}

async function startStop(b: Bed, n: number, prefix: string): Promise<{ start: number; stop: number }> {
  const a = b.nodes[0]!;
  const r = await a.request("start", { n, prefix });
  if (r.status !== "ok" || r.started !== n) throw new Error(`start failed: ${JSON.stringify(r)}`);
  const s = await a.request("stop", { n, prefix });
  if (s.status !== "ok" || s.stopped !== n) throw new Error(`stop failed: ${JSON.stringify(s)}`);
  await until(() => converged(b, 0));
  return { start: r.ms as number, stop: s.ms as number };
}

/**
 * `n` children started in `n` calls of one child each, all at once (as entity activations
 * arrive), then stopped in one call: ms for the starts, and the log entries they took.
 */
async function separateStarts(
  url: string,
  durable: boolean,
  n: number,
): Promise<{ ms: number; entries: number }> {
  const b = await bed(url, durable);
  try {
    const a = b.nodes[0]!;
    await startStop(b, 1000, "w");
    const before = durable ? ((await a.request("durable")).logEntries as number) : 0;
    const r = await a.request("start", { n, prefix: "s", separate: true });
    if (r.status !== "ok" || r.started !== n) throw new Error(`start failed: ${JSON.stringify(r)}`);
    const after = durable ? ((await a.request("durable")).logEntries as number) : 0;
    const s = await a.request("stop", { n, prefix: "s" });
    if (s.status !== "ok") throw new Error(`stop failed: ${JSON.stringify(s)}`);
    return { ms: r.ms as number, entries: after - before };
  } finally {
    await close(b);
  }
}

/** Full-cluster restart with `n` declared children; the bucket keeps its name across both beds. */
async function fullRestart(url: string, n: number): Promise<{ fromSpawn: number; fromJoined: number }> {
  const cluster = `durbench${process.pid}x${beds++}`;
  const prefix = `bench${process.pid}r${n}_`;
  const b: Bed = { url, cluster, durable: true, nodes: [] };
  await spawn(b, prefix);
  await until(() => converged(b, 0));
  const r = await b.nodes[0]!.request("start", { n, prefix: "r" });
  if (r.status !== "ok" || r.started !== n) throw new Error(`start failed: ${JSON.stringify(r)}`);
  await until(() => converged(b, n));
  await Promise.all(b.nodes.map((p) => p.kill("SIGKILL")));
  const t0 = performance.now();
  await spawn(b, prefix);
  const joined = performance.now();
  await until(() => converged(b, n));
  const done = performance.now();
  await close(b);
  return { fromSpawn: done - t0, fromJoined: done - joined };
}

/** Checkpoints stored per second (all nodes) while `n` tallies are visited for `ms` from node a. */
async function checkpointThroughput(url: string, n: number, ms: number): Promise<Row[]> {
  const b = await bed(url, true);
  try {
    const a = b.nodes[0]!;
    const r = await a.request("start", { n, prefix: "t", behaviour: "tally" });
    if (r.status !== "ok") throw new Error(`start failed: ${JSON.stringify(r)}`);
    const written = async () => {
      const stats = await Promise.all(b.nodes.map((p) => p.request("durable")));
      let count = 0;
      let bytes = 0;
      for (const s of stats) {
        const c = s.checkpoints as { written: number; bytes: number } | null;
        count += c?.written ?? 0;
        bytes += c?.bytes ?? 0;
      }
      return { count, bytes };
    };
    const before = await written();
    const t0 = performance.now();
    const v = await a.request("visits", { prefix: "t", n, ms });
    // The last debounced writes land within the debounce after the visits end.
    await new Promise((res) => setTimeout(res, 200));
    const after = await written();
    const seconds = (performance.now() - t0) / 1000;
    const label = n.toLocaleString("en-US");
    return [
      {
        figure: `checkpoints stored, ${label} tallies visited (debounce 50 ms), 3 nodes`,
        value: (after.count - before.count) / seconds,
        unit: "/s",
      },
      {
        figure: "checkpoint visits (calls through references) meanwhile",
        value: (v.calls as number) / seconds,
        unit: "/s",
      },
      {
        figure: "checkpoint size, mean",
        value: (after.bytes - before.bytes) / Math.max(1, after.count - before.count),
        unit: "B",
      },
    ];
  } finally {
    await close(b);
  }
}

/** Declaration-sized writes (create) per second to one KV bucket, 64 in flight. */
async function kvWrites(url: string, n: number): Promise<number> {
  const nc = await connect({ servers: url });
  try {
    const bucket = await new JetStreamDurableStore({ connection: nc }).open(`kvbench${process.pid}`);
    const value = new Uint8Array(120);
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < n) await bucket.create(`d.k${next++}`, value);
      }),
    );
    return (n * 1000) / (performance.now() - t0);
  } finally {
    await nc.close();
  }
}

export async function run(): Promise<Row[]> {
  const server = await startNatsServer("hub-durable-bench", { jetStream: true });
  const rows: Row[] = [];
  // Each figure as soon as it is known: a run cut short on a loaded machine keeps what it measured.
  const push = rows.push.bind(rows);
  rows.push = (...r: Row[]) => {
    for (const x of r) process.stderr.write(`hub-durable: ${x.figure}: ${x.value.toFixed(2)} ${x.unit}\n`);
    return push(...r);
  };
  try {
    rows.push({
      figure: "KV: declaration writes (create, 64 in flight)",
      value: await kvWrites(server.url, 10_000),
      unit: "/s",
    });
    type Kind = "plain" | "durable" | "fenced";
    const runs: Record<Kind, Array<{ start: number; stop: number }>> = { plain: [], durable: [], fenced: [] };
    // HUB_DURABLE_KINDS=fenced (say) measures only some beds (none: empty); HUB_DURABLE_RESTART=0 skips the restarts.
    const kinds = (process.env.HUB_DURABLE_KINDS ?? "plain,durable,fenced")
      .split(",")
      .filter(Boolean) as Kind[];
    // A bed per kind, warmed up (its processes' code compiled by a start and stop of 1,000 and
    // of 10,000 first: a fresh process runs its first 10,000 at half speed, durable or not).
    const warmed = async (kind: Kind) => {
      const b = await bed(server.url, kind !== "plain", kind === "fenced");
      await startStop(b, 1000, "w");
      await startStop(b, 10_000, "warm-");
      return b;
    };
    // One bed at a time (an idle bed beside a measured one slowed it: its heartbeats and, durable,
    // its reconcile rounds). The two kinds of the ratio in halves, plain, durable, durable, plain,
    // each half a fresh warmed bed: the machine's load drifts over a run of the benchmark, and a
    // ratio of two medians measured a minute apart took that drift for a difference.
    const paired = kinds.includes("plain") && kinds.includes("durable");
    const order: Kind[] = paired ? ["plain", "durable", "durable", "plain"] : [];
    for (const kind of kinds) if (!paired || kind === "fenced") order.push(kind);
    const perBed = (kind: Kind) => (paired && kind !== "fenced" ? 4 : 5);
    for (const kind of order) {
      const b = await warmed(kind);
      const n = perBed(kind);
      for (let i = 0; i < n; i++) runs[kind].push(await startStop(b, 10_000, `${kind}${runs[kind].length}-`));
      await close(b);
    }
    const m = (k: Kind, f: "start" | "stop") => median(runs[k].map((r) => r[f]));
    for (const f of ["start", "stop"] as const) {
      if (runs.plain.length > 0)
        rows.push({ figure: `NATS, 3 nodes: ${f} 10,000, not durable`, value: m("plain", f), unit: "ms" });
      if (runs.durable.length > 0)
        rows.push({ figure: `NATS, 3 nodes: ${f} 10,000, durable`, value: m("durable", f), unit: "ms" });
      if (runs.fenced.length > 0)
        rows.push({
          figure: `NATS, 3 nodes: ${f} 10,000, durable and fenced`,
          value: m("fenced", f),
          unit: "ms",
        });
      if (runs.plain.length === 0 || runs.durable.length === 0) continue;
      const ratio = m("durable", f) / m("plain", f);
      rows.push({
        figure: `durable / not durable, ${f} 10,000`,
        value: ratio,
        unit: "x",
        target: "<= 2x",
        ok: ratio <= 2,
      });
    }
    // HUB_DURABLE_SEPARATE=0 skips the starts of one child per call.
    if (process.env.HUB_DURABLE_SEPARATE !== "0" && kinds.includes("plain") && kinds.includes("durable")) {
      const plain = await separateStarts(server.url, false, 1000);
      const durable = await separateStarts(server.url, true, 1000);
      rows.push({
        figure: "NATS, 3 nodes: 1,000 calls of one child at once, not durable",
        value: plain.ms,
        unit: "ms",
      });
      rows.push({
        figure: "NATS, 3 nodes: 1,000 calls of one child at once, durable",
        value: durable.ms,
        unit: "ms",
      });
      rows.push({ figure: "log entries those 1,000 durable calls took", value: durable.entries, unit: "" });
    }
    // Lease traffic is by design, not measured: one renewal per node every renewIntervalMs
    // (leaseMs / 3, leaseMs 30 s by default), nothing per child; claims are written at placements.
    const renewalsPerNodeMinute = 60_000 / (DEFAULT_FENCING.leaseMs / 3);
    rows.push({
      figure: "fencing: lease writes per node per minute (defaults)",
      value: renewalsPerNodeMinute,
      unit: "/min",
    });
    rows.push({
      figure: "fencing: lease writes per child per minute, 10,000 children on 3 nodes",
      value: (3 * renewalsPerNodeMinute) / 10_000,
      unit: "/min",
    });
    // HUB_DURABLE_CHECKPOINTS=0 skips the checkpoint throughput.
    if (process.env.HUB_DURABLE_CHECKPOINTS !== "0")
      rows.push(...(await checkpointThroughput(server.url, 1000, 5000)));
    if (process.env.HUB_DURABLE_RESTART === "0") return rows;
    for (const n of [10_000, 100_000]) {
      const r = await fullRestart(server.url, n);
      const label = n.toLocaleString("en-US");
      rows.push({
        figure: `full-cluster restart, ${label} declared: spawn -> all running once`,
        value: r.fromSpawn,
        unit: "ms",
      });
      rows.push({
        figure: `full-cluster restart, ${label} declared: joined -> all running once`,
        value: r.fromJoined,
        unit: "ms",
      });
    }
  } finally {
    await server.stop();
  }
  return rows;
}

if (isMain(import.meta.url)) {
  printTable("hub-durable (NATS JetStream, 3 OS processes)", await run());
  process.exit(0);
}
