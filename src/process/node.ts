/**
 * `Node`: the local process runtime. It owns pids, mailboxes, links, monitors, local names and
 * the run queue. Several nodes may live in one program (a cluster in one process); `defaultNode()`
 * gives a convenient one. Operations on pids of other nodes go to the node's `RemoteRouter`
 * (installed by the cluster layer), which calls back the `remote*` methods.
 *
 * Scheduling: a process driven by a handler (GenServer, supervisors) runs when it has mail; the
 * run queue is drained in bounded batches on microtasks, and after `yieldEvery` messages without
 * a macrotask it yields through `setImmediate`, so floods never starve timers or I/O.
 *
 * Faults (`pause` / `resume`, `kill`): a paused node keeps its run queue, fiber resumptions and
 * timers (wheel and call timeouts) waiting, and on `resume` fires its overdue timers first, then
 * runs its processes; a killed node ends every process where it stands, with no exit hook, link,
 * monitor or reply, and from then on drops whatever it is asked to do.
 *
 * Imports `pid`, `proc`, `messages`, `errors`, `timer-wheel`, `run-queue`, `id-table`, `remote`, the root `logger`.
 */
import type { Logger } from "../logger.js";
import {
  CallExitError,
  NameTakenError,
  NoProcError,
  NotDistributedError,
  NotInProcessError,
  ReceiveError,
} from "./errors.js";
import { formatReason, isNormalOrShutdown } from "./exit-reason.js";
import { DownMessage, ExitMessage } from "./messages.js";
import { type NodeOptions, parseNodeOptions } from "./options.js";
import { Pid, Ref } from "./pid.js";
import { Proc, Status } from "./proc.js";
import type { RemoteRouter } from "./remote.js";
import { RunQueue } from "./run-queue.js";
import { IdTable } from "./id-table.js";
import { CallTable, From } from "./calls.js";
import { TimerWheel } from "./timer-wheel.js";

/** Where a message or call can go: a pid, a local name, or a name on a given node. */
export type Dest = Pid | string | { name: string; node: string };

/** Returned by `receive` when its timeout passes with no matching message. */
export const TIMEOUT: unique symbol = Symbol.for("hubvisor.timeout");
/** The type of `TIMEOUT`. */
export type Timeout = typeof TIMEOUT;

export { From };

/** Options of `spawn`. */
export interface SpawnOptions {
  /** Link the new process to the calling process (`true`) or to the given pid. @default false */
  link?: boolean | Pid;
  /** Register the new process under this local name. @default undefined */
  name?: string;
  /** Start the process already trapping exits. @default false */
  trapExit?: boolean;
  /** Name of the behaviour shown by `processInfo`. @default undefined */
  behaviour?: string;
}

export type { NodeOptions } from "./options.js";

/** What `processInfo` tells about a live process. */
export interface ProcessInfo {
  pid: Pid;
  status: "idle" | "running" | "waiting" | "suspended";
  mailboxLength: number;
  links: Pid[];
  monitors: Pid[];
  monitoredBy: Pid[];
  name: string | undefined;
  behaviour: string | undefined;
  trapExit: boolean;
}

let currentProc: Proc | null = null;
let currentNode: Node | null = null;
let defaultNodeInstance: Node | null = null;

/** The process running right now (synchronously), if any. */
export function currentProcess(): Pid | null {
  return currentProc?.pid ?? null;
}

const PER_TURN = 64;

let capturedResolve: ((v: unknown) => void) | undefined;
let capturedReject: ((e: unknown) => void) | undefined;
/** A Promise executor that only hands its resolvers out (read at once by the caller). */
function CAPTURE_RESOLVERS(resolve: (v: unknown) => void, reject: (e: unknown) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}
const procId = (p: Proc): number => p.pid.id;

const never = (): void => {};
/** The router of a killed node: nothing it says leaves it, and it knows no one. */
const SILENT_ROUTER: RemoteRouter = {
  send: never,
  sendNamed: never,
  link: never,
  unlink: never,
  monitor: never,
  monitorName: never,
  demonitor: never,
  exit: never,
  down: never,
  reply: never,
  isConnected: () => false,
};
/** What a call made on a killed node waits for: its caller is gone, so nothing ever answers it. */
const NEVER: Promise<never> = new Promise<never>(never);

/**
 * A local runtime for processes.
 * @category runtime
 */
export class Node {
  readonly name: string;
  readonly creation: number;
  logger: Logger;
  /** Installed by the cluster layer; `null` while the node is not distributed. */
  router: RemoteRouter | null = null;
  /** Called after every process exit; the supervision layer and observers hook in here. */
  readonly wheel = new TimerWheel();

  private readonly procs = new IdTable<Proc>(procId);
  private readonly names = new Map<string, Proc>();
  private readonly calls = new CallTable((call) => {
    if (call.targetProc === null && this.router !== null)
      this.router.demonitor(this.systemPid, call.target, call.ref);
  });
  private nextId = 1;
  private nextRef = 1;
  private readonly rq = new RunQueue<Proc>();
  private drainScheduled = false;
  private sinceYield = 0;
  private readonly batch: number;
  private readonly yieldEvery: number;
  private readonly dying: Proc[] = [];
  /** Monitors held from outside any process (the system pid), by ref key → target. */
  private readonly systemMonitors = new Map<string, Pid>();
  /** Fibers to resume after the next macrotask: flat triples (proc, resolve, value). */
  private readonly wakes: unknown[] = [];
  private wakeScheduled = false;
  private propagating = false;
  /** Paused or killed: nothing runs by itself (see `pause`). */
  private frozen = false;
  private killed = false;
  /**
   * Mail for a fiber in `receive` is held in its mailbox (not matched) while frozen and through
   * the timers phase of `resume`: mail a timeout sends then must not overtake what was held.
   */
  private holdMail = false;
  /** A drain that found the node frozen: owed at `resume`. */
  private drainHeld = false;
  /** First steps of fibers spawned while frozen. */
  private readonly heldFibers: Array<() => void> = [];
  /** Fibers in `receive` that got mail while frozen: offered it at `resume`. */
  private readonly heldWaiters: Proc[] = [];
  /** Pid used as the sender of calls and signals made from outside any process. */
  readonly systemPid: Pid;

  constructor(options: NodeOptions = {}) {
    const parsed = parseNodeOptions(options);
    this.name = parsed.name;
    this.creation = parsed.creation;
    this.batch = parsed.batch;
    this.yieldEvery = parsed.yieldEvery;
    this.logger = parsed.logger;
    this.systemPid = new Pid(this.name, 0, this.creation);
  }

  // ---------------------------------------------------------------- identity

  /** True if `pid` was minted by this node incarnation. */
  isLocal(pid: Pid): boolean {
    return pid.node === this.name && pid.creation === this.creation;
  }

  makeRef(): Ref {
    return new Ref(this.name, this.nextRef++, this.creation);
  }

  /** The process running now on this node, else the system pid. */
  self(): Pid {
    return currentProc !== null && currentNode === this ? currentProc.pid : this.systemPid;
  }

  /**
   * `running`; `paused` between `pause` and `resume`; `killed` for good after `kill`.
   */
  get state(): "running" | "paused" | "killed" {
    return this.killed ? "killed" : this.frozen ? "paused" : "running";
  }

  /**
   * Freezes the node as SIGSTOP freezes an OS process: no process runs (mail and new processes
   * wait), no receive or call timeout fires, no fiber resumes from `receive`. What is not frozen:
   * code already between two `await`s of a process (it runs on until its next `receive`, or the
   * next turn of a suspended handler), timers the program made with `setTimeout` /
   * `setInterval` (what they send waits in mailboxes), and calls made directly on this `Node` from
   * outside it (`send`, `exit`, `GenServer.start`'s synchronous `init` run as asked). A
   * `MemoryNetwork` given this node (`network.transport(node)`) pauses it along with its traffic.
   * Idempotent; no-op on a killed node.
   */
  pause(): void {
    if (this.frozen) return;
    this.frozen = true;
    this.holdMail = true;
    this.wheel.freeze();
    this.calls.freeze();
  }

  /**
   * Thaws a paused node in the order a resumed OS process sees things: first the timers phase
   * (every receive and call timeout that fell due during the pause fires now, in deadline order,
   * before anything else runs), then the processes (held mail, fibers, the run queue) on the
   * following microtasks. No-op unless paused.
   */
  resume(): void {
    if (!this.frozen || this.killed) return;
    this.frozen = false;
    const timers = this.wheel.thaw();
    const calls = this.calls.thaw();
    let i = 0;
    let j = 0;
    while (i < timers.length || j < calls.length) {
      if (this.frozen) {
        // A timeout's effect paused (or killed) the node again: the rest wait once more. Due
        // calls stayed in their lists; due wheel entries were taken out and go back.
        for (; i < timers.length; i++) this.wheel.putBack(timers[i]!);
        return;
      }
      if (j >= calls.length || (i < timers.length && this.wheel.dueAt(timers[i]!) <= calls[j]!.deadline)) {
        this.wheel.fireTaken(timers[i++]!);
      } else {
        this.calls.timeOut(calls[j++]!);
      }
    }
    if (this.frozen) return;
    this.holdMail = false;
    for (const start of this.heldFibers.splice(0)) microtask(start);
    for (const p of this.heldWaiters.splice(0)) this.offerHeldMail(p);
    if (this.wakes.length > 0 && !this.wakeScheduled) {
      this.wakeScheduled = true;
      setImmediate(this.flushWakes);
    }
    if (this.drainHeld) {
      this.drainHeld = false;
      microtask(this.drain);
    }
  }

  /**
   * Kills the node as SIGKILL kills an OS process: every process ends at once (exit reason
   * `killed`) without running anything — no exit hook, no `terminate`, no exit signal to its
   * links, no `DOWN` to its monitors, no reply; pending calls made here never settle (their
   * callers are gone); timers stop. Peers learn it from their transport (a `MemoryNetwork` given
   * this node kills it in `network.kill`), and their links and monitors fire `noconnection`.
   *
   * Afterwards the node is inert and silent: `send`, `exit`, `link`, `monitor` and `reply` are
   * dropped, `spawn` returns the pid of a process that never runs (a `GenServer.start` answers
   * `{ ok: false, error: "killed" }`), a `call` never settles, `isAlive` is false for every pid.
   * Code of its processes already between two `await`s runs on to its next `await` with no effect
   * outside (see `pause`). Irreversible: a restarted node is a new `Node` (a new incarnation).
   */
  kill(): void {
    if (this.killed) return;
    this.killed = true;
    this.frozen = true;
    if (this.router !== null) this.router = SILENT_ROUTER;
    for (const p of this.procs.unordered()) {
      p.status = Status.Dead;
      p.exitReason = "killed";
      p.receiver = null;
      p.mq = null;
      p.pendingInit = null;
      p.exitHooks = null;
    }
    this.procs.clear();
    this.names.clear();
    this.systemMonitors.clear();
    while (this.rq.shift() !== undefined);
    this.dying.length = 0;
    this.wakes.length = 0;
    this.heldFibers.length = 0;
    this.heldWaiters.length = 0;
    this.wheel.stop();
    this.calls.abandon();
  }

  /** Number of live processes. */
  get processCount(): number {
    return this.procs.size;
  }

  /** All live pids. */
  processes(): Pid[] {
    return this.procs.values().map((p) => p.pid);
  }

  // ---------------------------------------------------------------- spawning

  /**
   * Spawns a process running an async function. The function gets a `ProcessContext`; when it
   * returns the process exits `normal`, when it throws the process exits with the thrown value.
   */
  spawn(fn: (ctx: ProcessContext) => unknown, options: SpawnOptions = {}): Pid {
    const p = this.createProc(null, options);
    const ctx = new ProcessContext(this, p);
    microtask(() => this.runFiber(p, ctx, fn));
    return p.pid;
  }

  /** `spawn` and monitor from the calling process in one step. */
  spawnMonitor(fn: (ctx: ProcessContext) => unknown, options: SpawnOptions = {}): { pid: Pid; ref: Ref } {
    const pid = this.spawn(fn, options);
    const ref = this.monitor(pid);
    return { pid, ref };
  }

  /**
   * Spawns a process driven by a message handler: the plumbing of behaviours (GenServer,
   * supervisors). `init` runs first, inside the process; then `handler` gets each message. Either
   * may return a promise: the process handles nothing else until it settles.
   * @internal
   */
  spawnHandler(
    handler: (msg: unknown) => unknown,
    init: (() => unknown) | null,
    options: SpawnOptions = {},
  ): { pid: Pid; proc: Proc } {
    const p = this.createProc(handler, options);
    if (init !== null) this.runFirst(p, init);
    return { pid: p.pid, proc: p };
  }

  /**
   * Runs `init` of a handler process spawned without one, now, inside that process, on the
   * caller's stack. A start that waits for `init` anyway (OTP's `start_link` blocks its caller)
   * saves a run-queue turn and a promise per start when `init` is synchronous; an async `init`
   * suspends the process as a pending one would. Safe to call from inside another process's
   * handler: that process is current again after.
   * @internal
   */
  runInit<A>(p: Proc, init: (this: unknown, arg: A) => unknown, arg: A): void {
    if (p.status !== Status.Idle) return;
    // Messages that arrived during `init` (sent to itself, or by processes it woke) wait for a turn.
    if (this.invoke(p, init as (msg: unknown) => unknown, arg) && p.mq !== null && !p.queued)
      this.schedule(p);
  }

  /**
   * Makes `fn` the next step of a handler process, before any message (a GenServer's
   * `handleContinue` after a synchronous `init`: it runs in the new process once the starter has
   * its answer, as after OTP's `init_ack`). The process must not be suspended. @internal
   */
  runFirst(p: Proc, fn: () => unknown): void {
    if (p.status !== Status.Idle) return;
    p.pendingInit = fn;
    if (!p.queued) this.schedule(p);
  }

  private createProc(handler: ((msg: unknown) => unknown) | null, options: SpawnOptions): Proc {
    const link = options.link;
    const parent =
      link === undefined || link === false
        ? undefined
        : link === true
          ? this.actorPid("spawn with link")
          : link;
    return this.newProc(handler, parent, options.name, options.trapExit === true, options.behaviour);
  }

  /**
   * `spawnHandler` with its options spelt out (no options object per spawn: the path of every
   * GenServer start). @internal
   */
  spawnHandlerFor(
    handler: (msg: unknown) => unknown,
    parent: Pid | undefined,
    name: string | undefined,
    trapExit: boolean,
    behaviour: string | undefined,
  ): Proc {
    return this.newProc(handler, parent, name, trapExit, behaviour);
  }

  private newProc(
    handler: ((msg: unknown) => unknown) | null,
    parent: Pid | undefined,
    name: string | undefined,
    trapExit: boolean,
    behaviour: string | undefined,
  ): Proc {
    if (this.killed) return this.stillborn(handler, behaviour);
    // Everything that can throw runs before the process is visible, or is undone: a failed spawn
    // must leave no process, name or link behind.
    if (name !== undefined) {
      const holder = this.names.get(name);
      if (holder !== undefined) throw new NameTakenError(name, holder.pid);
    }
    const p = new Proc(new Pid(this.name, this.nextId++, this.creation), handler, behaviour);
    if (trapExit) p.trapExit = true;
    this.procs.set(p.pid.id, p);
    if (name !== undefined) this.registerProc(name, p);
    if (parent !== undefined) {
      try {
        this.linkPair(p, parent);
      } catch (e) {
        this.procs.delete(p.pid.id);
        if (p.name !== undefined) this.names.delete(p.name);
        throw e;
      }
    }
    return p;
  }

  /** A process of a killed node: dead from birth, in no table, never run. */
  private stillborn(handler: ((msg: unknown) => unknown) | null, behaviour: string | undefined): Proc {
    const p = new Proc(new Pid(this.name, this.nextId++, this.creation), handler, behaviour);
    p.status = Status.Dead;
    p.exitReason = "killed";
    return p;
  }

  private async runFiber(p: Proc, ctx: ProcessContext, fn: (ctx: ProcessContext) => unknown): Promise<void> {
    if (p.status === Status.Dead) return;
    if (this.frozen) {
      this.heldFibers.push(() => void this.runFiber(p, ctx, fn));
      return;
    }
    let reason: unknown = "normal";
    try {
      currentProc = p;
      currentNode = this;
      const r = fn(ctx);
      currentProc = null;
      currentNode = null;
      if (isThenable(r)) await r;
    } catch (e) {
      currentProc = null;
      currentNode = null;
      reason = e;
    }
    if ((p.status as Status) !== Status.Dead) this.terminate(p, reason);
  }

  // ---------------------------------------------------------------- lookups

  /** The live `Proc` of a local pid. @internal */
  proc(pid: Pid): Proc | undefined {
    if (!this.isLocal(pid)) return undefined;
    return this.procs.get(pid.id);
  }

  isAlive(pid: Pid): boolean {
    const p = this.proc(pid);
    return p !== undefined && p.status !== Status.Dead;
  }

  whereis(name: string): Pid | undefined {
    return this.names.get(name)?.pid;
  }

  /** Resolves a destination to a pid, or undefined for an unknown local name. */
  resolve(dest: Dest): Pid | undefined {
    if (dest instanceof Pid) return dest;
    if (typeof dest === "string") return this.whereis(dest);
    if (dest.node === this.name) return this.whereis(dest.name);
    return undefined;
  }

  processInfo(pid: Pid): ProcessInfo | undefined {
    const p = this.proc(pid);
    if (p === undefined) return undefined;
    const statuses = ["idle", "suspended", "running", "waiting"] as const;
    return {
      pid: p.pid,
      // A handler process is `idle` between messages but `running` while its handler runs.
      status: p === currentProc && p.status === Status.Idle ? "running" : statuses[p.status as 0 | 1 | 2 | 3],
      mailboxLength: p.mailboxLength,
      links: p.links(),
      monitors: p.monitoring === null ? [] : [...p.monitoring.values()].map((m) => m.target),
      monitoredBy: p.watchers === null ? [] : [...p.watchers.values()].map((w) => w.watcher),
      name: p.name,
      behaviour: p.behaviour,
      trapExit: p.trapExit,
    };
  }

  // ---------------------------------------------------------------- names

  /** Registers `pid` under a local name. Throws `NameTakenError` or `NoProcError`. */
  register(name: string, pid: Pid): void {
    const p = this.proc(pid);
    if (p === undefined || p.status === Status.Dead) throw new NoProcError(pid);
    this.registerProc(name, p);
  }

  private registerProc(name: string, p: Proc): void {
    const holder = this.names.get(name);
    // Registering again, even the same name for the same process, is a conflict (Erlang's badarg).
    if (holder !== undefined) throw new NameTakenError(name, holder.pid);
    if (p.name !== undefined) throw new NameTakenError(p.name, p.pid);
    this.names.set(name, p);
    p.name = name;
  }

  /** Removes a local name; returns whether it was registered. */
  unregister(name: string): boolean {
    const p = this.names.get(name);
    if (p === undefined) return false;
    this.names.delete(name);
    p.name = undefined;
    return true;
  }

  registeredNames(): string[] {
    return [...this.names.keys()];
  }

  // ---------------------------------------------------------------- messaging

  /**
   * Sends `msg`. To a dead pid it is silently dropped; to an unregistered local name it throws
   * `NoProcError` (as Erlang's `badarg`).
   */
  send(dest: Dest, msg: unknown): void {
    if (dest instanceof Pid) return this.sendPid(dest, msg);
    if (typeof dest === "string") {
      const p = this.names.get(dest);
      if (p === undefined) {
        // Leftover code of a killed node (a timer posting to its own server) must stay harmless.
        if (this.killed) return;
        throw new NoProcError(dest);
      }
      return this.deliver(p, msg);
    }
    if (dest.node === this.name) return this.send(dest.name, msg);
    if (this.router === null) {
      if (this.killed) return;
      throw new NoProcError(dest);
    }
    this.router.sendNamed(dest.node, dest.name, msg);
  }

  private sendPid(pid: Pid, msg: unknown): void {
    if (pid.node === this.name) {
      if (pid.creation !== this.creation) return;
      const p = this.procs.get(pid.id);
      if (p !== undefined) this.deliver(p, msg);
      return;
    }
    if (this.router !== null) this.router.send(pid, msg);
  }

  /** Puts a message into a live process's mailbox (or hands it to its pending receive). */
  deliver(p: Proc, msg: unknown): void {
    if (p.status === Status.Dead) return;
    if (p.status === Status.Waiting) {
      if (this.holdMail) {
        // Matching is the receiver's code: it runs at `resume`, on the mail held until then.
        p.push(msg);
        this.heldWaiters.push(p);
        return;
      }
      const r = p.receiver!;
      let hit = true;
      if (r.match !== undefined) {
        try {
          hit = r.match(msg);
        } catch (e) {
          // The predicate is the receiver's code running on the sender's stack: a throw is the
          // receiver's crash, never the sender's.
          this.terminate(p, e);
          return;
        }
      }
      if (hit) {
        p.receiver = null;
        p.status = Status.Running;
        if (r.timer !== null) this.wheel.cancel(r.timer);
        this.handOff(p, r.resolve, msg);
        return;
      }
    }
    p.push(msg);
    if (p.status === Status.Idle && !p.queued) this.schedule(p);
  }

  /** Selective receive for async-function processes. */
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
      const pending = { match, resolve, timer: null as import("./timer-wheel.js").TimerEntry | null };
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
    if (++this.sinceYield < this.yieldEvery && !this.frozen) return Promise.resolve(value);
    return new Promise((resolve) => this.wake(p, resolve, value));
  }

  /**
   * Resumes a fiber's receive. Hand-offs bypass the run queue, so they count toward `yieldEvery`
   * too: past the budget the resumption waits for a macrotask, and fibers ping-ponging through
   * promises alone still let timers and I/O run.
   */
  private handOff(p: Proc, resolve: (value: unknown) => void, value: unknown): void {
    if (++this.sinceYield < this.yieldEvery && !this.frozen) resolve(value);
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
    if (this.frozen) return;
    this.sinceYield = 0;
    const q = this.wakes;
    // Resolving a promise never runs user code synchronously, so nothing is pushed mid-loop.
    const n = q.length;
    for (let i = 0; i < n; i += 3) {
      const p = q[i] as Proc;
      if (p.status !== Status.Dead) (q[i + 1] as (value: unknown) => void)(q[i + 2]);
    }
    q.length = 0;
  };

  // ---------------------------------------------------------------- scheduler

  private schedule(p: Proc): void {
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
      // `drainScheduled` stays set: no further drain is queued while frozen; `resume` owes one.
      this.drainHeld = !this.killed;
      return;
    }
    this.drainScheduled = false;
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
    currentNode = this;
    try {
      r = fn.call(p.behaviourState, msg);
    } catch (e) {
      currentProc = prevProc;
      currentNode = prevNode;
      this.terminate(p, e);
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
          if (p.status !== Status.Dead) this.terminate(p, e);
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

  /** Hands a fiber still in `receive` the first held message it matches (see `deliver`). */
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
        this.terminate(p, e);
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

  // ---------------------------------------------------------------- links and monitors

  private actorPid(op: string): Pid {
    if (currentProc === null || currentNode !== this) throw new NotInProcessError(op);
    return currentProc.pid;
  }

  /** Links the calling process with `pid`. */
  link(pid: Pid, actor?: Pid): void {
    const self = this.proc(actor ?? this.actorPid("link"));
    if (self === undefined || self.status === Status.Dead) return;
    this.linkPair(self, pid);
  }

  private linkPair(self: Proc, pid: Pid): void {
    if (pid.equals(self.pid)) return;
    if (this.isLocal(pid)) {
      const other = this.procs.get(pid.id);
      if (other === undefined || other.status === Status.Dead) {
        this.signalExit(self, pid, "noproc", true);
        return;
      }
      other.addLink(self.pid);
    } else if (pid.node === this.name) {
      this.signalExit(self, pid, "noproc", true);
      return;
    } else {
      if (this.router === null) throw new NotDistributedError(pid);
      if (!this.router.isConnected(pid.node)) {
        this.signalExit(self, pid, "noconnection", true);
        return;
      }
      this.router.link(self.pid, pid);
    }
    self.addLink(pid);
  }

  /** Removes the link between the calling process and `pid`, both directions. */
  unlink(pid: Pid, actor?: Pid): void {
    const self = this.proc(actor ?? this.actorPid("unlink"));
    if (self === undefined) return;
    self.removeLink(pid);
    if (this.isLocal(pid)) this.procs.get(pid.id)?.removeLink(self.pid);
    else if (pid.node !== this.name && this.router !== null) this.router.unlink(self.pid, pid);
  }

  /**
   * Monitors `target` from the calling process (or from `watcher`); returns the monitor ref. A
   * dead target gives a `DOWN` with `noproc` at once.
   */
  monitor(target: Pid | string | { name: string; node: string }, watcher?: Pid): Ref {
    const w = watcher ?? this.self();
    const ref = this.makeRef();
    const wp = this.proc(w);
    let pid: Pid | undefined;
    if (target instanceof Pid) pid = target;
    else if (typeof target === "string" || target.node === this.name) {
      pid = this.whereis(typeof target === "string" ? target : target.name);
    } else {
      if (this.router === null) throw new NotDistributedError(new Pid(target.node, 0, 0));
      const placeholder = new Pid(target.node, 0, 0);
      if (wp !== undefined) (wp.monitoring ??= new Map()).set(ref.key, { ref, target: placeholder });
      this.router.monitorName(w, target.node, target.name, ref);
      return ref;
    }
    if (pid === undefined) {
      this.deliverDown(w, ref, new Pid(this.name, 0, this.creation), "noproc");
      return ref;
    }
    this.addMonitor(w, pid, ref);
    return ref;
  }

  private addMonitor(watcher: Pid, pid: Pid, ref: Ref): void {
    const wp = this.proc(watcher);
    if (this.isLocal(pid)) {
      const tp = this.procs.get(pid.id);
      if (tp === undefined || tp.status === Status.Dead) {
        this.deliverDown(watcher, ref, pid, "noproc");
        return;
      }
      (tp.watchers ??= new Map()).set(ref.key, { ref, watcher });
    } else if (pid.node === this.name) {
      this.deliverDown(watcher, ref, pid, "noproc");
      return;
    } else {
      if (this.router === null) throw new NotDistributedError(pid);
      if (!this.router.isConnected(pid.node)) {
        this.deliverDown(watcher, ref, pid, "noconnection");
        return;
      }
      this.router.monitor(watcher, pid, ref);
    }
    if (wp !== undefined) (wp.monitoring ??= new Map()).set(ref.key, { ref, target: pid });
    else if (watcher.equals(this.systemPid)) this.systemMonitors.set(ref.key, pid);
  }

  /**
   * Stops a monitor. With `flush`, a `DOWN` for it already in the mailbox is dropped too.
   * Returns false when the monitor had already fired or never existed.
   */
  demonitor(ref: Ref, options: { flush?: boolean } = {}, watcher?: Pid): boolean {
    const wpid = watcher ?? this.self();
    const w = this.proc(wpid);
    let active = false;
    if (w === undefined && wpid.equals(this.systemPid)) {
      const target = this.systemMonitors.get(ref.key);
      if (target !== undefined) {
        active = true;
        this.systemMonitors.delete(ref.key);
        if (this.isLocal(target)) this.procs.get(target.id)?.watchers?.delete(ref.key);
        else if (this.router !== null) this.router.demonitor(wpid, target, ref);
      }
    }
    if (w !== undefined) {
      const target = w.monitoring?.get(ref.key)?.target;
      if (target !== undefined) {
        active = true;
        w.monitoring!.delete(ref.key);
        if (this.isLocal(target)) this.procs.get(target.id)?.watchers?.delete(ref.key);
        else if (this.router !== null) this.router.demonitor(w.pid, target, ref);
      }
      if (options.flush) w.drop((m) => m instanceof DownMessage && m.ref.equals(ref));
    }
    return active;
  }

  private deliverDown(watcher: Pid, ref: Ref, pid: Pid, reason: unknown): void {
    if (this.isLocal(watcher)) {
      const call = ref.node === this.name ? this.calls.byRemoteRef(ref.id) : undefined;
      if (call !== undefined) {
        this.calls.settle(call, new CallExitError(reason, call.dest), true);
        return;
      }
      const wp = this.procs.get(watcher.id);
      if (wp === undefined) {
        if (watcher.id === 0) this.systemMonitors.delete(ref.key);
        return;
      }
      wp.monitoring?.delete(ref.key);
      this.deliver(wp, new DownMessage(ref, pid, reason));
    } else if (watcher.node !== this.name && this.router !== null) {
      this.router.down(watcher, ref, pid, reason);
    }
  }

  // ---------------------------------------------------------------- exits

  /**
   * Sends an exit signal to `pid` (from the calling process). `kill` is untrappable; `normal` is
   * ignored by a non-trapping target other than the sender itself. A dead target: no-op.
   */
  exit(pid: Pid, reason: unknown, from?: Pid): void {
    const sender = from ?? this.self();
    if (this.isLocal(pid)) {
      const p = this.procs.get(pid.id);
      if (p !== undefined) this.signalExit(p, sender, reason, false);
    } else if (pid.node !== this.name && this.router !== null) {
      this.router.exit(sender, pid, reason, false);
    }
  }

  /** Sets the trap-exit flag of the calling process; returns the previous value. */
  trapExit(flag: boolean, actor?: Pid): boolean {
    const p = this.proc(actor ?? this.actorPid("trapExit"));
    if (p === undefined) return false;
    const old = p.trapExit;
    p.trapExit = flag;
    return old;
  }

  /**
   * Runs `fn` synchronously as the local process `pid` (what `self()` and `startLink` see), then
   * restores the caller. Lets a behaviour run user code on its own behalf after an `await`
   * (a parent starting children one by one). @internal
   */
  runAs<T>(pid: Pid, fn: () => T): T {
    const p = this.proc(pid);
    if (p === undefined) return fn();
    const prevProc = currentProc;
    const prevNode = currentNode;
    currentProc = p;
    currentNode = this;
    try {
      return fn();
    } finally {
      currentProc = prevProc;
      currentNode = prevNode;
    }
  }

  /** Registers a callback run when the process exits (used by registries). @internal */
  onExit(pid: Pid, hook: (pid: Pid, reason: unknown) => void): boolean {
    const p = this.proc(pid);
    if (p === undefined || p.status === Status.Dead) return false;
    const hooks = p.exitHooks;
    if (hooks === null) p.exitHooks = hook;
    else if (typeof hooks === "function") p.exitHooks = [hooks, hook];
    else hooks.push(hook);
    return true;
  }

  private signalExit(target: Proc, from: Pid, reason: unknown, viaLink: boolean): void {
    if (target.status === Status.Dead) return;
    if (reason === "kill" && !viaLink) return this.terminate(target, "killed");
    if (target.trapExit) return this.deliver(target, new ExitMessage(from, reason));
    if (reason === "normal") {
      if (!viaLink && from.equals(target.pid)) this.terminate(target, "normal");
      return;
    }
    this.terminate(target, reason);
  }

  /** Ends a process with `reason` and propagates its death. @internal */
  terminate(p: Proc, reason: unknown): void {
    if (p.status === Status.Dead) return;
    p.status = Status.Dead;
    p.exitReason = reason;
    this.procs.delete(p.pid.id);
    if (p.name !== undefined) {
      if (this.names.get(p.name) === p) this.names.delete(p.name);
    }
    if (p.receiver !== null) {
      if (p.receiver.timer !== null) this.wheel.cancel(p.receiver.timer);
      p.receiver = null;
    }
    p.mq = null;
    p.pendingInit = null;
    this.dying.push(p);
    if (!this.propagating) this.propagate();
  }

  private propagate(): void {
    this.propagating = true;
    try {
      for (let i = 0; i < this.dying.length; i++) this.notifyDeath(this.dying[i]!);
    } finally {
      this.dying.length = 0;
      this.propagating = false;
    }
  }

  private runExitHook(hook: (pid: Pid, reason: unknown) => void, pid: Pid, reason: unknown): void {
    try {
      hook(pid, reason);
    } catch (e) {
      this.logger.error({ pid: String(pid), err: e }, "exit hook failed");
    }
  }

  private notifyDeath(p: Proc): void {
    const reason = p.exitReason;
    const pid = p.pid;
    const hooks = p.exitHooks;
    if (hooks !== null) {
      p.exitHooks = null;
      if (typeof hooks === "function") this.runExitHook(hooks, pid, reason);
      else for (const hook of hooks) this.runExitHook(hook, pid, reason);
    }
    if (p.linkCount > 0) {
      for (const other of p.takeLinks()) {
        if (this.isLocal(other)) {
          const op = this.procs.get(other.id);
          if (op !== undefined) {
            op.removeLink(pid);
            this.signalExit(op, pid, reason, true);
          }
        } else if (other.node !== this.name && this.router !== null) {
          this.router.exit(pid, other, reason, true);
        }
      }
    }
    if (p.watchers !== null) {
      for (const w of p.watchers.values()) this.deliverDown(w.watcher, w.ref, pid, reason);
      p.watchers = null;
    }
    if (p.monitoring !== null) {
      for (const [refKey, { ref, target }] of p.monitoring) {
        if (this.isLocal(target)) this.procs.get(target.id)?.watchers?.delete(refKey);
        else if (this.router !== null && target.node !== this.name) this.router.demonitor(pid, target, ref);
      }
      p.monitoring = null;
    }
    if (p.callersWaiting > 0) this.calls.failTarget(p, reason);
  }

  // ---------------------------------------------------------------- calls

  /**
   * Request/reply plumbing behind `GenServer.call`: builds the request with a fresh `From`,
   * delivers it, and resolves with the value passed to `reply(from, value)`. Fails with
   * `CallExitError` if the target is or becomes dead (or its node goes down), and with
   * `CallTimeoutError` after `timeoutMs`.
   */
  call(
    dest: Dest,
    makeRequest: (from: From) => unknown,
    timeoutMs: number,
    caller = this.self(),
  ): Promise<unknown> {
    return this.callWith(dest, makeRequest, undefined, undefined, timeoutMs, caller);
  }

  /**
   * `call` with the request `[tag, from, name, arg]` (the GenServer wire format): the hot path of
   * every `GenServer.call`, without a request-building closure per call. A target on this node
   * receives the `PendingCall` itself, carrying `tag`, `name` and `arg` (and being the `From`);
   * only a request that travels is an array. @internal
   */
  callTagged(dest: Dest, tag: string, name: string, arg: unknown, timeoutMs: number): Promise<unknown> {
    return this.callWith(dest, tag, name, arg, timeoutMs, this.self());
  }

  private callWith(
    dest: Dest,
    make: ((from: From) => unknown) | string,
    name: string | undefined,
    arg: unknown,
    timeoutMs: number,
    caller: Pid,
  ): Promise<unknown> {
    if (this.killed) return NEVER;
    const pid = this.resolve(dest);
    if (pid === undefined) {
      if (typeof dest === "object" && !(dest instanceof Pid) && dest.node !== this.name) {
        const build = typeof make === "string" ? (from: From) => [make, from, name, arg] : make;
        return this.callRemoteName(dest, build, timeoutMs, caller);
      }
      return Promise.reject(new CallExitError("noproc", dest));
    }
    let targetProc: Proc | null = null;
    if (this.isLocal(pid)) {
      const p = this.procs.get(pid.id);
      if (p === undefined || p.status === Status.Dead)
        return Promise.reject(new CallExitError("noproc", pid));
      // A process cannot answer while it waits on itself: fail at once, as OTP's `calling_self`.
      if (p.pid.equals(caller)) return Promise.reject(new CallExitError("calling_self", dest));
      targetProc = p;
    } else if (pid.node === this.name) {
      return Promise.reject(new CallExitError("noproc", pid));
    } else if (this.router === null || !this.router.isConnected(pid.node)) {
      return Promise.reject(new CallExitError(this.router === null ? "noproc" : "noconnection", pid));
    }
    // A local call's ref is only a number until someone reads it; a remote one travels.
    const ref = targetProc !== null ? this.nextRef++ : this.makeRef();
    // A shared executor hands out resolve/reject: no closure (and its context) per call.
    const promise = new Promise<unknown>(CAPTURE_RESOLVERS);
    const call = this.calls.open(
      caller,
      ref,
      capturedResolve!,
      capturedReject!,
      dest,
      pid,
      targetProc,
      timeoutMs,
    );
    capturedResolve = capturedReject = undefined;
    let msg: unknown;
    if (typeof make === "string") {
      if (targetProc !== null) {
        // A local target gets the call itself as the request (see `PendingCall.tag`).
        call.tag = make;
        call.name = name;
        call.arg = arg;
        msg = call;
      } else msg = [make, call, name, arg];
    } else {
      try {
        msg = make(call);
      } catch (e) {
        // The caller gets the throw, as before any call existed: nothing may wait or time out.
        this.calls.drop(call);
        throw e;
      }
    }
    if (targetProc !== null) {
      this.deliver(targetProc, msg);
      return promise;
    }
    try {
      this.router!.monitor(caller, pid, call.ref);
      this.router!.send(pid, msg);
    } catch (e) {
      // An unserialisable request must not leave the call waiting for its timeout.
      this.calls.settle(call, e, true);
    }
    return promise;
  }

  private callRemoteName(
    dest: { name: string; node: string },
    makeRequest: (from: From) => unknown,
    timeoutMs: number,
    caller: Pid,
  ): Promise<unknown> {
    const router = this.router;
    if (router === null || !router.isConnected(dest.node)) {
      return Promise.reject(new CallExitError(router === null ? "noproc" : "noconnection", dest));
    }
    const ref = this.makeRef();
    const target = new Pid(dest.node, 0, 0);
    const msg = makeRequest(new From(caller, ref));
    return new Promise((resolve, reject) => {
      const call = this.calls.open(caller, ref, resolve, reject, dest, target, null, timeoutMs);
      try {
        router.monitorName(caller, dest.node, dest.name, ref);
        router.sendNamed(dest.node, dest.name, msg);
      } catch (e) {
        this.calls.settle(call, e, true);
      }
    });
  }

  /** Answers a call. Works from any process, any time (deferred replies). */
  reply(from: From, value: unknown): void {
    const call = from.call;
    if (call !== undefined) {
      this.calls.settle(call, value, false);
      return;
    }
    const to = from.pid;
    if (this.isLocal(to)) this.remoteReply(to, from.ref, value);
    else if (to.node !== this.name && this.router !== null) this.router.reply(to, from.ref, value);
  }

  /** Calls waiting for a reply on this node. */
  get pendingCalls(): number {
    return this.calls.size;
  }

  // ---------------------------------------------------------------- inbound from the cluster

  /** A message from another node. @internal */
  remoteSend(to: Pid, msg: unknown): void {
    this.sendPid(to, msg);
  }

  /** A message to a local name from another node; unknown names drop it. @internal */
  remoteSendNamed(name: string, msg: unknown): void {
    const p = this.names.get(name);
    if (p !== undefined) this.deliver(p, msg);
  }

  /** @internal */
  remoteLink(from: Pid, to: Pid): void {
    const p = this.proc(to);
    if (p === undefined || p.status === Status.Dead) {
      this.router?.exit(to, from, "noproc", true);
      return;
    }
    p.addLink(from);
  }

  /** @internal */
  remoteUnlink(from: Pid, to: Pid): void {
    this.proc(to)?.removeLink(from);
  }

  /** @internal */
  remoteMonitor(watcher: Pid, target: Pid | string, ref: Ref): void {
    const p = typeof target === "string" ? this.names.get(target) : this.proc(target);
    const pid = typeof target === "string" ? (p?.pid ?? new Pid(this.name, 0, this.creation)) : target;
    if (p === undefined || p.status === Status.Dead) {
      this.router?.down(watcher, ref, pid, "noproc");
      return;
    }
    (p.watchers ??= new Map()).set(ref.key, { ref, watcher });
  }

  /** @internal */
  remoteDemonitor(_watcher: Pid, target: Pid | string, ref: Ref): void {
    const p = typeof target === "string" ? this.names.get(target) : this.proc(target);
    p?.watchers?.delete(ref.key);
  }

  /** @internal */
  remoteExit(from: Pid, to: Pid, reason: unknown, viaLink: boolean): void {
    const p = this.proc(to);
    if (p === undefined) return;
    if (viaLink) {
      if (!p.removeLink(from)) return;
    }
    this.signalExit(p, from, reason, viaLink);
  }

  /** @internal */
  remoteDown(watcher: Pid, ref: Ref, pid: Pid, reason: unknown): void {
    // A DOWN for a monitor the watcher dropped meanwhile (demonitor crossed it on the wire) is stale.
    if (
      this.isLocal(watcher) &&
      watcher.id !== 0 &&
      !(ref.node === this.name && this.calls.byRemoteRef(ref.id))
    ) {
      const wp = this.procs.get(watcher.id);
      if (wp === undefined || wp.monitoring === null || !wp.monitoring.has(ref.key)) return;
    }
    this.deliverDown(watcher, ref, pid, reason);
  }

  /** @internal */
  remoteReply(to: Pid, ref: Ref, value: unknown): void {
    if (!this.isLocal(to) || ref.node !== this.name) return;
    const call = this.calls.byRemoteRef(ref.id);
    if (call !== undefined) this.calls.settle(call, value, false);
  }

  /**
   * A node left or was lost: every link and monitor to its processes fires with `noconnection`
   * and pending calls to it fail at once. @internal
   */
  nodeDown(node: string): void {
    for (const p of this.procs.unordered()) {
      if (p.status === Status.Dead) continue;
      if (p.watchers !== null) {
        for (const [k, w] of p.watchers) if (w.watcher.node === node) p.watchers.delete(k);
      }
      if (p.monitoring !== null) {
        for (const [k, { ref, target }] of [...p.monitoring]) {
          if (target.node !== node) continue;
          p.monitoring.delete(k);
          this.deliver(p, new DownMessage(ref, target, "noconnection"));
        }
      }
      if (p.linkCount > 0) {
        for (const other of p.links()) {
          if (other.node !== node) continue;
          p.removeLink(other);
          this.signalExit(p, other, "noconnection", true);
        }
      }
    }
    for (const call of this.calls.select((c) => c.target.node === node)) {
      this.calls.settle(call, new CallExitError("noconnection", call.dest), true);
    }
  }

  /** Logs an abnormal exit the way OTP's crash reports do (not for normal/shutdown). @internal */
  reportCrash(pid: Pid, name: string | undefined, reason: unknown, what: string): void {
    if (isNormalOrShutdown(reason)) return;
    this.logger.error(
      {
        pid: String(pid),
        name,
        reason: formatReason(reason),
        stack: reason instanceof Error ? reason.stack : undefined,
      },
      what,
    );
  }
}

const RESOLVED = Promise.resolve();

/**
 * Runs `fn` on a microtask. Node's `queueMicrotask` creates an async resource per call, several
 * times the cost of a reaction on an already-resolved promise; this is on the per-message path.
 */
function microtask(fn: () => void): void {
  void RESOLVED.then(fn);
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    v !== undefined &&
    v !== null &&
    typeof (v as { then?: unknown }).then === "function" &&
    typeof v === "object"
  );
}

/** The node the caller is running on: the running process's node, else the default node. */
export function currentNodeOrDefault(): Node {
  return currentNode ?? defaultNode();
}

/** The program's default node (created on first use, named `nonode`). */
export function defaultNode(): Node {
  return (defaultNodeInstance ??= new Node());
}

/** Replaces the default node (tests, embedding). */
export function setDefaultNode(node: Node): void {
  defaultNodeInstance = node;
}

/**
 * What a spawned function gets: its own pid and the process operations acting as itself. Valid
 * across `await`s, unlike the module-level functions that find the current process only while it
 * runs synchronously.
 * @category runtime
 */
export class ProcessContext {
  constructor(
    readonly node: Node,
    /** @internal */ readonly proc: Proc,
  ) {}

  get self(): Pid {
    return this.proc.pid;
  }

  /**
   * Waits for the first message matching `match` (any message without it), leaving the others
   * queued in order. Resolves `TIMEOUT` after `timeoutMs`.
   */
  receive<T = unknown>(match?: (msg: unknown) => boolean, timeoutMs?: number): Promise<T | Timeout> {
    return this.node.receive(this.proc, match, timeoutMs) as Promise<T | Timeout>;
  }

  send(dest: Dest, msg: unknown): void {
    if (this.proc.status !== Status.Dead) this.node.send(dest, msg);
  }

  link(pid: Pid): void {
    this.node.link(pid, this.proc.pid);
  }

  unlink(pid: Pid): void {
    this.node.unlink(pid, this.proc.pid);
  }

  /** Monitors `target`; a dead process gets a ref that never fires. */
  monitor(target: Pid | string): Ref {
    if (this.proc.status === Status.Dead) return this.node.makeRef();
    return this.node.monitor(target, this.proc.pid);
  }

  demonitor(ref: Ref, options?: { flush?: boolean }): boolean {
    return this.node.demonitor(ref, options, this.proc.pid);
  }

  trapExit(flag: boolean): boolean {
    return this.node.trapExit(flag, this.proc.pid);
  }

  /** Sends an exit signal to `pid`; with own pid and no trap, the process ends. */
  exit(pid: Pid, reason: unknown): void {
    // A killed process whose code runs on until its next await sends no more signals.
    if (this.proc.status !== Status.Dead) this.node.exit(pid, reason, this.proc.pid);
  }

  /** Ends this process with `reason` now; code after the next `await` never runs. */
  stop(reason: unknown = "normal"): void {
    this.node.terminate(this.proc, reason);
  }

  spawn(fn: (ctx: ProcessContext) => unknown, options: SpawnOptions = {}): Pid {
    const link = options.link === true ? this.proc.pid : options.link;
    return this.node.spawn(fn, { ...options, link });
  }

  /** A request-reply call; if this process dies while waiting, the promise never settles. */
  call(dest: Dest, makeRequest: (from: From) => unknown, timeoutMs = 5000): Promise<unknown> {
    const p = this.proc;
    return new Promise((resolve, reject) => {
      if (p.status === Status.Dead) return;
      this.node.call(dest, makeRequest, timeoutMs, p.pid).then(
        (v) => {
          if (p.status !== Status.Dead) resolve(v);
        },
        (e: unknown) => {
          if (p.status !== Status.Dead) reject(e);
        },
      );
    });
  }
}
