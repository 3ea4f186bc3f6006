/**
 * A start request as the hub handle builds it on the caller's node, before anything is sent:
 * each spec normalised and checked (behaviour registered here, size able to travel, no duplicate
 * id, a child mapping naming members only), then grouped by the nodes that should start each
 * child (ring replicas, a mapping, or load-aware placement) with a fresh epoch; and, for
 * `onFailure: "rollback"`, the stop of whatever a failed start may have left running. Imports
 * the hub's child specs, errors, messages, results, core, load strategy.
 */
import { type HubChildSpec, type NormalizedChildSpec, normalizeChildSpec } from "./child-spec.js";
import { addTo } from "./core/context.js";
import {
  ChildMappingMismatchError,
  ChildReplicationMismatchError,
  ChildSpecTooLargeError,
  DuplicateChildIdError,
  InvalidChildMappingError,
  MissingChildMappingError,
  NoChildrenError,
  UnknownHubBehaviourError,
} from "./errors.js";
import type { HubCore } from "./hub-core.js";
import { MAX_SPEC_BYTES, type StartItem, specBytes } from "./messages.js";
import type { StartOptions } from "./options.js";
import { type HubErrorReason, StartResult, type StopResult } from "./results.js";
import { runAll, STEP, type Steps } from "./steps.js";
import { HubPartitionedError } from "./strategies/errors.js";
import { type NodeLoad, placeByLoad } from "./strategies/load.js";

/** Normalises and checks one spec (throws a named error); `metadata` is merged under its own. */
export function prepareSpec(
  behaviours: { has(name: string): boolean },
  spec: HubChildSpec,
  metadata: StartOptions["metadata"],
): NormalizedChildSpec {
  const n = normalizeChildSpec(spec);
  if (!behaviours.has(n.behaviour)) throw new UnknownHubBehaviourError(n.behaviour, n.id);
  if (metadata !== undefined) n.metadata = { ...metadata, ...n.metadata };
  // A spec that cannot fit in one message would be lost on its way to its owner (and in every
  // delta and slice after): refused here, before anything of the call starts.
  const size = specBytes(n);
  if (size > MAX_SPEC_BYTES) throw new ChildSpecTooLargeError(n.id, size, MAX_SPEC_BYTES);
  return n;
}

/** Normalises and checks every spec of one call. */
export function prepareSpecs(
  core: HubCore,
  specs: readonly HubChildSpec[],
  metadata: StartOptions["metadata"],
): NormalizedChildSpec[] {
  if (!Array.isArray(specs) || specs.length === 0) throw new NoChildrenError();
  const seen = new Set<string>();
  const known = { has: (b: string) => core.view.anyHas(b) };
  return specs.map((s) => {
    // A behaviour some member registered will do: the child is placed among those members.
    const n = prepareSpec(known, s, metadata);
    if (seen.has(n.id)) throw new DuplicateChildIdError(n.id);
    seen.add(n.id);
    return n;
  });
}

/** Child id → the nodes it is pinned to, checked. */
export type PinnedNodes = ReadonlyMap<string, readonly string[]>;

/**
 * Checks a call's `childMapping` against its children and the hub: every key a child of the
 * call, every value a hub node or a list of distinct hub nodes; under guided distribution every
 * child mapped, to as many nodes as the replication factor. Throws a named error (nothing of the
 * call starts), or gives the pinned nodes per child.
 */
export function resolveMapping(
  core: HubCore,
  specs: readonly NormalizedChildSpec[],
  mapping: StartOptions["childMapping"],
): PinnedNodes | undefined {
  const guided = core.strategies.distribution.type === "guided";
  if (mapping === undefined && !guided) return undefined;
  const ids = new Set(specs.map((s) => s.id));
  const out = new Map<string, readonly string[]>();
  for (const [id, value] of Object.entries(mapping ?? {})) {
    if (!ids.has(id)) throw new ChildMappingMismatchError(id);
    const nodes = typeof value === "string" ? [value] : value;
    if (!Array.isArray(nodes) || nodes.length === 0 || new Set(nodes).size !== nodes.length)
      throw new InvalidChildMappingError(id, value);
    for (const n of nodes)
      if (typeof n !== "string" || !core.view.isMember(n)) throw new InvalidChildMappingError(id, n);
    out.set(id, nodes);
  }
  if (guided) {
    const r = core.strategies.redundancy.factor;
    const factor = r === "cluster" ? core.members.size + 1 : r;
    for (const id of ids) {
      const nodes = out.get(id);
      if (nodes === undefined) throw new MissingChildMappingError(id);
      if (nodes.length !== factor) throw new ChildReplicationMismatchError(id, nodes.length, factor);
    }
  }
  return out;
}

/** The start items of `specs` grouped by the nodes that should start them. */
export function groupStarts(
  core: HubCore,
  specs: readonly NormalizedChildSpec[],
  pinned: PinnedNodes | undefined,
): Map<string, StartItem[]> {
  const groups = new Map<string, StartItem[]>();
  runAll(groupStartSteps(core, specs, pinned, groups));
  return groups;
}

/** `groupStarts` into `groups`, in steps of `STEP` specs (a paced call of the handle). */
export function* groupStartSteps(
  core: HubCore,
  specs: readonly NormalizedChildSpec[],
  pinned: PinnedNodes | undefined,
  groups: Map<string, StartItem[]>,
): Steps {
  const dist = core.strategies.distribution;
  let byLoad: string[] | null = null;
  let next = 0;
  if (dist.type === "loadAware") {
    const loads = new Map<string, NodeLoad>();
    for (const n of [core.self, ...core.members.keys()])
      loads.set(n, core.loads.get(n) ?? { children: 0, lagMs: 0, memory: 0 });
    byLoad = placeByLoad(loads, specs.filter((s) => !pinned?.has(s.id)).length, dist.weights);
  }
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i]!;
    const byLoadTo = byLoad !== null ? byLoad[next++] : undefined;
    const byLoadOk = byLoadTo !== undefined && core.view.has(byLoadTo, spec.behaviour);
    const pinnedTo = pinned?.get(spec.id) ?? (byLoadOk ? [byLoadTo] : undefined);
    const nodes = pinnedTo ?? core.view.replicasOf(spec.id, spec.behaviour);
    const item: StartItem = {
      spec,
      epoch: core.registry.epochOf(spec.id) + 1,
      pinned: pinnedTo !== undefined,
    };
    for (const node of nodes) addTo(groups, node, item);
    if (i % STEP === STEP - 1) yield;
  }
}

/** Start errors after which the child may run on that node anyway: a rollback stops it there too. */
const UNKNOWN_OUTCOME: ReadonlySet<HubErrorReason> = new Set([
  "node_receive_timeout",
  "node_down",
  "hub_stopped",
]);

/**
 * `onFailure: "rollback"`: stops what started, and what may have started (a node that did not
 * answer, left or whose hub stopped may run the children it was asked for; stopping a child
 * that does not run is harmless), at every node the start reached. Never rejects: what it
 * could not stop for sure is in `rollbackErrors`. `usable` throws if the hub cannot stop now.
 */
export async function rollback(
  core: HubCore,
  r: StartResult,
  timeoutMs: number,
  usable: () => void,
): Promise<StartResult> {
  if (r.status === "ok") return r;
  const targets = new Map<string, Set<string>>();
  const add = (id: string, node: string | undefined) => {
    let set = targets.get(id);
    if (set === undefined) targets.set(id, (set = new Set()));
    if (node !== undefined) set.add(node);
  };
  for (const s of r.started) for (const np of s.nodes) add(s.id, np.node);
  for (const e of r.errors) if (UNKNOWN_OUTCOME.has(e.reason)) add(e.id, e.node);
  if (targets.size === 0) return r;
  const ids = [...targets.keys()];
  try {
    usable();
    const stop = await new Promise<StopResult>((resolve) =>
      core.requests.stop(ids, { timeoutMs, onDone: resolve, also: targets }),
    );
    // `not_found`: nothing ran (the start failed there, or never arrived).
    const unsure = stop.errors.filter((e) => e.reason !== "not_found");
    return new StartResult(r.started, r.errors, true, unsure);
  } catch (err) {
    const reason: HubErrorReason = err instanceof HubPartitionedError ? "partitioned" : "hub_stopped";
    const detail = String(err);
    return new StartResult(
      r.started,
      r.errors,
      true,
      ids.map((id) => ({ id, node: undefined, reason, detail })),
    );
  }
}
