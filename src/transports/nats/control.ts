/**
 * Control messages of the NATS transport: heartbeats, graceful leaves and probe answers. They are
 * tiny JSON objects on the cluster's heartbeat subject (or in a probe's reply), validated on
 * receipt: anything malformed is ignored. Imports the `NodeIdentity` type.
 */
import type { NodeIdentity } from "../../cluster/transport.js";

/** `hb`: I am alive (also sent at once on joining and on reconnecting); `leave`: I am going. */
export type ControlKind = "hb" | "leave";

/** One control message: its kind and the sender's name, incarnation and session. */
export interface ControlMessage {
  kind: ControlKind;
  node: string;
  incarnation: number;
  /** The sender's transport session (see `membership.ts`); 0 when absent (older peers). */
  session: number;
  /**
   * Sent by the sender's heartbeat thread while its event loop has not run for a while: alive but
   * busy, so its probes going unanswered say nothing (see `Membership.probeMiss`). Absent: false.
   */
  busy: boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Encodes a control message (also used, with kind `hb`, as the answer to a probe). */
export function encodeControl(kind: ControlKind, self: NodeIdentity, session = 0, busy = false): Uint8Array {
  const msg = { t: kind, n: self.node, i: self.incarnation, s: session };
  return encoder.encode(JSON.stringify(busy ? { ...msg, b: 1 } : msg));
}

/** Decodes a control message; `undefined` for anything that is not one. */
export function decodeControl(bytes: Uint8Array): ControlMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const { t, n, i, s, b } = value as Record<string, unknown>;
  if ((t !== "hb" && t !== "leave") || typeof n !== "string" || n.length === 0) return undefined;
  if (typeof i !== "number" || !Number.isFinite(i)) return undefined;
  if (s !== undefined && !Number.isSafeInteger(s)) return undefined;
  if (b !== undefined && b !== 1) return undefined;
  return { kind: t, node: n, incarnation: i, session: (s as number | undefined) ?? 0, busy: b === 1 };
}
