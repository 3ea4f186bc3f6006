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
