/**
 * Hub strategy benchmarks over the memory transport (nodes in one program):
 * - hot-swap migration of 10k children with state: three nodes run 10k stateful children (a
 *   counter and a short tag, set by a message after the start), a fourth joins; measured from the
 *   join until every child owned by the new node runs there with its handed-over state (hook
 *   `handoverReceived`) and every old copy stopped, plus the bytes every node's cluster sent
 *   meanwhile (`cluster.stats.bytesOut`). The same move as a cold swap, for comparison.
 * - hot-swap drain of a node, all 10k children move with their state: a one-node hub `a` runs
 *   10k stateful children, `b` joins (about half move to it), then `a` stops gracefully
 *   (`hub.stop()`, which under hot swap hands every local child to its next owner, here `b`);
 *   measured from the join until all 10k run on `b` with their handed-over state, plus the bytes
 *   sent meanwhile. The join alone cannot move all of them (it takes only the new node's share of
 *   the ring), so the stop moves the rest. Each child's state is checked on `b` afterwards,
 *   untimed; a run where any child lost its state fails.
 * - failover with replication 2, active/passive: kill the node holding the active replicas of
 *   about a third of N children; time until each of those children's passive replica has been
 *   signalled `active`.
 * Medians of a few runs after a warm-up. `npx tsx bench/hub-strategies.ts` prints the table.
 */
import { Cluster } from "../src/cluster/index.js";
import { clusterMembership } from "../src/hub/membership.js";
import { type HubOptions, ProcessHub } from "../src/hub/process-hub.js";
import { withHandover } from "../src/hub/strategies/handover.js";
import { isRedundancySignal } from "../src/hub/strategies/redundancy.js";
import { silentLogger } from "../src/logger.js";
import { Node } from "../src/process/node.js";
import { callOn } from "../src/server/gen-server.js";
import { defineServer, noreply, ok, reply } from "../src/server/index.js";
import { MemoryNetwork } from "../src/transports/memory/index.js";
import { isMain, median, printTable, type Row } from "./common.js";

interface Counter {
  n: number;
  tag: string;
}

/** Last time (performance.now) each id was told it is the active replica. */
const activatedAt = new Map<string, number>();

/** A counter with a tag, handed over on hot swap; records `active` signals in `activatedAt`. */
const counter = withHandover(
  defineServer<{ calls: { get(): Counter }; casts: Record<string, never> }>()({
    name: "bench-counter",
    init: () => ok<Counter>({ n: 0, tag: "" }),
    handleCall: { get: (_a, s) => reply(s, s) },
    handleInfo: (m, s) => {
      if (isRedundancySignal(m)) {
        if (m.mode === "active") activatedAt.set(m.id, performance.now());
        return noreply(s);
      }
      const set = m as { set?: Counter };
      return noreply(set.set ?? s);
    },
  }),
  { prepareHandoverState: (s: Counter) => s, receiveHandoverState: (d, _s) => d as Counter },
);

let bedSeq = 0;

class Bed {
  readonly network = new MemoryNetwork();
  readonly hubs = new Map<string, ProcessHub>();
  readonly clusters = new Map<string, Cluster>();
  private readonly name = `stratbench${bedSeq++}`;

  constructor(private readonly options: Partial<HubOptions>) {}

  async add(name: string, extra: Partial<HubOptions> = {}): Promise<ProcessHub> {
    const node = new Node({ name, logger: silentLogger });
    const cluster = await Cluster.join({
      node,
      cluster: this.name,
      transport: this.network.transport(),
      logger: silentLogger,
    });
    this.clusters.set(name, cluster);
    const hub = ProcessHub.start({
      hubId: "bench",
      node,
      membership: clusterMembership(cluster),
      behaviours: { counter },
      clusterEventDebounceMs: 10,
      logger: silentLogger,
      ...this.options,
      ...extra,
    });
    this.hubs.set(name, hub);
    return hub;
  }

  async formed(): Promise<void> {
    const n = this.hubs.size;
    await waitFor(() => [...this.hubs.values()].every((h) => h.nodes({ includeLocal: true }).length === n));
  }

  bytesOut(): number {
    let b = 0;
    for (const c of this.clusters.values()) b += c.stats.bytesOut;
    return b;
  }

  async close(): Promise<void> {
    for (const h of this.hubs.values()) await h.stop().catch(() => {});
    for (const c of this.clusters.values()) await c.leave().catch(() => {});
  }
}

async function waitFor(cond: () => boolean, timeoutMs = 60_000, seen = () => ""): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`benchmark condition not reached in time ${seen()}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const specs = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `s${i}`, behaviour: "counter" }));
const stateOf = (i: number): Counter => ({ n: i * 7 + 1, tag: `tag-${i.toString(36).padStart(8, "0")}` });

/** Sets each child's state by a message and waits until every child has it. */
async function setStates(bed: Bed, n: number): Promise<void> {
  const a = bed.hubs.get("a")!;
  for (let i = 0; i < n; i++) a.node.send(a.getPid(`s${i}`)!, { set: stateOf(i) });
  for (let i = 0; i < n; i++) {
    const got = (await callOn(a.node, a.getPid(`s${i}`)!, "get", undefined, 10_000)) as Counter;
    if (got.n !== stateOf(i).n) throw new Error(`state of s${i} not set`);
  }
}

/** A bed of `nodes` where `a` started `n` children and gave each its state. */
async function statefulBed(options: Partial<HubOptions>, nodes: string[], n: number): Promise<Bed> {
  const bed = new Bed(options);
  for (const x of nodes) await bed.add(x);
  await bed.formed();
  const r = await bed.hubs.get("a")!.startChildren(specs(n), { awaitable: true, timeoutMs: 60_000 }).await();
  if (r.status !== "ok") throw new Error(`start failed: ${r.errors.length} errors`);
  await setStates(bed, n);
  return bed;
}

/** Counts the handovers a joining node's children take (`ok`) or refuse, through its hooks. */
function handoverCounter(): { ok: number; failed: number; hooks: Partial<HubOptions> } {
  const c = {
    ok: 0,
    failed: 0,
    hooks: {
      hooks: { handoverReceived: (h: { ok: boolean }) => void (h.ok ? c.ok++ : c.failed++) },
    },
  };
  return c;
}

/** Children running on all nodes of the bed. */
function running(bed: Bed): number {
  let t = 0;
  for (const h of bed.hubs.values()) t += h.localChildren().size;
  return t;
}

/** Throws unless every one of `ids` runs on `hub` with the state it was given on `a`. */
async function checkStates(hub: ProcessHub, ids: Iterable<string>): Promise<void> {
  for (const id of ids) {
    const pid = hub.localPid(id);
    if (pid === undefined) throw new Error(`${id} does not run on ${hub.node.name}`);
    const got = (await callOn(hub.node, pid, "get", undefined, 10_000)) as Counter;
    const want = stateOf(Number(id.slice(1)));
    if (got.n !== want.n || got.tag !== want.tag)
      throw new Error(`${id} lost its state: ${JSON.stringify(got)}`);
  }
}

/** One migration of `n` stateful children to a joining 4th node: ms and bytes sent. */
async function migrate(n: number, type: "hotSwap" | "coldSwap"): Promise<{ ms: number; bytes: number }> {
  const bed = await statefulBed(
    { migration: type === "hotSwap" ? { type, retentionMs: 30_000 } : { type }, syncIntervalMs: 60_000 },
    ["a", "b", "c"],
    n,
  );
  const a = bed.hubs.get("a")!;
  const received = handoverCounter();
  const bytes0 = bed.bytesOut();
  const t0 = performance.now();
  const d = await bed.add("d", received.hooks);
  await bed.formed();
  const moved = specs(n).filter((s) => a.ownerOf(s.id) === "d").length;
  await waitFor(
    () =>
      d.localChildren().size === moved &&
      (type === "coldSwap" || received.ok === moved) &&
      running(bed) === n,
  );
  const ms = performance.now() - t0;
  const bytes = bed.bytesOut() - bytes0;
  // Untimed: with hot swap, every moved child really holds its old state.
  if (type === "hotSwap") await checkStates(d, d.localChildren().keys());
  await bed.close();
  return { ms, bytes };
}

interface Drain {
  ms: number;
  /** Of `ms`, from `a.stop()` until all run on `b` with state. */
  stopMs: number;
  bytes: number;
  atJoin: number;
  atStop: number;
}

/**
 * Drains node `a` of `n` stateful children under hot swap: `b` joins, then `a` stops
 * gracefully. The stop starts once the join's move settled: a stop during it would hand the
 * children still being swapped over a second time.
 */
async function drain(n: number): Promise<Drain> {
  const bed = await statefulBed(
    { migration: { type: "hotSwap", retentionMs: 30_000 }, syncIntervalMs: 60_000 },
    ["a"],
    n,
  );
  const a = bed.hubs.get("a")!;
  const received = handoverCounter();
  const bytes0 = bed.bytesOut();
  const t0 = performance.now();
  const b = await bed.add("b", received.hooks);
  await bed.formed();
  const atJoin = specs(n).filter((s) => a.ownerOf(s.id) === "b").length;
  const settled = (onB: number) => () =>
    b.localChildren().size === onB && received.ok + received.failed >= onB && running(bed) === n;
  const seen = () =>
    `(drain: ${b.localChildren().size} on b, ${running(bed)} running, ${received.ok} handovers taken, ${received.failed} refused)`;
  await waitFor(settled(atJoin), 60_000, seen);
  const atStop = a.localChildren().size;
  const t1 = performance.now();
  await a.stop();
  bed.hubs.delete("a");
  // A child whose handover failed is adopted by `b` without state: counted in `failed` (or in
  // neither count when `a` could not prepare its state) and reported instead of waited for.
  await waitFor(settled(n), 60_000, seen);
  const t2 = performance.now();
  const bytes = bed.bytesOut() - bytes0;
  if (received.failed > 0 || received.ok !== n)
    throw new Error(`drain: ${received.ok} of ${n} handovers taken, ${received.failed} refused`);
  await checkStates(
    b,
    specs(n).map((s) => s.id),
  );
  await bed.close();
  return { ms: t2 - t0, stopMs: t2 - t1, bytes, atJoin, atStop };
}

/**
 * Replication 2, active/passive, 3 nodes: kill the node holding the active replicas of about a
 * third of `n` children; ms until each of them has its surviving replica signalled `active`.
 */
async function failover(n: number): Promise<number> {
  const bed = new Bed({ redundancy: { type: "replication", factor: 2, mode: "activePassive" } });
  for (const x of ["a", "b", "c"]) await bed.add(x);
  await bed.formed();
  const a = bed.hubs.get("a")!;
  const r = await a.startChildren(specs(n), { awaitable: true, timeoutMs: 60_000 }).await();
  if (r.status !== "ok") throw new Error(`start failed: ${r.errors.length} errors`);
  const victims = specs(n)
    .map((s) => s.id)
    .filter((id) => a.replicasOf(id)[0] === "c");
  // Every replica ran and got its first signal.
  await waitFor(() => [...bed.hubs.values()].reduce((t, h) => t + h.localChildren().size, 0) === 2 * n);
  await waitFor(() => victims.every((id) => activatedAt.has(id)));
  const t0 = performance.now();
  bed.network.kill("c");
  bed.hubs.delete("c");
  bed.clusters.delete("c");
  await waitFor(() => victims.every((id) => (activatedAt.get(id) ?? 0) >= t0));
  const ms = performance.now() - t0;
  for (const id of victims) activatedAt.delete(id);
  await bed.close();
  return ms;
}

async function medianRuns<T>(
  runs: number,
  fn: () => Promise<T>,
  pick: (t: T) => number[],
): Promise<number[]> {
  await fn();
  const cols: number[][] = [];
  for (let i = 0; i < runs; i++) {
    pick(await fn()).forEach((v, j) => {
      cols[j] ??= [];
      cols[j]!.push(v);
    });
  }
  return cols.map(median);
}

export async function run(runs = 3): Promise<Row[]> {
  const n = 10_000;
  const [hotMs, hotBytes] = await medianRuns(
    runs,
    () => migrate(n, "hotSwap"),
    (x) => [x.ms, x.bytes],
  );
  const [coldMs, coldBytes] = await medianRuns(
    runs,
    () => migrate(n, "coldSwap"),
    (x) => [x.ms, x.bytes],
  );
  const rows: Row[] = [
    {
      figure: "hot swap, 10k stateful children, 4th node joins: until all moved run with state",
      value: hotMs!,
      unit: "ms",
    },
    { figure: "hot swap, 10k: bytes sent by all nodes meanwhile", value: hotBytes!, unit: "B" },
    { figure: "cold swap (state not kept), same move: until all moved run", value: coldMs!, unit: "ms" },
    { figure: "cold swap, same move: bytes sent", value: coldBytes!, unit: "B" },
  ];
  const [drainMs, stopMs, drainBytes, atJoin, atStop] = await medianRuns(
    runs,
    () => drain(n),
    (x) => [x.ms, x.stopMs, x.bytes, x.atJoin, x.atStop],
  );
  rows.push(
    {
      figure:
        "hot swap drain, 10k stateful children on a: b joins, a stops; until all 10k run on b with state",
      value: drainMs!,
      unit: "ms",
    },
    { figure: "  of which from a.stop() on", value: stopMs!, unit: "ms" },
    { figure: "hot swap drain, 10k: bytes sent by both nodes meanwhile", value: drainBytes!, unit: "B" },
    { figure: "hot swap drain: children moved at the join", value: atJoin!, unit: "children" },
    { figure: "hot swap drain: children moved at the stop", value: atStop!, unit: "children" },
  );
  for (const k of [1000, 10_000]) {
    const [fo] = await medianRuns(
      runs,
      () => failover(k),
      (x) => [x],
    );
    rows.push({
      figure: `failover, replication 2 active/passive, ${k.toLocaleString("en-US")} children: kill the active node, until all passives signalled active`,
      value: fo!,
      unit: "ms",
    });
  }
  return rows;
}

if (isMain(import.meta.url)) printTable("hub strategies (memory transport)", await run());
