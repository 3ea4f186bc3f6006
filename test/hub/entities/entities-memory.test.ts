/** The entity scenarios (`entity-scenarios.ts`) over the memory transport. */
import { entityScenarios } from "./entity-scenarios.js";
import { MemoryEntityBed } from "./memory-bed.js";

entityScenarios({
  label: "the memory transport",
  bed: () => new MemoryEntityBed(),
  callTimeoutMs: 3000,
  testTimeoutMs: 30_000,
});
