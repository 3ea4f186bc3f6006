/**
 * `TaskSupervisor`: Elixir's Task.Supervisor, built on `DynamicSupervisor`. Supervised
 * fire-and-forget work (`startChild`, temporary by default, `transient` to be restarted after a
 * crash), supervised tasks whose result the caller awaits (`async`, linked to the caller too;
 * `asyncNolink`, not linked: a crash only shows in the awaited outcome), and the list of running
 * tasks. Stopping the supervisor shuts every task down (`shutdown`, then `kill` after 5000 ms).
 *
 * Lives in `supervision` (it is a DynamicSupervisor): imports `process`, `server` (`task`,
 * `task-errors`, types) and its own `dynamic-supervisor`, `child-spec`.
 */
import { currentNodeOrDefault, type Node, type ProcessContext } from "../process/node.js";
import { Pid } from "../process/pid.js";
import type { LinkOptions } from "../server/gen-server.js";
import type { ServerDest, ViaName } from "../server/protocol.js";
import type { StartResult } from "../server/results.js";
import { spawnTask, type Task } from "../server/task.js";
import { TaskStartError } from "../server/task-errors.js";
import { type ChildSpec, type NormalizedChildSpec, type Shutdown, validateChildSpec } from "./child-spec.js";
import { DynamicSupervisor } from "./dynamic-supervisor.js";

/** Options of `TaskSupervisor.start`. */
export interface TaskSupervisorOptions {
  /** Register under a local name or a via-name. @default undefined */
  name?: string | ViaName | undefined;
  /** Node to start on. @default the current node */
  node?: Node | undefined;
  /** Most tasks at once. @default Infinity */
  maxChildren?: number | undefined;
  /** Restart intensity for `transient` tasks. @default 3 */
  maxRestarts?: number | undefined;
  /** @default 5 */
  maxSeconds?: number | undefined;
}

/** Options of `TaskSupervisor.startChild`. */
export interface TaskChildOptions {
  /** `temporary` tasks are never restarted; `transient` ones are, after an abnormal exit. @default "temporary" */
  restart?: "temporary" | "transient" | undefined;
  /** How long a task gets to stop when its supervisor shuts it down. @default 5000 */
  shutdown?: Shutdown | undefined;
}

/** Who owns an `async` task: the calling process by default. */
export interface TaskSupervisorAsyncOptions {
  /** The owner, for code running after an `await`. @default the calling process */
  owner?: Pid | ProcessContext | undefined;
  /** @default 5000 */
  shutdown?: Shutdown | undefined;
}

type Sup = ServerDest<unknown>;

function flags(o: TaskSupervisorOptions) {
  return {
    strategy: "one_for_one" as const,
    name: o.name,
    node: o.node,
    ...(o.maxChildren !== undefined ? { maxChildren: o.maxChildren } : {}),
    ...(o.maxRestarts !== undefined ? { maxRestarts: o.maxRestarts } : {}),
    ...(o.maxSeconds !== undefined ? { maxSeconds: o.maxSeconds } : {}),
  };
}

/** Starts a task supervisor (unlinked). */
export function start(options: TaskSupervisorOptions = {}): Promise<StartResult> {
  return DynamicSupervisor.start(flags(options));
}

/**
 * Starts a task supervisor linked to the calling process (or to `linkTo`, a pid or the `ctx` of
 * an async process after an `await`).
 */
export function startLink(options: TaskSupervisorOptions & LinkOptions = {}): Promise<StartResult> {
  return DynamicSupervisor.startLink({ ...flags(options), linkTo: options.linkTo });
}

/**
 * A child spec starting a task supervisor under a Supervisor, as Elixir's `{Task.Supervisor,
 * name: …}`: id `"TaskSupervisor"` (the module, as Elixir's), type `supervisor`, shutdown
 * `infinity`; `overrides` may set the id (two task supervisors under one Supervisor need two)
 * and any other spec field. Throws like `validateChildSpec`.
 */
export function childSpec(
  options: TaskSupervisorOptions = {},
  overrides: Partial<Omit<ChildSpec, "start">> = {},
): NormalizedChildSpec {
  return validateChildSpec({
    id: "TaskSupervisor",
    type: "supervisor",
    modules: ["TaskSupervisor"],
    ...overrides,
    // Run as the supervisor (before any await), so the default link goes to it.
    start: () => startLink(options),
  });
}

/** Runs `fn` as a supervised task nobody awaits. Resolves `{ ok: true, pid }` or `{ ok: false, error }`. */
export async function startChild(
  sup: Sup,
  fn: (ctx: ProcessContext) => unknown,
  options: TaskChildOptions = {},
): Promise<StartResult> {
  const r = await DynamicSupervisor.startChild(sup, {
    start: () => {
      const node = currentNodeOrDefault();
      return { ok: true, pid: spawnTask(node, fn, [node.self()], undefined).pid };
    },
    restart: options.restart ?? "temporary",
    shutdown: options.shutdown ?? 5000,
  });
  return r as StartResult;
}

function callerOf(owner: Pid | ProcessContext | undefined): Pid | undefined {
  if (owner !== undefined) return owner instanceof Pid ? owner : owner.self;
  const node = currentNodeOrDefault();
  const self = node.self();
  return self === node.systemPid ? undefined : self;
}

async function supervisedTask<T>(
  sup: Sup,
  fn: (ctx: ProcessContext) => T | Promise<T>,
  linkCaller: boolean,
  options: TaskSupervisorAsyncOptions,
): Promise<Task<Awaited<T>>> {
  const owner = callerOf(options.owner);
  let task: Task<Awaited<T>> | undefined;
  const r = await DynamicSupervisor.startChild(sup, {
    start: () => {
      const node = currentNodeOrDefault();
      const links = [node.self()];
      if (linkCaller && owner !== undefined) links.push(owner);
      task = spawnTask(node, fn, links, owner);
      return { ok: true, pid: task.pid };
    },
    restart: "temporary",
    shutdown: options.shutdown ?? 5000,
  });
  if (!r.ok || task === undefined)
    throw new TaskStartError(r.ok ? "no task" : "ignore" in r ? "ignore" : r.error);
  return task;
}

/**
 * Runs `fn` as a task under the supervisor, linked to the caller as well; await it with
 * `Task.await`. Throws `TaskStartError` when the supervisor refuses (e.g. `maxChildren`).
 */
export function async<T>(
  sup: Sup,
  fn: (ctx: ProcessContext) => T | Promise<T>,
  options: TaskSupervisorAsyncOptions = {},
): Promise<Task<Awaited<T>>> {
  return supervisedTask(sup, fn, true, options);
}

/** As `async`, but not linked to the caller: a crash only shows as the awaited `TaskExitError`. */
export function asyncNolink<T>(
  sup: Sup,
  fn: (ctx: ProcessContext) => T | Promise<T>,
  options: TaskSupervisorAsyncOptions = {},
): Promise<Task<Awaited<T>>> {
  return supervisedTask(sup, fn, false, options);
}

/** The pids of the supervisor's running tasks. */
export async function children(sup: Sup): Promise<Pid[]> {
  const infos = await DynamicSupervisor.whichChildren(sup);
  return infos.map((c) => c.pid).filter((p): p is Pid => p instanceof Pid);
}

/** Stops one task: `{ ok: true }`, or the DynamicSupervisor's not-found result when it is not a child. */
export function terminateChild(sup: Sup, pid: Pid) {
  return DynamicSupervisor.terminateChild(sup, pid);
}

/** Stops the supervisor after shutting its tasks down. */
export function stop(sup: Sup, reason: unknown = "normal"): Promise<void> {
  return DynamicSupervisor.stop(sup, reason);
}

/**
 * TaskSupervisor functions: `start`, `startLink`, `childSpec`, `startChild`, `async`,
 * `asyncNolink`, `children`, `terminateChild`, `stop`.
 */
export const TaskSupervisor = {
  start,
  startLink,
  childSpec,
  startChild,
  async,
  asyncNolink,
  children,
  terminateChild,
  stop,
} as const;
