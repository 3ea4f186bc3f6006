/**
 * The cluster layer: node identity and membership, the `Transport` seam, the wire codec and
 * frames, remote send / call / link / monitor / exit, node-down signals and remote spawn.
 * Imports only its own files.
 */
export { Cluster, type SpawnOnOptions } from "./cluster.js";
export {
  Codec,
  DEFAULT_MAX_FRAME_BYTES,
  type DecodeProblem,
  type DecodeResult,
  registerErrorClass,
} from "./codec.js";
export {
  AlreadyJoinedError,
  BehaviourTakenError,
  ClusterClosedError,
  FrameTooLargeError,
  InvalidNameError,
  NoConnectionError,
  RemoteError,
  RemoteSpawnError,
  SpawnTimeoutError,
  UnknownBehaviourError,
  UnserialisableError,
} from "./errors.js";
export { type Frame, FrameTag, PROTOCOL_VERSION, validateFrame } from "./frames.js";
export {
  type Member,
  type MembershipEvents,
  type NodeDownEvent,
  NodeDownMessage,
  type NodeUpEvent,
  NodeUpMessage,
} from "./membership.js";
export {
  checkClusterName,
  checkHubName,
  checkNodeName,
  MAX_CLUSTER_NAME_LENGTH,
  MAX_HUB_NAME_LENGTH,
  MAX_NODE_NAME_LENGTH,
} from "./names.js";
export { type ClusterOptions, DEFAULT_CLUSTER_OPTIONS, parseClusterOptions } from "./options.js";
export type { StartFunction } from "./spawner.js";
export { type ClusterStats, type RejectKind, totalRejected } from "./stats.js";
export type { NodeIdentity, PeerDownReason, Transport, TransportHandlers } from "./transport.js";
