/**
 * `Task`: Elixir's Task. `Task.async(fn)` runs `fn` as a process linked to the caller and
 * `Task.await(task)` gets its result (or throws `TaskTimeoutError` after 5000 ms by default, or
 * `TaskExitError` when the task exited without a result). A crash in the task propagates as in
 * Elixir: the caller, linked, gets the exit signal (and dies unless it traps exits).
 * `Task.yield`, `Task.shutdown`, `Task.awaitMany`, `Task.yieldMany`, `Task.start` (unlinked,
 * fire and forget) complete the set.
 *
 * The result is captured by an exit hook on the task process, so an idle task costs no message,
 * monitor or timer; a timer exists only while someone waits with a finite timeout.
 *
 * Imports `process` (Node internals: spawn, link, exit hooks, the timer wheel) and `task-errors`.
 */
import { isNormalOrShutdown } from "../process/exit-reason.js";
import { currentNodeOrDefault, type Node, ProcessContext } from "../process/node.js";
import { Pid } from "../process/pid.js";
import { TaskExitError, TaskTimeoutError } from "./task-errors.js";

/** The outcome of a task: its result, or the reason it exited without one. */
export type TaskOutcome<T> = { ok: true; value: T } | { ok: false; exit: unknown };

/** Who owns a task (is linked to it): the calling process by default. */
export interface TaskOptions {
  /** Node to run the task on. @default the current node */
  node?: Node | undefined;
  /** The owner, for code running after an `await` (where the calling process is not known). @default the calling process */
  owner?: Pid | ProcessContext | undefined;
}

type Waiter = (o: TaskOutcome<unknown>) => void;

/**
 * A running (or finished) task, as returned by `Task.async`. Hold it to await the result.
 * @category server
 */
export class Task<T = unknown> {
  /** @internal */ outcome: TaskOutcome<T> | undefined = undefined;
  /** @internal */ waiters: Waiter[] | null = null;

  constructor(
    /** The task's process. */
    readonly pid: Pid,
    /** The process linked to it and entitled to its result (undefined outside any process). */
    readonly owner: Pid | undefined,
    /** @internal */ readonly node: Node,
  ) {}

  /** @internal */
  settle(o: TaskOutcome<T>): void {
    if (this.outcome !== undefined) return;
    this.outcome = o;
    const ws = this.waiters;
    this.waiters = null;
    if (ws !== null) for (const w of ws) w(o as TaskOutcome<unknown>);
  }

  /** @internal Calls `w` with the outcome now or when it comes; returns a canceller. */
  onOutcome(w: Waiter): () => void {
    if (this.outcome !== undefined) {
      w(this.outcome as TaskOutcome<unknown>);
      return () => {};
    }
    (this.waiters ??= []).push(w);
    return () => {
      if (this.waiters !== null) this.waiters = this.waiters.filter((x) => x !== w);
    };
  }

  toString(): string {
    return `#Task<${this.pid}>`;
  }
}

/** The real process calling (not the node's system pid), if any. */
function callerOf(node: Node, owner: Pid | ProcessContext | undefined): Pid | undefined {
  if (owner !== undefined) return owner instanceof Pid ? owner : owner.self;
  const self = node.self();
  return self === node.systemPid ? undefined : self;
}

function nodeOf(options: TaskOptions): Node {
  if (options.node !== undefined) return options.node;
  if (options.owner instanceof ProcessContext) return options.owner.node;
  return currentNodeOrDefault();
}

/**
 * Spawns `fn` as a task process linked to every pid of `links` (before `fn` runs, so a fast task
 * can never finish unlinked). Used by `Task` and `TaskSupervisor`.
 */
export function spawnTask<T>(
  node: Node,
  fn: (ctx: ProcessContext) => T | Promise<T>,
  links: Pid[],
  owner: Pid | undefined,
): Task<Awaited<T>> {
  let done = false;
  let value: unknown;
  const pid = node.spawn(
    async (ctx) => {
      value = await fn(ctx);
      done = true;
    },
    { link: links[0] ?? false, behaviour: "Task" },
  );
  for (let i = 1; i < links.length; i++) node.link(links[i]!, pid);
  const task = new Task<Awaited<T>>(pid, owner, node);
  node.onExit(pid, (_pid, reason) => {
    if (done && reason === "normal") {
      task.settle({ ok: true, value: value as Awaited<T> });
      return;
    }
    if (!isNormalOrShutdown(reason) && reason !== "killed")
      node.reportCrash(pid, undefined, reason, "Task crashed");
    task.settle({ ok: false, exit: reason });
  });
  return task;
}

/**
 * Runs `fn` in a new process linked to the caller. `fn` gets the task's `ProcessContext` and may
 * be async; its return value is the task's result.
 */
export function async<T>(
  fn: (ctx: ProcessContext) => T | Promise<T>,
  options: TaskOptions = {},
): Task<Awaited<T>> {
  const node = nodeOf(options);
  const owner = callerOf(node, options.owner);
  return spawnTask(node, fn, owner === undefined ? [] : [owner], owner);
}

/** Waits for the outcome, at most `timeoutMs`; `undefined` on timeout. Never settles for a dead waiter. */
function waitOutcome<T>(
  task: Task<T>,
  timeoutMs: number,
  waiter: Pid | undefined,
): Promise<TaskOutcome<T> | undefined> {
  if (task.outcome !== undefined) return Promise.resolve(task.outcome);
  const node = task.node;
  return new Promise((resolve) => {
    let timer: ReturnType<typeof node.wheel.add> | null = null;
    const cancel = task.onOutcome((o) => {
      if (timer !== null) node.wheel.cancel(timer);
      // The outcome is known in the task's exit hook, before its links fire: look at the waiter
      // once they have, so an owner killed by the task's crash never resumes.
      queueMicrotask(() => {
        if (waiter === undefined || node.isAlive(waiter)) resolve(o as TaskOutcome<T>);
      });
    });
    if (Number.isFinite(timeoutMs)) {
      timer = node.wheel.add(Math.max(0, timeoutMs), () => {
        cancel();
        if (waiter === undefined || node.isAlive(waiter)) resolve(undefined);
      });
    }
  });
}

/**
 * The task's result. Throws `TaskTimeoutError` after `timeoutMs` (the task keeps running; an
 * owner that does not catch it crashes and takes the linked task down, as in Elixir), and
 * `TaskExitError` with the exit reason when the task exited without a result. Awaiting a finished
 * task again gives the same outcome.
 */
export async function await_<T>(task: Task<T>, timeoutMs = 5000): Promise<T> {
  const o = await waitOutcome(task, timeoutMs, callerOf(task.node, undefined));
  if (o === undefined) throw new TaskTimeoutError(task.pid, timeoutMs);
  if (o.ok) return o.value;
  throw new TaskExitError(task.pid, o.exit);
}

/**
 * Waits at most `timeoutMs` for the outcome: `{ ok: true, value }`, `{ ok: false, exit }`, or
 * `undefined` when the task is still running (it can be yielded again or shut down).
 */
export function yield_<T>(task: Task<T>, timeoutMs = 5000): Promise<TaskOutcome<T> | undefined> {
  return waitOutcome(task, timeoutMs, callerOf(task.node, undefined));
}

/**
 * How `Task.shutdown` stops a task: `"brutal_kill"` kills it at once, a number of ms (or
 * `"infinity"`) is how long it gets after `shutdown` before a kill — the child spec's `shutdown`
 * values. `"brutalKill"` is the old spelling of `"brutal_kill"`, still accepted.
 */
export type TaskShutdown =
  | number
  | "brutal_kill"
  | "infinity"
  | /** @deprecated use "brutal_kill" */ "brutalKill";

/**
 * Stops a task: unlinks it from its owner, sends it `shutdown` (or `kill` with `"brutal_kill"`),
 * and kills it if it is still alive after `shutdown` ms. Returns its result if it finished first,
 * `{ ok: false, exit }` if it had exited for another reason, else `undefined`.
 */
export async function shutdown<T>(
  task: Task<T>,
  shutdown: TaskShutdown = 5000,
): Promise<TaskOutcome<T> | undefined> {
  const node = task.node;
  if (task.outcome === undefined) {
    if (task.owner !== undefined) node.unlink(task.pid, task.owner);
    const from = task.owner ?? node.systemPid;
    if (shutdown === "brutal_kill" || shutdown === "brutalKill") {
      node.exit(task.pid, "kill", from);
    } else {
      node.exit(task.pid, "shutdown", from);
      if (task.outcome === undefined) {
        const ms = shutdown === "infinity" ? Number.POSITIVE_INFINITY : shutdown;
        const o = await waitOutcome(task, ms, undefined);
        if (o === undefined) node.exit(task.pid, "kill", from);
      }
    }
  }
  const o = task.outcome ?? (await waitOutcome(task, Number.POSITIVE_INFINITY, undefined));
  if (o === undefined || o.ok) return o;
  return o.exit === "shutdown" || o.exit === "killed" ? undefined : o;
}

/** The results of a tuple or array of tasks, element by element. */
export type TaskResults<Ts extends readonly Task<any>[]> = {
  -readonly [K in keyof Ts]: Ts[K] extends Task<infer R> ? R : never;
};
/** The outcomes of a tuple or array of tasks, element by element (`undefined`: still running). */
export type TaskOutcomes<Ts extends readonly Task<any>[]> = {
  -readonly [K in keyof Ts]: Ts[K] extends Task<infer R> ? TaskOutcome<R> | undefined : never;
};

/**
 * Results of several tasks, in order. Throws `TaskExitError` for the first one found to have
 * exited without a result, `TaskTimeoutError` when they are not all done within `timeoutMs`.
 */
export async function awaitMany<const Ts extends readonly Task<any>[]>(
  tasks: Ts,
  timeoutMs = 5000,
): Promise<TaskResults<Ts>> {
  const outcomes = (await yieldMany(tasks, timeoutMs)) as Array<TaskOutcome<unknown> | undefined>;
  for (let i = 0; i < tasks.length; i++) {
    const o = outcomes[i];
    if (o !== undefined && !o.ok) throw new TaskExitError(tasks[i]!.pid, o.exit);
  }
  const out: unknown[] = [];
  for (const o of outcomes) {
    if (o === undefined)
      throw new TaskTimeoutError(
        tasks.map((t) => t.pid),
        timeoutMs,
      );
    out.push((o as { ok: true; value: unknown }).value);
  }
  return out as TaskResults<Ts>;
}

/** Outcomes of several tasks after at most `timeoutMs` (one deadline for all); `undefined` for those still running. */
export function yieldMany<const Ts extends readonly Task<any>[]>(
  tasks: Ts,
  timeoutMs = 5000,
): Promise<TaskOutcomes<Ts>> {
  if (tasks.length === 0) return Promise.resolve([] as unknown as TaskOutcomes<Ts>);
  const node = tasks[0]!.node;
  const waiter = callerOf(node, undefined);
  return new Promise((resolve) => {
    let pending = tasks.length;
    let timer: ReturnType<typeof node.wheel.add> | null = null;
    let finished = false;
    const cancels: Array<() => void> = [];
    const finish = () => {
      if (finished) return;
      finished = true;
      if (timer !== null) node.wheel.cancel(timer);
      for (const c of cancels) c();
      queueMicrotask(() => {
        if (waiter === undefined || node.isAlive(waiter)) {
          resolve(tasks.map((t) => t.outcome) as unknown as TaskOutcomes<Ts>);
        }
      });
    };
    for (const t of tasks) {
      cancels.push(
        t.onOutcome(() => {
          if (--pending === 0) finish();
        }),
      );
    }
    if (!finished && Number.isFinite(timeoutMs)) timer = node.wheel.add(Math.max(0, timeoutMs), finish);
  });
}

/** Runs `fn` in a new process linked to nobody (fire and forget). */
export function start(
  fn: (ctx: ProcessContext) => unknown,
  options: { node?: Node } = {},
): { ok: true; pid: Pid } {
  const node = options.node ?? currentNodeOrDefault();
  return { ok: true, pid: spawnTask(node, fn, [], undefined).pid };
}

/** Runs `fn` in a new process linked to the caller, without keeping its result. */
export function startLink(
  fn: (ctx: ProcessContext) => unknown,
  options: TaskOptions = {},
): { ok: true; pid: Pid } {
  const node = nodeOf(options);
  const owner = callerOf(node, options.owner);
  return { ok: true, pid: spawnTask(node, fn, owner === undefined ? [] : [owner], owner).pid };
}
