/**
 * The options of `ProcessHub.start` and the shapes its non-awaited calls answer with, in one
 * place with their defaults (the tunables' defaults are `DEFAULT_HUB_TUNING` in `options.ts`,
 * the strategies' in `strategies/options.ts`). Imports types only.
 */
import type { Logger } from "../logger.js";
import type { Node, ProcessContext } from "../process/index.js";
import type { Pid } from "../process/pid.js";
import type { HubChildSpec } from "./child-spec.js";
import type { DurabilityOptions } from "./durable/options.js";
import type { EntityOptions } from "./entities/options.js";
import type { HubHookHandler, HubHookName } from "./hooks.js";
import type { HubBehaviour } from "./local-children.js";
import type { ClusterLike, HubMembership } from "./membership.js";
import type { HubTuning } from "./options.js";
import type { HubStrategyOptions } from "./strategies/options.js";

/** `Partial<T>` whose properties also take `undefined` (for `exactOptionalPropertyTypes`). */
type Optional<T> = { [K in keyof T]?: T[K] | undefined };

/** Options of `ProcessHub.start`. */
export interface HubOptions extends Optional<HubTuning>, HubStrategyOptions {
  /** The hub's id; nodes running the same id form one hub. Required. */
  hubId: string;
  /** The local node the hub runs on. @default the current node */
  node?: Node | undefined;
  /** The cluster this node joined; the hub discovers its peers through it. @default undefined */
  cluster?: (ClusterLike & { node: Node }) | undefined;
  /** Cluster membership, for a custom cluster layer (overrides `cluster`). @default no peers */
  membership?: HubMembership | undefined;
  /** Behaviours children may name, registered under these names on this node. @default {} */
  behaviours?: Record<string, HubBehaviour> | undefined;
  /** Children started once cluster-wide when the hub starts (already running ids are kept). @default [] */
  childSpecs?: HubChildSpec[] | undefined;
  /** Hook handlers registered before anything happens. @default {} */
  hooks?: { [K in HubHookName]?: HubHookHandler<K> | HubHookHandler<K>[] } | undefined;
  /**
   * Link the hub process to this process (a supervisor): a pid, or a process context — whose
   * node is then the default node, which lets an async process start a linked hub after an
   * `await`. The link's exit signal stops the hub gracefully. @default undefined (unlinked)
   */
  linkTo?: Pid | ProcessContext | undefined;
  /** Logger for crash and restart reports. @default the node's logger */
  logger?: Logger | undefined;
  /**
   * How references (`hub.ref`) wait and buffer: `callTimeoutMs` (5000), `maxBufferedPerId`
   * (1000), `maxBuffered` (100000); see `entities/options.ts`. @default those defaults
   */
  entities?: EntityOptions | undefined;
  /**
   * Make the hub durable: what should run is declared in `store` (written before each start and
   * stop) and reconciled, so it survives restarts of every node and a stop is never undone; see
   * `durable/options.ts` for `reconcileIntervalMs` (1000), `settleMs` (1000), `graceMs` (5000),
   * `writeConcurrency` (64), `maxRetryDelayMs` (30000). @default undefined (children live in the nodes' memory only)
   */
  durability?: DurabilityOptions | undefined;
}

/**
 * A child spec that runs a hub under a Supervisor or DynamicSupervisor (structurally the
 * supervision layer's `ChildSpec`): started linked to the supervisor; when the supervisor stops
 * it, the hub stops gracefully (its children are adopted by the other hub nodes).
 * @category hub
 */
export interface HubSupervisorChildSpec {
  id: unknown;
  start: () => { ok: true; pid: Pid } | { ok: false; error: unknown };
  restart: "permanent" | "transient" | "temporary";
  shutdown: "brutal_kill" | "infinity" | number;
  type: "supervisor";
  modules: readonly string[];
}

/** What a non-awaited start answers. */
export type StartInitiated = { status: "start_initiated" } | { status: "already_started"; ids: string[] };

/** What a non-awaited stop answers. */
export interface StopInitiated {
  status: "stop_initiated";
}

/** The hub tunables of `options` (strategy fields are parsed separately). */
export function stripStrategies(o: HubOptions): Partial<HubTuning> {
  const { redundancy, partition, migration, synchronization, distribution, entities, durability, ...rest } =
    o;
  void entities;
  void durability;
  void redundancy;
  void partition;
  void migration;
  void synchronization;
  void distribution;
  return rest;
}
