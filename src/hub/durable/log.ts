/**
 * The log of declarations: what a call declares is written as log entries (one per chunk of the
 * call: a start or stop of 10,000 children is 10 writes), not into the pages its ids belong on. A
 * page is rewritten whole, so writing a call's declarations into their pages cost every page the
 * call touched (all 256 for a large call; at 1M declared children, ~200 KB for a single child),
 * written by the caller and compared by every node, on the call's path. Folds (`durability.ts`)
 * write the log's declarations into the pages later, many calls at once.
 *
 * Each node writes its entries into slots of its own, `d.=L.<node>.<slot>` (the node's name in
 * base64url), by compare-and-set, and reuses a slot once the pages hold what it said; after a
 * fold it empties its folded slots (a node opening the store reads every slot). The log never
 * grows past `LOG_SLOTS` keys per node name, and nothing is deleted (a deleted key leaves a
 * marker that every watch delivers forever).
 *
 * An entry is a msgpack envelope (format, version, hub, its own key, whether its declarations are
 * weak) around a run of records without stamps (`records.ts`): each takes the entry's revision.
 * Decoding checks the envelope and each record as a page's records are checked; a garbled entry
 * is refused whole, a bad record alone. Imports `records.ts`, `declared.ts` and the codec.
 */
import type { Declared } from "./declared.js";
import { declarationOf, RecordCursor, sameRange, shareable, withId } from "./records.js";
import { openEnvelope, recordPackr } from "./stored-record.js";

export const LOG_PREFIX = "d.=L.";
/** Slots per node name: a large call waits for a fold when its chunks need more. */
export const LOG_SLOTS = 256;
/** Records of one entry, at most (and `LOG_ENTRY_BYTES`): one chunk of a call. */
export const LOG_ENTRY_RECORDS = 1000;
/** Bytes of records of one entry, at most (a record larger than this is an entry alone): under NATS's 1 MB message. */
export const LOG_ENTRY_BYTES = 256 * 1024;

const FORMAT = "hubvisor/declared-log";
const VERSION = 1;
const KEY = /^d\.=L\.[A-Za-z0-9_-]+\.([0-9]{1,3})$/;

export function isLogKey(key: string): boolean {
  return key.startsWith(LOG_PREFIX);
}

/** The key of slot `slot` of node `node`. */
export function logKey(node: string, slot: number): string {
  return `${LOG_PREFIX}${Buffer.from(node, "utf8").toString("base64url")}.${slot}`;
}

/** A log entry of `run` (records without stamps); `weak`: every declaration in it is. */
export function encodeLog(hubId: string, key: string, weak: boolean, run: Uint8Array): Uint8Array {
  return recordPackr.pack({ f: FORMAT, v: VERSION, hub: hubId, key, w: weak ? 1 : 0, r: run });
}

/** A decoded entry: its declarations (at its revision) and the records refused in it. */
export interface DecodedLog {
  readonly declared: Declared[];
  readonly refused: Array<{ readonly id: string; readonly why: string }>;
}

/** The log entry in `value`, stored at `revision`, or why it is refused as a whole. */
export function decodeLog(
  hubId: string,
  key: string,
  value: Uint8Array,
  revision: number,
): DecodedLog | { logRefused: string } {
  const m = KEY.exec(key);
  if (m === null || Number(m[1]) >= LOG_SLOTS) return { logRefused: "not a log key" };
  const r = openEnvelope(value, FORMAT);
  if (typeof r === "string") return { logRefused: r };
  if (r.v !== VERSION) return { logRefused: `unknown version ${String(r.v)}` };
  if (r.hub !== hubId) return { logRefused: "another hub's log entry" };
  if (r.key !== key) return { logRefused: "log entry does not match its key" };
  if (r.w !== 0 && r.w !== 1) return { logRefused: "bad weak flag" };
  if (!(r.r instanceof Uint8Array)) return { logRefused: "no records" };
  const weak = r.w === 1;
  const run = r.r;
  const cursor = new RecordCursor(run, false);
  const seen = new Set<string>();
  const declared: Declared[] = [];
  const refused: Array<{ id: string; why: string }> = [];
  let shared: { start: number; end: number; d: Declared } | undefined;
  const text = Buffer.from(run.buffer, run.byteOffset, run.byteLength);
  for (let at = 0; at < run.length; at = cursor.end) {
    if (!cursor.next(at)) return { logRefused: "truncated record" };
    const { entryAt, end } = cursor;
    const id = text.toString("utf8", cursor.idAt, cursor.idEnd);
    if (seen.has(id)) {
      refused.push({ id, why: "twice in the entry" });
      continue;
    }
    seen.add(id);
    let d: Declared | { refused: string };
    if (shared !== undefined && id.length > 0 && sameRange(run, entryAt, end, run, shared.start, shared.end))
      d = withId(shared.d, id, revision, weak);
    else {
      d = declarationOf(id, run.subarray(entryAt, end), revision, weak);
      if (!("refused" in d) && shareable(d)) shared = { start: entryAt, end, d };
    }
    if ("refused" in d) refused.push({ id, why: d.refused });
    else declared.push(d);
  }
  return { declared, refused };
}
