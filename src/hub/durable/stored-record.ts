/**
 * The envelope every record a durable hub stores shares (`f` format, `v` version, `hub`, `id`),
 * and its checks on the way in: bytes from the store may be garbled or another program's, so a
 * record that does not decode or names another format, version, hub or id is refused with the
 * reason. Imports msgpackr.
 */
import { Packr } from "msgpackr";

/** The codec of stored records: plain maps, no msgpackr extensions. */
export const recordPackr = new Packr({ useRecords: false, moreTypes: false });

/** What a record of `kind` ("declaration", "checkpoint") must say of itself. */
export interface RecordHeader {
  format: string;
  version: number;
  hubId: string;
  id: string;
  kind: string;
}

/**
 * The fields of a stored value that decodes to a map marked `format`, else why it is refused: the
 * first checks of every record, page and log entry.
 */
export function openEnvelope(value: Uint8Array, format: string): Record<string, unknown> | string {
  let v: unknown;
  try {
    v = recordPackr.unpack(value);
  } catch {
    return "does not decode";
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return "not a record";
  const r = v as Record<string, unknown>;
  return r.f === format ? r : "foreign format";
}

/** The record's fields once its envelope checks out, else why it is refused. */
export function openRecord(
  value: Uint8Array,
  h: RecordHeader,
): { record: Record<string, unknown> } | { refused: string } {
  const r = openEnvelope(value, h.format);
  if (typeof r === "string") return { refused: r };
  if (r.v !== h.version) return { refused: `unknown version ${String(r.v)}` };
  if (r.hub !== h.hubId) return { refused: `another hub's ${h.kind}` };
  if (r.id !== h.id) return { refused: "id does not match its key" };
  return { record: r };
}
