/**
 * The shared strategy scenarios (`strategy-scenarios.ts`) over the memory transport, including
 * the partition strategies, which need the network cut and mended in-process (`memory-bed.ts`).
 */
import { MemoryStrategyBed } from "./memory-bed.js";
import { strategyScenarios } from "./strategy-scenarios.js";

strategyScenarios({
  label: "the memory transport",
  bed: (options) => new MemoryStrategyBed(options),
  partitions: (options) => new MemoryStrategyBed(options),
});
