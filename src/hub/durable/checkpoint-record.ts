/**
 * Checkpoints as stored: the key of a child id (`c.` then the id in base64url, in the hub's
 * checkpoints bucket, `checkpoint-bucket.ts`), and the record around the state's bytes
 * (format, version, hub, id, writer, time). The state itself is encoded with the cluster codec,
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

/** The state in a stored record, or why it is refused. */
export function decodeCheckpoint(
  hubId: string,
  id: string,
  value: Uint8Array,
): { state: unknown; at: number } | { refused: string } {
  const opened = openRecord(value, { format: FORMAT, version: VERSION, hubId, id, kind: "checkpoint" });
  if ("refused" in opened) return opened;
  const r = opened.record;
  if (typeof r.at !== "number" || !(r.data instanceof Uint8Array)) return { refused: "bad fields" };
  const d = codec.decode(r.data);
  if (d.problem !== null || d.values.length !== 1) return { refused: "state does not decode" };
  return { state: d.values[0], at: r.at };
}
