/**
 * Reaching hub children by id (`hub.ref`), against calling their pid with `GenServer.call`:
 * the same call (`peek`, a reply from the state) to a child on the caller's node and to one on
 * another node, over the memory transport and over NATS (nodes in this process, one
 * `nats-server`), timed in alternating rounds of sequential calls (medians of the rounds, ns per
 * call; CPU time on the same node, wall time across nodes); and activation on first call (child absent → answered, `ref` with `activate`): p50 and
 * p99 over 200 fresh ids per transport. Targets: same node within 1.3×, another node within
 * 1.2× of the pid call.
 */
import { Cluster } from "../src/cluster/index.js";
import { clusterMembership } from "../src/hub/membership.js";
import { ProcessHub } from "../src/hub/process-hub.js";
import { silentLogger } from "../src/logger.js";
import { Node } from "../src/process/node.js";
import type { Pid } from "../src/process/pid.js";
import { GenServer } from "../src/server/index.js";
import { MemoryNetwork } from "../src/transports/memory/index.js";
import { NatsTransport } from "../src/transports/nats/index.js";
import { HUB_NATS_TIMINGS } from "../test/hub/nats-cluster.js";
import { room } from "../test/hub/entities/room.js";
import { startNatsServer, stopAllNatsServers } from "../test/support/nats-server.js";
import { isMain, median, printTable, type Row } from "./common.js";

type Transport = (node: Node) => Promise<Cluster>;

async function hubs(names: string[], transport: Transport): Promise<ProcessHub[]> {
  const out: ProcessHub[] = [];
  for (const name of names) {
    const node = new Node({ name, logger: silentLogger });
    const cluster = await transport(node);
    out.push(
      ProcessHub.start({
        hubId: "bench-entities",
        node,
        membership: clusterMembership(cluster),
        behaviours: { room },
        clusterEventDebounceMs: 10,
        logger: silentLogger,
      }),
    );
  }
  for (const h of out) await h.awaitSettled({ timeoutMs: 30_000 });
  const want = names.length;
  while (out.some((h) => h.nodes({ includeLocal: true }).length !== want))
    await new Promise((r) => setTimeout(r, 10));
  for (const h of out) await h.awaitSettled({ timeoutMs: 30_000 });
  return out;
}

/** An id whose owner is `node` (so it starts there). */
function idOwnedBy(hub: ProcessHub, node: string, prefix: string): string {
  for (let i = 0; ; i++) if (hub.ownerOf(`${prefix}${i}`) === node) return `${prefix}${i}`;
}

/** This process's CPU time, in ms: on a shared, loaded machine it varies far less than wall time. */
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/**
 * ns per call of `pid` calls vs `ref` calls from `caller`, in alternating rounds, timed by
 * `clock` (CPU time for a child on the caller's node, where all the work is this process's;
 * wall time across nodes, where the network's wait is part of the call).
 */
async function compare(
  caller: ProcessHub,
  id: string,
  calls: number,
  rounds: number,
  clock: () => number = () => performance.now(),
) {
  const pid = (await caller.whenRunning(id)) as Pid;
  const ref = caller.ref<typeof room>(id);
  const node = caller.node;
  const byPid: number[] = [];
  const byRef: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let t = clock();
    for (let i = 0; i < calls; i++) await GenServer.callOn(node, pid, "peek", undefined);
    byPid.push(((clock() - t) * 1e6) / calls);
    t = clock();
    for (let i = 0; i < calls; i++) await ref.call("peek");
    byRef.push(((clock() - t) * 1e6) / calls);
  }
  return { pid: median(byPid), ref: median(byRef) };
}

/** ms from the first call to its answer, for `n` ids absent until that call. */
async function activation(
  caller: ProcessHub,
  n: number,
  prefix: string,
): Promise<{ p50: number; p99: number }> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const ref = caller.ref<typeof room>(`${prefix}${i}`, { activate: { behaviour: "room" } });
    const t = performance.now();
    await ref.call("peek");
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { p50: ms[Math.floor(n * 0.5)]!, p99: ms[Math.min(n - 1, Math.floor(n * 0.99))]! };
}

async function measure(label: string, transport: Transport, calls: number): Promise<Row[]> {
  const [a, b, c] = await hubs(["a", "b", "c"], transport);
  const local = idOwnedBy(a!, "a", "l");
  const remote = idOwnedBy(a!, "b", "r");
  await a!.ensure({ id: local, behaviour: "room" });
  await a!.ensure({ id: remote, behaviour: "room" });
  await compare(a!, local, calls, 2); // warm-up
  // Many short rounds: a burst of other load hits both sides of a few, not one side of many.
  const same = await compare(a!, local, Math.max(1000, calls >> 2), 28, cpuMs);
  const other = await compare(a!, remote, Math.max(200, calls >> 3), 7);
  const act = await activation(a!, 200, `act-${label}-`);
  for (const h of [a, b, c]) await h!.stop();
  return [
    { figure: `${label}: GenServer.call to the pid, same node (CPU)`, value: same.pid, unit: "ns" },
    {
      figure: `${label}: ref.call, same node (CPU)`,
      value: same.ref,
      unit: "ns",
      target: `<= ${Math.round(same.pid * 1.3)} ns (1.3x)`,
      ok: same.ref <= same.pid * 1.3,
    },
    { figure: `${label}: GenServer.call to the pid, another node`, value: other.pid / 1000, unit: "µs" },
    {
      figure: `${label}: ref.call, another node`,
      value: other.ref / 1000,
      unit: "µs",
      target: `<= ${(other.pid * 1.2e-3).toFixed(1)} µs (1.2x)`,
      ok: other.ref <= other.pid * 1.2,
    },
    { figure: `${label}: activation on first call, p50`, value: act.p50, unit: "ms" },
    { figure: `${label}: activation on first call, p99`, value: act.p99, unit: "ms" },
  ];
}

export async function run(): Promise<Row[]> {
  const network = new MemoryNetwork({ timeoutMs: 1000 });
  const memory: Transport = (node) =>
    Cluster.join({ node, cluster: "ent-bench", transport: network.transport(node), logger: silentLogger });
  const rows = await measure("memory", memory, 20_000);
  const server = await startNatsServer("hub-entities-bench");
  const clusters: Cluster[] = [];
  const nats: Transport = async (node) => {
    const transport = new NatsTransport({
      ...HUB_NATS_TIMINGS,
      logger: silentLogger,
      connection: { servers: server.url },
    });
    const c = await Cluster.join({
      node,
      cluster: `ent-bench-${process.pid}`,
      transport,
      logger: silentLogger,
    });
    clusters.push(c);
    return c;
  };
  try {
    rows.push(...(await measure("NATS", nats, 4000)));
  } finally {
    for (const c of clusters) await c.leave().catch(() => {});
    await stopAllNatsServers();
  }
  return rows;
}

if (isMain(import.meta.url)) {
  printTable("hub-entities", await run());
  process.exit(0);
}
