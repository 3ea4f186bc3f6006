/**
 * Errors of the hub layer. Misuse of the hub API (bad child specs, unknown behaviours, duplicate
 * ids in one call, an unknown hub id, bad options) throws one of these; expected outcomes of a
 * start or stop (already started, not found, node timeouts) are reported inside `StartResult` /
 * `StopResult` instead. Imports the root `errors`.
 */
import { HubvisorError, show } from "../errors.js";

/** A hub child spec has the wrong shape. Names the field and the offending value. */
export class InvalidHubChildSpecError extends HubvisorError {
  constructor(
    readonly field: string,
    expected: string,
    readonly value: unknown,
  ) {
    super(
      "HV_ERR_HUB_INVALID_CHILD_SPEC",
      `invalid hub child spec: expected \`${field}\` to be ${expected}, got: ${show(value)}`,
    );
  }
}

/** A child spec names a behaviour that is not registered with the hub on this node. */
export class UnknownHubBehaviourError extends HubvisorError {
  constructor(
    readonly behaviour: string,
    readonly childId: string,
  ) {
    super(
      "HV_ERR_HUB_UNKNOWN_BEHAVIOUR",
      `child ${show(childId)} names behaviour ${show(behaviour)}, which is not registered with this hub`,
    );
  }
}

/** The same child id appears more than once in one start call. */
export class DuplicateChildIdError extends HubvisorError {
  constructor(readonly childId: string) {
    super(
      "HV_ERR_HUB_DUPLICATE_CHILD_ID",
      `child id ${show(childId)} appears more than once in the same call`,
    );
  }
}

/** No hub with this id runs on this node. */
export class UnknownHubError extends HubvisorError {
  constructor(
    readonly hubId: string,
    readonly node: string,
  ) {
    super("HV_ERR_HUB_UNKNOWN", `no hub ${show(hubId)} runs on node ${show(node)}`);
  }
}

/** A hub with this id already runs on this node. */
export class HubAlreadyStartedError extends HubvisorError {
  constructor(
    readonly hubId: string,
    readonly node: string,
  ) {
    super("HV_ERR_HUB_ALREADY_STARTED", `hub ${show(hubId)} already runs on node ${show(node)}`);
  }
}

/** The hub was stopped; it takes no more requests. */
export class HubStoppedError extends HubvisorError {
  constructor(readonly hubId: string) {
    super("HV_ERR_HUB_STOPPED", `hub ${show(hubId)} is stopped`);
  }
}

/** A start or stop call was given no children. */
export class NoChildrenError extends HubvisorError {
  constructor() {
    super("HV_ERR_HUB_NO_CHILDREN", "no children given");
  }
}

/** A `childMapping` entry is malformed, or names a node that is not a member of the hub. */
export class InvalidChildMappingError extends HubvisorError {
  constructor(
    readonly childId: string,
    readonly value: unknown,
  ) {
    super(
      "HV_ERR_HUB_INVALID_CHILD_MAPPING",
      `child ${show(childId)}: childMapping entry ${show(value)} is not a hub node (or a list of hub nodes)`,
    );
  }
}

/** Guided distribution: a start left a child without a mapping (nothing of the call started). */
export class MissingChildMappingError extends HubvisorError {
  constructor(readonly childId: string) {
    super(
      "HV_ERR_HUB_MISSING_CHILD_MAPPING",
      `child ${show(childId)}: guided distribution needs a childMapping entry`,
    );
  }
}

/** A `childMapping` names an id that is not among the call's children (nothing of the call started). */
export class ChildMappingMismatchError extends HubvisorError {
  constructor(readonly childId: string) {
    super(
      "HV_ERR_HUB_CHILD_MAPPING_MISMATCH",
      `childMapping names ${show(childId)}, which is not a child of this call`,
    );
  }
}

/** A `childMapping` entry names another number of nodes than the replication factor. */
export class ChildReplicationMismatchError extends HubvisorError {
  constructor(
    readonly childId: string,
    readonly nodes: number,
    readonly factor: number,
  ) {
    super(
      "HV_ERR_HUB_CHILD_REPLICATION_MISMATCH",
      `child ${show(childId)}: childMapping names ${nodes} node(s), the replication factor is ${factor}`,
    );
  }
}

/** `Future.await` ran out of time before the operation's result was known. */
export class FutureTimeoutError extends HubvisorError {
  constructor(readonly timeoutMs: number) {
    super("HV_ERR_HUB_FUTURE_TIMEOUT", `the hub operation's result was not known within ${timeoutMs} ms`);
  }
}

/** How much of a child id an error keeps (an id too large to travel may be megabytes long). */
const ID_PREVIEW_CHARS = 64;

/**
 * A child spec too large to ever cross the wire: its id, arguments and metadata take more than
 * the `limit` bytes one hub message may carry for a spec (`size` is an upper bound of its
 * encoded size). `childId` is the id, cut to its first 64 characters (then ending in `…`).
 */
export class ChildSpecTooLargeError extends HubvisorError {
  readonly childId: string;
  constructor(
    childId: string,
    readonly size: number,
    readonly limit: number,
  ) {
    const preview = childId.length > ID_PREVIEW_CHARS ? `${childId.slice(0, ID_PREVIEW_CHARS)}…` : childId;
    super(
      "HV_ERR_HUB_CHILD_SPEC_TOO_LARGE",
      `child ${show(preview)} is too large to send to another node: its spec takes up to ${size} bytes, more than the ${limit} a hub message can carry`,
    );
    this.childId = preview;
  }
}

/**
 * A hub child's start (a GenServer's `init`, a `ChildStarter`'s `start`) did not finish within
 * the hub's `initTimeoutMs`: the child was killed and the start failed with this as its error
 * (`ChildError.error`), so that one hanging child never holds up its node's hub.
 */
export class ChildStartTimeoutError extends HubvisorError {
  constructor(
    readonly childId: string,
    readonly timeoutMs: number,
  ) {
    super("HV_ERR_HUB_CHILD_START_TIMEOUT", `child ${show(childId)} did not start within ${timeoutMs} ms`);
  }
}
