/**
 * Declared children as stored: the key of an id, and the value of its declaration (desired state
 * running, stopped or dormant, the spec to start it with, the nodes it is pinned to, who wrote it
 * and when), encoded with msgpack.
 * Decoding checks everything: a value that does not decode, is of another format or version,
 * belongs to another hub or another key, or carries a spec that does not validate is refused
 * with the reason, never applied. Imports msgpackr and the hub's child spec check.
 */
import { type NormalizedChildSpec, normalizeChildSpec } from "../child-spec.js";
import { openRecord, recordPackr } from "./stored-record.js";

/**
 * What the hub should do about an id: run it, keep it stopped, or leave it `dormant` (an entity
 * passivated for idleness: not started by reconcile, started again on its next activation, its
 * checkpoint kept).
 */
export type DesiredState = "running" | "stopped" | "dormant";

/** One declaration, as read back from the store. */
export interface Declared {
  readonly id: string;
  readonly desired: DesiredState;
  /** The spec to start it with (present when running or dormant; a stop keeps none). */
  readonly spec: NormalizedChildSpec | null;
  /** The nodes it is pinned to (`hub.migrate`, `childMapping`), or null. */
  readonly pin: readonly string[] | null;
  /** The store's revision of this declaration: its version. */
  readonly revision: number;
  /** Node that wrote it, and when (ms since the epoch): for diagnostics only. */
  readonly by: string;
  readonly at: number;
  /**
   * When a node's replica took it (ms since the epoch, its own clock), or 0 (decoded alone, or
   * taken before the replica first caught up): reconcile leaves declarations this young to the
   * call that wrote them.
   */
  learnt: number;
  /**
   * Declared only if the id had no declaration (a static child of `ProcessHub.start`): any other
   * declaration of the id supersedes it, whatever their revisions (`supersedes`).
   */
  weak?: boolean;
}

/**
 * Whether declaration `a` takes precedence over `b` of the same id: a declaration over a weak one;
 * between two declarations, the later (higher revision); between two weak ones, the earlier. An
 * order on declarations alone, not on when a node learns them: nodes that learn the same
 * declarations in any order (a log entry before or after the page it was folded into) agree.
 */
export function supersedes(a: Declared, b: Declared): boolean {
  const aw = a.weak === true;
  const bw = b.weak === true;
  if (aw !== bw) return bw;
  return aw ? a.revision < b.revision : a.revision > b.revision;
}

/** Marks our values: a value without it was written by something else. */
const FORMAT = "hubvisor/declared";
const VERSION = 1;
/** Keys of declarations; the id is base64url-encoded (KV keys allow only a few characters). */
export const DECLARED_PREFIX = "d.";

const packr = recordPackr;

export function declaredKey(id: string): string {
  return DECLARED_PREFIX + Buffer.from(id, "utf8").toString("base64url");
}

/** The id of a declaration key, or null if the key is not one. */
export function idOfKey(key: string): string | null {
  if (!key.startsWith(DECLARED_PREFIX)) return null;
  const b64 = key.slice(DECLARED_PREFIX.length);
  if (b64.length === 0 || !/^[A-Za-z0-9_-]+$/.test(b64)) return null;
  const id = Buffer.from(b64, "base64url").toString("utf8");
  // Not canonical (a different encoding of some id): not ours.
  return declaredKey(id) === key ? id : null;
}

export function encodeDeclared(
  hubId: string,
  by: string,
  desired: DesiredState,
  spec: NormalizedChildSpec | null,
  id: string,
  pin: readonly string[] | null = null,
): Uint8Array {
  const r: Record<string, unknown> = {
    f: FORMAT,
    v: VERSION,
    hub: hubId,
    id,
    desired,
    spec,
    by,
    at: Date.now(),
  };
  if (pin !== null) r.pin = pin;
  return packr.pack(r);
}

/** The declaration in `value`, or the reason it is refused. */
export function decodeDeclared(
  hubId: string,
  key: string,
  value: Uint8Array,
  revision: number,
): Declared | { refused: string } {
  const id = idOfKey(key);
  if (id === null) return { refused: "not a declaration key" };
  const opened = openRecord(value, { format: FORMAT, version: VERSION, hubId, id, kind: "declaration" });
  if ("refused" in opened) return opened;
  const r = opened.record;
  return checkEntry(id, r, revision);
}

/**
 * The declaration of `id` in record `r` (a stored declaration, or one entry of a page), or why
 * it is refused: desired state, writer fields, pin, and a spec that validates and names `id`.
 */
export function checkEntry(
  id: string,
  r: Record<string, unknown>,
  revision: number,
): Declared | { refused: string } {
  if (r.desired !== "running" && r.desired !== "stopped" && r.desired !== "dormant")
    return { refused: "bad desired state" };
  if (typeof r.by !== "string" || typeof r.at !== "number") return { refused: "bad writer fields" };
  const pin = r.pin ?? null;
  if (pin !== null && (!Array.isArray(pin) || pin.length === 0 || !pin.every((n) => typeof n === "string")))
    return { refused: "bad pin" };
  let spec: NormalizedChildSpec | null = null;
  if (r.desired !== "stopped") {
    try {
      spec = normalizeChildSpec(r.spec);
    } catch {
      return { refused: "bad spec" };
    }
    if (spec.id !== id) return { refused: "spec id does not match its key" };
  } else if (r.spec !== null && r.spec !== undefined) return { refused: "a stop with a spec" };
  return {
    id,
    desired: r.desired,
    spec,
    pin: pin as string[] | null,
    revision,
    by: r.by,
    at: r.at,
    learnt: 0,
  };
}
