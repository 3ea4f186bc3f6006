/**
 * Options of the hub and of its start / stop calls, with their documented defaults and the
 * parsers that validate them (throwing `InvalidOptionError`). Imports the root `errors`, `logger`,
 * `child-spec`.
 */
import { InvalidOptionError } from "../errors.js";
import type { ChildMetadata } from "./child-spec.js";

/** Tunables of a hub (everything but the wiring: node, membership, behaviours). */
export interface HubTuning {
  /** Virtual nodes per member on the hash ring. More = evener spread, slower ring rebuilds. @default 256 */
  vnodes: number;
  /**
   * Period of the anti-entropy round, in ms: each node sends every peer where its registry slice
   * is, and a peer whose copy is behind asks for the whole slice. @default 5000
   */
  syncIntervalMs: number;
  /** Period of re-announcing this hub to cluster members that have not answered, in ms. @default 2000 */
  discoverIntervalMs: number;
  /** Node joins and leaves arriving within this window are handled as one change, in ms. @default 30 */
  clusterEventDebounceMs: number;
  /** How long a node waits for the new owner to confirm a migrated child before taking it back, in ms. @default 10000 */
  migrationTimeoutMs: number;
  /** Restarts of one child allowed within `maxSeconds` before the hub gives up on it. @default 100 */
  maxRestarts: number;
  /** The window of `maxRestarts`, in seconds. @default 4 */
  maxSeconds: number;
  /** How many times a start may be forwarded between nodes before the receiver starts it anyway. @default 3 */
  maxForwards: number;
  /**
   * Most children of one start message whose starts are under way at once. The event loop is not
   * held meanwhile: the hub yields every 20 ms of work (`pacing.ts`). @default 2000
   */
  startBatchSize: number;
  /**
   * How long one child's start (a GenServer's `init`, a `ChildStarter`'s `start`) may take on its
   * node before it is killed and fails with `ChildStartTimeoutError`, in ms. Starts never hold
   * up the hub process (nor the answers of the other children of the same start) meanwhile. It
   * counts from the child's spawn, so it also covers waiting behind the other children of a
   * large start (up to `startBatchSize` at once) on a busy node. @default 30000
   */
  initTimeoutMs: number;
  /**
   * Most children one rebalance moves off this node (a join otherwise moves about 1/N of a large
   * hub at once); the rest go in the next rounds, `rebalancePauseMs` apart. @default Infinity
   */
  maxMovesPerRound: number;
  /** The pause between two rebalance rounds that `maxMovesPerRound` cut short, in ms. @default 100 */
  rebalancePauseMs: number;
}

/** Defaults of `HubTuning`. */
export const DEFAULT_HUB_TUNING: Readonly<HubTuning> = Object.freeze({
  vnodes: 256,
  syncIntervalMs: 5000,
  discoverIntervalMs: 2000,
  clusterEventDebounceMs: 30,
  migrationTimeoutMs: 10_000,
  maxRestarts: 100,
  maxSeconds: 4,
  maxForwards: 3,
  startBatchSize: 2000,
  initTimeoutMs: 30_000,
  maxMovesPerRound: Number.POSITIVE_INFINITY,
  rebalancePauseMs: 100,
});

/** Options of `startChildren` / `startChild`. */
export interface StartOptions {
  /** Return a `Future` of the `StartResult` instead of `start_initiated`. @default false */
  awaitable?: boolean | undefined;
  /** Per-node wait for an answer, in ms; a silent node gives `node_receive_timeout`. @default 10000 */
  timeoutMs?: number | undefined;
  /** @deprecated the same as `timeoutMs` (ProcessHub's spelling), read when `timeoutMs` is absent. */
  timeout?: number | undefined;
  /** Reject the call (listing the ids) when any id is already registered. @default true */
  checkExisting?: boolean | undefined;
  /** `rollback` stops what started when anything failed (awaited calls only). @default "continue" */
  onFailure?: "continue" | "rollback" | undefined;
  /** Metadata merged into every child's own metadata. @default undefined */
  metadata?: ChildMetadata | undefined;
  /**
   * Guided placement: child id → the node to run it on, or one node per replica. Required for
   * every child under `distribution: { type: "guided" }`; otherwise it pins the children it lists
   * and the others go by the ring. Pinned children do not migrate. @default undefined
   */
  childMapping?: Record<string, string | readonly string[]> | undefined;
}

/** Options of `stopChildren` / `stopChild`. */
export interface StopOptions {
  /** Return a `Future` of the `StopResult` instead of `stop_initiated`. @default false */
  awaitable?: boolean | undefined;
  /** Per-node wait for an answer, in ms. @default 10000 */
  timeoutMs?: number | undefined;
  /** @deprecated the same as `timeoutMs`, read when `timeoutMs` is absent. */
  timeout?: number | undefined;
}

/** Defaults of the start options (`startChildren` / `startChild`). */
export const DEFAULT_START_OPTIONS = Object.freeze({
  awaitable: false,
  timeoutMs: 10_000,
  checkExisting: true,
  onFailure: "continue" as "continue" | "rollback",
});

/** Defaults of the stop options (`stopChildren` / `stopChild`). */
export const DEFAULT_STOP_OPTIONS = Object.freeze({ awaitable: false, timeoutMs: 10_000 });

function positiveNumber(field: string, v: unknown, allowZero = false): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
    throw new InvalidOptionError(field, allowZero ? "a finite number >= 0" : "a finite number > 0", v);
  }
  return v;
}

/** Validates hub tunables, filling in defaults. */
export function parseHubTuning(input: Partial<HubTuning> | undefined): HubTuning {
  const t = { ...DEFAULT_HUB_TUNING, ...stripUndefined(input ?? {}) };
  if (!Number.isInteger(t.vnodes) || t.vnodes < 1)
    throw new InvalidOptionError("vnodes", "a positive integer", t.vnodes);
  positiveNumber("syncIntervalMs", t.syncIntervalMs);
  positiveNumber("discoverIntervalMs", t.discoverIntervalMs);
  positiveNumber("clusterEventDebounceMs", t.clusterEventDebounceMs, true);
  positiveNumber("migrationTimeoutMs", t.migrationTimeoutMs);
  positiveNumber("maxRestarts", t.maxRestarts, true);
  positiveNumber("maxSeconds", t.maxSeconds);
  positiveNumber("maxForwards", t.maxForwards, true);
  if (!Number.isInteger(t.startBatchSize) || t.startBatchSize < 1) {
    throw new InvalidOptionError("startBatchSize", "a positive integer", t.startBatchSize);
  }
  positiveNumber("initTimeoutMs", t.initTimeoutMs);
  if (
    t.maxMovesPerRound !== Number.POSITIVE_INFINITY &&
    (!Number.isInteger(t.maxMovesPerRound) || t.maxMovesPerRound < 1)
  )
    throw new InvalidOptionError("maxMovesPerRound", "a positive integer or Infinity", t.maxMovesPerRound);
  positiveNumber("rebalancePauseMs", t.rebalancePauseMs, true);
  return t;
}

/** Validates start options, filling in defaults. */
export function parseStartOptions(
  o: StartOptions | undefined,
): Required<Omit<StartOptions, "metadata" | "childMapping" | "timeout">> &
  Pick<StartOptions, "metadata" | "childMapping"> {
  const { timeout, ...given } = stripUndefined(o ?? {});
  const r = { ...DEFAULT_START_OPTIONS, ...(timeout !== undefined ? { timeoutMs: timeout } : {}), ...given };
  if (typeof r.awaitable !== "boolean") throw new InvalidOptionError("awaitable", "a boolean", r.awaitable);
  positiveNumber("timeoutMs", r.timeoutMs, true);
  if (typeof r.checkExisting !== "boolean")
    throw new InvalidOptionError("checkExisting", "a boolean", r.checkExisting);
  if (r.onFailure !== "continue" && r.onFailure !== "rollback") {
    throw new InvalidOptionError("onFailure", '"continue" or "rollback"', r.onFailure);
  }
  if (r.metadata !== undefined && (typeof r.metadata !== "object" || r.metadata === null)) {
    throw new InvalidOptionError("metadata", "an object", r.metadata);
  }
  if (r.childMapping !== undefined && (typeof r.childMapping !== "object" || r.childMapping === null)) {
    throw new InvalidOptionError("childMapping", "an object of child id → node", r.childMapping);
  }
  return r;
}

/** Validates stop options, filling in defaults. */
export function parseStopOptions(o: StopOptions | undefined): Required<Omit<StopOptions, "timeout">> {
  const { timeout, ...given } = stripUndefined(o ?? {});
  const r = { ...DEFAULT_STOP_OPTIONS, ...(timeout !== undefined ? { timeoutMs: timeout } : {}), ...given };
  if (typeof r.awaitable !== "boolean") throw new InvalidOptionError("awaitable", "a boolean", r.awaitable);
  positiveNumber("timeoutMs", r.timeoutMs, true);
  return r;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
