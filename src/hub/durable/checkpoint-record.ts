/**
 * Checkpoints as stored: the key of a child id (`c.` then the id in base64url, in the hub's
 * checkpoints bucket, `checkpoint-bucket.ts`), and the record around the state's bytes
 * (format, version, hub, id, writer, time) — or, for a state too large for one entry, around the
 * name of the blob that holds them (`obj`, with their size). The state itself is encoded with the cluster codec,
 * so pids and the other types that cross the wire survive a checkpoint. Decoding checks
 * everything: garbled, foreign, another hub's or another key's records are refused with the
 * reason, never restored. Imports msgpackr and the cluster codec.
 */
import { Codec } from "../../cluster/codec.js";
import { openRecord, recordPackr } from "./stored-record.js";

export const CHECKPOINT_PREFIX = "c.";
const FORMAT = "hubvisor/checkpoint";
const VERSION = 1;

const packr = recordPackr;
/** States are bounded by the behaviour's `maxBytes`, checked by the caller; this bound is a backstop. */
const codec = new Codec(64 * 1024 * 1024);

export function checkpointKey(id: string): string {
  return CHECKPOINT_PREFIX + Buffer.from(id, "utf8").toString("base64url");
}

/** The state's bytes (throws `UnserialisableError` for what cannot cross the wire). */
export function encodeState(state: unknown): Uint8Array {
  return codec.encode(state, "checkpoint state");
}

export function encodeCheckpoint(hubId: string, by: string, id: string, state: Uint8Array): Uint8Array {
  return packr.pack({ f: FORMAT, v: VERSION, hub: hubId, id, by, at: Date.now(), data: state });
}

/** A record whose state is in blob `obj` (`size` bytes). */
export function encodeCheckpointRef(
  hubId: string,
  by: string,
  id: string,
  obj: string,
  size: number,
): Uint8Array {
  return packr.pack({ f: FORMAT, v: VERSION, hub: hubId, id, by, at: Date.now(), obj, size });
}

/** A state from its encoded bytes (a record's or its blob's), or why it is refused. */
export function decodeState(bytes: Uint8Array): { state: unknown } | { refused: string } {
  const d = codec.decode(bytes);
  if (d.problem !== null || d.values.length !== 1) return { refused: "state does not decode" };
  return { state: d.values[0] };
}

/** The state in a stored record, the blob that holds it, or why it is refused. */
export function decodeCheckpoint(
  hubId: string,
  id: string,
  value: Uint8Array,
): { state: unknown; at: number } | { obj: string; size: number; at: number } | { refused: string } {
  const opened = openRecord(value, { format: FORMAT, version: VERSION, hubId, id, kind: "checkpoint" });
  if ("refused" in opened) return opened;
  const r = opened.record;
  if (typeof r.at !== "number") return { refused: "bad fields" };
  if (typeof r.obj === "string" && typeof r.size === "number") return { obj: r.obj, size: r.size, at: r.at };
  if (!(r.data instanceof Uint8Array)) return { refused: "bad fields" };
  const d = decodeState(r.data);
  return "refused" in d ? d : { state: d.state, at: r.at };
}
