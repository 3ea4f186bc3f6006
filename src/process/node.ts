/**
 * `Node`: the local process runtime. Several nodes may live in one program (a cluster in one
 * process); `defaultNode()` gives a convenient one. Operations on pids of other nodes go to the
 * node's `RemoteRouter` (installed by the cluster layer), which calls back the `remote*` methods.
 *
 * `Node` is the API programs call; its state, its parts and the plumbing they and the other
 * layers share are its base, `NodeCore` (node-core.ts), and its methods delegate to the parts:
 * the run queue (`scheduler.ts`), async-function processes and their receive (`fibers.ts`),
 * links, monitors, exit signals and death (`signals.ts`), calls (`caller.ts` over `calls.ts`),
 * operations from other nodes (`inbound.ts`). `ProcessContext` is in `context.ts`, the API's
 * shapes in `types.ts`; both are re-exported here, where callers have always found them.
 *
 * Faults (`pause` / `resume`, `kill`): a paused node keeps its run queue, fiber resumptions and
 * timers (wheel and call timeouts) waiting, and on `resume` fires its overdue timers first, then
 * runs its processes; a killed node ends every process where it stands, with no exit hook, link,
 * monitor or reply, and from then on drops whatever it is asked to do (`faults.ts`).
 *
 * Imports its own files.
 */
import { callChannel, sampleCall, timeCall } from "../diagnostics.js";
import type { From } from "./calls.js";
import { ProcessContext } from "./context.js";
import { type CallExitError, NoProcError } from "./errors.js";
import { fireOverdue, killAll, SILENT_ROUTER } from "./faults.js";
import { NodeCore } from "./node-core.js";
import { Pid, type Ref } from "./pid.js";
import { type Proc, Status } from "./proc.js";
import { runningNode, runningProc } from "./scheduler.js";
import type { Dest, ProcessInfo, SpawnOptions } from "./types.js";

export { From } from "./calls.js";
export { ProcessContext } from "./context.js";
export type { NodeOptions } from "./options.js";
export { type Dest, type ProcessInfo, type SpawnOptions, TIMEOUT, type Timeout } from "./types.js";

let defaultNodeInstance: Node | null = null;

const NOOP = (): void => {};

/** The process running right now (synchronously), if any. */
export function currentProcess(): Pid | null {
  return runningProc()?.pid ?? null;
}

const STATUSES = ["idle", "suspended", "running", "waiting"] as const;

/**
 * A local runtime for processes.
 * @category runtime
 */
export class Node extends NodeCore {
  // ---------------------------------------------------------------- faults

  /** `running`; `paused` between `pause` and `resume`; `killed` for good after `kill`. */
  get state(): "running" | "paused" | "killed" {
    return this.killed ? "killed" : this.sched.frozen ? "paused" : "running";
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
    if (this.sched.frozen) return;
    this.sched.freeze();
    this.fibers.hold();
    this.wheel.freeze();
    this.caller.table.freeze();
  }

  /**
   * Thaws a paused node in the order a resumed OS process sees things: first the timers phase
   * (every receive and call timeout that fell due during the pause fires now, in deadline order,
   * before anything else runs), then the processes (held mail, fibers, the run queue) on the
   * following microtasks. No-op unless paused.
   */
  resume(): void {
    if (!this.sched.frozen || this.killed) return;
    this.sched.unfreeze();
    if (!fireOverdue(this.sched, this.wheel, this.caller.table)) return;
    this.fibers.release();
    this.sched.release();
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
    if (this.router !== null) this.router = SILENT_ROUTER;
    killAll(this.procs);
    this.names.clear();
    this.signals.stop();
    this.sched.stop();
    this.fibers.stop();
    this.wheel.stop();
    this.caller.stop();
    this.callWatches.clear();
  }

  // ---------------------------------------------------------------- spawning

  /**
   * Spawns a process running an async function. The function gets a `ProcessContext`; when it
   * returns the process exits `normal`, when it throws the process exits with the thrown value.
   */
  spawn(fn: (ctx: ProcessContext) => unknown, options: SpawnOptions = {}): Pid {
    const p = this.createProc(null, options);
    this.fibers.start(p, new ProcessContext(this, p), fn);
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
    if (init !== null) this.sched.runFirst(p, init);
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
    this.sched.runInit(p, init, arg);
  }

  /**
   * Makes `fn` the next step of a handler process, before any message (a GenServer's
   * `handleContinue` after a synchronous `init`: it runs in the new process once the starter has
   * its answer, as after OTP's `init_ack`). The process must not be suspended. @internal
   */
  runFirst(p: Proc, fn: () => unknown): void {
    this.sched.runFirst(p, fn);
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

  private createProc(handler: ((msg: unknown) => unknown) | null, options: SpawnOptions): Proc {
    const link = options.link;
    const parent =
      link === undefined || link === false
        ? undefined
        : link === true
          ? this.signals.actorPid("spawn with link")
          : link;
    return this.newProc(handler, parent, options.name, options.trapExit === true, options.behaviour);
  }

  // ---------------------------------------------------------------- lookups and names

  /** Number of live processes. */
  get processCount(): number {
    return this.procs.size;
  }

  /** All live pids. */
  processes(): Pid[] {
    return this.procs.values().map((p) => p.pid);
  }

  /**
   * Whether a pid of this node names a live process (OTP's `is_process_alive`, local only): a pid
   * of another node is never alive here — ask its node with `lookup` (or `isAliveOn`).
   */
  isAlive(pid: Pid): boolean {
    const p = this.proc(pid);
    return p !== undefined && p.status !== Status.Dead;
  }

  /**
   * The live process behind a pid or a name, wherever it is: this node answers for its own (as
   * `isAlive` / `whereis` do), and the pid's node is asked over the cluster for another one's.
   * Resolves the pid (for a name, whoever holds it now), or `undefined` when there is none — the
   * process is dead, the name free, or the node not connected (or lost while asking). Rejects
   * `CallTimeoutError` when the node does not answer within `timeoutMs`, and
   * `NotDistributedError` for another node's pid when this node is in no cluster.
   */
  lookup(target: Pid | { name: string; node: string }, timeoutMs = 5000): Promise<Pid | undefined> {
    return this.caller.lookup(target, timeoutMs);
  }

  processInfo(pid: Pid): ProcessInfo | undefined {
    const p = this.proc(pid);
    if (p === undefined) return undefined;
    return {
      pid: p.pid,
      // A handler process is `idle` between messages but `running` while its handler runs.
      status:
        p === runningProc() && p.status === Status.Idle ? "running" : STATUSES[p.status as 0 | 1 | 2 | 3],
      mailboxLength: p.mailboxLength,
      links: p.links(),
      monitors: p.monitoring === null ? [] : [...p.monitoring.values()].map((m) => m.target),
      monitoredBy: [
        ...(p.watchers === null ? [] : [...p.watchers.values()].map((w) => w.watcher)),
        ...this.callWatches.callersOf(p),
      ],
      name: p.name,
      behaviour: p.behaviour,
      trapExit: p.trapExit,
    };
  }

  /** Registers `pid` under a local name. Throws `NameTakenError` or `NoProcError`. */
  register(name: string, pid: Pid): void {
    const p = this.proc(pid);
    if (p === undefined || p.status === Status.Dead) throw new NoProcError(pid);
    this.registerProc(name, p);
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

  /** Selective receive for async-function processes. */
  receive(
    p: Proc,
    match?: (msg: unknown) => boolean,
    timeoutMs = Number.POSITIVE_INFINITY,
  ): Promise<unknown> {
    return this.fibers.receive(p, match, timeoutMs);
  }

  // ---------------------------------------------------------------- links, monitors, exits

  /** Links the calling process with `pid`. */
  link(pid: Pid, actor?: Pid): void {
    this.signals.link(pid, actor);
  }

  /** Removes the link between the calling process and `pid`, both directions. */
  unlink(pid: Pid, actor?: Pid): void {
    this.signals.unlink(pid, actor);
  }

  /**
   * Monitors `target` from the calling process (or from `watcher`); returns the monitor ref. A
   * dead target gives a `DOWN` with `noproc` at once.
   */
  monitor(target: Pid | string | { name: string; node: string }, watcher?: Pid): Ref {
    return this.signals.monitor(target, watcher);
  }

  /**
   * Stops a monitor. With `flush`, a `DOWN` for it already in the mailbox is dropped too.
   * Returns false when the monitor had already fired or never existed.
   */
  demonitor(ref: Ref, options: { flush?: boolean } = {}, watcher?: Pid): boolean {
    return this.signals.demonitor(ref, options, watcher);
  }

  /**
   * Sends an exit signal to `pid` (from the calling process). `kill` is untrappable; `normal` is
   * ignored by a non-trapping target other than the sender itself. A dead target: no-op.
   */
  exit(pid: Pid, reason: unknown, from?: Pid): void {
    this.signals.exit(pid, reason, from);
  }

  /** Sets the trap-exit flag of the calling process; returns the previous value. */
  trapExit(flag: boolean, actor?: Pid): boolean {
    return this.signals.trapExit(flag, actor);
  }

  /**
   * Runs `fn` synchronously as the local process `pid` (what `self()` and `startLink` see), then
   * restores the caller. Lets a behaviour run user code on its own behalf after an `await`
   * (a parent starting children one by one). @internal
   */
  runAs<T>(pid: Pid, fn: () => T): T {
    const p = this.proc(pid);
    return p === undefined ? fn() : this.sched.runAs(p, fn);
  }

  /**
   * Registers a callback run when the process exits (used by registries and behaviours); false
   * for a dead or unknown pid. Programs use `ctx.onExit`. @internal
   */
  onExit(pid: Pid, hook: (pid: Pid, reason: unknown) => void): boolean {
    return this.signals.onExit(pid, hook);
  }

  /** See `ProcessContext.onExit`. @internal */
  onProcessExit(p: Proc, fn: (reason: unknown) => unknown): () => void {
    const hook = (_pid: Pid, reason: unknown): unknown => fn(reason);
    if (p.status === Status.Dead) {
      // Killed while its code ran on to this line: clean up now, unless the whole node is gone.
      if (!this.killed) this.signals.runExitHook(hook, p.pid, p.exitReason);
      return NOOP;
    }
    this.signals.addExitHook(p, hook);
    return () => this.signals.removeExitHook(p, hook);
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
    return this.caller.call(dest, makeRequest, undefined, undefined, timeoutMs, caller);
  }

  /**
   * `call` with the request `[tag, from, name, arg]` (the GenServer wire format): the hot path of
   * every `GenServer.call`, without a request-building closure per call. A target on this node
   * receives the `PendingCall` itself, carrying `tag`, `name` and `arg` (and being the `From`);
   * only a request that travels is an array. @internal
   */
  callTagged(dest: Dest, tag: string, name: string, arg: unknown, timeoutMs: number): Promise<unknown> {
    if (callChannel.hasSubscribers && sampleCall())
      return timeCall(this.name, dest, name, this.caller.call(dest, tag, name, arg, timeoutMs, this.self()));
    return this.caller.call(dest, tag, name, arg, timeoutMs, this.self());
  }

  /**
   * `callTagged` to a pid that settles `resolve` / `reject` instead of returning a promise: for
   * a layer that already holds a promise per call (`hub.ref`), which would otherwise wait on a
   * second one. Returns the call's deadline (a `performance.now()` time), or the `CallExitError`
   * of a call that cannot go out (`noproc`, `noconnection`, `calling_self`) instead of calling
   * `reject`. @internal
   */
  callTaggedInto(
    dest: Pid,
    tag: string,
    name: string,
    arg: unknown,
    timeoutMs: number,
    resolve: (v: unknown) => void,
    reject: (e: unknown) => void,
  ): number | CallExitError {
    // A sampled call is timed on its promise (observe's call channel): the rare slow path.
    if (callChannel.hasSubscribers && sampleCall()) {
      timeCall(this.name, dest, name, this.caller.call(dest, tag, name, arg, timeoutMs, this.self())).then(
        resolve,
        reject,
      );
      return performance.now() + timeoutMs;
    }
    return this.caller.callInto(dest, tag, name, arg, timeoutMs, this.self(), resolve, reject);
  }

  /** Answers a call. Works from any process, any time (deferred replies). */
  reply(from: From, value: unknown): void {
    this.caller.reply(from, value);
  }

  /** Calls waiting for a reply on this node. */
  get pendingCalls(): number {
    return this.caller.table.size;
  }
}

/** The node the caller is running on: the running process's node, else the default node. */
export function currentNodeOrDefault(): Node {
  // Every `NodeCore` is a `Node`: the base is never constructed alone.
  return (runningNode() as Node | null) ?? defaultNode();
}

/** The program's default node (created on first use, named `nonode`). */
export function defaultNode(): Node {
  return (defaultNodeInstance ??= new Node());
}

/** Replaces the default node (tests, embedding). */
export function setDefaultNode(node: Node): void {
  defaultNodeInstance = node;
}
