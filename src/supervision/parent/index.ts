/**
 * Parent: custom parenting with bindings, shutdown groups, ephemeral children, per-child restart
 * intensity and an optional child registry. `ParentSupervisor` is ready-made; `ParentGenServer`
 * is the base for custom parents; `Parent` / `ParentState` are the low-level plumbing;
 * `ParentClient` is the API for other processes. Imports `process` and `server`.
 */
export { StoppedChild, type StoppedChildren } from "./child-record.js";
export type {
  ChildRef,
  NormalizedParentChildSpec,
  ParentChildId,
  ParentChildSpec,
  ParentStartFunction,
  StartReturn,
} from "./child-spec.js";
export { type ParentChildSpecOverrides, parentChildSpec, parseParentChildSpec } from "./child-spec.js";
export { type ParentDest, ParentClient } from "./client.js";
export {
  BadStartReturnError,
  ChildAlreadyStartedError,
  ChildStartFailedError,
  InvalidChildIdError,
  InvalidParentChildSpecError,
  MissingDepsError,
  NonUniformShutdownGroupError,
  NotAParentError,
  NoParentRegistryError,
  ParentViaRegisterError,
} from "./errors.js";
export type {
  ChildIdResult,
  ChildMetaResult,
  ChildPidResult,
  ChildSpecResult,
  NotFound,
  ParentChildInfo,
} from "./lookups.js";
export { DEFAULT_PARENT_OPTIONS, type ParentOptions, parseParentOptions } from "./options.js";
export { Parent, startAllChildren } from "./parent.js";
export {
  defineParentServer,
  ParentGenServer,
  type ParentServerBehaviour,
  type ParentServerOptions,
} from "./parent-gen-server.js";
export type { OkOrNotFound } from "./parent-queries.js";
export {
  type ParentEvent,
  type ParentStartResult,
  ParentState,
  type ShutdownChildResult,
  TOO_MANY_RESTARTS,
} from "./parent-state.js";
export { ParentSupervisor, type ParentSupervisorOptions, START_ERROR } from "./parent-supervisor.js";
export { ParentRegistry } from "./registry-reader.js";
export { RestartIntensity } from "./restart-intensity.js";
