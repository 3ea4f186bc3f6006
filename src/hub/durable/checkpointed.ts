/**
 * `withCheckpoints(behaviour, options)`: declares that a hub GenServer keeps its state in its
 * durable hub's store (crash-safe state). The declaration rides on the behaviour object (as
 * `withHandover`'s and `entity`'s do) and carries the per-behaviour options with their defaults;
 * the hub reads the child's last checkpoint before each start of such a behaviour only, so
 * behaviours without it pay nothing. Imports the root errors and `server` types.
 */
import { InvalidOptionError } from "../../errors.js";
import type { ServerBehaviour } from "../../server/behaviour.js";

/**
 * Options of `withCheckpoints`.
 * @category hub
 */
export interface CheckpointOptions {
  /**
   * Writes of one child are at least this far apart, in ms: the first checkpoint after a quiet
   * period is written at once, later ones within the period are coalesced into one write at its
   * end (the latest state wins). A crash loses at most this much. `0`: every checkpoint is
   * written, one write in flight per child at a time. @default 1000
   */
  debounceMs?: number | undefined;
  /**
   * Largest encoded checkpoint, in bytes; a larger one throws `CheckpointTooLargeError` and is
   * not stored. At most 33554432 (32 MiB). One that does not fit a store entry (a NATS message,
   * 1 MiB by default) is written to the store's blobs (JetStream's object store, `@nats-io/obj`),
   * the entry pointing at it; a store without blobs fails its write (`checkpointFailed`, `store`).
   * @default 262144 (256 KiB)
   */
  maxBytes?: number | undefined;
}

/** `CheckpointOptions` with every default filled in. */
export type ResolvedCheckpointOptions = { readonly [K in keyof CheckpointOptions]-?: number };

/**
 * Defaults of `withCheckpoints`.
 * @category hub
 */
export const DEFAULT_CHECKPOINT_OPTIONS: ResolvedCheckpointOptions = Object.freeze({
  debounceMs: 1000,
  maxBytes: 262_144,
});

/** The largest `maxBytes` accepted: within the codec's bound, and a few seconds of writing on NATS. */
const MAX_BYTES_LIMIT = 32 * 1024 * 1024;
const DECL = "hubCheckpoint";

/**
 * Declares a hub GenServer checkpointed: in a durable hub its `init` gets the child's last
 * checkpoint through `ProcessHub.lastCheckpoint(ctx)` (after a crash, a failover to another node,
 * a cold move or a re-activation after passivation), and its callbacks store their state with
 * `ProcessHub.checkpoint(ctx, state)`. See `docs/hub.md` ("Crash-safe state").
 * @category hub
 */
export function withCheckpoints<B extends ServerBehaviour<any, any, any>>(
  behaviour: B,
  options: CheckpointOptions = {},
): B {
  return { ...behaviour, [DECL]: parseCheckpointOptions(options) };
}

function parseCheckpointOptions(o: CheckpointOptions): ResolvedCheckpointOptions {
  if (typeof o !== "object" || o === null) throw new InvalidOptionError("checkpoint options", "an object", o);
  const debounceMs = o.debounceMs ?? DEFAULT_CHECKPOINT_OPTIONS.debounceMs;
  if (typeof debounceMs !== "number" || !Number.isFinite(debounceMs) || debounceMs < 0)
    throw new InvalidOptionError("debounceMs", "a finite number >= 0", debounceMs);
  const maxBytes = o.maxBytes ?? DEFAULT_CHECKPOINT_OPTIONS.maxBytes;
  if (!Number.isInteger(maxBytes) || maxBytes < 1 || maxBytes > MAX_BYTES_LIMIT)
    throw new InvalidOptionError("maxBytes", `an integer from 1 to ${MAX_BYTES_LIMIT}`, maxBytes);
  return Object.freeze({ debounceMs, maxBytes });
}

/** The checkpoint options a registered behaviour declares, or undefined if it keeps none. */
export function checkpointOptionsOf(behaviour: unknown): ResolvedCheckpointOptions | undefined {
  if (typeof behaviour !== "object" || behaviour === null) return undefined;
  return (behaviour as Record<string, unknown>)[DECL] as ResolvedCheckpointOptions | undefined;
}
