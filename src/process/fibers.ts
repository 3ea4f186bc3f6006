/**
 * Async-function processes ("fibers", `node.spawn(async (ctx) => …)`): their start, their
 * selective `receive`, and their resumption.
 *
 * A message for a fiber blocked in a matching `receive` is handed over directly (`offer`); others
 * queue in its mailbox. A hand-off counts against the scheduler's yield budget (`spend`): past it
 * the resumption waits for a macrotask (`wake`), so fibers ping-ponging through promises alone
 * still let timers and I/O run. While the node is paused, mail for a fiber in `receive` is held
 * unmatched (matching is the receiver's code) and new fibers do not start; `release` offers the
 * held mail and starts them, in that order, at the end of `Node.resume`.
 *
 * It owns the pending wakes, the held mail and the held fiber starts. It asks the scheduler for
 * the budget, the frozen state and to run a fiber's first step as its process (`enterFiber`), the
 * timer wheel for receive timeouts, and the node to `terminate` a fiber that threw.
 *
 * Imports `proc`, `scheduler`, `thenable`, `timer-wheel`, `types`; the `Node` and
 * `ProcessContext` types.
 */
import type { ProcessContext } from "./context.js";
import { ReceiveError } from "./errors.js";
import type { NodeCore } from "./node-core.js";
import { type Proc, Status } from "./proc.js";
import { microtask, type Scheduler } from "./scheduler.js";
import { isThenable } from "./thenable.js";
import type { TimerEntry, TimerWheel } from "./timer-wheel.js";
import { TIMEOUT } from "./types.js";

export class Fibers {
  /** Fibers to resume after the next macrotask: flat triples (proc, resolve, value). */
  private readonly wakes: unknown[] = [];
  private wakeScheduled = false;
  /**
   * Mail for a fiber in `receive` is held in its mailbox (not matched) while frozen and through
   * the timers phase of `Node.resume`: mail a timeout sends then must not overtake what was held.
   */
  private holdMail = false;
  /** First steps of fibers spawned while frozen. */
  private readonly heldFibers: Array<() => void> = [];
  /** Fibers in `receive` that got mail while frozen: offered it at `release`. */
  private readonly heldWaiters: Proc[] = [];

  constructor(
    private readonly node: NodeCore,
    private readonly sched: Scheduler,
    private readonly wheel: TimerWheel,
  ) {}

  /** Starts a fiber on a microtask: `fn(ctx)` runs as `p`; its return ends `p` normally. */
  start(p: Proc, ctx: ProcessContext, fn: (ctx: ProcessContext) => unknown): void {
    microtask(() => this.run(p, ctx, fn));
  }

  private async run(p: Proc, ctx: ProcessContext, fn: (ctx: ProcessContext) => unknown): Promise<void> {
    if (p.status === Status.Dead) return;
    if (this.sched.frozen) {
      this.heldFibers.push(() => void this.run(p, ctx, fn));
      return;
    }
    let reason: unknown = "normal";
    try {
      const r = this.sched.enterFiber(p, fn, ctx);
      if (isThenable(r)) await r;
    } catch (e) {
      reason = e;
    }
    if ((p.status as Status) !== Status.Dead) this.node.terminate(p, reason);
  }

  /**
   * Mail for a fiber in `receive` (status `Waiting`): handed over if its receive matches, held
   * while the node is paused. True when taken (handed over, held, or the matcher threw and the
   * fiber died); false when it is to be queued.
   */
  offer(p: Proc, msg: unknown): boolean {
    if (this.holdMail) {
      // Matching is the receiver's code: it runs at `release`, on the mail held until then.
      p.push(msg);
      this.heldWaiters.push(p);
      return true;
    }
    const r = p.receiver!;
    if (r.match !== undefined) {
      let hit: boolean;
      try {
        hit = r.match(msg);
      } catch (e) {
        // The predicate is the receiver's code running on the sender's stack: a throw is the
        // receiver's crash, never the sender's.
        this.node.terminate(p, e);
        return true;
      }
      if (!hit) return false;
    }
    p.receiver = null;
    p.status = Status.Running;
    if (r.timer !== null) this.wheel.cancel(r.timer);
    this.handOff(p, r.resolve, msg);
    return true;
  }

  /** Selective receive (see `ProcessContext.receive`). */
  receive(
    p: Proc,
    match?: (msg: unknown) => boolean,
    timeoutMs = Number.POSITIVE_INFINITY,
  ): Promise<unknown> {
    if (p.handler !== null)
      throw new ReceiveError("receive is for spawned functions, not handler-driven processes");
    if (p.receiver !== null) throw new ReceiveError("a receive is already pending in this process");
    if (p.status === Status.Dead) return new Promise(() => {});
    if (p.mq !== null) {
      if (match === undefined) return this.resolved(p, p.shift());
      const r = p.take(match);
      if (r.found) return this.resolved(p, r.msg);
    }
    if (timeoutMs <= 0) return this.resolved(p, TIMEOUT);
    return new Promise((resolve) => {
      const pending = { match, resolve, timer: null as TimerEntry | null };
      if (Number.isFinite(timeoutMs)) {
        pending.timer = this.wheel.add(timeoutMs, () => {
          if (p.receiver !== pending) return;
          p.receiver = null;
          p.status = Status.Running;
          this.handOff(p, resolve, TIMEOUT);
        });
      }
      p.receiver = pending;
      p.status = Status.Waiting;
    });
  }

  /** A receive that is satisfied at once (see `handOff`). */
  private resolved(p: Proc, value: unknown): Promise<unknown> {
    if (this.sched.spend()) return Promise.resolve(value);
    return new Promise((resolve) => this.wake(p, resolve, value));
  }

  /** Resumes a fiber's receive, now or (past the budget) after a macrotask. */
  private handOff(p: Proc, resolve: (value: unknown) => void, value: unknown): void {
    if (this.sched.spend()) resolve(value);
    else this.wake(p, resolve, value);
  }

  /** Queues a resumption for the next macrotask; a process killed meanwhile never resumes. */
  private wake(p: Proc, resolve: (value: unknown) => void, value: unknown): void {
    this.wakes.push(p, resolve, value);
    if (!this.wakeScheduled) {
      this.wakeScheduled = true;
      setImmediate(this.flushWakes);
    }
  }

  private readonly flushWakes = (): void => {
    this.wakeScheduled = false;
    if (this.sched.frozen) return;
    this.sched.yielded();
    const q = this.wakes;
    // Resolving a promise never runs user code synchronously, so nothing is pushed mid-loop.
    const n = q.length;
    for (let i = 0; i < n; i += 3) {
      const p = q[i] as Proc;
      if (p.status !== Status.Dead) (q[i + 1] as (value: unknown) => void)(q[i + 2]);
    }
    q.length = 0;
  };

  /** Hands a fiber still in `receive` the first held message it matches (see `offer`). */
  private offerHeldMail(p: Proc): void {
    const r = p.receiver;
    if (p.status !== Status.Waiting || r === null || p.mq === null) return;
    let msg: unknown;
    if (r.match === undefined) msg = p.shift();
    else {
      let taken: { found: boolean; msg: unknown };
      try {
        taken = p.take(r.match);
      } catch (e) {
        this.node.terminate(p, e);
        return;
      }
      if (!taken.found) return;
      msg = taken.msg;
    }
    p.receiver = null;
    p.status = Status.Running;
    if (r.timer !== null) this.wheel.cancel(r.timer);
    this.handOff(p, r.resolve, msg);
  }

  /** `Node.pause`: mail for fibers in `receive` is held from now on. */
  hold(): void {
    this.holdMail = true;
  }

  /**
   * After the timers phase of `Node.resume`: held fibers start (on microtasks), held mail is
   * offered, and the wakes owed since the pause run after a macrotask.
   */
  release(): void {
    this.holdMail = false;
    for (const start of this.heldFibers.splice(0)) microtask(start);
    for (const p of this.heldWaiters.splice(0)) this.offerHeldMail(p);
    if (this.wakes.length > 0 && !this.wakeScheduled) {
      this.wakeScheduled = true;
      setImmediate(this.flushWakes);
    }
  }

  /** `Node.kill`: nothing held or owed is ever run. */
  stop(): void {
    this.wakes.length = 0;
    this.heldFibers.length = 0;
    this.heldWaiters.length = 0;
  }
}
