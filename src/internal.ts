/**
 * `hubvisor/internal`: the public API plus the internals behind it — option parsers, the wire
 * codec and frames, the hash ring, the hub's registry replica, strategy machinery and handover
 * helpers — for tools, benchmarks and tests that need to reach below the API.
 *
 * No compatibility promise: anything here but not in `hubvisor` may change or go away in any
 * release. Programs should import from `hubvisor`, `hubvisor/nats` and `hubvisor/testing`.
 */
export * from "./index.js";
export { parseNodeOptions, type RemoteRouter } from "./process/index.js";
export { parseParentChildSpec, parseParentOptions } from "./supervision/parent/index.js";
export { type ParsedRegistryOptions, parseRegistryOptions } from "./registry/index.js";
export {
  Codec,
  checkClusterName,
  checkHubName,
  checkNodeName,
  type DecodeProblem,
  type DecodeResult,
  type Frame,
  FrameTag,
  MAX_CLUSTER_NAME_LENGTH,
  MAX_HUB_NAME_LENGTH,
  MAX_NODE_NAME_LENGTH,
  PROTOCOL_VERSION,
  parseClusterOptions,
  validateFrame,
} from "./cluster/index.js";
export { parseMemoryNetworkOptions } from "./transports/memory/index.js";
export { parseNodeThreadsOptions } from "./threads/index.js";
export {
  clusterMembership,
  type Declared,
  type DeclaredReplica,
  type DesiredState,
  Durability,
  type DurabilityStats,
  decodeDeclared,
  declaredKey,
  encodeDeclared,
  Fence,
  type FenceClock,
  MONOTONIC_CLOCK,
  giveHandoverState,
  HashRing,
  HubHooks,
  HubRegistry,
  hash32,
  measureLoad,
  modeOf,
  NO_PEERS,
  type NodeLoad,
  normalizeChildSpec as normalizeHubChildSpec,
  parseStrategies,
  placeByLoad,
  QuorumTracker,
  type RegistryChange,
  replicasOf,
  type SliceEntry,
  supportsHandover,
  takeHandoverState,
} from "./hub/index.js";
// Only the option parser: importing it does not load the NATS client (its imports of the client are types).
export { parseNatsTransportOptions } from "./transports/nats/options.js";
