/**
 * Hub hooks: typed events a hub fires at its extension points, with prioritised handlers that can
 * be registered and cancelled at run time. Handlers run synchronously in the hub process, highest
 * priority first (equal priorities in registration order); a throwing handler is logged and
 * skipped, never breaking the hub. Names follow ProcessHub's newer hook set, in camelCase.
 * Imports `process/pid`, the root `logger`, `results`.
 */
import { hubChannel } from "../diagnostics.js";
import type { Logger } from "../logger.js";
import type { Pid } from "../process/pid.js";
import type { CheckpointFailure } from "./durable/checkpoints.js";
import type { NodePid } from "./results.js";

/** A topology change as seen by the redistribution hooks. */
export interface TopologyChange {
  joined: string[];
  left: string[];
  /** Hub members after the change, sorted. */
  members: string[];
}

/**
 * Every hook and the data its handlers get.
 * @category hub
 */
export interface HubHookEvents {
  /** A child appeared in this node's registry (placement on `node`). */
  childRegistered: { id: string; node: string; pid: Pid };
  /** A placement of a child left this node's registry. */
  childUnregistered: { id: string; node: string };
  /** A child was restarted on `node` and runs under a new pid. */
  pidUpdated: { id: string; node: string; pid: Pid; previous: Pid };
  preNodeJoin: { node: string };
  postNodeJoin: { node: string };
  preNodeLeave: { node: string };
  postNodeLeave: { node: string };
  /** Before this node moves or restarts children for a topology change. */
  preRedistribution: TopologyChange;
  /** After this node handled a topology change; `moved` counts children it migrated or adopted. */
  postRedistribution: TopologyChange & { migrated: number; adopted: number; durationMs: number };
  /** This node handed children to their new owner (cold swap). */
  childrenMigrated: { to: string; ids: string[] };
  /** A start routed to this node was forwarded to the node that owns the children. */
  startForwarded: { to: string; ids: string[] };
  /** Before this node starts a batch of children locally. */
  preChildrenStart: { ids: string[] };
  /** After a local batch: what started and what failed. */
  postChildrenStart: { started: Array<{ id: string } & NodePid>; failed: string[] };
  /**
   * The hub's lock was taken or released: `topology` while it handles a topology change,
   * `partition` when it loses (locked) or regains (unlocked) its partition-tolerance quorum.
   */
  lockStateChanged: { locked: boolean; reason?: "topology" | "partition" };
  /** A hot-swapped child received its predecessor's handed-over state (`ok`) or failed to. */
  handoverReceived: { id: string; pid: Pid; ok: boolean };
  /**
   * A local duplicate of a child stopped itself: `winner` runs a newer placement (epoch rule).
   * `handedOver`: under hot swap, the winner's copy took this copy's data before it stopped.
   */
  duplicateStopped: { id: string; winner: string; epoch: number; stoppedEpoch: number; handedOver: boolean };
  /**
   * A durable hub's reconcile round on this node (`durability`): declarations known, declared
   * children it started because they ran nowhere, local children it stopped because they were
   * declared stopped.
   */
  reconcileRound: { declared: number; started: number; stopped: number; durationMs: number };
  /**
   * A durable hub's fold on this node: `declarations` of the log written into `pages` pages by
   * compare-and-set (`failedPages`: pages the store did not take; the log keeps their
   * declarations, and a later fold writes them).
   */
  logFolded: { pages: number; declarations: number; failedPages: number; durationMs: number };
  /**
   * A fenced hub (`durability.fencing`) began a lease session on this node: from now on it may
   * run children. `waitedMs`: since it began trying (an earlier session or process of this node
   * had to end first).
   */
  leaseAcquired: { session: string; waitedMs: number };
  /**
   * This node's lease was not renewed in time (`overdue`: the store unreachable or slow, or the
   * process frozen past its stop point) or another process wrote it (`overwritten`): its
   * `stopped` children were stopped; they start again once a new session began.
   */
  leaseLost: { session: string; reason: "overdue" | "overwritten"; stopped: number };
  /**
   * A start of child `id` on this node was refused by fencing: this node holds no valid lease
   * (`no_lease`), `holder`'s live lease holds the child's claim (`held`), or the claim could not
   * be written (`store_failed`).
   */
  fencedStartRefused: {
    id: string;
    reason: "no_lease" | "held" | "store_failed";
    holder?: string | undefined;
  };
  /** This node took child `id`'s claim from node `from`, whose lease had lapsed or ended. */
  claimTakenOver: { id: string; from: string };
  /**
   * A checkpointed child's state was not stored or restored on this node (`withCheckpoints`):
   * `reason` says why (`too_large`, `unserialisable`, `store`, `conflict`, `deleted`, `refused`).
   */
  checkpointFailed: { id: string; reason: CheckpointFailure; detail: string };
  /**
   * An activation from this node (`hub.ensure`, a reference with `activate`) found child `id`
   * running at `pid` after asking its owner to start it: `started` when that start started it,
   * false when a concurrent start (another node's) had. `attempts`: starts sent (more than one
   * when the ring changed meanwhile); `durationMs`: from the first start to the answer.
   */
  childActivated: { id: string; pid: Pid; started: boolean; attempts: number; durationMs: number };
  /**
   * This node passivated local children (`entity(behaviour, { idleTimeoutMs })`,
   * `entities.maxActive`): `idle` ones handled no message for their idle timeout,
   * `beyondMaxActive` ones were the least recently used past the cap. They are being stopped.
   */
  childrenPassivated: { idle: string[]; beyondMaxActive: string[] };
}

/** The name of a hub hook. */
export type HubHookName = keyof HubHookEvents;
/** A handler of hook `K`, called with its event data. */
export type HubHookHandler<K extends HubHookName> = (data: HubHookEvents[K]) => void;

/** Options of `register`. */
export interface HookRegistration {
  /** Handler id for `cancel`; generated when absent. @default a fresh id */
  id?: string;
  /** Higher runs first. Internal handlers use 100. @default 0 */
  priority?: number;
}

interface Entry {
  id: string;
  priority: number;
  seq: number;
  fn: (data: never) => void;
}

/**
 * The hook handlers of one hub.
 * @category hub
 */
export class HubHooks {
  private readonly handlers = new Map<HubHookName, Entry[]>();
  private seq = 0;
  /** Where this hub runs, for the `hubvisor:hub:hook` channel; `null`: publish nothing. */
  private source: { node: string; hub: string } | null = null;

  constructor(private readonly logger?: Logger) {}

  /** Publishes every hook on `hubvisor:hub:hook` (while it has subscribers) as hub `hub` of `node`. */
  publishAs(node: string, hub: string): void {
    this.source = { node, hub };
  }

  /** Adds a handler; returns its id. Re-using an id replaces that handler. */
  register<K extends HubHookName>(hook: K, fn: HubHookHandler<K>, options: HookRegistration = {}): string {
    const id = options.id ?? `h${++this.seq}`;
    const list = (this.handlers.get(hook) ?? []).filter((e) => e.id !== id);
    list.push({ id, priority: options.priority ?? 0, seq: ++this.seq, fn: fn as (data: never) => void });
    list.sort((a, b) => b.priority - a.priority || a.seq - b.seq);
    this.handlers.set(hook, list);
    return id;
  }

  /** Removes handlers by id (all handlers of the hook when `ids` is omitted); returns how many. */
  cancel(hook: HubHookName, ids?: string | string[]): number {
    const list = this.handlers.get(hook);
    if (list === undefined) return 0;
    if (ids === undefined) {
      this.handlers.delete(hook);
      return list.length;
    }
    const drop = new Set(typeof ids === "string" ? [ids] : ids);
    const kept = list.filter((e) => !drop.has(e.id));
    this.handlers.set(hook, kept);
    return list.length - kept.length;
  }

  /** Handler ids of a hook, in the order they run. */
  list(hook: HubHookName): string[] {
    return (this.handlers.get(hook) ?? []).map((e) => e.id);
  }

  /** Whether anyone listens: lets the hub skip building payloads nobody reads. */
  has(hook: HubHookName): boolean {
    const l = this.handlers.get(hook);
    return (l !== undefined && l.length > 0) || (this.source !== null && hubChannel.hasSubscribers);
  }

  dispatch<K extends HubHookName>(hook: K, data: HubHookEvents[K]): void {
    const s = this.source;
    if (s !== null && hubChannel.hasSubscribers)
      hubChannel.publish({ type: "hub:hook", node: s.node, hub: s.hub, hook, data });
    const list = this.handlers.get(hook);
    if (list === undefined) return;
    for (const e of list) {
      try {
        (e.fn as HubHookHandler<K>)(data);
      } catch (err) {
        this.logger?.error({ hook, handler: e.id, err }, "hub hook handler threw");
      }
    }
  }
}
