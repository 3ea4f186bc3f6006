/**
 * Chaos run of the process hub over the memory transport: N hub nodes, thousands of children,
 * then for a fixed time random faults (kill and restart a node, pause and resume one for
 * `faultMs`, pause one just past the failure-detection timeout, split the network in two and
 * heal it) while starts and stops keep coming; at the end everything is
 * repaired and the run checks that every child runs exactly its replication factor times on its
 * replicas, none is lost, every registry is identical, and (quorum strategies) that every node of
 * a minority side noticed it (lost quorum) during the partition and ran no child from then on.
 * Stops count as final when no fault is under way (`--stops settled`, the default: and no
 * duplicate is running and the hub is formed), and, with a quorum strategy, on the side keeping
 * quorum during a partition. Prints the figures and exits non-zero on a violation. `runChaos` is
 * also what `test/hub/strategies/chaos.test.ts` runs, shorter. `--nats` runs the hub nodes as OS
 * processes over NATS instead (`chaos-nats.ts`). `--help` lists the options.
 *
 * Kills and pauses act on the nodes themselves (each transport is made for its node): a killed
 * node's processes die unrun and its hub stops with it, as SIGKILL would; a paused node runs and
 * fires nothing until resumed, while its peers time it out (`MemoryNetwork.pause`). A short pause
 * ends 5–40 ms after the peers dropped the node, so it comes back while they are still adopting
 * its children: the memory form of the NATS pause just past the heartbeat timeout.
 *
 *   npm run chaos -- --nodes 5 --children 5000 --duration 20000 --partition majority --seed 7
 *   npm run chaos -- --nats --nodes 4 --children 2000 --duration 30000 --fault-ms 6000
 */
import { pathToFileURL } from "node:url";
import { Cluster } from "../src/cluster/index.js";
import { clusterMembership } from "../src/hub/membership.js";
import { MemoryDurableStore } from "../src/hub/durable/memory-store.js";
import type { DurabilityOptions } from "../src/hub/durable/options.js";
import type { DurableStore } from "../src/hub/durable/store.js";
import { type HubOptions, ProcessHub } from "../src/hub/process-hub.js";
import type { PartitionStrategy } from "../src/hub/strategies/options.js";
import { silentLogger } from "../src/logger.js";
import { Node } from "../src/process/node.js";
import { defineServer, noreply, ok, reply } from "../src/server/index.js";
import { MemoryNetwork } from "../src/transports/memory/index.js";
import type { NatsChaosOptions, NatsFault } from "./chaos-nats.js";

export interface ChaosOptions {
  nodes: number;
  children: number;
  durationMs: number;
  seed: number;
  partition: PartitionStrategy;
  /** Replication factor (1 = singularity). */
  replication: number;
  migration: "coldSwap" | "hotSwap";
  /** Time between the end of one fault and the start of the next, in ms. */
  faultGapMs: number;
  /** How long a fault lasts before it is repaired, in ms. */
  faultMs: number;
  /** Give up waiting for convergence after this long, in ms. */
  settleTimeoutMs: number;
  /**
   * When a stop may be issued (and then counts as final): `healthy` whenever no fault is under
   * way; `settled` only when, besides, no id runs twice and the hub is fully formed.
   */
  stopsWhen: "healthy" | "settled";
  /**
   * A durable hub with fencing (`durability.fencing`, leases of `leaseMs`): then a child seen on
   * two nodes in any sample is a violation, not only after convergence.
   */
  fencing?: boolean | undefined;
  leaseMs?: number | undefined;
  log: (line: string) => void;
}

export interface ChaosReport {
  /** `majorityStops`: children stopped for good on the quorum side during a partition. */
  operations: { starts: number; stops: number; refused: number; majorityStops?: number };
  /**
   * `shortPause`: pauses just past the failure-detection timeout (also counted in `pause`);
   * `split` (NATS): a node cut off from its peers while it still reaches JetStream (`partition`
   * there cuts it off from both).
   */
  faults: {
    kill: number;
    pause: number;
    partition: number;
    restart?: number;
    shortPause?: number;
    split?: number;
  };
  /**
   * Fenced NATS runs: leases the nodes lost, claims they took over from a lapsed lease, and for
   * the children of a node cut off from NATS, the least time between its own stop of them (its
   * lease lost) and their first takeover elsewhere, by the machine's one clock (ms; negative
   * would be two copies; null: no such takeover).
   */
  fencing?: { leaseLost: number; claimTakenOver: number; partitionMarginMs: number | null };
  /** NATS runs: sampling rounds, and the nodes' answers they got (a paused node answers none). */
  samples?: { rounds: number; answers: number };
  /** Most ids running more than their factor in one sample, during the faults. */
  duplicatesDuringMax: number;
  /** Id-samples over the factor during the faults (sum over samples). */
  duplicateSamples: number;
  /** Ids running more than their factor once converged (must be 0). */
  duplicatesAfter: number;
  /** Time from repairing everything to a converged cluster, in ms (-1: never). */
  convergeMs: number;
  children: number;
  violations: string[];
}

const DEFAULTS: ChaosOptions = {
  nodes: 4,
  children: 3000,
  durationMs: 10_000,
  seed: 1,
  partition: { type: "divergence" },
  replication: 1,
  migration: "coldSwap",
  faultGapMs: 300,
  faultMs: 600,
  settleTimeoutMs: 30_000,
  stopsWhen: "settled",
  log: (l) => console.log(l),
};

/** The durability option of a fenced chaos run (leases of `leaseMs`, quick reconcile). */
export function fencedDurability(store: DurableStore, leaseMs: number): DurabilityOptions {
  return {
    store,
    reconcileIntervalMs: 300,
    settleMs: 500,
    fencing: fencingTimings(leaseMs),
  };
}

export function fencingTimings(leaseMs: number) {
  return { leaseMs, renewIntervalMs: leaseMs / 4, stopMarginMs: leaseMs / 4, takeoverMarginMs: 300 };
}

/** With fencing, a duplicate at any instant is a violation. */
export function checkFenced(o: ChaosOptions, r: ChaosReport): void {
  if (o.fencing && r.duplicatesDuringMax > 0)
    r.violations.push(
      `fenced, yet ${r.duplicatesDuringMax} ids ran on two nodes in one sample (${r.duplicateSamples} id-samples)`,
    );
}

/** A small seeded PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const worker = defineServer<{ calls: { get(): number }; casts: Record<string, never> }>()({
  name: "chaos-worker",
  init: () => ok(0),
  handleCall: { get: (_a, s) => reply(s, s) },
  handleInfo: (_m, s) => noreply(s),
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Quorum size needed by `p` in a hub of `total` nodes (1 for divergence). */
export function quorumNeeded(p: PartitionStrategy, total: number): number {
  if (p.type === "static") return p.quorumSize;
  if (p.type === "majority") return Math.floor(total / 2) + 1;
  if (p.type === "dynamic") return Math.ceil((p.quorumPercent / 100) * total);
  return 1;
}

export async function runChaos(input: Partial<ChaosOptions> = {}): Promise<ChaosReport> {
  const o: ChaosOptions = { ...DEFAULTS, ...input };
  const rand = rng(o.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const detectMs = 80;
  const network = new MemoryNetwork({ timeoutMs: detectMs, random: rng(o.seed + 1) });
  const names = Array.from({ length: o.nodes }, (_, i) => `n${i + 1}`);
  const hubs = new Map<string, ProcessHub>();
  const factor = o.replication;
  const hubOptions: Partial<HubOptions> = {
    partition: o.partition,
    migration: o.migration === "hotSwap" ? { type: "hotSwap", retentionMs: 2000 } : { type: "coldSwap" },
    redundancy: factor > 1 ? { type: "replication", factor } : { type: "singularity" },
    clusterEventDebounceMs: 10,
    syncIntervalMs: 300,
    discoverIntervalMs: 100,
    durability: o.fencing ? fencedDurability(new MemoryDurableStore(), o.leaseMs ?? 3000) : undefined,
  };
  let onHub: (name: string, hub: ProcessHub) => void = () => {};
  const startNode = async (name: string) => {
    const node = new Node({ name, logger: silentLogger });
    const cluster = await Cluster.join({
      node,
      cluster: "chaos",
      transport: network.transport(node),
      logger: silentLogger,
    });
    hubs.set(
      name,
      ProcessHub.start({
        hubId: "chaos",
        node,
        membership: clusterMembership(cluster),
        behaviours: { worker },
        logger: silentLogger,
        ...hubOptions,
      }),
    );
    onHub(name, hubs.get(name)!);
  };
  const report: ChaosReport = {
    operations: { starts: 0, stops: 0, refused: 0 },
    faults: { kill: 0, pause: 0, partition: 0, shortPause: 0 },
    duplicatesDuringMax: 0,
    duplicateSamples: 0,
    duplicatesAfter: 0,
    convergeMs: -1,
    children: 0,
    violations: [],
  };
  /** Ids that must run at the end; ids whose fate a fault made unknowable may or may not. */
  const expected = new Set<string>();
  const unknown = new Set<string>();

  for (const n of names) await startNode(n);
  const formed = () =>
    [...hubs.values()].every((h) => h.nodes({ includeLocal: true }).length === names.length);
  for (let i = 0; i < 200 && !formed(); i++) await sleep(20);
  const first = hubs.get(names[0]!)!;
  const initial = Array.from({ length: o.children }, (_, i) => ({ id: `c${i}`, behaviour: "worker" }));
  const r0 = await first.startChildren(initial, { awaitable: true, timeoutMs: 20_000 }).await(30_000);
  for (const s of r0.started) expected.add(s.id);
  for (const e of r0.errors) unknown.add(e.id);
  o.log(`started ${r0.started.length} children on ${names.length} nodes (${r0.errors.length} errors)`);

  // ------------------------------------------------------------ faults and operations
  let stopFlag = false;
  type Fault = {
    kind: string;
    minority: string[];
    since: number;
    detected: Set<string>;
    /** Quorum strategies: the side that keeps quorum during a partition (stops there are final). */
    majority?: string[];
    healed?: boolean;
  };
  let fault = null as Fault | null;
  const killed = new Set<string>();
  const paused = new Set<string>();
  const live = () => names.filter((n) => hubs.has(n) && !killed.has(n) && !paused.has(n));
  const needed = quorumNeeded(o.partition, names.length);

  let lastDups = 0;
  const stoppedAt = new Map<string, number>();
  if (process.env.CHAOS_DEBUG)
    onHub = (n, h) =>
      h.registerHook("postChildrenStart", (d) => {
        for (const x of d.started)
          if (stoppedAt.has(x.id))
            o.log(`RESURRECTED ${x.id} on ${n} ${Date.now() - stoppedAt.get(x.id)!} ms after its stop`);
      });
  const sampler = (async () => {
    while (!stopFlag) {
      const counts = new Map<string, number>();
      for (const [n, h] of hubs) {
        if (killed.has(n)) continue;
        for (const id of h.core.children.byId.keys()) counts.set(id, (counts.get(id) ?? 0) + 1);
      }
      let dups = 0;
      for (const c of counts.values()) if (c > factor) dups++;
      report.duplicateSamples += dups;
      lastDups = dups;
      if (dups > report.duplicatesDuringMax) report.duplicatesDuringMax = dups;
      // Quorum strategies: a minority node must notice it is one (checked when the fault ends)
      // and, from then on, run no child.
      const f = fault;
      if (o.partition.type !== "divergence" && f !== null && f.kind === "partition") {
        for (const n of f.minority) {
          const h = hubs.get(n);
          if (h === undefined || killed.has(n) || paused.has(n) || !h.isPartitioned()) continue;
          f.detected.add(n);
          if (h.core.children.size > 0)
            report.violations.push(`${n} ran ${h.core.children.size} children in a minority partition`);
        }
      }
      await sleep(25);
    }
  })();

  let opSeq = 0;
  const opRand = rng(o.seed + 2);
  const ops = (async () => {
    while (!stopFlag) {
      const candidates = live();
      if (candidates.length > 0) {
        const h = hubs.get(candidates[Math.floor(opRand() * candidates.length)]!)!;
        const healthy = fault === null;
        try {
          // A stop is final when no fault is under way (`settled`: and no duplicate, hub formed).
          const settled =
            healthy &&
            (o.stopsWhen === "healthy" ||
              (lastDups === 0 &&
                [...hubs.values()].every((x) => x.nodes({ includeLocal: true }).length === names.length)));
          // Quorum strategies: a stop on the side with quorum, once it has formed, is final too.
          const f = fault;
          const onMajority =
            f?.majority !== undefined &&
            !f.healed &&
            f.majority.includes(h.node.name) &&
            f.majority.every((n) => hubs.get(n)?.nodes({ includeLocal: true }).length === f.majority!.length);
          if ((settled || onMajority) && opRand() < 0.3) {
            const victims = [...expected].filter((id) => id.startsWith("op")).slice(0, 10);
            if (victims.length > 0) {
              for (const v of victims) expected.delete(v);
              report.operations.stops += victims.length;
              const r = await h.stopChildren(victims, { awaitable: true, timeoutMs: 3000 }).await(5000);
              const gone = new Set(r.stopped.map((s) => s.id));
              const still = onMajority ? fault === f && !f!.healed : fault === null;
              for (const v of victims) if (!gone.has(v) || !still) unknown.add(v);
              if (onMajority)
                report.operations.majorityStops = (report.operations.majorityStops ?? 0) + gone.size;
              if (process.env.CHAOS_DEBUG)
                for (const v of victims) if (gone.has(v)) stoppedAt.set(v, Date.now());
            }
          } else {
            const batch = Array.from({ length: 10 }, () => ({ id: `op${opSeq++}`, behaviour: "worker" }));
            report.operations.starts += batch.length;
            const r = await h.startChildren(batch, { awaitable: true, timeoutMs: 3000 }).await(5000);
            const okIds = new Set(r.started.map((s) => s.id));
            for (const b of batch)
              (okIds.has(b.id) && healthy && fault === null ? expected : unknown).add(b.id);
          }
        } catch {
          report.operations.refused++;
        }
      }
      await sleep(40);
    }
  })();

  const t0 = Date.now();
  const beat = process.env.CHAOS_DEBUG
    ? setInterval(
        () =>
          o.log(`beat ${Date.now() - t0} fault=${fault?.kind} killed=${[...killed]} paused=${[...paused]}`),
        500,
      )
    : undefined;
  while (Date.now() - t0 < o.durationMs) {
    await sleep(o.faultGapMs);
    const kind =
      (process.env.CHAOS_FAULT as "kill" | "pause" | "short-pause" | "partition" | undefined) ??
      pick(["kill", "pause", "short-pause", "partition"] as const);
    const up = live();
    if (process.env.CHAOS_DEBUG) o.log(`${Date.now() - t0} ms: ${kind}`);
    if (kind === "kill" && up.length > 2) {
      const n = pick(up);
      killed.add(n);
      fault = { kind, minority: [], since: Date.now(), detected: new Set() };
      report.faults.kill++;
      network.kill(n);
      hubs.delete(n);
      await sleep(o.faultMs);
      await startNode(n);
      if (process.env.CHAOS_DEBUG) o.log(`${Date.now() - t0} ms: restarted ${n}`);
      killed.delete(n);
    } else if ((kind === "pause" || kind === "short-pause") && up.length > 2) {
      const n = pick(up);
      paused.add(n);
      fault = { kind, minority: [], since: Date.now(), detected: new Set() };
      report.faults.pause++;
      if (kind === "short-pause") report.faults.shortPause!++;
      network.pause(n);
      await sleep(kind === "pause" ? o.faultMs : detectMs + 5 + Math.floor(rand() * 35));
      network.resume(n);
      paused.delete(n);
    } else {
      const shuffled = [...names].sort(() => rand() - 0.5);
      const cut = 1 + Math.floor(rand() * (names.length - 1));
      const g1 = shuffled.slice(0, cut);
      const g2 = shuffled.slice(cut);
      const minority = [g1, g2].filter((g) => g.length < needed).flat();
      const majority =
        o.partition.type === "divergence" ? undefined : [g1, g2].find((g) => g.length >= needed);
      fault = {
        kind: "partition",
        minority,
        since: Date.now(),
        detected: new Set(),
        ...(majority ? { majority } : {}),
      };
      report.faults.partition++;
      network.partition(g1, g2);
      await sleep(o.faultMs);
      if (o.partition.type !== "divergence")
        for (const n of minority)
          if (!fault.detected.has(n)) report.violations.push(`${n} never noticed it was in a minority`);
      fault.healed = true;
      network.heal();
    }
    // Calls in flight when the fault ended saw it too, and the nodes need a moment (peer
    // timeout, debounce) to see each other again: until then a stop may miss a copy.
    await sleep(400);
    fault = null;
  }
  stopFlag = true;
  clearInterval(beat);
  if (process.env.CHAOS_DEBUG) o.log("faults over");
  await Promise.all([sampler, ops]);
  if (process.env.CHAOS_DEBUG) o.log("loops over");
  network.clearFaults();

  // ------------------------------------------------------------ convergence and checks
  const check = (): string => {
    const all = names.map((n) => hubs.get(n)).filter((h): h is ProcessHub => h !== undefined);
    if (all.length !== names.length) return "a node is missing";
    if (!all.every((h) => h.nodes({ includeLocal: true }).length === names.length)) return "hub not formed";
    if (all.some((h) => h.isPartitioned())) return "a node is still partitioned";
    const ref = all[0]!;
    const digest = ref.registryDigest();
    for (const h of all) if (h.registryDigest() !== digest) return `registry of ${h.node.name} differs`;
    for (const id of expected) if (!ref.entryExists(id)) return `${id} lost`;
    let placements = 0;
    for (const [id, l] of ref.registryDump()) {
      if (!expected.has(id) && !unknown.has(id)) return `${id} should not run`;
      const nodes = l.nodes.map((p) => p.node).sort();
      const replicas = ref.replicasOf(id).sort();
      if (nodes.join() !== replicas.join()) return `${id} on ${nodes.join()}, replicas ${replicas.join()}`;
      for (const { node, pid } of l.nodes) if (!hubs.get(node)!.node.isAlive(pid)) return `${id}: dead pid`;
      placements += nodes.length;
    }
    let local = 0;
    for (const h of all) local += h.core.children.size;
    if (local !== placements) return `${local} running children, ${placements} placements`;
    return "ok";
  };
  const tHeal = Date.now();
  let problem = "not checked";
  while (Date.now() - tHeal < o.settleTimeoutMs) {
    problem = check();
    if (problem === "ok") break;
    if (process.env.CHAOS_DEBUG && Math.random() < 0.05) o.log(`settling: ${problem}`);
    await sleep(50);
  }
  if (problem === "ok") report.convergeMs = Date.now() - tHeal;
  else report.violations.push(`did not converge: ${problem}`);

  const counts = new Map<string, number>();
  for (const h of hubs.values())
    for (const id of h.core.children.byId.keys()) counts.set(id, (counts.get(id) ?? 0) + 1);
  for (const c of counts.values()) if (c > factor) report.duplicatesAfter++;
  report.children = hubs.get(names[0]!)?.registryDump().size ?? 0;
  if (report.duplicatesAfter > 0)
    report.violations.push(`${report.duplicatesAfter} duplicates after convergence`);
  const minority = report.violations.filter((v) => v.includes("minority"));
  if (minority.length > 5) {
    report.violations = [
      ...report.violations.filter((v) => !v.includes("minority")),
      ...minority.slice(0, 5),
      `… ${minority.length - 5} more minority samples`,
    ];
  }

  // Killed nodes take their hubs, children and timers with them: nothing is left to stop.
  for (const n of names) network.kill(n);
  checkFenced(o, report);
  return report;
}

const USAGE = `npm run chaos -- [options]
  --nodes N            hub nodes (default ${DEFAULTS.nodes})
  --children N         children started first (default ${DEFAULTS.children})
  --duration MS        time of faults (default ${DEFAULTS.durationMs})
  --seed N             seed of the faults and operations (default ${DEFAULTS.seed})
  --partition P        divergence | static | majority | dynamic (default divergence)
  --quorum-size N      with --partition static: the quorum (default a majority of --nodes)
  --replication N      replication factor (default 1)
  --migration M        coldSwap | hotSwap (default coldSwap)
  --stops S            healthy: stop children whenever no fault is under way;
                       settled: only with no duplicate and the hub formed (default ${DEFAULTS.stopsWhen})
  --fault-ms MS        how long a fault lasts (default ${DEFAULTS.faultMs})
  --gap-ms MS          time between faults (default ${DEFAULTS.faultGapMs})
  --settle-ms MS       give up converging after (default ${DEFAULTS.settleTimeoutMs})
  --nats               hub nodes as OS processes over NATS (SIGKILL, SIGSTOP/SIGCONT, restart,
                       a node cut off from NATS, from its peers only)
  --nats-url URL       with --nats: use this server instead of a private nats-server
  --faults K,K,...     with --nats: these kinds in this order, round and round, each at least once
                       (kill | pause | partition | split | restart; default a seeded pick
                       of kill, pause, restart)
  --fencing            a durable hub with fencing (JetStream with --nats): a duplicate at any instant is a violation
  --lease-ms MS        with --fencing: the lease (default 3000)
  CHAOS_FAULT=K        only this fault: kill | pause | short-pause | partition (memory transport)
  CHAOS_DEBUG=1        logs faults, a heartbeat and resurrected children (memory transport)`;

function parseArgs(argv: string[]): Partial<NatsChaosOptions> & { nats?: boolean } {
  const out: Partial<NatsChaosOptions> & { nats?: boolean } = {};
  let partition = "divergence";
  let quorumSize: number | undefined;
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i]!.replace(/^--/, "");
    const v = argv[i + 1] ?? "";
    if (k === "help" || k === "h") {
      console.log(USAGE);
      process.exit(0);
    }
    if (k === "nats" || k === "fencing") {
      if (k === "nats") out.nats = true;
      else out.fencing = true;
      i--;
      continue;
    }
    if (k === "nodes") out.nodes = Number(v);
    else if (k === "children") out.children = Number(v);
    else if (k === "duration") out.durationMs = Number(v);
    else if (k === "seed") out.seed = Number(v);
    else if (k === "replication") out.replication = Number(v);
    else if (k === "migration") out.migration = v as ChaosOptions["migration"];
    else if (k === "partition") partition = v;
    else if (k === "quorum-size") quorumSize = Number(v);
    else if (k === "stops") out.stopsWhen = v as ChaosOptions["stopsWhen"];
    else if (k === "fault-ms") out.faultMs = Number(v);
    else if (k === "gap-ms") out.faultGapMs = Number(v);
    else if (k === "settle-ms") out.settleTimeoutMs = Number(v);
    else if (k === "nats-url") out.natsUrl = v;
    else if (k === "lease-ms") out.leaseMs = Number(v);
    else if (k === "faults") out.faults = v.split(",") as NatsFault[];
    else throw new Error(`unknown option --${k}`);
  }
  const nodes = out.nodes ?? DEFAULTS.nodes;
  if (partition === "static")
    out.partition = { type: "static", quorumSize: quorumSize ?? Math.floor(nodes / 2) + 1 };
  else if (partition === "majority") out.partition = { type: "majority" };
  else if (partition === "dynamic") out.partition = { type: "dynamic", quorumPercent: 51, windowMs: 60_000 };
  else out.partition = { type: "divergence" };
  return out;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const o = { ...DEFAULTS, ...opts };
  console.log(
    `chaos${opts.nats ? " over NATS (OS processes)" : ""}: ${o.nodes} nodes, ${o.children} children, ${o.durationMs} ms of faults, partition ${o.partition.type}, replication ${o.replication}, ${o.migration}, stops when ${o.stopsWhen}, seed ${o.seed}${o.fencing ? `, fenced (lease ${o.leaseMs ?? 3000} ms)` : ""}`,
  );
  const r = opts.nats ? await (await import("./chaos-nats.js")).runChaosNats(o) : await runChaos(opts);
  console.log(
    `operations: ${r.operations.starts} starts, ${r.operations.stops} stops (${r.operations.majorityStops ?? 0} on the quorum side during partitions), ${r.operations.refused} refused calls`,
  );
  console.log(
    `faults: ${r.faults.kill} kills+restarts, ${r.faults.pause} pauses (${r.faults.shortPause ?? 0} just past the detection timeout), ${r.faults.partition} partitions${opts.nats ? ` (cut off from NATS), ${r.faults.split ?? 0} splits (from the peers only)` : ""}, ${r.faults.restart ?? 0} graceful restarts`,
  );
  if (r.fencing)
    console.log(
      `fencing: ${r.fencing.leaseLost} leases lost, ${r.fencing.claimTakenOver} claims taken over; a node cut off from NATS stopped its children ${r.fencing.partitionMarginMs === null ? "(no takeover from one)" : `at least ${Math.round(r.fencing.partitionMarginMs)} ms before another node took the first over`}`,
    );
  if (r.samples)
    console.log(`samples: ${r.samples.rounds} rounds over every live node, ${r.samples.answers} answers`);
  console.log(
    `duplicates during faults: max ${r.duplicatesDuringMax} ids in one sample, ${r.duplicateSamples} id-samples`,
  );
  console.log(`duplicates after: ${r.duplicatesAfter}`);
  console.log(
    `children at the end: ${r.children}; converged ${r.convergeMs >= 0 ? `in ${r.convergeMs} ms` : "NEVER"}`,
  );
  if (r.violations.length > 0) {
    console.log(`VIOLATIONS (${r.violations.length}):`);
    for (const v of r.violations) console.log(`  - ${v}`);
    process.exit(1);
  }
  console.log("ok: every child runs exactly its replication factor times, none lost, registries identical");
  process.exit(0);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) void main();
