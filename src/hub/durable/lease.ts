/**
 * Fencing records as stored: one lease per node (`fl.<node>`: the node's current session, renewed
 * by compare-and-set) and one claim per child (`fc.<id>`: the node, and the session of it, that
 * may run the child), encoded with msgpack like the declarations. Decoding checks everything and
 * refuses what is not ours (another format, version, hub or key) with the reason. Imports
 * msgpackr only.
 */
import { Packr } from "msgpackr";

/** Keys of node leases; the node name is base64url-encoded (KV keys allow only a few characters). */
export const LEASE_PREFIX = "fl.";
/** Keys of child claims; the child id is base64url-encoded. */
export const CLAIM_PREFIX = "fc.";

const LEASE_FORMAT = "hubvisor/lease";
const CLAIM_FORMAT = "hubvisor/claim";
const VERSION = 1;

const packr = new Packr({ useRecords: false, moreTypes: false });

/** A node's lease as read back. */
export interface Lease {
  readonly node: string;
  /**
   * The session: a random id a node picks each time it starts an unbroken chain of renewals
   * (at start, and after its lease lapsed). `null`: released (the node left gracefully and runs
   * no fenced child any more).
   */
  readonly session: string | null;
  /** The lease duration the holder promised to honour, in ms (for diagnostics: takers use their own). */
  readonly leaseMs: number;
  readonly revision: number;
}

/** A child's claim as read back. */
export interface Claim {
  readonly id: string;
  /** The node that may run the child; null: released (nobody runs it). */
  readonly node: string | null;
  /**
   * The session of `node` the claim belongs to; null with a node: handed over to `node` by the
   * node that ran it (a move), for whichever session of it is live.
   */
  readonly session: string | null;
  readonly revision: number;
}

function encodeName(prefix: string, name: string): string {
  return prefix + Buffer.from(name, "utf8").toString("base64url");
}

function decodeName(prefix: string, key: string): string | null {
  if (!key.startsWith(prefix)) return null;
  const b64 = key.slice(prefix.length);
  if (b64.length === 0 || !/^[A-Za-z0-9_-]+$/.test(b64)) return null;
  const name = Buffer.from(b64, "base64url").toString("utf8");
  return encodeName(prefix, name) === key ? name : null;
}

export const leaseKey = (node: string): string => encodeName(LEASE_PREFIX, node);
export const claimKey = (id: string): string => encodeName(CLAIM_PREFIX, id);
export const nodeOfLeaseKey = (key: string): string | null => decodeName(LEASE_PREFIX, key);
export const idOfClaimKey = (key: string): string | null => decodeName(CLAIM_PREFIX, key);

export function encodeLease(
  hubId: string,
  node: string,
  session: string | null,
  leaseMs: number,
): Uint8Array {
  return packr.pack({ f: LEASE_FORMAT, v: VERSION, hub: hubId, node, session, leaseMs, at: Date.now() });
}

export function encodeClaim(
  hubId: string,
  id: string,
  node: string | null,
  session: string | null,
  by: string,
): Uint8Array {
  return packr.pack({ f: CLAIM_FORMAT, v: VERSION, hub: hubId, id, node, session, by, at: Date.now() });
}

function record(value: Uint8Array, format: string, hubId: string): Record<string, unknown> | string {
  let v: unknown;
  try {
    v = packr.unpack(value);
  } catch {
    return "does not decode";
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return "not a record";
  const r = v as Record<string, unknown>;
  if (r.f !== format) return "foreign format";
  if (r.v !== VERSION) return `unknown version ${String(r.v)}`;
  if (r.hub !== hubId) return "another hub's record";
  return r;
}

const nullableString = (x: unknown): x is string | null => x === null || typeof x === "string";

/** The lease in `value`, or why it is refused. */
export function decodeLease(
  hubId: string,
  key: string,
  value: Uint8Array,
  revision: number,
): Lease | { refused: string } {
  const node = nodeOfLeaseKey(key);
  if (node === null) return { refused: "not a lease key" };
  const r = record(value, LEASE_FORMAT, hubId);
  if (typeof r === "string") return { refused: r };
  if (r.node !== node) return { refused: "node does not match its key" };
  if (!nullableString(r.session)) return { refused: "bad session" };
  if (typeof r.leaseMs !== "number" || !(r.leaseMs > 0)) return { refused: "bad lease duration" };
  return { node, session: r.session, leaseMs: r.leaseMs, revision };
}

/** The claim in `value`, or why it is refused. */
export function decodeClaim(
  hubId: string,
  key: string,
  value: Uint8Array,
  revision: number,
): Claim | { refused: string } {
  const id = idOfClaimKey(key);
  if (id === null) return { refused: "not a claim key" };
  const r = record(value, CLAIM_FORMAT, hubId);
  if (typeof r === "string") return { refused: r };
  if (r.id !== id) return { refused: "id does not match its key" };
  if (!nullableString(r.node) || !nullableString(r.session)) return { refused: "bad holder" };
  if (r.node === null && r.session !== null) return { refused: "a session without a node" };
  return { id, node: r.node, session: r.session, revision };
}
