/**
 * The hub layer: `ProcessHub`, a cluster-wide process hub (start, stop, placement, lookup of
 * processes across nodes), with its hash ring, replicated registry, results, futures and hooks.
 * Imports `process`, `server`, the root `errors` and `logger`.
 */
export {
  type ChildMetadata,
  type HubChildSpec,
  type HubRestart,
  type HubShutdown,
  type NormalizedChildSpec,
  normalizeChildSpec,
} from "./child-spec.js";
export {
  ChildMappingMismatchError,
  ChildReplicationMismatchError,
  ChildSpecTooLargeError,
  DuplicateChildIdError,
  FutureTimeoutError,
  HubAlreadyStartedError,
  HubStoppedError,
  InvalidChildMappingError,
  InvalidHubChildSpecError,
  MissingChildMappingError,
  NoChildrenError,
  UnknownHubBehaviourError,
  UnknownHubError,
} from "./errors.js";
export { entity, type EntityDeclaration, type ProtocolOf } from "./entities/entity.js";
export * from "./entities/errors.js";
export { DEFAULT_ENTITY_OPTIONS, type EntityOptions, type RefCallOptions } from "./entities/options.js";
export { HubRef, type RefCallArgs } from "./entities/ref.js";
export type { EntityStats } from "./entities/router.js";
export { Durability, type DurabilityStats } from "./durable/durability.js";
export type { DeclaredReplica } from "./durable/replica.js";
export {
  type CheckpointOptions,
  DEFAULT_CHECKPOINT_OPTIONS,
  withCheckpoints,
} from "./durable/checkpointed.js";
export type { CheckpointFailure, CheckpointStats } from "./durable/checkpoints.js";
export {
  type Declared,
  type DesiredState,
  decodeDeclared,
  declaredKey,
  encodeDeclared,
} from "./durable/declared.js";
export * from "./durable/errors.js";
export { Fence, type FenceRefusal, type FencingStats } from "./durable/fencing.js";
export {
  DEFAULT_FENCING,
  type FenceClock,
  type FencingOptions,
  MONOTONIC_CLOCK,
} from "./durable/fencing-options.js";
export { MemoryDurableStore } from "./durable/memory-store.js";
export { DEFAULT_DURABILITY, type DurabilityOptions } from "./durable/options.js";
export type {
  DurableBlobs,
  DurableBucket,
  DurableStore,
  OpenBucketOptions,
  StoreEntry,
  StoreWatch,
} from "./durable/store.js";
export { Future } from "./future.js";
export { HashRing, hash32 } from "./hash-ring.js";
export {
  type HookRegistration,
  type HubHookEvents,
  type HubHookHandler,
  type HubHookName,
  HubHooks,
  type TopologyChange,
} from "./hooks.js";
export { type ChildLookup, HubRegistry, type RegistryChange, type SliceEntry } from "./hub-registry.js";
export type { DrainResult } from "./messages.js";
export type { ChildStarter, HubBehaviour } from "./local-children.js";
export { type ClusterLike, clusterMembership, type HubMembership, NO_PEERS } from "./membership.js";
export {
  DEFAULT_HUB_TUNING,
  DEFAULT_START_OPTIONS,
  DEFAULT_STOP_OPTIONS,
  type HubTuning,
  type StartOptions as HubStartOptions,
  type StopOptions as HubStopOptions,
} from "./options.js";
export {
  type HubOptions,
  type HubRefOptions,
  ProcessHub,
  type StartInitiated,
  type StopInitiated,
} from "./process-hub.js";
export {
  type ChildError,
  type FormattedStart,
  type FormattedStop,
  type HubErrorReason,
  type NodePid,
  type StartedChild,
  StartResult as HubStartResult,
  type StoppedChild,
  StopResult as HubStopResult,
} from "./results.js";
export * from "./strategies/index.js";
