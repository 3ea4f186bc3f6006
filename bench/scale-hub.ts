/**
 * The hub at scale over NATS (issue 21): N children (300k by default; `HV_SCALE_HUB=300000,1000000`)
 * started in one awaited call on 3 hub node processes (`examples/hub-node.ts`, default transport
 * settings) on a private `nats-server`, then stopped in one call. Figures: start and stop time
 * (timed in the calling node), time until every registry agrees, heap and RSS per child summed
 * over the nodes (after a full collection), the longest event-loop delay of any node during the
 * start and during the stop, and the `nodedown` events the nodes reported (must be 0: nothing
 * died). `npx tsx bench/scale-hub.ts` or `npm run bench -- scale-hub`; `HV_NODE_FLAGS` adds flags
 * to the node processes (a CPU profile of each: `--cpu-prof --cpu-prof-dir=/tmp/prof`).
 */
import { HubNodeProcess } from "../examples/hub-node-process.js";
import { type NatsServer, startNatsServer } from "../test/support/nats-server.js";
import { isMain, printTable, type Row } from "./common.js";

type Nodes = HubNodeProcess[];
/** More flags for the node processes (`HV_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof"`). */
const flags = (process.env.HV_NODE_FLAGS ?? "").split(" ").filter((f) => f !== "");

async function until(cond: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("benchmark condition not reached in time");
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Waits (bounded) until every node's registry holds `n` children, each once: counted from the
 * registry hooks (`placed`), since a full audit of 300k entries would itself stall the nodes.
 */
async function placed(nodes: Nodes, n: number, timeoutMs: number): Promise<void> {
  const all = await Promise.all(nodes.map((p) => p.request("placed", { n, timeoutMs })));
  const late = all.find((r) => r.timeout === true);
  if (late !== undefined) throw new Error(`registry not complete in time: ${JSON.stringify(late)}`);
}

async function converged(nodes: Nodes, n: number): Promise<boolean> {
  const names = nodes
    .map((p) => p.name)
    .sort()
    .join();
  const views = await Promise.all(nodes.map((p) => p.request("status")));
  let local = 0;
  for (const v of views) {
    if ((v.members as string[]).join() !== names || v.size !== n || v.dupes !== 0 || v.misplaced !== 0)
      return false;
    local += v.local as number;
  }
  return local === n;
}

/** Every node's `load`: the longest loop delay since the last call, heap and RSS summed. */
async function load(nodes: Nodes): Promise<{ lagMs: number; heap: number; rss: number }> {
  const all = await Promise.all(nodes.map((p) => p.request("load")));
  if (process.env.HV_SCALE_STALLS === "1")
    for (const l of all) console.error(`${l.node} pid ${l.pid} stalls ${JSON.stringify(l.stalls)}`);
  return {
    lagMs: Math.max(...all.map((l) => l.maxLoopDelayMs as number)),
    heap: all.reduce((s, l) => s + (l.heapUsed as number), 0),
    rss: all.reduce((s, l) => s + (l.rss as number), 0),
  };
}

const downs = (nodes: Nodes) =>
  nodes.reduce((s, p) => s + p.events.filter((e) => e.ev === "nodedown").length, 0);

/**
 * What a failed step leaves to read: every nodedown event (who, whom, why, when), each node's
 * transport counters (disconnects, stalls, busy stretches) and the server's last log lines
 * (slow consumers, stale connections).
 */
async function diagnose(nodes: Nodes, server: NatsServer): Promise<void> {
  for (const p of nodes)
    for (const e of p.events) if (e.ev === "nodedown") console.error(`nodedown ${JSON.stringify(e)}`);
  const stats = await Promise.race([
    Promise.all(nodes.map((p) => p.request("load"))),
    new Promise<null>((r) => setTimeout(() => r(null), 60_000)),
  ]);
  for (const l of stats ?? [])
    console.error(`${l.node} transport ${JSON.stringify(l.transport)} stalls ${JSON.stringify(l.stalls)}`);
  console.error(`nats-server log:\n${server.recentLog()}`);
}

async function scale(server: NatsServer, n: number, rows: Row[]): Promise<void> {
  const url = server.url;
  const cluster = `scalehub${process.pid}n${n}`;
  const nodes = ["a", "b", "c"].map(
    (node) => new HubNodeProcess({ nats: url, node, cluster, hubId: "scale" }, ["--expose-gc", ...flags]),
  );
  try {
    await Promise.all(nodes.map((p) => p.ready));
    await until(() => converged(nodes, 0), 60_000);
    const base = await load(nodes);
    const label = n.toLocaleString("en-US");
    const t0 = performance.now();
    const r = await nodes[0]!.request("start", { n, prefix: "k", timeoutMs: 900_000 });
    if (r.status !== "ok" || r.started !== n)
      throw new Error(`start failed: ${JSON.stringify(r)}; nodedown events: ${downs(nodes)}`);
    await placed(nodes, n, 600_000);
    const agreed = performance.now() - t0;
    const full = await load(nodes);
    if (!(await converged(nodes, n))) throw new Error("registries hold duplicates or misplaced children");
    const s = await nodes[0]!.request("stop", { n, prefix: "k", timeoutMs: 900_000 });
    if (s.status !== "ok" || s.stopped !== n)
      throw new Error(`stop failed: ${JSON.stringify(s)}; nodedown events: ${downs(nodes)}`);
    await placed(nodes, 0, 600_000);
    const after = await load(nodes);
    rows.push(
      { figure: `start ${label} children, one awaited call`, value: r.ms as number, unit: "ms" },
      { figure: `start ${label}: until every registry agrees`, value: agreed, unit: "ms" },
      { figure: `stop ${label} children, one awaited call`, value: s.ms as number, unit: "ms" },
      { figure: `${label}: heap per child (3 nodes summed)`, value: (full.heap - base.heap) / n, unit: "B" },
      { figure: `${label}: RSS per child (3 nodes summed)`, value: (full.rss - base.rss) / n, unit: "B" },
      { figure: `${label}: longest event-loop delay, start`, value: full.lagMs, unit: "ms" },
      { figure: `${label}: longest event-loop delay, stop`, value: after.lagMs, unit: "ms" },
      {
        figure: `${label}: nodedown events (nothing died)`,
        value: downs(nodes),
        unit: "",
        target: "0",
        ok: downs(nodes) === 0,
      },
    );
  } catch (e) {
    await diagnose(nodes, server);
    throw e;
  } finally {
    // Leave gracefully first: a node killed outright writes no CPU profile.
    await Promise.race([
      Promise.all(nodes.map((p) => p.request("exit").then(() => p.exited))),
      new Promise((r) => setTimeout(r, 10_000)),
    ]);
    await Promise.all(nodes.map((p) => p.kill()));
  }
}

export async function run(): Promise<Row[]> {
  const sizes = (process.env.HV_SCALE_HUB ?? "300000").split(",").map(Number);
  const server = await startNatsServer("scale-hub");
  const rows: Row[] = [];
  try {
    for (const n of sizes) await scale(server, n, rows);
  } finally {
    await server.stop();
  }
  return rows;
}

if (isMain(import.meta.url)) printTable("Hub at scale over NATS (3 node processes)", await run());
