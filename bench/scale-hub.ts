/**
 * The hub at scale over NATS (issue 21): N children (300k by default; `HV_SCALE_HUB=300000,1000000`)
 * started in one awaited call on 3 hub node processes (`examples/hub-node.ts`, default transport
 * settings) on a private `nats-server`, then stopped in one call. Figures: start and stop time
 * (timed in the calling node), time until every registry agrees, heap and RSS per child summed
 * over the nodes (after a full collection), the longest event-loop delay of any node during the
 * start and during the stop, heap and RSS per hub child on each node, the NATS disconnects and
 * the `nodedown` events the nodes reported (must be 0: nothing died). `HV_SCALE_FAILOVER=1`
 * SIGKILLs node c after the start instead of stopping, and times until a and b run every child.
 * A failed step prints the nodedowns, each node's transport counters, stalls, warnings and what
 * its hub waits for, and the server's log. `HV_SCALE_RECONNECT_AT=8000,12000` drops node c's NATS
 * connection at those ms into the start (a loss the hub must recover from). `npx tsx bench/scale-hub.ts` or `npm run bench --
 * scale-hub`; `HV_NODE_FLAGS` adds flags to the node processes (a CPU profile of each:
 * `--cpu-prof --cpu-prof-dir=/tmp/prof`).
 */
import { HubNodeProcess } from "../examples/hub-node-process.js";
import { type NatsServer, startNatsServer } from "../test/support/nats-server.js";
import { isMain, printTable, type Row } from "./common.js";

type Nodes = HubNodeProcess[];
/** How long the start and the stop wait for every answer (`HV_SCALE_CALL_MS`, default 300 s). */
const CALL_MS = Number(process.env.HV_SCALE_CALL_MS ?? 300_000);
// The nodes' warnings and errors (a failed send, a caller-side step that threw) for `diagnose`.
process.env.HUBVISOR_NODE_WARN ??= "1";
/** More flags for the node processes (`HV_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof"`). */
const flags = (process.env.HV_NODE_FLAGS ?? "").split(" ").filter((f) => f !== "");

/**
 * Above this many children the full audit (`converged`, and `placed`'s answer: every id on its
 * ring owner, counted on each node) is left out: at a million it holds each node's loop for
 * 20-55 s, which is the audit's cost, not the hub's. `placed` still checks every id registered once.
 */
const AUDIT_UP_TO = Number(process.env.HV_SCALE_AUDIT_UP_TO ?? 300_000);

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
  const audit = n <= AUDIT_UP_TO;
  const all = await Promise.all(nodes.map((p) => p.request("placed", { n, timeoutMs, audit })));
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

/** One node's `load` answer: longest loop delay since the last call, heap, RSS, local children. */
interface NodeLoad {
  node: string;
  maxLoopDelayMs: number;
  heapUsed: number;
  rss: number;
  local: number;
  transport: { disconnects: number };
  hub: { resentIds: number; wire: { out: Record<string, Record<string, { msgs: number }>> } };
}

/** Every node's `load`: the longest loop delay since the last call, heap and RSS summed, per node. */
async function load(nodes: Nodes): Promise<{ lagMs: number; heap: number; rss: number; each: NodeLoad[] }> {
  const all = (await Promise.all(nodes.map((p) => p.request("load")))) as unknown as Array<
    NodeLoad & { pid: number; stalls: unknown }
  >;
  if (process.env.HV_SCALE_STALLS === "1")
    for (const l of all) console.error(`${l.node} pid ${l.pid} stalls ${JSON.stringify(l.stalls)}`);
  return {
    lagMs: Math.max(...all.map((l) => l.maxLoopDelayMs)),
    heap: all.reduce((s, l) => s + l.heapUsed, 0),
    rss: all.reduce((s, l) => s + l.rss, 0),
    each: all,
  };
}

/**
 * Memory per child on each node: what the node's heap and RSS grew by, over the hub's children
 * (every node holds the registry of all of them and runs its own share, `local`).
 */
function perNode(label: string, base: NodeLoad[], full: NodeLoad[], n: number): Row[] {
  return full.flatMap((f, i) => {
    const local = f.local.toLocaleString("en-US");
    return [
      {
        figure: `${label}: node ${f.node} (${local} local): heap per hub child`,
        value: (f.heapUsed - base[i]!.heapUsed) / n,
        unit: "B",
      },
      {
        figure: `${label}: node ${f.node} (${local} local): RSS per hub child`,
        value: (f.rss - base[i]!.rss) / n,
        unit: "B",
      },
    ];
  });
}

/**
 * The NATS disconnects of the nodes so far (each loses the frames in flight to it) and the ids
 * a caller sent again to a node silent on them (the hub's recovery of such a loss).
 */
function wireRows(label: string, each: NodeLoad[]): Row[] {
  const disconnects = each.reduce((k, l) => k + l.transport.disconnects, 0);
  return [
    {
      figure: `${label}: NATS disconnects, all nodes`,
      value: disconnects,
      unit: "",
      target: "0",
      ok: disconnects === 0,
    },
    {
      figure: `${label}: ids sent again to a silent node`,
      value: each.reduce((k, l) => k + l.hub.resentIds, 0),
      unit: "",
    },
    {
      // Whole registry slices asked for (a replica behind): each is up to 25 MB at 1M.
      figure: `${label}: slice messages sent, all nodes`,
      value: each.reduce(
        (k, l) => k + Object.values(l.hub.wire.out.slice ?? {}).reduce((m, c) => m + c.msgs, 0),
        0,
      ),
      unit: "",
    },
  ];
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
    console.error(
      `${l.node} hub ${JSON.stringify(l.hub)} cluster ${JSON.stringify(l.cluster)} transport ${JSON.stringify(l.transport)} stalls ${JSON.stringify(l.stalls)}`,
    );
  for (const p of nodes) if (p.stderrTail !== "") console.error(`${p.name} stderr:\n${p.stderrTail}`);
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
    // HV_SCALE_RECONNECT_AT=8000,12000: node c's NATS connection drops and reconnects at these
    // ms after the start call (the frames in flight to it are lost; the caller must send again).
    const drops = (process.env.HV_SCALE_RECONNECT_AT ?? "")
      .split(",")
      .filter((x) => x !== "")
      .map((ms) => setTimeout(() => void nodes[2]!.request("reconnect"), Number(ms)));
    const r = await nodes[0]!.request("start", { n, prefix: "k", timeoutMs: CALL_MS });
    for (const d of drops) clearTimeout(d);
    if (r.status !== "ok" || r.started !== n)
      throw new Error(`start failed: ${JSON.stringify(r)}; nodedown events: ${downs(nodes)}`);
    await placed(nodes, n, 600_000);
    const agreed = performance.now() - t0;
    const full = await load(nodes);
    if (n <= AUDIT_UP_TO && !(await converged(nodes, n)))
      throw new Error("registries hold duplicates or misplaced children");
    rows.push(
      { figure: `start ${label} children, one awaited call`, value: r.ms as number, unit: "ms" },
      { figure: `start ${label}: until every registry agrees`, value: agreed, unit: "ms" },
      { figure: `${label}: heap per child (3 nodes summed)`, value: (full.heap - base.heap) / n, unit: "B" },
      { figure: `${label}: RSS per child (3 nodes summed)`, value: (full.rss - base.rss) / n, unit: "B" },
      ...perNode(label, base.each, full.each, n),
      { figure: `${label}: longest event-loop delay, start`, value: full.lagMs, unit: "ms" },
      ...wireRows(`${label}, start`, full.each),
    );
    if (process.env.HV_SCALE_FAILOVER === "1") await failover(nodes, n, label, full.each, rows);
    else await stop(nodes, n, label, rows);
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

async function stop(nodes: Nodes, n: number, label: string, rows: Row[]): Promise<void> {
  const s = await nodes[0]!.request("stop", { n, prefix: "k", timeoutMs: CALL_MS });
  if (s.status !== "ok" || s.stopped !== n)
    throw new Error(`stop failed: ${JSON.stringify(s)}; nodedown events: ${downs(nodes)}`);
  await placed(nodes, 0, 600_000);
  const after = await load(nodes);
  rows.push(
    { figure: `stop ${label} children, one awaited call`, value: s.ms as number, unit: "ms" },
    { figure: `${label}: longest event-loop delay, stop`, value: after.lagMs, unit: "ms" },
    ...wireRows(`${label}, start and stop`, after.each),
    {
      figure: `${label}: nodedown events (nothing died)`,
      value: downs(nodes),
      unit: "",
      target: "0",
      ok: downs(nodes) === 0,
    },
  );
}

/**
 * `HV_SCALE_FAILOVER=1`: SIGKILLs node c (a third of the children) and times, on the wall clock
 * of this machine, until both survivors' registries hold every child once and none on c.
 */
async function failover(
  nodes: Nodes,
  n: number,
  label: string,
  loads: NodeLoad[],
  rows: Row[],
): Promise<void> {
  const [a, b, c] = nodes as [HubNodeProcess, HubNodeProcess, HubNodeProcess];
  const lost = loads.find((l) => l.node === c.name)?.local ?? 0;
  const t0 = performance.timeOrigin + performance.now();
  await c.kill("SIGKILL");
  const done = await Promise.all(
    [a, b].map((p) =>
      p.request("placed", { n, exclude: c.name, timeoutMs: 600_000, audit: n <= AUDIT_UP_TO }),
    ),
  );
  const late = done.find((d) => d.timeout === true);
  if (late !== undefined) throw new Error(`failover not complete in time: ${JSON.stringify(late)}`);
  const ms = Math.max(...done.map((d) => d.at as number)) - t0;
  const after = await load([a, b]);
  const others = [a, b].reduce(
    (k, p) => k + p.events.filter((e) => e.ev === "nodedown" && e.node !== c.name).length,
    0,
  );
  rows.push(
    {
      figure: `failover: SIGKILL of c (${lost.toLocaleString("en-US")} children) until a and b run all ${label}`,
      value: ms,
      unit: "ms",
    },
    { figure: `${label}: longest event-loop delay, failover`, value: after.lagMs, unit: "ms" },
    ...wireRows(`${label}, start and failover (a, b)`, after.each),
    {
      figure: "failover: nodedown events other than c's",
      value: others,
      unit: "",
      target: "0",
      ok: others === 0,
    },
  );
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
