/**
 * Redundancy: which nodes run a child and which of them is active. The replicas of an id are the
 * first `factor` distinct members met walking the hash ring from the id (the ring owner first),
 * so every node with the same member list agrees on them without talking. With `activePassive`
 * the first replica is the active one; it changes only when the ring changes. Each replica is
 * told its mode by a `RedundancySignal` message, sent after it starts and again whenever its
 * mode changes. Imports `hash-ring`, `strategies/options`.
 */
import type { HashRing } from "../hash-ring.js";
import type { HubStrategies } from "./options.js";

/** Whether a replica should serve (`active`) or stand by (`passive`). */
export type RedundancyMode = "active" | "passive";

/**
 * Sent to a hub child (as a plain message: a GenServer gets it in `handleInfo`) to tell it
 * whether it is the active or a passive replica.
 * @category hub
 */
export interface RedundancySignal {
  $hub: "redundancy";
  id: string;
  mode: RedundancyMode;
}

/** Type guard for the redundancy signal a replica receives. */
export function isRedundancySignal(m: unknown): m is RedundancySignal {
  return typeof m === "object" && m !== null && (m as { $hub?: unknown }).$hub === "redundancy";
}

/** How many replicas each child has on a ring of this size. */
export function replicationCount(r: HubStrategies["redundancy"], ringSize: number): number {
  return r.factor === "cluster" ? Math.max(1, ringSize) : r.factor;
}

/** The nodes that should run `id`, owner first. */
export function replicasOf(ring: HashRing, id: string, r: HubStrategies["redundancy"]): string[] {
  const n = replicationCount(r, ring.size);
  if (n !== 1) return ring.ownersOf(id, n);
  const owner = ring.owner(id);
  return owner === undefined ? [] : [owner];
}

/** The mode of `node` for a child whose replicas are `replicas`. */
export function modeOf(
  r: HubStrategies["redundancy"],
  replicas: readonly string[],
  node: string,
): RedundancyMode {
  if (r.mode === "activeActive") return "active";
  return replicas[0] === node ? "active" : "passive";
}

/** Whether a replica in `mode` gets signals under this strategy. */
export function wantsSignal(r: HubStrategies["redundancy"], mode: RedundancyMode): boolean {
  return r.signal === "all" || r.signal === mode;
}
