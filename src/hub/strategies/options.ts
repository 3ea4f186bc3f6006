/**
 * Strategy options of a hub: redundancy, partition tolerance, migration, synchronization and
 * distribution, each a small tagged object with documented defaults, and `parseStrategies`, which
 * validates them (throwing `InvalidOptionError` naming the bad field) and fills in defaults.
 * Imports the root `errors`.
 */
import { InvalidOptionError } from "../../errors.js";

/**
 * Redundancy: how many nodes run each child.
 * - `singularity` (default): one node, the ring owner.
 * - `replication`: `factor` nodes (a number, or `"cluster"` for every hub node), the first
 *   `factor` distinct members met walking the ring from the child's id. `mode` `activeActive`
 *   (default) makes every replica active; `activePassive` makes the first one (the ring owner)
 *   active and the others passive. `signal` picks which replicas get a `RedundancySignal`
 *   message: `all` (default), `active`, `passive` or `none`.
 */
export type RedundancyStrategy =
  | { type: "singularity" }
  | {
      type: "replication";
      factor: number | "cluster";
      mode?: "activeActive" | "activePassive" | undefined;
      signal?: "all" | "active" | "passive" | "none" | undefined;
    };

/**
 * Partition tolerance: what a node does when hub nodes disappear.
 * - `divergence` (default): nothing; each side of a split keeps (and restarts) every child.
 * - `static`: the node needs at least `quorumSize` hub nodes (itself included).
 * - `dynamic`: the node needs `quorumPercent` % of the nodes it saw within the last `windowMs`
 *   (nodes that left longer ago count as an intended scale-down).
 * - `majority`: the node needs a strict majority of the largest hub it has seen (starting from
 *   `initialClusterSize`); `ProcessHub.resetClusterSize()` forgets the maximum after an intended
 *   downsize.
 * Without quorum a node stops its hub children and refuses starts and stops (`partitioned`).
 */
export type PartitionStrategy =
  | { type: "divergence" }
  | { type: "static"; quorumSize: number }
  | { type: "dynamic"; quorumPercent: number; windowMs?: number | undefined }
  | { type: "majority"; initialClusterSize?: number | undefined };

/**
 * Migration: how a child moves to its new owner.
 * - `coldSwap` (default): stop here, then start there (state is lost).
 * - `hotSwap`: start there first, hand the state over (behaviours wrapped with
 *   `withHandover`), then stop here once the new owner confirmed, or after `retentionMs`.
 *   `handoverTimeoutMs` bounds asking the old child for its state. Graceful shutdown hands
 *   every local child to its next owner the same way.
 */
export type MigrationStrategy =
  | { type: "coldSwap" }
  | { type: "hotSwap"; retentionMs?: number | undefined; handoverTimeoutMs?: number | undefined };

/**
 * Synchronization: how registry changes reach the other nodes.
 * - `push` (default): every change is pushed to every hub node, plus the anti-entropy every
 *   `syncIntervalMs` (a hub tunable): each node tells the others where its slice is, and one
 *   whose copy is behind asks for the whole slice.
 * - `gossip`: changes go to `recipients` random nodes, and every node that applies a change
 *   relays it to `recipients` more; the anti-entropy version goes to `recipients` random nodes
 *   every `intervalMs`. Fewer messages per change in large clusters, slower to converge.
 */
export type SyncStrategy =
  | { type: "push" }
  | { type: "gossip"; recipients?: number | undefined; intervalMs?: number | undefined };

/**
 * Distribution: where new children go.
 * - `consistentHashing` (default): the ring owner (see `hash-ring.ts`). A call may still pin
 *   some of its children with `childMapping`.
 * - `guided`: every start names, for every child, the nodes to run it on (`childMapping`: id →
 *   node, or id → one node per replica); a call with a child left out, an id not in the call,
 *   a node that is not a hub member, or a node count that is not the replication factor starts
 *   nothing and throws a named error. Guided children never migrate; when their node leaves
 *   they are adopted by the ring owner.
 * - `loadAware`: a new child goes to the least-loaded hub node by measured load, reported by
 *   every node every `reportIntervalMs` (rules in `load.ts`). Such children stay where they
 *   were placed (like guided ones) until their node leaves.
 */
export type DistributionStrategy =
  | { type: "consistentHashing" }
  | { type: "guided" }
  | {
      type: "loadAware";
      reportIntervalMs?: number | undefined;
      weights?:
        | { children?: number | undefined; lag?: number | undefined; memory?: number | undefined }
        | undefined;
    };

/** All strategies of a hub, as given. */
export interface HubStrategyOptions {
  redundancy?: RedundancyStrategy | undefined;
  partition?: PartitionStrategy | undefined;
  migration?: MigrationStrategy | undefined;
  synchronization?: SyncStrategy | undefined;
  distribution?: DistributionStrategy | undefined;
}

/** The validated strategies, every default filled in. */
export interface HubStrategies {
  redundancy: {
    factor: number | "cluster";
    mode: "activeActive" | "activePassive";
    signal: "all" | "active" | "passive" | "none";
  };
  partition:
    | { type: "divergence" }
    | { type: "static"; quorumSize: number }
    | { type: "dynamic"; quorumPercent: number; windowMs: number }
    | { type: "majority"; initialClusterSize: number };
  migration: { type: "coldSwap" } | { type: "hotSwap"; retentionMs: number; handoverTimeoutMs: number };
  synchronization: { type: "push" } | { type: "gossip"; recipients: number; intervalMs: number };
  distribution:
    | { type: "consistentHashing" }
    | { type: "guided" }
    | {
        type: "loadAware";
        reportIntervalMs: number;
        weights: { children: number; lag: number; memory: number };
      };
}

/** Defaults: singularity, divergence, cold swap, push, consistent hashing. */
export const DEFAULT_STRATEGIES: Readonly<HubStrategies> = Object.freeze<HubStrategies>({
  redundancy: { factor: 1, mode: "activeActive", signal: "all" },
  partition: { type: "divergence" },
  migration: { type: "coldSwap" },
  synchronization: { type: "push" },
  distribution: { type: "consistentHashing" },
});

/** Defaults of the optional fields. */
export const STRATEGY_DEFAULTS = Object.freeze({
  windowMs: 30_000,
  initialClusterSize: 1,
  retentionMs: 5000,
  handoverTimeoutMs: 3000,
  recipients: 3,
  gossipIntervalMs: 5000,
  reportIntervalMs: 1000,
  weights: Object.freeze({ children: 0.5, lag: 0.3, memory: 0.2 }),
});

function posInt(field: string, v: unknown, min = 1): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min)
    throw new InvalidOptionError(field, `an integer >= ${min}`, v);
  return v;
}

function posNum(field: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0)
    throw new InvalidOptionError(field, "a finite number > 0", v);
  return v;
}

function shape(field: string, v: unknown, types: string[]): string {
  if (typeof v !== "object" || v === null || !types.includes((v as { type?: string }).type ?? ""))
    throw new InvalidOptionError(field, `an object with type ${types.map((t) => `"${t}"`).join(" | ")}`, v);
  return (v as { type: string }).type;
}

/** Validates strategy options, filling in defaults. Throws `InvalidOptionError`. */
export function parseStrategies(o: HubStrategyOptions = {}): HubStrategies {
  const out: HubStrategies = {
    redundancy:
      o.redundancy === undefined ? { ...DEFAULT_STRATEGIES.redundancy } : parseRedundancy(o.redundancy),
    partition: o.partition === undefined ? DEFAULT_STRATEGIES.partition : parsePartition(o.partition),
    migration: o.migration === undefined ? DEFAULT_STRATEGIES.migration : parseMigration(o.migration),
    synchronization:
      o.synchronization === undefined ? DEFAULT_STRATEGIES.synchronization : parseSync(o.synchronization),
    distribution:
      o.distribution === undefined ? DEFAULT_STRATEGIES.distribution : parseDistribution(o.distribution),
  };
  if (out.distribution.type === "loadAware" && out.redundancy.factor !== 1)
    // Load-aware placement pins each child to one chosen node; replicas would silently be lost.
    throw new InvalidOptionError(
      "distribution",
      "consistentHashing when redundancy.factor is not 1 (loadAware places one copy per child)",
      out.distribution.type,
    );
  return out;
}

function parseRedundancy(v: RedundancyStrategy): HubStrategies["redundancy"] {
  const t = shape("redundancy", v, ["singularity", "replication"]);
  if (t !== "replication") return { ...DEFAULT_STRATEGIES.redundancy };
  const r = v as Extract<RedundancyStrategy, { type: "replication" }>;
  const factor = r.factor === "cluster" ? "cluster" : posInt("redundancy.factor", r.factor);
  const mode = r.mode ?? "activeActive";
  if (mode !== "activeActive" && mode !== "activePassive")
    throw new InvalidOptionError("redundancy.mode", '"activeActive" or "activePassive"', mode);
  const signal = r.signal ?? "all";
  if (!["all", "active", "passive", "none"].includes(signal))
    throw new InvalidOptionError("redundancy.signal", '"all", "active", "passive" or "none"', signal);
  return { factor, mode, signal };
}

function parsePartition(v: PartitionStrategy): HubStrategies["partition"] {
  const t = shape("partition", v, ["divergence", "static", "dynamic", "majority"]);
  const p = v as Record<string, unknown>;
  if (t === "static") return { type: "static", quorumSize: posInt("partition.quorumSize", p.quorumSize) };
  if (t === "dynamic") {
    const pct = p.quorumPercent;
    if (typeof pct !== "number" || !(pct > 0 && pct <= 100))
      throw new InvalidOptionError("partition.quorumPercent", "a number in (0, 100]", pct);
    return {
      type: "dynamic",
      quorumPercent: pct,
      windowMs: posNum("partition.windowMs", p.windowMs ?? STRATEGY_DEFAULTS.windowMs),
    };
  }
  if (t === "majority") {
    const size = p.initialClusterSize ?? STRATEGY_DEFAULTS.initialClusterSize;
    return { type: "majority", initialClusterSize: posInt("partition.initialClusterSize", size) };
  }
  return DEFAULT_STRATEGIES.partition;
}

function parseMigration(v: MigrationStrategy): HubStrategies["migration"] {
  const t = shape("migration", v, ["coldSwap", "hotSwap"]);
  if (t !== "hotSwap") return DEFAULT_STRATEGIES.migration;
  const m = v as Record<string, unknown>;
  return {
    type: "hotSwap",
    retentionMs: posNum("migration.retentionMs", m.retentionMs ?? STRATEGY_DEFAULTS.retentionMs),
    handoverTimeoutMs: posNum(
      "migration.handoverTimeoutMs",
      m.handoverTimeoutMs ?? STRATEGY_DEFAULTS.handoverTimeoutMs,
    ),
  };
}

function parseSync(v: SyncStrategy): HubStrategies["synchronization"] {
  const t = shape("synchronization", v, ["push", "gossip"]);
  if (t !== "gossip") return DEFAULT_STRATEGIES.synchronization;
  const s = v as Record<string, unknown>;
  return {
    type: "gossip",
    recipients: posInt("synchronization.recipients", s.recipients ?? STRATEGY_DEFAULTS.recipients),
    intervalMs: posNum("synchronization.intervalMs", s.intervalMs ?? STRATEGY_DEFAULTS.gossipIntervalMs),
  };
}

function parseDistribution(v: DistributionStrategy): HubStrategies["distribution"] {
  const t = shape("distribution", v, ["consistentHashing", "guided", "loadAware"]);
  if (t === "guided") return { type: "guided" };
  if (t !== "loadAware") return DEFAULT_STRATEGIES.distribution;
  const d = v as Extract<DistributionStrategy, { type: "loadAware" }>;
  const w = { ...STRATEGY_DEFAULTS.weights, ...(d.weights ?? {}) };
  for (const [k, x] of Object.entries(w))
    if (typeof x !== "number" || !(x >= 0))
      throw new InvalidOptionError(`distribution.weights.${k}`, "a number >= 0", x);
  const every = posNum(
    "distribution.reportIntervalMs",
    d.reportIntervalMs ?? STRATEGY_DEFAULTS.reportIntervalMs,
  );
  return { type: "loadAware", reportIntervalMs: every, weights: w };
}
