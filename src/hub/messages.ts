/**
 * The wire messages hubs of one hub id exchange, and the hub process's own ticks, declared once:
 * plain objects (pids inside travel through the cluster codec), tagged by `t`, with compact tuple
 * forms for specs and registry entries. How large payloads are split into messages is
 * `message-size.ts` (re-exported here). Imports `process/pid`, `child-spec`, `hub-registry`,
 * `results`, `message-size`.
 */
import type { Pid } from "../process/pid.js";
import type { NormalizedChildSpec } from "./child-spec.js";
import type { SliceEntry } from "./hub-registry.js";
import type { HubErrorReason } from "./results.js";

export * from "./message-size.js";

/** A child to start, with the epoch the starter assigned and whether it is pinned (guided). */
export interface StartItem {
  spec: NormalizedChildSpec;
  epoch: number;
  pinned: boolean;
}

/** Announces a hub (and its incarnation) to a node; `reply` asks for a hello back. */
export interface HelloMsg {
  t: "hello";
  from: string;
  inc: number;
  reply: boolean;
  /**
   * Hub incarnations `[node, inc]` whose children this hub adopted while it had quorum (it ran
   * them and may have stopped them since): a node coming back from a partition restores none of
   * its parked children when a member says it adopted it (partition tolerance).
   */
  adopted?: Array<[string, number]>;
  /**
   * The behaviours registered with this hub: only they are placed on it. Absent: not said (a
   * scripted or older peer), taken as every behaviour.
   */
  behaviours?: string[];
  /**
   * Per behaviour registered here whose entity declaration names idempotent messages
   * (`entity(b, { idempotent })`): `[behaviour, names]`. A node that does not register the
   * behaviour (a client-only node) learns from it which messages a reference may deliver again.
   */
  idempotent?: Array<[string, string[]]>;
}

/** A hub stops gracefully: its peers treat it as gone and adopt its children. */
export interface ByeMsg {
  t: "bye";
  from: string;
  inc: number;
}

/**
 * Start these children here. `req` names the collector on `origin` (null: nobody waits);
 * `ensure` marks migrations and adoptions: a child already running here is a success, not an error.
 */
export interface StartMsg {
  t: "start";
  req: number | null;
  origin: string;
  items: WireItem[];
  hops: number;
  ensure: boolean;
  /** Hot swap: handed-over state per child id, given to each child right after it starts. */
  states?: Array<[string, unknown]>;
}

/** A node's measured load (load-aware distribution). */
export interface LoadMsg {
  t: "load";
  from: string;
  load: { children: number; lagMs: number; memory: number };
}

/**
 * One child that did not start: id, reason, printable detail, and the value behind it (the pid
 * running for `already_started`, the error for `start_failed`), when there is one.
 */
export type Failure = [id: string, reason: HubErrorReason, detail: string | undefined, value?: unknown];

/** Answer to a start: what started here (id, pid) and what failed. */
export interface StartedMsg {
  t: "started";
  req: number;
  node: string;
  ok: Array<[string, Pid]>;
  failed: Array<Failure>;
}

/** Some children of request `req` were forwarded from `node` to `to`. */
export interface ForwardedMsg {
  t: "forwarded";
  req: number;
  node: string;
  to: string;
  ids: string[];
}

export interface StopMsg {
  t: "stop";
  req: number | null;
  origin: string;
  ids: string[];
}

export interface StoppedMsg {
  t: "stopped";
  req: number;
  node: string;
  ok: string[];
  missing: string[];
}

/** Numbered changes to the sender's registry slice. */
export interface DeltaMsg {
  t: "delta";
  from: string;
  inc: number;
  seq: number;
  up: WireEntry[];
  rm: string[];
}

/** One part of the sender's whole slice as of `seq` (anti-entropy). */
export interface SliceMsg {
  t: "slice";
  from: string;
  inc: number;
  seq: number;
  part: number;
  parts: number;
  entries: WireEntry[];
}

/**
 * Anti-entropy: the sender's slice is at `seq` of incarnation `inc`. A replica that holds less of
 * it (a delta at the tail lost, or the slice dropped) asks for the whole slice (`syncreq`); one
 * that is current does nothing, so a steady hub exchanges a few bytes per round instead of its
 * whole registry.
 */
export interface VersionMsg {
  t: "version";
  from: string;
  inc: number;
  seq: number;
}

/** Asks for the whole slice (a delta arrived out of sequence, or a `version` showed this replica behind). */
export interface SyncReqMsg {
  t: "syncreq";
  from: string;
}

/**
 * After a heal: the losing copy of `id` on `from` asks the winner whether it still runs placement
 * `epoch` before it stops, and under hot swap (`handover`) hands its data to that copy.
 */
export interface MergeMsg {
  t: "merge";
  from: string;
  id: string;
  epoch: number;
  handover: boolean;
  data: unknown;
}

/**
 * The winner's answer to a merge: whether its copy took the data (`ok`), and `gone` when it no
 * longer runs the id and no stop request stopped it (it moved it away, to the loser perhaps):
 * the losing copy is then the one to keep.
 */
export interface MergedMsg {
  t: "merged";
  from: string;
  id: string;
  ok: boolean;
  gone: boolean;
}

/**
 * After a quorum loss, a node whose parked children a member says it adopted asks the members
 * about the ones that run nowhere now: `ids` with the epoch each had when parked.
 */
export interface ClaimMsg {
  t: "claim";
  from: string;
  req: number;
  ids: Array<[string, number]>;
}

/** Answer to a claim: the ids the sender stopped since (a stop request at that epoch or later), or runs. */
export interface ClaimedMsg {
  t: "claimed";
  from: string;
  req: number;
  known: string[];
}

export type HubWireMsg =
  | ClaimMsg
  | ClaimedMsg
  | HelloMsg
  | ByeMsg
  | StartMsg
  | StartedMsg
  | ForwardedMsg
  | StopMsg
  | StoppedMsg
  | DeltaMsg
  | SliceMsg
  | VersionMsg
  | SyncReqMsg
  | LoadMsg
  | MergeMsg
  | MergedMsg
  | MigrateMsg;

/** `hub.migrate`: the node running `id` moves it to `to` (pinned there), by the migration strategy. */
export interface MigrateMsg {
  t: "migrate";
  from: string;
  id: string;
  to: string;
}

/**
 * What `hub.drain` did: `migrated` children confirmed started by their new owner, `forced` the
 * others (stopped with the hub; the members adopt them, without their state).
 */
export interface DrainResult {
  migrated: number;
  forced: number;
}

/** Messages the hub process sends itself or gets from its local handle. */
export type HubLocalMsg =
  | { t: "$topology" }
  | { t: "$sync" }
  | { t: "$discover" }
  | { t: "$peer_up"; node: string }
  | { t: "$peer_down"; node: string }
  | { t: "$stop"; done: () => void }
  | { t: "$drain"; deadlineMs: number; done: (r: DrainResult) => void }
  | { t: "$load" }
  | { t: "$conflicts" }
  | { t: "$merge_timeout"; id: string }
  | { t: "$quorum_reset"; size?: number }
  | { t: "$rebalance" };

/**
 * A message the hub process sends itself (ticks, membership events, `$stop` from its handle).
 * Only these are read as local commands: nothing decoded off the wire is an instance of a class,
 * so a peer (or anyone publishing on the cluster's subjects) cannot send `$stop` or `$peer_down`.
 */
export class HubSignal {
  constructor(readonly msg: HubLocalMsg) {}
}

const WIRE_TAGS: ReadonlySet<string> = new Set([
  "claim",
  "claimed",
  "hello",
  "bye",
  "start",
  "started",
  "forwarded",
  "stop",
  "stopped",
  "delta",
  "slice",
  "version",
  "syncreq",
  "load",
  "merge",
  "merged",
  "migrate",
]);

/** Shape check for anything arriving from the wire: a tag we know and a string sender. */
export function isWireMsg(m: unknown): m is HubWireMsg {
  return typeof m === "object" && m !== null && WIRE_TAGS.has((m as { t?: unknown }).t as string);
}

/** Splits `items` into arrays of at most `size` (by count only: not for messages of specs). */
/**
 * Compact wire forms. Specs cross the wire once per start and once per replica, so they travel
 * as positional tuples (MessagePack arrays are far cheaper to write and read than objects), with
 * empty metadata as null.
 */
export type WireSpec = [
  string,
  string,
  unknown,
  NormalizedChildSpec["restart"],
  NormalizedChildSpec["shutdown"],
  ChildMetadataWire,
];
type ChildMetadataWire = NormalizedChildSpec["metadata"] | null;
/** `[...spec, epoch, pinned]` */
export type WireItem = [...WireSpec, number, 0 | 1];
/** `[...spec, epoch, pid]`, then `1` when the child is pinned on its node (absent otherwise). */
export type WireEntry = [...WireSpec, number, Pid] | [...WireSpec, number, Pid, 1];

function metaOut(s: NormalizedChildSpec): ChildMetadataWire {
  for (const _ in s.metadata) return s.metadata;
  return null;
}

function specIn(w: readonly unknown[]): NormalizedChildSpec {
  return {
    id: w[0] as string,
    behaviour: w[1] as string,
    args: w[2] === null ? undefined : w[2],
    restart: w[3] as NormalizedChildSpec["restart"],
    shutdown: w[4] as NormalizedChildSpec["shutdown"],
    metadata: (w[5] as ChildMetadataWire) ?? {},
  };
}

export function itemOut(it: StartItem): WireItem {
  const s = it.spec;
  return [s.id, s.behaviour, s.args ?? null, s.restart, s.shutdown, metaOut(s), it.epoch, it.pinned ? 1 : 0];
}

export function itemIn(w: WireItem): StartItem {
  return { spec: specIn(w), epoch: w[6], pinned: w[7] === 1 };
}

export function entryOut(id: string, e: SliceEntry): WireEntry {
  const s = e.spec;
  const out: WireEntry = [id, s.behaviour, s.args ?? null, s.restart, s.shutdown, metaOut(s), e.epoch, e.pid];
  if (e.pinned === true) out.push(1);
  return out;
}

export function entryIn(w: WireEntry): [string, SliceEntry] {
  const entry: SliceEntry = { spec: specIn(w), epoch: w[6], pid: w[7] };
  if (w[8] === 1) entry.pinned = true;
  return [w[0], entry];
}
