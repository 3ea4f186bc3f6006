/**
 * Hub strategies: options and the pieces the hub core uses to apply them. Re-exports only.
 */
export { HubPartitionedError } from "./errors.js";
export {
  giveHandoverState,
  type HandoverCallbacks,
  type HandoverInfo,
  supportsHandover,
  takeHandoverState,
  withHandover,
} from "./handover.js";
export { measureLoad, type NodeLoad, placeByLoad } from "./load.js";
export {
  DEFAULT_STRATEGIES,
  type DistributionStrategy,
  type HubStrategies,
  type HubStrategyOptions,
  type MigrationStrategy,
  type PartitionStrategy,
  parseStrategies,
  type RedundancyStrategy,
  STRATEGY_DEFAULTS,
  type SyncStrategy,
} from "./options.js";
export { QuorumTracker } from "./quorum.js";
export {
  isRedundancySignal,
  modeOf,
  type RedundancyMode,
  type RedundancySignal,
  replicasOf,
} from "./redundancy.js";
