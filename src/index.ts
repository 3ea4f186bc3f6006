/**
 * hubvisor: Erlang/OTP-grade supervision and a cluster-wide process hub for TypeScript.
 * Each layer's `index.ts` re-exports its public names explicitly; this entry gathers them.
 * Where two layers use the same name, the later layer's is renamed here (noted below).
 * The NATS transport lives at `hubvisor/nats` so the root never loads the NATS client.
 */
export { HubvisorError, InvalidOptionError } from "./errors.js";
export { consoleLogger, type Logger, silentLogger } from "./logger.js";
export * from "./process/index.js";
export * from "./server/index.js";
export * from "./server/task-index.js";
export * from "./supervision/index.js";
export * from "./application.js";
// Parent's restart intensity uses Parent's rules (ms clock, boundary dropped): renamed.
export * from "./supervision/parent/index.js";
export { RestartIntensity } from "./supervision/index.js";
export { RestartIntensity as ParentRestartIntensity } from "./supervision/parent/index.js";
export * from "./registry/index.js";
export * from "./cluster/index.js";
export type { StartFunction } from "./supervision/index.js";
export type { StartFunction as SpawnStartFunction } from "./cluster/index.js";
export * from "./transports/memory/index.js";
export * from "./hub/index.js";
export { InvalidChildSpecError, type NormalizedChildSpec } from "./supervision/index.js";
export {
  InvalidChildSpecError as InvalidHubChildSpecError,
  type NormalizedChildSpec as NormalizedHubChildSpec,
  type StoppedChild as HubStoppedChild,
} from "./hub/index.js";
export { StoppedChild } from "./supervision/parent/index.js";
