/**
 * Task exports of the server layer: `Task` (async/await over processes) and `TaskSupervisor`
 * (supervised fire-and-forget and async work). Imports `task`, `task-supervisor`, `task-errors`.
 */
import * as TaskNs from "./task.js";
import * as TaskSupervisorNs from "./task-supervisor.js";

export { TaskExitError, TaskStartError, TaskTimeoutError } from "./task-errors.js";
export type { TaskOptions, TaskOutcome, TaskOutcomes, TaskResults, TaskShutdown } from "./task.js";
/** A running or finished task, as returned by `Task.async`. */
export type Task<T = unknown> = TaskNs.Task<T>;
export type {
  TaskChildOptions,
  TaskSupervisorAsyncOptions,
  TaskSupervisorOptions,
} from "./task-supervisor.js";

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

/** TaskSupervisor functions: `start`, `startLink`, `startChild`, `async`, `asyncNolink`, `children`, `terminateChild`, `stop`. */
export const TaskSupervisor = {
  start: TaskSupervisorNs.start,
  startLink: TaskSupervisorNs.startLink,
  startChild: TaskSupervisorNs.startChild,
  async: TaskSupervisorNs.async,
  asyncNolink: TaskSupervisorNs.asyncNolink,
  children: TaskSupervisorNs.children,
  terminateChild: TaskSupervisorNs.terminateChild,
  stop: TaskSupervisorNs.stop,
} as const;
