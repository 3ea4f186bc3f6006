/**
 * The supervision layer: child specs, `Supervisor` (one_for_one / one_for_all / rest_for_one),
 * `DynamicSupervisor`, `TaskSupervisor`, restart intensity and their errors and result types. The
 * Parent-style supervisor lives in `./parent`. Imports `process` and `server`.
 */
export {
  type ChildId,
  type ChildSpec,
  type ChildSpecOverrides,
  type ChildType,
  childSpec,
  DEFAULT_CHILD_SPEC,
  type NormalizedChildSpec,
  type RestartType,
  type Shutdown,
  type StartFunction,
  type ValidateOptions,
  validateChildSpec,
} from "./child-spec.js";
export { DynamicSupervisor, type DynamicSupervisorBehaviour } from "./dynamic-supervisor.js";
export {
  ChildSpecError,
  DuplicateChildNameError,
  InvalidChildSpecError,
  InvalidChildTypeError,
  InvalidModulesError,
  InvalidRestartTypeError,
  InvalidShutdownError,
  InvalidSignificantError,
  InvalidStartError,
  MissingIdError,
  MissingStartError,
  NotASupervisorError,
} from "./errors.js";
export {
  Supervisor,
  type SupervisorBehaviour,
  type SupervisorInit,
  type SupervisorStartResult,
} from "./supervisor.js";
export {
  type AutoShutdown,
  DEFAULT_DYNAMIC_SUPERVISOR_FLAGS,
  DEFAULT_SUPERVISOR_FLAGS,
  type DynamicSupervisorFlags,
  type DynamicSupervisorOptions,
  type Strategy,
  type SupervisorDataError,
  type SupervisorFlags,
  type SupervisorOptions,
  type SupervisorStartOptions,
} from "./options.js";
export {
  DEFAULT_RESTART_INTENSITY,
  RestartIntensity,
  type RestartIntensityOptions,
} from "./restart-intensity.js";
export {
  type TaskChildOptions,
  TaskSupervisor,
  type TaskSupervisorAsyncOptions,
  type TaskSupervisorOptions,
} from "./task-supervisor.js";
export type {
  ChildCounts,
  ChildInfo,
  DeleteChildResult,
  DynamicStartChildResult,
  GetChildSpecResult,
  Ok,
  RestartChildResult,
  SupervisorStartChildResult,
  TerminateChildResult,
} from "./results.js";
