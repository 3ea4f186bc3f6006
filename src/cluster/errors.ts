/**
 * Errors of the cluster layer: misuse of the `Cluster` API, values that cannot cross the wire,
 * remote spawns that fail, and `RemoteError`, the stand-in for an error raised on another node
 * whose class this node does not know. Imports the root `errors`.
 */
import { HubvisorError, InvalidOptionError, show } from "../errors.js";

/** A value cannot be encoded for the wire (a function, a symbol, a cycle, an unsupported type). */
export class UnserialisableError extends HubvisorError {
  constructor(
    readonly what: string,
    options?: { cause?: unknown },
  ) {
    const detail = options?.cause instanceof Error ? `: ${options.cause.message}` : "";
    super("HV_ERR_UNSERIALISABLE", `${what} cannot be sent to another node${detail}`, options);
  }
}

/** An encoded frame is larger than the cluster's `maxFrameBytes`. */
export class FrameTooLargeError extends HubvisorError {
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super("HV_ERR_FRAME_TOO_LARGE", `frame of ${size} bytes exceeds the limit of ${limit} bytes`);
  }
}

/** The node is not (or no longer) a connected member of the cluster. OTP's `noconnection`. */
export class NoConnectionError extends HubvisorError {
  readonly reason = "noconnection";
  constructor(readonly node: string) {
    super("HV_ERR_NOCONNECTION", `node ${show(node)} is not connected`);
  }
}

/** `spawnOn` named a behaviour that the target node has not registered. */
export class UnknownBehaviourError extends HubvisorError {
  constructor(
    readonly behaviour: string,
    readonly node: string,
  ) {
    super(
      "HV_ERR_UNKNOWN_BEHAVIOUR",
      `node ${show(node)} has no spawnable behaviour named ${show(behaviour)}`,
    );
  }
}

/** `registerBehaviour` was given a name that is already registered on this node. */
export class BehaviourTakenError extends HubvisorError {
  constructor(readonly behaviour: string) {
    super("HV_ERR_BEHAVIOUR_TAKEN", `a spawnable behaviour named ${show(behaviour)} is already registered`);
  }
}

/** The start function of a remotely spawned behaviour threw or returned something other than a pid. */
export class RemoteSpawnError extends HubvisorError {
  constructor(
    readonly behaviour: string,
    readonly node: string,
    options?: { cause?: unknown },
  ) {
    const c = options?.cause;
    const detail = c instanceof Error ? `: ${c.name}: ${c.message}` : c === undefined ? "" : `: ${show(c)}`;
    super(
      "HV_ERR_REMOTE_SPAWN",
      `spawning ${show(behaviour)} on node ${show(node)} failed${detail}`,
      options,
    );
  }
}

/** A remote spawn got no answer in time. */
export class SpawnTimeoutError extends HubvisorError {
  readonly reason = "timeout";
  constructor(
    readonly behaviour: string,
    readonly node: string,
    readonly timeoutMs: number,
  ) {
    super(
      "HV_ERR_SPAWN_TIMEOUT",
      `spawning ${show(behaviour)} on node ${show(node)} timed out after ${timeoutMs} ms`,
    );
  }
}

/** The node's router is already installed (the node joined a cluster already). */
export class AlreadyJoinedError extends HubvisorError {
  constructor(readonly node: string) {
    super("HV_ERR_ALREADY_JOINED", `node ${show(node)} has already joined a cluster`);
  }
}

/** An operation on a cluster after `leave()`. */
export class ClusterClosedError extends HubvisorError {
  constructor(readonly cluster: string) {
    super("HV_ERR_CLUSTER_CLOSED", `this node has left cluster ${show(cluster)}`);
  }
}

/**
 * An error raised on another node whose class is not known here: same `code` (the remote's), same
 * message and stack; `remoteName` is the remote class name.
 */
export class RemoteError extends HubvisorError {
  constructor(
    code: string,
    readonly remoteName: string,
    message: string,
  ) {
    super(code, message);
  }
}

/**
 * A cluster, node or hub name that breaks the naming rules (`names.ts`): misuse, thrown by
 * `Cluster.join` and `ProcessHub.start`. An `InvalidOptionError` with its own code; `field` is
 * `"node.name"`, `"cluster"` or `"hubId"`.
 */
export class InvalidNameError extends InvalidOptionError {
  /** What the name was checked as: `"node.name"`, `"cluster"` or `"hubId"`. */
  declare readonly field: string;
  constructor(field: string, rule: string, value: unknown) {
    const shown =
      typeof value === "string" && value.length > 80
        ? `${value.slice(0, 80)}… (${value.length} characters)`
        : value;
    super(field, rule, shown, "HV_ERR_INVALID_NAME");
  }
}
