/**
 * `StartResult` and `StopResult`: what an awaited hub start or stop resolves to, as ProcessHub's
 * structs of those names. Each carries an overall status, the entries that succeeded, per-child
 * errors naming the node that failed and why, and for starts whether a rollback stopped what had
 * started. Helpers mirror ProcessHub's (`cids`, `pid`, `pids`, `node`, `nodes`, `first`,
 * `format`). Imports `process/pid`.
 */
import type { Pid } from "../process/pid.js";

/** One placement of a child: the node and the pid it runs as there. */
export interface NodePid {
  node: string;
  pid: Pid;
}

/**
 * Why a child failed to start or stop on a node.
 * - `already_started`: the id already runs (`checkExisting`), or the owner already ran it.
 * - `not_found`: stop of an id that no node runs.
 * - `unknown_behaviour`: the behaviour is not registered on the target node.
 * - `node_receive_timeout`: the node did not answer within the call's `timeout`.
 * - `node_down`: the node left the cluster before answering.
 * - `hub_stopped`: the hub on the target node stopped before answering.
 * - `start_failed`: the behaviour's start threw or its process exited during init (`detail`).
 * - `partitioned`: the target node has lost its partition-tolerance quorum and refuses starts.
 */
export type HubErrorReason =
  | "already_started"
  | "not_found"
  | "unknown_behaviour"
  | "node_receive_timeout"
  | "node_down"
  | "hub_stopped"
  | "start_failed"
  | "partitioned"
  /** A move or adoption refused while the receiving node's own membership change is pending (retried). */
  | "topology_pending"
  /** A durable hub could not store the declaration, so nothing was done (`error`: the store's). */
  | "store_failed"
  /**
   * A fenced hub (`durability.fencing`) did not start it: the node holds no valid lease, or
   * another node whose lease is live holds the child's claim (`detail`). Reconcile retries.
   */
  | "fenced";

/** A per-child, per-node failure. `node` is undefined when no node was ever asked. */
export interface ChildError {
  id: string;
  node: string | undefined;
  reason: HubErrorReason;
  /** Printable detail (a crash message, the pid already running…). */
  detail?: string;
  /** `already_started`: the pid of the copy running. */
  pid?: Pid;
  /**
   * `start_failed`: the start's error as a value — what a GenServer `init` stopped with or a
   * start returned, or a `StartCrashError` (thrown value and stack) for a start that threw.
   * From another node it is what crossed the wire (registered error classes arrive as
   * themselves); a value that could not travel is left out (`detail` still describes it).
   */
  error?: unknown;
}

/** One started child and where it runs. */
export interface StartedChild {
  id: string;
  nodes: NodePid[];
}

/** One stopped child and the nodes it was stopped on. */
export interface StoppedChild {
  id: string;
  nodes: string[];
}

/** `format()` of a start: `ok` with what started, or the errors beside what started. */
export type FormattedStart =
  | { ok: true; started: StartedChild[] }
  | {
      ok: false;
      errors: ChildError[];
      started: StartedChild[];
      rollback: boolean;
      rollbackErrors: ChildError[];
    };

/** `format()` of a stop. */
export type FormattedStop =
  | { ok: true; stopped: StoppedChild[] }
  | { ok: false; errors: ChildError[]; stopped: StoppedChild[] };

/**
 * The outcome of an awaited `startChildren`.
 * @category hub
 */
export class StartResult {
  /** `ok` when every child started and nothing failed. */
  readonly status: "ok" | "error";
  constructor(
    readonly started: readonly StartedChild[],
    readonly errors: readonly ChildError[],
    /**
     * True when `onFailure: "rollback"` stopped the children that had started, and those whose
     * node did not answer (they may have started there).
     */
    readonly rollback = false,
    /**
     * Children the rollback could not be sure it stopped: the stop timed out or its node left
     * (`node_receive_timeout`, `node_down`), or the hub could not send it at all (`hub_stopped`,
     * `partitioned`, `node` undefined). Empty when the rollback stopped everything or none ran.
     */
    readonly rollbackErrors: readonly ChildError[] = [],
  ) {
    this.status = errors.length === 0 ? "ok" : "error";
  }

  /**
   * Ids of the children that started, in `started` order (ProcessHub's `cids/1`: failed ids are
   * in `errors`, not here).
   */
  cids(): string[] {
    return this.started.map((s) => s.id);
  }

  /** The first pid of the first started child. */
  pid(): Pid | undefined {
    return this.started[0]?.nodes[0]?.pid;
  }

  /** Every pid of every started child. */
  pids(): Pid[] {
    return this.started.flatMap((s) => s.nodes.map((n) => n.pid));
  }

  /** The node of the first started child. */
  node(): string | undefined {
    return this.started[0]?.nodes[0]?.node;
  }

  /** Distinct nodes where children started, in first-seen order. */
  nodes(): string[] {
    return [...new Set(this.started.flatMap((s) => s.nodes.map((n) => n.node)))];
  }

  /** The first started entry. */
  first(): StartedChild | undefined {
    return this.started[0];
  }

  format(): FormattedStart {
    if (this.status === "ok") return { ok: true, started: [...this.started] };
    return {
      ok: false,
      errors: [...this.errors],
      started: [...this.started],
      rollback: this.rollback,
      rollbackErrors: [...this.rollbackErrors],
    };
  }

  toString(): string {
    return `StartResult(${this.status}, started=${this.started.length}, errors=${this.errors.length}${this.rollback ? ", rollback" : ""})`;
  }
}

/**
 * The outcome of an awaited `stopChildren`.
 * @category hub
 */
export class StopResult {
  readonly status: "ok" | "error";
  constructor(
    readonly stopped: readonly StoppedChild[],
    readonly errors: readonly ChildError[],
  ) {
    this.status = errors.length === 0 ? "ok" : "error";
  }

  /** Ids of the children that stopped (ProcessHub's `cids/1`: failed ids are in `errors`). */
  cids(): string[] {
    return this.stopped.map((s) => s.id);
  }

  /** The first node of the first stopped child. */
  node(): string | undefined {
    return this.stopped[0]?.nodes[0];
  }

  nodes(): string[] {
    return [...new Set(this.stopped.flatMap((s) => s.nodes))];
  }

  first(): StoppedChild | undefined {
    return this.stopped[0];
  }

  format(): FormattedStop {
    if (this.status === "ok") return { ok: true, stopped: [...this.stopped] };
    return { ok: false, errors: [...this.errors], stopped: [...this.stopped] };
  }

  toString(): string {
    return `StopResult(${this.status}, stopped=${this.stopped.length}, errors=${this.errors.length})`;
  }
}
