/**
 * Errors of the durable hub (`durability`): a store that cannot be reached or refused a write,
 * and a compare-and-set that lost to another writer. Imports the root `errors`.
 */
import { HubvisorError, show } from "../../errors.js";

/**
 * The durable store failed an operation (unreachable, closed, refused). `op` names what was
 * tried (`open`, `get`, `create`, `update`, `watch`), `key` the key if any.
 */
export class DurableStoreError extends HubvisorError {
  constructor(
    readonly op: string,
    readonly key: string | undefined,
    readonly reason: string,
  ) {
    super(
      "HV_ERR_HUB_DURABLE_STORE",
      `durable store ${op}${key === undefined ? "" : ` of ${show(key)}`} failed: ${reason}`,
    );
  }
}

/**
 * A compare-and-set write found another revision than the one it was based on (another node
 * wrote the key first), or a create found the key already written.
 */
export class DurableConflictError extends HubvisorError {
  constructor(
    readonly key: string,
    readonly expected: number | null,
  ) {
    super(
      "HV_ERR_HUB_DURABLE_CONFLICT",
      `durable store key ${show(key)} is not at ${expected === null ? "no value" : `revision ${expected}`} any more`,
    );
  }
}

/**
 * A checkpoint (`ProcessHub.checkpoint(ctx, state)`) encodes to more bytes than its behaviour
 * allows (`withCheckpoints(behaviour, { maxBytes })`): it is not stored, and the last stored one
 * stays. Thrown to the caller; `childId`, `bytes`, `maxBytes`.
 */
export class CheckpointTooLargeError extends HubvisorError {
  constructor(
    readonly childId: string,
    readonly bytes: number,
    readonly maxBytes: number,
  ) {
    super(
      "HV_ERR_HUB_CHECKPOINT_TOO_LARGE",
      `checkpoint of child ${show(childId)} is ${bytes} bytes encoded, over its limit of ${maxBytes}`,
    );
  }
}
