/**
 * What every part of the hub process shares: identity, configuration, the local children, the
 * replicated registry, the view of the hub's members, and how to reach the hub process itself
 * and its peers. `HubCore` (the process shell) implements it; each part gets it in its
 * constructor beside the parts it may ask questions of. No part writes another part's maps.
 * Imports types only.
 */
import type { Logger } from "../../logger.js";
import type { Node } from "../../process/node.js";
import type { Pid } from "../../process/pid.js";
import type { HubHooks } from "../hooks.js";
import type { HubRegistry } from "../hub-registry.js";
import type { HubBehaviour, LocalChildren } from "../local-children.js";
import type { HubLocalMsg, HubWireMsg, StartItem } from "../messages.js";
import type { ParkedHandovers } from "../durable/parked-handover.js";
import type { HubTuning } from "../options.js";
import type { Replicator } from "../replicator.js";
import { type HubStrategies, STRATEGY_DEFAULTS } from "../strategies/options.js";
import type { HubView } from "./view.js";

/**
 * The exclusive states of a hub process. `running`: serving; `partitioned`: without quorum, no
 * children, starts and stops refused; `stopping`: a graceful stop is handing children over,
 * starts refused; `stopped`: gone. (A topology change in progress is the topology's own lock,
 * `Topology.changing`: it happens in `running` and in `partitioned` alike.)
 */
export type HubMode = "running" | "partitioned" | "stopping" | "stopped";

/**
 * Fencing as the hub's parts see it (`durable/fencing.ts` implements it; null when the hub is
 * not fenced): a child starts here only once `acquire` resolved null, and a move hands the
 * claim to the new node once the local copy has stopped.
 */
export interface StartFence {
  /** Claims `id` for this node (waiting for a lapsed holder); null, or why not. */
  acquire(id: string): Promise<"no_lease" | "held" | "store_failed" | null>;
  /** The start that `acquire` allowed has ended (started or not). */
  settled(id: string): void;
  /** Whether this node may run fenced children now. */
  valid(): boolean;
  /** The local copy of `id` stopped and the child moves to `to`: the claim goes with it. */
  handOver(id: string, to: string): Promise<void>;
}

export interface HubContext {
  readonly hubId: string;
  /** This node's name. */
  readonly self: string;
  /** This hub's incarnation (random per hub process). */
  readonly inc: number;
  readonly node: Node;
  readonly pid: Pid;
  readonly tuning: HubTuning;
  readonly strategies: HubStrategies;
  readonly hooks: HubHooks;
  readonly logger: Logger;
  readonly behaviours: ReadonlyMap<string, HubBehaviour>;
  readonly registry: HubRegistry;
  readonly children: LocalChildren;
  readonly repl: Replicator;
  readonly view: HubView;
  readonly mode: HubMode;
  /** Fencing (a durable hub's `fencing` option), else null. */
  readonly fence: StartFence | null;
  /** Fenced: where a hot swap parks the state it moves (`durable/parked-handover.ts`), else null. */
  readonly handovers: ParkedHandovers | null;
  /** Sends to hub `node` (this node: posts to itself). */
  send(node: string, msg: HubWireMsg): void;
  /** Posts a local command to the hub process. */
  post(msg: HubLocalMsg): void;
  /** Posts a local command after the topology debounce (and a little more). */
  postLater(msg: HubLocalMsg): void;
  /**
   * Null while the hub's work in this macrotask is within its bound, otherwise a promise that
   * settles once the event loop has turned: long loops (a huge start or stop) await it between
   * children (see `pacing.ts`).
   */
  yieldIfDue(): Promise<void> | null;
}

/** Every timeout the hub process uses, in one place. */
export const timeouts = {
  /** How long a child may take to receive handed-over data (a peer may hot-swap when we do not). */
  handoverMs(s: HubStrategies): number {
    const m = s.migration;
    return m.type === "hotSwap" ? m.handoverTimeoutMs : HANDOVER_DEFAULT_MS;
  },
  /** How long a move, an adoption or a claim waits for its answers. */
  migrationMs: (t: HubTuning): number => t.migrationTimeoutMs,
  /** The sync period: slice versions (anti-entropy), tombstone expiry, rebalancing. */
  syncMs(t: HubTuning, s: HubStrategies): number {
    const sync = s.synchronization;
    return sync.type === "gossip" ? sync.intervalMs : t.syncIntervalMs;
  },
  /** A retry after the membership change the failure causes. */
  retryMs: (t: HubTuning): number => t.clusterEventDebounceMs + 50,
};

/** `handoverTimeoutMs`'s default, for a hub that does not hot-swap itself (a peer may). */
const HANDOVER_DEFAULT_MS = STRATEGY_DEFAULTS.handoverTimeoutMs;

/** Adds `item` to `node`'s list in `groups` (the group-by-node idiom, once). */
export function addTo<T>(groups: Map<string, T[]>, node: string, item: T): void {
  const g = groups.get(node);
  if (g === undefined) groups.set(node, [item]);
  else g.push(item);
}

/** Groups start items by the nodes `targets` names for each. */
export function groupByNode(
  items: Iterable<StartItem>,
  targets: (it: StartItem) => Iterable<string>,
): Map<string, StartItem[]> {
  const groups = new Map<string, StartItem[]>();
  for (const it of items) for (const n of targets(it)) addTo(groups, n, it);
  return groups;
}
