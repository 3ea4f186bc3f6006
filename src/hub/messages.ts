/**
 * The wire messages hubs of one hub id exchange, and the hub process's own ticks. All are plain
 * objects (pids inside travel through the cluster codec), tagged by `t`. Large payloads (starts,
 * start answers, stops, deltas, slices) are split by count (`CHUNK` entries) and by size
 * (`FRAME_BUDGET` bytes) so that no message grows past the cluster's frame limit, which it would
 * otherwise refuse (`FrameTooLargeError`) and the message would be lost. Imports `process/pid`,
 * the root `logger`, `cluster` (codec sizes, errors), `child-spec`, `hub-registry`, `results`.
 */
import { DEFAULT_MAX_FRAME_BYTES, sizeBound, strBound } from "../cluster/codec.js";
import { FrameTooLargeError, UnserialisableError } from "../cluster/errors.js";
import type { Logger } from "../logger.js";
import type { Pid } from "../process/pid.js";
import type { NormalizedChildSpec } from "./child-spec.js";
import type { SliceEntry } from "./hub-registry.js";
import type { HubErrorReason } from "./results.js";

/** Entries per message at most, for starts, replies, stops, deltas and slices. */
export const CHUNK = 1000;

/**
 * The frame limit hub messages are sized for: the cluster's default `maxFrameBytes` (1 MiB),
 * which is also nats-server's default `max_payload`. A hub cannot read the limit of the cluster
 * it runs on (`Cluster` keeps its codec to itself), so it assumes the default; over a cluster
 * joined with a smaller `maxFrameBytes`, its larger messages are refused (each one a warning,
 * and a start waiting on one fails with `start_failed`).
 */
export const HUB_FRAME_LIMIT = DEFAULT_MAX_FRAME_BYTES;

/**
 * Bytes of entries one message may carry: the frame limit less 16 KiB for what the entries'
 * sizes do not count: the frame's tag and the hub's process name (`hubvisor.hub.<hubId>`) and
 * the message's own fields (tag, sender, request, sequence numbers).
 */
export const FRAME_BUDGET = HUB_FRAME_LIMIT - 16 * 1024;

/**
 * The largest child spec (id, behaviour, arguments, restart, shutdown, metadata, as bounded by
 * `specBytes`) a hub accepts: one that fits in one message with its epoch and pid, with room to
 * spare. `startChildren` refuses a larger one (`ChildSpecTooLargeError`): it could never travel.
 */
export const MAX_SPEC_BYTES = 1000 * 1024;

/** Longest `detail` of a failed start sent back to the starter, in characters (cut beyond). */
export const MAX_DETAIL_CHARS = 4096;

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

/** Answer to a start: what started here (id, pid) and what failed. */
export interface StartedMsg {
  t: "started";
  req: number;
  node: string;
  ok: Array<[string, Pid]>;
  failed: Array<[string, HubErrorReason, string | undefined]>;
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

/** Asks for the whole slice (a delta arrived out of sequence). */
export interface SyncReqMsg {
  t: "syncreq";
  from: string;
}

/**
 * After a heal (hot swap): the losing copy of `id` on `from` hands its data to the winner's
 * running copy of placement `epoch` before it stops.
 */
export interface MergeMsg {
  t: "merge";
  from: string;
  id: string;
  epoch: number;
  data: unknown;
}

/** The winner's answer to a merge: whether its copy took the data. */
export interface MergedMsg {
  t: "merged";
  from: string;
  id: string;
  ok: boolean;
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
  | SyncReqMsg
  | LoadMsg
  | MergeMsg
  | MergedMsg;

/** Messages the hub process sends itself or gets from its local handle. */
export type HubLocalMsg =
  | { t: "$topology" }
  | { t: "$sync" }
  | { t: "$discover" }
  | { t: "$peer_up"; node: string }
  | { t: "$peer_down"; node: string }
  | { t: "$stop"; done: () => void }
  | { t: "$load" }
  | { t: "$conflicts" }
  | { t: "$merge_timeout"; id: string }
  | { t: "$quorum_reset"; size?: number }
  | { t: "$rebalance" };

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
  "syncreq",
  "load",
  "merge",
  "merged",
]);

/** Shape check for anything arriving from the wire: a tag we know and a string sender. */
export function isWireMsg(m: unknown): m is HubWireMsg {
  return typeof m === "object" && m !== null && WIRE_TAGS.has((m as { t?: unknown }).t as string);
}

/** Splits `items` into arrays of at most `size` (by count only: not for messages of specs). */
export function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Collects entries into parts of at most `CHUNK` entries whose sizes add up to at most
 * `FRAME_BUDGET`. An entry larger than the budget on its own gets a part to itself (it cannot
 * be split; sending it fails, loudly: see `unsendable`).
 */
export class Chunker<T> {
  readonly parts: T[][] = [];
  private part: T[] = [];
  private bytes = 0;

  /** Adds `entry`, which takes at most `size` bytes encoded. */
  add(entry: T, size: number): void {
    if (this.part.length > 0 && (this.part.length >= CHUNK || this.bytes + size > FRAME_BUDGET)) {
      this.parts.push(this.part);
      this.part = [];
      this.bytes = 0;
    }
    this.part.push(entry);
    this.bytes += size;
  }

  /** The parts, the last one included. */
  finish(): T[][] {
    if (this.part.length > 0) {
      this.parts.push(this.part);
      this.part = [];
      this.bytes = 0;
    }
    return this.parts;
  }
}

/** Splits `items` by count and by their sizes (`size`: a bound of each one's encoded bytes). */
export function chunksBy<T>(items: Iterable<T>, size: (item: T) => number): T[][] {
  const c = new Chunker<T>();
  for (const it of items) c.add(it, size(it));
  return c.finish();
}

// ------------------------------------------------------------------------------------ sizes

/** Restart (at most `"permanent"`) and shutdown (at most `"brutal_kill"` or a float) in a tuple. */
const RESTART_SHUTDOWN_BYTES = 10 + 12;
/** An epoch (a number) and the pinned flag. */
const EPOCH_PINNED_BYTES = 9 + 1;

/**
 * An upper bound of the bytes a spec takes in a wire tuple (`WireSpec`: the tuple's header,
 * id, behaviour, arguments, restart, shutdown, metadata), computed without encoding.
 */
export function specBytes(s: NormalizedChildSpec): number {
  let meta = 1;
  for (const _ in s.metadata) {
    meta = sizeBound(s.metadata);
    break;
  }
  return (
    5 + strBound(s.id) + strBound(s.behaviour) + sizeBound(s.args ?? null) + RESTART_SHUTDOWN_BYTES + meta
  );
}

/** A pid as the codec writes it: an extension holding `[node, id, creation]`. */
function pidBytes(pid: Pid): number {
  return 6 + 1 + strBound(pid.node) + 9 + 9;
}

/** Bound of one `WireItem` (a child to start). */
export function itemBytes(it: StartItem): number {
  return specBytes(it.spec) + EPOCH_PINNED_BYTES;
}

/** Bound of one `WireEntry` (a registry entry in a delta or slice). */
export function entryBytes(e: SliceEntry): number {
  return specBytes(e.spec) + 9 + pidBytes(e.pid);
}

/**
 * The items of one start to one node, split into messages; under hot swap each child's
 * handed-over state travels in the same message as the child and counts with it.
 */
export function startChunks(
  items: readonly StartItem[],
  states?: ReadonlyMap<string, unknown>,
): StartItem[][] {
  if (states === undefined || states.size === 0) return chunksBy(items, itemBytes);
  return chunksBy(items, (it) => {
    const id = it.spec.id;
    return itemBytes(it) + (states.has(id) ? 1 + strBound(id) + sizeBound(states.get(id)) : 0);
  });
}

/** Ids (of a stop, of a delta's removals) split into messages. */
export function idChunks(ids: Iterable<string>): string[][] {
  return chunksBy(ids, strBound);
}

/**
 * The answer to a start, split into as many `started` messages as its size needs (at least
 * one: an empty answer still tells the starter this node is done). A failure's `detail` (a
 * crash message) is cut at `MAX_DETAIL_CHARS`.
 */
export function startedMsgs(
  req: number,
  node: string,
  ok: ReadonlyArray<[string, Pid]>,
  failed: ReadonlyArray<[string, HubErrorReason, string | undefined]>,
): StartedMsg[] {
  const out: StartedMsg[] = [];
  let m: StartedMsg = { t: "started", req, node, ok: [], failed: [] };
  let n = 0;
  let bytes = 0;
  const room = (size: number) => {
    if (n > 0 && (n >= CHUNK || bytes + size > FRAME_BUDGET)) {
      out.push(m);
      m = { t: "started", req, node, ok: [], failed: [] };
      n = 0;
      bytes = 0;
    }
    n++;
    bytes += size;
  };
  for (const e of ok) {
    room(1 + strBound(e[0]) + pidBytes(e[1]));
    m.ok.push(e);
  }
  for (const f of failed) {
    const detail = f[2];
    const g: [string, HubErrorReason, string | undefined] =
      detail !== undefined && detail.length > MAX_DETAIL_CHARS
        ? [f[0], f[1], `${detail.slice(0, MAX_DETAIL_CHARS)}…`]
        : f;
    room(1 + strBound(g[0]) + 22 + (g[2] === undefined ? 1 : strBound(g[2])));
    m.failed.push(g);
  }
  out.push(m);
  return out;
}

// ------------------------------------------------------------------------------------ unsent messages

/** Per hub: how many of its messages could not be encoded, and when that was last logged. */
const unsent = new WeakMap<object, { count: number; loggedAt: number }>();

/** Warnings about unsent messages, per hub, at most one per this many ms. */
const UNSENT_LOG_MS = 1000;

/**
 * A hub message failed to send with `err`. If the cause is that the message cannot be encoded
 * (`FrameTooLargeError`, `UnserialisableError`), it is lost for good: this counts it for `hub`
 * (any object standing for the hub), logs a warning at most once a second per hub (with the
 * count so far), and returns true; for any other error it returns false and does nothing.
 */
export function unsendable(
  hub: object,
  logger: Logger,
  hubId: string,
  node: string,
  msg: HubWireMsg,
  err: unknown,
): boolean {
  const tooLarge = err instanceof FrameTooLargeError;
  if (!tooLarge && !(err instanceof UnserialisableError)) return false;
  let u = unsent.get(hub);
  if (u === undefined) unsent.set(hub, (u = { count: 0, loggedAt: Number.NEGATIVE_INFINITY }));
  u.count++;
  const now = performance.now();
  if (now - u.loggedAt < UNSENT_LOG_MS) return true;
  u.loggedAt = now;
  if (tooLarge) {
    const fields: Record<string, unknown> = { hub: hubId, node, t: msg.t, size: err.size, limit: err.limit };
    fields.unsent = u.count;
    if (err.limit < HUB_FRAME_LIMIT)
      fields.hint = `hub messages are sized for a maxFrameBytes of ${HUB_FRAME_LIMIT}`;
    logger.warn(fields, "hub message too large to send");
  } else
    logger.warn({ hub: hubId, node, t: msg.t, err, unsent: u.count }, "hub message could not be encoded");
  return true;
}

/** How many messages of `hub` (the object given to `unsendable`) could not be encoded. */
export function unsentCount(hub: object): number {
  return unsent.get(hub)?.count ?? 0;
}

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
/** `[...spec, epoch, pid]` */
export type WireEntry = [...WireSpec, number, Pid];

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
  return [id, s.behaviour, s.args ?? null, s.restart, s.shutdown, metaOut(s), e.epoch, e.pid];
}

export function entryIn(w: WireEntry): [string, SliceEntry] {
  return [w[0], { spec: specIn(w), epoch: w[6], pid: w[7] }];
}
