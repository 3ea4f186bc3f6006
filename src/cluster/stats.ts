/**
 * Counters of a cluster member: frames and wire messages in and out, and every incoming frame
 * that was rejected, by kind. Plain numbers, updated on the hot path without allocation.
 * Imports nothing.
 */

/** Why an incoming frame was rejected. */
export type RejectKind = "oversized" | "truncated" | "garbled" | "invalid" | "misaddressed";

/**
 * What a cluster member has sent and received. Read it through `cluster.stats` (a snapshot).
 * @category cluster
 */
export interface ClusterStats {
  /** Frames queued for other nodes. */
  framesOut: number;
  /** Wire messages handed to the transport (a batch counts once). */
  messagesOut: number;
  bytesOut: number;
  /** Frames received and dispatched. */
  framesIn: number;
  /** Wire messages received from the transport. */
  messagesIn: number;
  bytesIn: number;
  /** Outgoing signals whose payload could not be encoded (sent degraded or dropped). */
  unserialisable: number;
  /** Incoming frames refused, by reason. Each is also logged (rate-limited). */
  rejected: Record<RejectKind, number>;
}

export function newStats(): ClusterStats {
  return {
    framesOut: 0,
    messagesOut: 0,
    bytesOut: 0,
    framesIn: 0,
    messagesIn: 0,
    bytesIn: 0,
    unserialisable: 0,
    rejected: { oversized: 0, truncated: 0, garbled: 0, invalid: 0, misaddressed: 0 },
  };
}

/** Total of the rejected counters. */
export function totalRejected(stats: ClusterStats): number {
  const r = stats.rejected;
  return r.oversized + r.truncated + r.garbled + r.invalid + r.misaddressed;
}
