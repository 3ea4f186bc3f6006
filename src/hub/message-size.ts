/**
 * How hub messages stay under the cluster's frame limit. Large payloads (starts, start answers,
 * stops, deltas, slices, claims) are split by count (`CHUNK` entries) and by size (`FRAME_BUDGET`
 * bytes, from bounds computed without encoding: `specBytes`, `itemBytes`, `entryBytes`) so that
 * no message grows past the limit, which the cluster would refuse (`FrameTooLargeError`) and the
 * message would be lost; a message that cannot be sent anyway is counted and warned about
 * (`unsendable`). Imports the cluster codec's size bounds and errors, the root `logger`, and the
 * hub's message types.
 */
import { DEFAULT_MAX_FRAME_BYTES, sizeBound, strBound } from "../cluster/codec.js";
import { FrameTooLargeError, UnserialisableError } from "../cluster/errors.js";
import type { Logger } from "../logger.js";
import type { Pid } from "../process/pid.js";
import type { NormalizedChildSpec } from "./child-spec.js";
import type { SliceEntry } from "./hub-registry.js";
import type { Failure, HubWireMsg, StartedMsg, StartItem } from "./messages.js";

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
  return specBytes(e.spec) + 9 + pidBytes(e.pid) + (e.pinned === true ? 2 : 0);
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
  failed: ReadonlyArray<Failure>,
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
    const cut =
      detail !== undefined && detail.length > MAX_DETAIL_CHARS
        ? `${detail.slice(0, MAX_DETAIL_CHARS)}…`
        : detail;
    // The value behind a failure (a pid, an error) travels when it can and is small enough;
    // otherwise only its printable detail does, so the answer itself is never lost.
    const valueBytes = f.length > 3 ? valueBound(f[3]) : 0;
    const g: Failure =
      valueBytes > 0 && valueBytes <= MAX_FAILURE_VALUE_BYTES ? [f[0], f[1], cut, f[3]] : [f[0], f[1], cut];
    room(1 + strBound(g[0]) + 22 + (cut === undefined ? 1 : strBound(cut)) + (g.length > 3 ? valueBytes : 0));
    m.failed.push(g);
  }
  out.push(m);
  return out;
}

/** Largest value behind a failure sent along with it (bytes, bound); larger ones stay home. */
const MAX_FAILURE_VALUE_BYTES = 64 * 1024;

/** A size bound of `value`, or 0 when it cannot be encoded (a function, a symbol inside). */
function valueBound(value: unknown): number {
  try {
    return sizeBound(value);
  } catch {
    return 0;
  }
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
