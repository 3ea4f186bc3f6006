/**
 * `EntityRouter`: how one hub node reaches children by id (`hub.ref`, `hub.ensure`,
 * `hub.whenRunning`). One per hub per node, driven from the callers' side, never from inside
 * the hub process: it reads the local registry replica and is told of its changes.
 *
 * A call resolves the id to a reachable placement (the only one, or under replication the
 * owner's, else this node's) and goes straight to that pid, as `GenServer.call` does: nothing
 * is added on the way unless something fails. When no placement is reachable (the id is moving,
 * restarting, being adopted, or not started yet), or when the call was not delivered (`noproc`:
 * the pid was dead on arrival), the message waits in a bounded buffer (per id and per node) and
 * goes out when a new placement registers — a registry change of that id — or when a periodic
 * sweep finds one reachable. A call whose instance went away after it may have handled it
 * (`noconnection`, a stop, a crash) is retried only if its message is idempotent. Every call
 * settles by its deadline: with the reply, or a named error saying why (`errors.ts`).
 *
 * A call's first delivery settles the caller's promise itself (`Node.callTaggedInto`), so a
 * reference adds no promise to a pid call. Starting ids on demand is `activation.ts`'s, the
 * waiting messages are `buffer.ts`'s. Imports the process errors, the server's wire tags, the
 * hub core type and errors.
 */
import { CallExitError, CallTimeoutError, NoProcError } from "../../process/errors.js";
import type { Pid } from "../../process/pid.js";
import { GEN_CALL, GEN_CAST } from "../../server/server-process.js";
import type { NormalizedChildSpec } from "../child-spec.js";
import { HubStoppedError } from "../errors.js";
import type { HubCore } from "../hub-core.js";
import type { RegistryChange } from "../hub-registry.js";
import { type ActivationHost, Activations } from "./activation.js";
import { EntityBuffer, Kind, Waiting } from "./buffer.js";
import { idempotentNames } from "./entity.js";
import {
  ChildNotRunningError,
  EntityCallLostError,
  EntityNoOwnerError,
  EntityPartitionedError,
  EntityTimeoutError,
} from "./errors.js";
import type { ResolvedEntityOptions } from "./options.js";
import { Passivation } from "./passivation.js";

export { Kind } from "./buffer.js";

/** How often waiting messages look for a reachable placement besides registry changes, in ms. */
const SWEEP_MS = 25;
/** A message that crashed its instance this many times is not delivered again, idempotent or not. */
const MAX_CRASH_RETRIES = 2;

/** Exit reasons of an instance that went away rather than failed: a stop, a move, a lost node. */
function wentAway(reason: unknown): boolean {
  if (reason === "normal" || reason === "shutdown" || reason === "killed" || reason === "noconnection")
    return true;
  return Array.isArray(reason) && reason[0] === "shutdown";
}

let capturedResolve: ((v: unknown) => void) | undefined;
let capturedReject: ((e: unknown) => void) | undefined;
/** A Promise executor that only hands its resolvers out (read at once): no closure per call. */
function CAPTURE_RESOLVERS(resolve: (v: unknown) => void, reject: (e: unknown) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

/** Counters of one router, for tests and operators. */
export interface EntityStats {
  /** Messages waiting for an instance now. */
  waiting: number;
  /** Deliveries made again after a failed one (not delivered, or idempotent). */
  retried: number;
  /** Casts and sends dropped at their deadline without an instance. */
  dropped: number;
  /** Starts on demand sent. */
  activations: number;
  /** Children this node passivated (idle, or beyond `maxActive`). */
  passivated: number;
}

export class EntityRouter implements ActivationHost {
  readonly stats: EntityStats = { waiting: 0, retried: 0, dropped: 0, activations: 0, passivated: 0 };
  private readonly buffer: EntityBuffer;
  private readonly activations: Activations;
  private readonly watchers = new Map<string, Set<() => boolean>>();
  private readonly dirty = new Set<string>();
  private flushQueued = false;
  private sweeper: ReturnType<typeof setInterval> | undefined = undefined;
  closed = false;
  /** Stops idle children and those beyond `maxActive` (this node's). */
  readonly passivation: Passivation;

  constructor(
    private readonly core: HubCore,
    readonly options: ResolvedEntityOptions,
  ) {
    this.passivation = new Passivation(core, options, this.stats);
    this.buffer = new EntityBuffer(options, this.stats, (w) => this.deadlinePassed(w));
    this.activations = new Activations(core, this, this.stats);
  }

  // ------------------------------------------------------------------ resolution

  /**
   * A reachable pid of `id` (not `avoid`): the only placement, or under replication the
   * owner's (the active replica), else this node's, else any reachable one.
   */
  pick(id: string, avoid?: Pid): Pid | undefined {
    const reg = this.core.registry;
    const only = reg.onlyPid(id);
    if (only !== undefined) return only !== avoid && this.reachable(only) ? only : undefined;
    const pids = reg.getPids(id);
    if (pids.length === 0) return undefined;
    const owner = this.core.view.ownerOf(id);
    let best: Pid | undefined;
    for (const p of pids) {
      if (p === avoid || (avoid !== undefined && p.equals(avoid)) || !this.reachable(p)) continue;
      if (p.node === owner) return p;
      if (best === undefined || p.node === this.core.self) best = p;
    }
    return best;
  }

  /** Whether a message to `pid` can leave now (a dead local pid is found out on delivery). */
  private reachable(pid: Pid): boolean {
    const node = this.core.node;
    if (pid.node === node.name) return true;
    return node.router?.isConnected(pid.node) === true;
  }

  /**
   * Whether `w` may be delivered again: the caller's word, else the behaviour's declaration —
   * this node's if it registered the behaviour, else as a member's hello declared it (a
   * client-only node registers none).
   */
  private idempotent(w: Waiting): boolean {
    if (w.idempotent !== undefined) return w.idempotent;
    const spec = this.core.registry.lookup(w.id)?.spec;
    if (spec === undefined) return false;
    const own = this.core.behaviours.get(spec.behaviour);
    if (own !== undefined) return idempotentNames(own).has(w.name);
    return this.core.view.idempotentOf(spec.behaviour)?.has(w.name) === true;
  }

  /** Why a message that found no instance in time failed. */
  expired(id: string, timeoutMs: number): Error {
    if (this.core.partitioned) return new EntityPartitionedError(id, this.core.self);
    return new EntityNoOwnerError(id, timeoutMs);
  }

  // ------------------------------------------------------------------ calls, casts, sends

  /** A call by id: straight to a reachable placement, else it waits for one. */
  call(
    id: string,
    name: string,
    arg: unknown,
    timeoutMs: number,
    idempotent: boolean | undefined,
    activate: NormalizedChildSpec | undefined,
  ): Promise<unknown> {
    if (this.closed) return Promise.reject(new HubStoppedError(this.core.hubId));
    const promise = new Promise<unknown>(CAPTURE_RESOLVERS);
    const w = new Waiting(
      id,
      Kind.Call,
      name,
      arg,
      Number.NaN,
      timeoutMs,
      idempotent,
      activate,
      capturedResolve!,
      capturedReject!,
    );
    capturedResolve = capturedReject = undefined;
    const pid = this.pick(id);
    if (pid !== undefined && this.sendCall(w, pid, timeoutMs)) return promise;
    if (Number.isNaN(w.deadline)) w.deadline = performance.now() + timeoutMs;
    this.park(w);
    return promise;
  }

  /** A cast (`kind` Cast) or a plain message (`kind` Send) by id: at most once, never an error. */
  post(
    kind: typeof Kind.Cast | typeof Kind.Send,
    id: string,
    name: string,
    msg: unknown,
    activate?: NormalizedChildSpec,
  ): void {
    if (this.closed) return;
    const pid = this.pick(id);
    if (pid !== undefined && this.deliver(kind, pid, name, msg)) return;
    const t = this.options.callTimeoutMs;
    const w = new Waiting(id, kind, name, msg, performance.now() + t, t, undefined, activate, noop, noop);
    w.avoid = pid;
    this.park(w);
  }

  /** Sends a cast or message; false when its local target was already dead (not delivered). */
  private deliver(kind: Kind, pid: Pid, name: string, msg: unknown): boolean {
    try {
      this.core.node.send(pid, kind === Kind.Cast ? [GEN_CAST, name, msg] : msg);
      return true;
    } catch (e) {
      if (e instanceof NoProcError) return false;
      throw e;
    }
  }

  /**
   * Sends call `w` to `pid`, its reply settling the caller's promise directly. False when it
   * did not go out and must wait (`noproc` at once); a failure after it went out is handled in
   * `afterFailure`.
   */
  private sendCall(w: Waiting, pid: Pid, timeoutMs: number): boolean {
    const sent = this.core.node.callTaggedInto(pid, GEN_CALL, w.name, w.arg, timeoutMs, w.resolve, (e) =>
      // Out of the turn that failed it (a process exit settles its callers in a loop).
      queueMicrotask(() => {
        if (this.mayRetry(w, pid, e)) this.park(w);
      }),
    );
    if (typeof sent === "number") {
      // The first delivery's deadline is the call's; a later one keeps it.
      if (Number.isNaN(w.deadline)) w.deadline = sent;
      return true;
    }
    if (Number.isNaN(w.deadline)) w.deadline = performance.now() + w.timeoutMs;
    return !this.mayRetry(w, pid, sent);
  }

  /**
   * A delivery of call `w` to `pid` failed with `e`: true when it may go again (not delivered,
   * or idempotent and within the crash bound, and before its deadline); otherwise `w` is
   * rejected with the named error and false.
   */
  private mayRetry(w: Waiting, pid: Pid, e: unknown): boolean {
    const fail = this.failure(w, e);
    if (fail !== undefined) {
      w.reject(fail);
      return false;
    }
    this.stats.retried++;
    w.avoid = pid;
    return true;
  }

  /** The error `w` fails with after `e`, or undefined when it may be delivered again. */
  private failure(w: Waiting, e: unknown): unknown {
    if (e instanceof CallTimeoutError) return new EntityTimeoutError(w.id, w.name, w.timeoutMs);
    if (!(e instanceof CallExitError) || e.reason === "calling_self") return e;
    const reason = e.reason;
    // `noproc`: the pid was dead when the call reached it, so nothing handled it.
    if (reason !== "noproc") {
      if (!this.idempotent(w)) return new EntityCallLostError(w.id, w.name, reason);
      if (!wentAway(reason)) w.crashes++;
      if (w.crashes > MAX_CRASH_RETRIES) return new EntityCallLostError(w.id, w.name, reason);
    }
    if (w.deadline - performance.now() <= 0)
      return reason === "noproc"
        ? this.expired(w.id, w.timeoutMs)
        : new EntityCallLostError(w.id, w.name, reason);
    return undefined;
  }

  /** `w` waits: sent at once if a placement other than the one it avoids is reachable, else buffered. */
  private park(w: Waiting): void {
    if (this.attempt(w)) return;
    const full = this.buffer.add(w);
    if (full !== undefined) {
      if (w.kind === Kind.Call) w.reject(full);
      else this.stats.dropped++;
      return;
    }
    this.startSweeping();
    if (w.activate !== undefined && !this.core.registry.exists(w.id))
      void this.activations.start(w.activate, w.deadline, w.timeoutMs).catch(noop);
  }

  /** Delivers a waiting message if an instance is reachable; false if it must keep waiting. */
  private attempt(w: Waiting, hint?: Pid): boolean {
    const pid =
      hint !== undefined && (w.avoid === undefined || !hint.equals(w.avoid))
        ? hint
        : this.pick(w.id, w.avoid);
    if (pid === undefined) return false;
    if (w.kind !== Kind.Call) {
      if (this.deliver(w.kind, pid, w.name, w.arg)) return true;
      w.avoid = pid;
      return false;
    }
    const remaining = w.deadline - performance.now();
    if (remaining <= 0) return false;
    return this.sendCall(w, pid, Math.ceil(remaining));
  }

  private deadlinePassed(w: Waiting): void {
    if (w.kind === Kind.Call) w.reject(this.expired(w.id, w.timeoutMs));
    else this.stats.dropped++;
  }

  /** Tries every waiting message of `id` (in order); those that went out leave the buffer. */
  private release(id: string, hint?: Pid): void {
    for (const w of this.buffer.of(id)) {
      if (performance.now() >= w.deadline) continue;
      // Out of the buffer first: a call that fails at once is parked again by `sendCall`'s caller.
      if (this.attempt(w, hint)) this.buffer.remove(w);
    }
    const ws = this.watchers.get(id);
    if (ws !== undefined) for (const f of [...ws]) if (f()) ws.delete(f);
    if (ws?.size === 0) this.watchers.delete(id);
  }

  // ------------------------------------------------------------------ registry changes, sweeps

  /** Registry changes (called in the hub process): waiting messages of those ids get another try. */
  onChanges(changes: readonly RegistryChange[]): void {
    this.passivation.onChanges(changes);
    if (this.buffer.size === 0 && this.watchers.size === 0) return;
    for (const c of changes)
      if (c.kind !== "unregistered" && (this.buffer.has(c.id) || this.watchers.has(c.id)))
        this.dirty.add(c.id);
    if (this.dirty.size > 0 && !this.flushQueued) {
      this.flushQueued = true;
      // Out of the hub process's turn: the deliveries are the callers', not the hub's.
      queueMicrotask(() => this.flush());
    }
  }

  private flush(): void {
    this.flushQueued = false;
    const ids = [...this.dirty];
    this.dirty.clear();
    for (const id of ids) this.release(id);
  }

  private startSweeping(): void {
    if (this.sweeper !== undefined) return;
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweeper.unref?.();
  }

  /** The safety net beside registry changes: a placement became reachable again (a node came back). */
  private sweep(): void {
    for (const id of [...this.buffer.ids(), ...this.watchers.keys()]) this.release(id);
    if (this.buffer.size === 0 && this.watchers.size === 0 && this.sweeper !== undefined) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  // ------------------------------------------------------------------ start on demand, waits

  /**
   * The pid of `spec.id`, started on its owner if no instance runs. Concurrent ensures of one id
   * on this node share one start; those of other nodes meet at the owner, which starts it once.
   */
  ensure(spec: NormalizedChildSpec, timeoutMs: number): Promise<Pid> {
    if (this.closed) return Promise.reject(new HubStoppedError(this.core.hubId));
    const pid = this.pick(spec.id);
    if (pid !== undefined) return Promise.resolve(pid);
    return this.activations.start(spec, performance.now() + timeoutMs, timeoutMs);
  }

  /** An activation answered: the messages waiting for `id` go to `pid`. */
  started(id: string, pid: Pid): void {
    this.release(id, pid);
  }

  /** An activation failed for good: the messages waiting on it fail with its error. */
  failed(id: string, e: unknown): void {
    for (const w of this.buffer.of(id)) {
      if (w.activate === undefined || !this.buffer.remove(w)) continue;
      if (w.kind === Kind.Call) w.reject(e);
      else this.stats.dropped++;
    }
  }

  /** Resolves with a reachable pid of `id` once it has one; `ChildNotRunningError` after `timeoutMs`. */
  whenRunning(id: string, timeoutMs: number): Promise<Pid> {
    return this.watch(id, () => this.pick(id), timeoutMs);
  }

  /**
   * Resolves with what `read` returns once it is defined, read now and again on each registry
   * change of `id` (and at each sweep: a node that became reachable changes no registry);
   * `ChildNotRunningError` after `timeoutMs`, `HubStoppedError` once the hub stopped.
   */
  watch<T>(id: string, read: () => T | undefined, timeoutMs: number): Promise<T> {
    if (this.closed) return Promise.reject(new HubStoppedError(this.core.hubId));
    const now = read();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise<T>((resolve, reject) => {
      let set = this.watchers.get(id);
      if (set === undefined) this.watchers.set(id, (set = new Set()));
      const timer = setTimeout(() => {
        set.delete(check);
        if (set.size === 0 && this.watchers.get(id) === set) this.watchers.delete(id);
        reject(this.closed ? new HubStoppedError(this.core.hubId) : new ChildNotRunningError(id, timeoutMs));
      }, timeoutMs);
      const check = (): boolean => {
        const value = read();
        if (value === undefined) return false;
        clearTimeout(timer);
        resolve(value);
        return true;
      };
      set.add(check);
      this.startSweeping();
    });
  }

  /** The hub stopped: everything waiting fails with `HubStoppedError`. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.passivation.close();
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    const err = new HubStoppedError(this.core.hubId);
    for (const w of this.buffer.all()) {
      this.buffer.remove(w);
      if (w.kind === Kind.Call) w.reject(err);
    }
  }
}

function noop(): void {}
