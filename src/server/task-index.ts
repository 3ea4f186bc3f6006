/**
 * Task exports of the server layer: `Task` (async/await over processes). `TaskSupervisor` is a
 * DynamicSupervisor, so it lives in `supervision` (`supervision/task-supervisor.ts`). Imports
 * `task`, `task-errors`.
 */
import * as TaskNs from "./task.js";

export { TaskExitError, TaskStartError, TaskTimeoutError } from "./task-errors.js";
export type { TaskOptions, TaskOutcome, TaskOutcomes, TaskResults, TaskShutdown } from "./task.js";
/** A running or finished task, as returned by `Task.async`. */
export type Task<T = unknown> = TaskNs.Task<T>;

/** Task functions: `async`, `await`, `yield`, `shutdown`, `awaitMany`, `yieldMany`, `start`, `startLink`. */
export const Task = {
  async: TaskNs.async,
  await: TaskNs.await_,
  yield: TaskNs.yield_,
  shutdown: TaskNs.shutdown,
  awaitMany: TaskNs.awaitMany,
  yieldMany: TaskNs.yieldMany,
  start: TaskNs.start,
  startLink: TaskNs.startLink,
} as const;
