/**
 * The diagnostics channels every layer publishes its events on (`node:diagnostics_channel`), so
 * that `hubvisor/observe` and any APM tool can subscribe without the program's help. Declared in
 * one file, named `hubvisor:<layer>:<event>`; each payload carries its `type` (the channel's name
 * without the `hubvisor:` prefix) and the `node` it happened on.
 *
 * Emission costs nothing measurable while nobody subscribes: every publishing site is
 * `if (ch.hasSubscribers) ch.publish({...})`, so the payload is never built. The typed union of
 * all payloads, and a way to subscribe to all of them at once, is `hubvisor/observe`
 * (`src/observe/events.ts`); this file keeps to what the lower layers need to publish.
 *
 * Lives at the root beside `errors.ts` and `logger.ts` because every layer imports it. Imports
 * `node:diagnostics_channel` only.
 */
import { channel } from "node:diagnostics_channel";

/** A process was created: `{ type: "process:spawn", node, pid, parent?, name?, behaviour? }`. */
export const spawnChannel = channel("hubvisor:process:spawn");
/** A process ended: `{ type: "process:exit", node, pid, reason, name?, behaviour? }`. */
export const exitChannel = channel("hubvisor:process:exit");
/**
 * A mailbox grew to `mailboxWatch.threshold` messages (published once per crossing, upward):
 * `{ type: "process:mailbox", node, pid, length, behaviour? }`.
 */
export const mailboxChannel = channel("hubvisor:process:mailbox");
/**
 * A sampled `GenServer.call` settled (one call in `callSampling.every`):
 * `{ type: "server:call", node, target, name, durationMs, ok }`.
 */
export const callChannel = channel("hubvisor:server:call");
/**
 * A supervisor report, one of `supervisor:child_terminated`, `supervisor:start_error`,
 * `supervisor:restarted`, `supervisor:shutdown_error`, `supervisor:max_intensity`:
 * `{ type, node, supervisor, supervisorName?, id?, child?, reason? }`.
 */
export const supervisorChannel = channel("hubvisor:supervisor:report");
/** A cluster session opened or ended: `{ type: "cluster:nodeup" | "cluster:nodedown", node, peer, reason? }`. */
export const clusterChannel = channel("hubvisor:cluster:node");
/** A hub hook fired: `{ type: "hub:hook", node, hub, hook, data }` (data: the hook's event). */
export const hubChannel = channel("hubvisor:hub:hook");

/**
 * Fencing (issue 18): this node lost its lease on a hub's store, so it stops its children of that
 * hub before the lease can lapse. Published with `publishLeaseLost`.
 */
export const leaseLostChannel = channel("hubvisor:hub:lease_lost");
/**
 * Fencing (issue 18): a start of a hub child on this node was refused because this node may not
 * run it now. Published with `publishStartFenced`.
 */
export const startFencedChannel = channel("hubvisor:hub:start_fenced");

/** Why a node lost its lease: see `LeaseLostEvent.reason`. */
export type LeaseLossReason = "renew_failed" | "expired" | "taken";

/** The payload of `hubvisor:hub:lease_lost`. */
export interface LeaseLostEvent {
  type: "hub:lease_lost";
  node: string;
  /** The hub whose store held the lease. */
  hub: string;
  /**
   * `renew_failed`: the store did not accept a renewal before the safety margin (cut off from
   * NATS, store unavailable); `expired`: a renewal found the lease already lapsed (the node was
   * paused or its loop blocked past the lease); `taken`: the store holds another holder's lease
   * (a compare-and-set lost to a newer revision).
   */
  reason: LeaseLossReason;
  /** Local children of the hub this node stops because of it. */
  stopped: number;
  /** The last successful renewal, in ms since the epoch (`undefined`: never held). */
  renewedAt: number | undefined;
  /** The store's error, when there was one. */
  error: unknown;
}

/** Why a start was fenced: see `StartFencedEvent.reason`. */
export type StartFenceReason = "no_lease" | "claimed" | "store_unavailable";

/** The payload of `hubvisor:hub:start_fenced`. */
export interface StartFencedEvent {
  type: "hub:start_fenced";
  node: string;
  hub: string;
  /** The child whose start was refused. */
  id: string;
  /**
   * `no_lease`: this node holds no valid lease (children park until it has one); `claimed`: the
   * child's claim names another node whose lease has not lapsed; `store_unavailable`: the claim
   * could not be read or written.
   */
  reason: StartFenceReason;
  /** The node the claim names, when known. */
  holder: string | undefined;
}

/** Publishes a `hub:lease_lost` event if anyone subscribes (the payload is built only then). */
export function publishLeaseLost(
  node: string,
  hub: string,
  reason: LeaseLossReason,
  stopped: number,
  renewedAt: number | undefined,
  error?: unknown,
): void {
  if (!leaseLostChannel.hasSubscribers) return;
  const e: LeaseLostEvent = { type: "hub:lease_lost", node, hub, reason, stopped, renewedAt, error };
  leaseLostChannel.publish(e);
}

/** Publishes a `hub:start_fenced` event if anyone subscribes (the payload is built only then). */
export function publishStartFenced(
  node: string,
  hub: string,
  id: string,
  reason: StartFenceReason,
  holder?: string,
): void {
  if (!startFencedChannel.hasSubscribers) return;
  const e: StartFencedEvent = { type: "hub:start_fenced", node, hub, id, reason, holder };
  startFencedChannel.publish(e);
}

/**
 * The mailbox length at which `process:mailbox` fires. Read on every delivery only while the
 * channel has subscribers. Set through `observe`'s `watchMailboxes`.
 */
export const mailboxWatch = { threshold: 1000 };

/**
 * Call sampling: every `every`-th call is timed while `hubvisor:server:call` has subscribers
 * (0: none). Off by default because timing a call attaches a handler to its promise.
 */
export const callSampling = { every: 0, count: 0 };

/**
 * Times a sampled call: publishes on `callChannel` when `promise` settles and returns `promise`
 * itself. Attaching the handlers marks the promise handled, so an uncaught rejection of a
 * sampled call is not reported by Node; only sampled calls are affected.
 */
export function timeCall(
  node: string,
  target: unknown,
  name: string,
  promise: Promise<unknown>,
): Promise<unknown> {
  const t0 = performance.now();
  const done = (ok: boolean) => () => {
    if (callChannel.hasSubscribers)
      callChannel.publish({
        type: "server:call",
        node,
        target,
        name,
        durationMs: performance.now() - t0,
        ok,
      });
  };
  promise.then(done(true), done(false));
  return promise;
}

/** Whether this call is one to time: subscribers, sampling on, and its turn. */
export function sampleCall(): boolean {
  if (callSampling.every <= 0 || !callChannel.hasSubscribers) return false;
  if (++callSampling.count < callSampling.every) return false;
  callSampling.count = 0;
  return true;
}
