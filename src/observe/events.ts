/**
 * The event stream: the typed union of everything the layers publish on `node:diagnostics_channel`
 * (`src/diagnostics.ts` declares the channels), and `subscribe`, which listens to all of them at
 * once. Nothing is published, and no payload built, while no one subscribes.
 *
 * Imports the root `diagnostics`, and types of `process`, `cluster` and `hub`.
 */
import { subscribe as dcSubscribe, unsubscribe as dcUnsubscribe } from "node:diagnostics_channel";
import type { PeerDownReason } from "../cluster/transport.js";
import {
  callChannel,
  callSampling,
  clusterChannel,
  exitChannel,
  hubChannel,
  mailboxChannel,
  mailboxWatch,
  spawnChannel,
  supervisorChannel,
} from "../diagnostics.js";
import { InvalidOptionError } from "../errors.js";
import type { HubHookEvents, HubHookName } from "../hub/hooks.js";
import type { Pid } from "../process/pid.js";
import type { Dest } from "../process/types.js";

/** A process was created on `node`. */
export interface ProcessSpawnEvent {
  type: "process:spawn";
  node: string;
  pid: Pid;
  /** The process it was spawned linked to, if any. */
  parent: Pid | undefined;
  name: string | undefined;
  behaviour: string | undefined;
}

/** A process ended with `reason`. */
export interface ProcessExitEvent {
  type: "process:exit";
  node: string;
  pid: Pid;
  reason: unknown;
  name: string | undefined;
  behaviour: string | undefined;
}

/** A mailbox grew to the watched threshold (`watchMailboxes`); once per upward crossing. */
export interface MailboxEvent {
  type: "process:mailbox";
  node: string;
  pid: Pid;
  length: number;
  behaviour: string | undefined;
}

/** A sampled `GenServer.call` settled (`sampleCalls`); `durationMs` is the round trip. */
export interface CallEvent {
  type: "server:call";
  node: string;
  target: Dest;
  name: string;
  durationMs: number;
  /** False when the call rejected (exit, timeout). */
  ok: boolean;
}

/** What a supervisor report is about (OTP's report kinds, plus every child exit). */
export type SupervisorReportKind =
  | "child_terminated"
  | "start_error"
  | "restarted"
  | "shutdown_error"
  | "max_intensity";

/** A supervisor report: a child exited, failed to start, was restarted, or the supervisor gave up. */
export interface SupervisorEvent {
  type: `supervisor:${SupervisorReportKind}`;
  node: string;
  supervisor: Pid;
  supervisorName: string | undefined;
  /** The child's id (a static child's; `undefined` under a DynamicSupervisor). */
  id: unknown;
  child: Pid | undefined;
  reason: unknown;
}

/** A session with `peer` opened. */
export interface NodeUpEvent {
  type: "cluster:nodeup";
  node: string;
  peer: string;
}

/** A session with `peer` ended. */
export interface NodeDownEvent {
  type: "cluster:nodedown";
  node: string;
  peer: string;
  reason: PeerDownReason;
}

/**
 * A hook of hub `hub` fired on `node`: starts, stops, moves, adoptions, duplicates, locks,
 * reconcile rounds of a durable hub, leases and fenced starts, entity activations and
 * passivations (`HubHookEvents` lists them with their data).
 */
export type HubEvent = {
  [K in HubHookName]: { type: "hub:hook"; node: string; hub: string; hook: K; data: HubHookEvents[K] };
}[HubHookName];

/**
 * Every event of the stream, keyed by `type`.
 * @category observe
 */
export type HubvisorEvent =
  | ProcessSpawnEvent
  | ProcessExitEvent
  | MailboxEvent
  | CallEvent
  | SupervisorEvent
  | NodeUpEvent
  | NodeDownEvent
  | HubEvent;

/** The diagnostics channel names, for tools that subscribe with `node:diagnostics_channel`. */
export const EVENT_CHANNELS = Object.freeze([
  spawnChannel.name,
  exitChannel.name,
  mailboxChannel.name,
  callChannel.name,
  supervisorChannel.name,
  clusterChannel.name,
  hubChannel.name,
] as string[]);

/** Options of `subscribe`. */
export interface SubscribeOptions {
  /** Only events of this node (by name). @default every node of the program */
  node?: string;
}

/**
 * Calls `listener` with every event of the program (or of one node), synchronously where it
 * happens; returns the function that unsubscribes. A listener that throws is reported by Node as
 * an uncaught exception on the next tick (diagnostics_channel's rule), never inside the runtime.
 * @category observe
 */
export function subscribe(
  listener: (event: HubvisorEvent) => void,
  options: SubscribeOptions = {},
): () => void {
  const only = options.node;
  const fn =
    only === undefined
      ? (m: unknown) => listener(m as HubvisorEvent)
      : (m: unknown) => {
          if ((m as HubvisorEvent).node === only) listener(m as HubvisorEvent);
        };
  for (const name of EVENT_CHANNELS) dcSubscribe(name, fn);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    for (const name of EVENT_CHANNELS) dcUnsubscribe(name, fn);
  };
}

/**
 * Sets the mailbox length at which `process:mailbox` fires (program-wide; the last caller wins).
 * @default 1000
 * @category observe
 */
export function watchMailboxes(threshold: number): void {
  if (!Number.isInteger(threshold) || threshold < 2)
    throw new InvalidOptionError("threshold", "an integer ≥ 2", threshold);
  mailboxWatch.threshold = threshold;
}

/**
 * Times one `GenServer.call` in `every` (program-wide; 0 turns sampling off, the default): each
 * sampled call publishes a `server:call` event when it settles. Only calls made while someone
 * subscribes are counted.
 * @category observe
 */
export function sampleCalls(every: number): void {
  if (!Number.isInteger(every) || every < 0) throw new InvalidOptionError("every", "an integer ≥ 0", every);
  callSampling.every = every;
  callSampling.count = 0;
}
