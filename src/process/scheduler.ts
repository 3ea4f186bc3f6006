/**
 * The scheduler of one node: when handler processes run, and which process is running now.
 *
 * A handler process (GenServer, supervisors) with mail sits on the run queue (`run-queue.ts`),
 * drained on a microtask: at most `batch` messages per drain, at most `PER_TURN` per process per
 * turn. One budget, shared with the hand-offs of `fibers.ts` (`spend`), counts the messages
 * handled since the last macrotask: past `yieldEvery` the next drain waits for `setImmediate`, so
 * floods never starve timers or I/O. A handler that returns a promise suspends its process until
 * the promise settles.
 *
 * It owns the run queue, the yield budget, the frozen state (a paused or killed node: nothing runs
 * by itself; a drain found frozen is owed at `release`), and "the running process" that `self()`,
 * `currentProcess()` and the module-level functions read (`runningProc` / `runningNode`). It asks
 * the node only to `terminate` a process whose handler threw or rejected.
 *
 * Imports `proc`, `run-queue`, `thenable`; the `Node` and `ProcessContext` types.
 */
import type { ProcessContext } from "./context.js";
import type { NodeCore } from "./node-core.js";
import { type Proc, Status } from "./proc.js";
import { RunQueue } from "./run-queue.js";
import { isThenable } from "./thenable.js";

/** Messages one process may handle per turn before the next process on the queue runs. */
const PER_TURN = 64;

let currentProc: Proc | null = null;
let currentNode: NodeCore | null = null;

/** The process running now (synchronously) on any node, if any. */
export function runningProc(): Proc | null {
  return currentProc;
}

/** The node of the process running now, if any. */
export function runningNode(): NodeCore | null {
  return currentNode;
}

const RESOLVED = Promise.resolve();

/**
 * Runs `fn` on a microtask. Node's `queueMicrotask` creates an async resource per call, several
 * times the cost of a reaction on an already-resolved promise; this is on the per-message path.
 */
export function microtask(fn: () => void): void {
  void RESOLVED.then(fn);
}

export class Scheduler {
  private readonly rq = new RunQueue<Proc>();
  private drainScheduled = false;
  /** Messages handled (and fibers resumed) since the last macrotask. */
  private sinceYield = 0;
  /** Paused or killed: nothing runs by itself (see `Node.pause`). */
  frozen = false;
  /** Killed: frozen for good, owes nothing. */
  private stopped = false;
  /** A drain that found the node frozen: owed at `release`. */
  private drainHeld = false;

  constructor(
    private readonly node: NodeCore,
    private readonly batch: number,
    private readonly yieldEvery: number,
  ) {}

  /**
   * Counts one message handed to a fiber against the yield budget; true when it may be handed
   * over now, false when it must wait for a macrotask (past the budget, or frozen).
   */
  spend(): boolean {
    return ++this.sinceYield < this.yieldEvery && !this.frozen;
  }

  /** A macrotask passed: the budget starts afresh. */
  yielded(): void {
    this.sinceYield = 0;
  }

  /** Puts a process with mail on the run queue (the caller checked it is idle and not queued). */
  schedule(p: Proc): void {
    p.queued = true;
    this.rq.push(p);
    if (!this.drainScheduled) {
      this.drainScheduled = true;
      if (this.sinceYield < this.yieldEvery) microtask(this.drain);
      else setImmediate(this.drainAfterYield);
    }
  }

  private readonly drainAfterYield = (): void => {
    this.sinceYield = 0;
    this.drain();
  };

  private readonly drain = (): void => {
    if (this.frozen) {
      // `drainScheduled` stays set: no further drain is queued while frozen; `release` owes one.
      this.drainHeld = !this.stopped;
      return;
    }
    this.drainScheduled = false;
    // Guards may stop processes (synchronously) before anything runs: see `NodeCore.runGuards`.
    const guards = this.node.runGuards;
    for (let i = 0; i < guards.length; i++) guards[i]!();
    const rq = this.rq;
    let budget = this.batch;
    while (budget > 0) {
      const p = rq.shift();
      if (p === undefined) break;
      p.queued = false;
      budget -= this.run(p);
    }
    this.sinceYield += this.batch - budget;
    if (!rq.isEmpty && !this.drainScheduled) {
      this.drainScheduled = true;
      if (this.sinceYield < this.yieldEvery) microtask(this.drain);
      else setImmediate(this.drainAfterYield);
    }
  };

  /** One turn of a process: its pending first step, then up to `PER_TURN` messages. */
  private run(p: Proc): number {
    let n = 0;
    if (p.pendingInit !== null) {
      const init = p.pendingInit;
      p.pendingInit = null;
      n++;
      if (!this.invoke(p, init, undefined)) return n;
    }
    while (p.status === Status.Idle && p.mq !== null && n < PER_TURN) {
      n++;
      if (!this.invoke(p, p.handler!, p.shift())) return n;
    }
    if (p.status === Status.Idle && p.mq !== null && !p.queued) this.schedule(p);
    return n;
  }

  /** Runs one handler step; false when the process suspended or died. */
  private invoke(p: Proc, fn: (msg: unknown) => unknown, msg: unknown): boolean {
    // The process current before is current again after: `runInit` invokes from inside another
    // process's handler.
    const prevProc = currentProc;
    const prevNode = currentNode;
    let r: unknown;
    currentProc = p;
    currentNode = this.node;
    try {
      r = fn.call(p.behaviourState, msg);
    } catch (e) {
      currentProc = prevProc;
      currentNode = prevNode;
      this.node.terminate(p, e);
      return false;
    }
    currentProc = prevProc;
    currentNode = prevNode;
    if (isThenable(r)) {
      if (p.status === Status.Dead) return false;
      p.status = Status.Suspended;
      r.then(
        () => this.resumeProc(p),
        (e: unknown) => {
          if (p.status !== Status.Dead) this.node.terminate(p, e);
        },
      );
      return false;
    }
    return p.status !== Status.Dead;
  }

  private resumeProc(p: Proc): void {
    if (p.status !== Status.Suspended) return;
    p.status = Status.Idle;
    if (p.mq !== null && !p.queued) this.schedule(p);
  }

  /** See `Node.runInit`. */
  runInit<A>(p: Proc, init: (this: unknown, arg: A) => unknown, arg: A): void {
    if (p.status !== Status.Idle) return;
    // Messages that arrived during `init` (sent to itself, or by processes it woke) wait for a turn.
    if (this.invoke(p, init as (msg: unknown) => unknown, arg) && p.mq !== null && !p.queued)
      this.schedule(p);
  }

  /** See `Node.runFirst`. */
  runFirst(p: Proc, fn: () => unknown): void {
    if (p.status !== Status.Idle) return;
    p.pendingInit = fn;
    if (!p.queued) this.schedule(p);
  }

  /** Runs `fn` synchronously as `p`, then restores the caller (see `Node.runAs`). */
  runAs<T>(p: Proc, fn: () => T): T {
    const prevProc = currentProc;
    const prevNode = currentNode;
    currentProc = p;
    currentNode = this.node;
    try {
      return fn();
    } finally {
      currentProc = prevProc;
      currentNode = prevNode;
    }
  }

  /** Runs a fiber's code as `p` up to its first `await` (see `fibers.ts`); throws what it throws. */
  enterFiber(p: Proc, fn: (ctx: ProcessContext) => unknown, ctx: ProcessContext): unknown {
    currentProc = p;
    currentNode = this.node;
    try {
      return fn(ctx);
    } finally {
      currentProc = null;
      currentNode = null;
    }
  }

  /** `Node.pause`: nothing runs by itself until `unfreeze` and `release`. */
  freeze(): void {
    this.frozen = true;
  }

  /** The start of `Node.resume`: timeouts may run again (the processes wait for `release`). */
  unfreeze(): void {
    this.frozen = false;
  }

  /** The end of `Node.resume`: the drain owed since the pause runs on a microtask. */
  release(): void {
    if (this.drainHeld) {
      this.drainHeld = false;
      microtask(this.drain);
    }
  }

  /** `Node.kill`: frozen for good, the run queue emptied. */
  stop(): void {
    this.frozen = true;
    this.stopped = true;
    while (this.rq.shift() !== undefined);
  }
}
