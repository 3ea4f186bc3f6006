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
 * `ensure` starts an id on demand: an awaited start to its owner, where the hub process handles
 * starts one at a time, so of concurrent ensures from every node one starts it and the others
 * are answered with the running copy's pid (`already_started`, read as success). Imports the
 * process errors, the server's wire tags, the hub's start requests and errors.
 */
import { CallExitError, CallTimeoutError, NoProcError } from "../../process/errors.js";
import type { Pid } from "../../process/pid.js";
import { GEN_CALL, GEN_CAST } from "../../server/server-process.js";
import type { NormalizedChildSpec } from "../child-spec.js";
import { HubStoppedError } from "../errors.js";
import type { HubCore } from "../hub-core.js";
import type { RegistryChange } from "../hub-registry.js";
import type { StartResult } from "../results.js";
import { groupStarts } from "../start-request.js";
import { idempotentNames } from "./entity.js";
import {
  ChildNotRunningError,
  EntityActivationError,
  EntityCallLostError,
  EntityNoOwnerError,
  EntityOverflowError,
  EntityPartitionedError,
  EntityTimeoutError,
} from "./errors.js";
import type { ResolvedEntityOptions } from "./options.js";
import { Passivation } from "./passivation.js";

/** How often waiting messages look for a reachable placement besides registry changes, in ms. */
const SWEEP_MS = 25;
/** A message that crashed its instance this many times is not delivered again, idempotent or not. */
const MAX_CRASH_RETRIES = 2;

/** What a waiting message is: a call (awaits a reply), a cast, or a plain message. */
export const Kind = { Call: 0, Cast: 1, Send: 2 } as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

/** Exit reasons of an instance that went away rather than failed: a stop, a move, a lost node. */
function wentAway(reason: unknown): boolean {
  if (reason === "normal" || reason === "shutdown" || reason === "killed" || reason === "noconnection")
    return true;
  return Array.isArray(reason) && reason[0] === "shutdown";
}

/** A message waiting for (or between) deliveries. */
class Waiting {
  /** A pid it must not go to again (it was dead there, or its instance left). */
  avoid: Pid | undefined = undefined;
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
  crashes = 0;
  constructor(
    readonly id: string,
    readonly kind: Kind,
    readonly name: string,
    readonly arg: unknown,
    readonly deadline: number,
    readonly timeoutMs: number,
    readonly idempotent: boolean | undefined,
    readonly activate: NormalizedChildSpec | undefined,
    readonly resolve: (v: unknown) => void,
    readonly reject: (e: unknown) => void,
  ) {}
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

export class EntityRouter {
  readonly stats: EntityStats = { waiting: 0, retried: 0, dropped: 0, activations: 0, passivated: 0 };
  private readonly waiting = new Map<string, Waiting[]>();
  private readonly watchers = new Map<string, Set<() => boolean>>();
  private readonly activations = new Map<string, Promise<Pid>>();
  private readonly dirty = new Set<string>();
  private flushQueued = false;
  private sweeper: ReturnType<typeof setInterval> | undefined = undefined;
  private closed = false;
  /** Stops idle children and those beyond `maxActive` (this node's). */
  readonly passivation: Passivation;

  constructor(
    private readonly core: HubCore,
    readonly options: ResolvedEntityOptions,
  ) {
    this.passivation = new Passivation(core, options, this.stats);
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

  private idempotent(id: string, name: string, given: boolean | undefined): boolean {
    if (given !== undefined) return given;
    const spec = this.core.registry.lookup(id)?.spec;
    if (spec === undefined) return false;
    return idempotentNames(this.core.behaviours.get(spec.behaviour)).has(name);
  }

  // ------------------------------------------------------------------ calls, casts, sends

  /** A call by id (the fast path when a placement is reachable). */
  call(
    id: string,
    name: string,
    arg: unknown,
    timeoutMs: number,
    idempotent: boolean | undefined,
    activate: NormalizedChildSpec | undefined,
  ): Promise<unknown> {
    if (this.closed) return Promise.reject(new HubStoppedError(this.core.hubId));
    const pid = this.pick(id);
    if (pid === undefined)
      return this.wait(Kind.Call, id, name, arg, timeoutMs, idempotent, activate, undefined);
    const started = performance.now();
    return this.core.node
      .callTagged(pid, GEN_CALL, name, arg, timeoutMs)
      .then(undefined, (e: unknown) =>
        this.failed(e, pid, id, name, arg, started + timeoutMs, timeoutMs, idempotent, activate),
      );
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
    void this.wait(kind, id, name, msg, this.options.callTimeoutMs, undefined, activate, pid);
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

  /** A delivery of a call failed: retried when that is safe, else the named error. */
  private failed(
    e: unknown,
    pid: Pid,
    id: string,
    name: string,
    arg: unknown,
    deadline: number,
    timeoutMs: number,
    idempotent: boolean | undefined,
    activate: NormalizedChildSpec | undefined,
    crashes = 0,
  ): Promise<unknown> {
    if (e instanceof CallTimeoutError) throw new EntityTimeoutError(id, name, timeoutMs);
    if (!(e instanceof CallExitError) || e.reason === "calling_self") throw e;
    const reason = e.reason;
    // `noproc`: the pid was dead when the call reached it, so nothing handled it.
    if (reason !== "noproc") {
      if (!this.idempotent(id, name, idempotent)) throw new EntityCallLostError(id, name, reason);
      if (!wentAway(reason)) crashes++;
      if (crashes > MAX_CRASH_RETRIES) throw new EntityCallLostError(id, name, reason);
    }
    this.stats.retried++;
    if (deadline - performance.now() <= 0)
      throw reason === "noproc" ? this.expired(id, timeoutMs) : new EntityCallLostError(id, name, reason);
    return this.wait(Kind.Call, id, name, arg, timeoutMs, idempotent, activate, pid, deadline, crashes);
  }

  /** Why a message that found no instance in time failed. */
  private expired(id: string, timeoutMs: number): Error {
    if (this.core.partitioned) return new EntityPartitionedError(id, this.core.self);
    return new EntityNoOwnerError(id, timeoutMs);
  }

  /** Parks a message until an instance is reachable or its deadline passes. */
  private wait(
    kind: Kind,
    id: string,
    name: string,
    arg: unknown,
    timeoutMs: number,
    idempotent: boolean | undefined,
    activate: NormalizedChildSpec | undefined,
    avoid: Pid | undefined,
    deadline = performance.now() + timeoutMs,
    crashes = 0,
  ): Promise<unknown> {
    let resolve!: (v: unknown) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<unknown>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const w = new Waiting(id, kind, name, arg, deadline, timeoutMs, idempotent, activate, resolve, reject);
    w.avoid = avoid;
    w.crashes = crashes;
    if (this.attempt(w)) return promise;
    const list = this.waiting.get(id);
    const o = this.options;
    if ((list?.length ?? 0) >= o.maxBufferedPerId)
      reject(new EntityOverflowError(id, "id", o.maxBufferedPerId));
    else if (this.stats.waiting >= o.maxBuffered) reject(new EntityOverflowError(id, "node", o.maxBuffered));
    else {
      if (list === undefined) this.waiting.set(id, [w]);
      else list.push(w);
      this.stats.waiting++;
      w.timer = setTimeout(() => this.timedOut(w), Math.max(0, deadline - performance.now()));
      this.startSweeping();
      if (activate !== undefined && !this.core.registry.exists(id)) this.activateFor(id, activate, deadline);
    }
    return promise;
  }

  /** Delivers a waiting message if an instance is reachable; false if it must keep waiting. */
  private attempt(w: Waiting, hint?: Pid): boolean {
    const pid =
      hint !== undefined && (w.avoid === undefined || !hint.equals(w.avoid))
        ? hint
        : this.pick(w.id, w.avoid);
    if (pid === undefined) return false;
    if (w.kind !== Kind.Call) {
      if (this.deliver(w.kind, pid, w.name, w.arg)) {
        w.resolve(undefined);
        return true;
      }
      w.avoid = pid;
      return false;
    }
    const remaining = w.deadline - performance.now();
    if (remaining <= 0) return false;
    this.core.node
      .callTagged(pid, GEN_CALL, w.name, w.arg, Math.ceil(remaining))
      .then(w.resolve, (e: unknown) => {
        try {
          const again = this.failed(
            e,
            pid,
            w.id,
            w.name,
            w.arg,
            w.deadline,
            w.timeoutMs,
            w.idempotent,
            w.activate,
            w.crashes,
          );
          again.then(w.resolve, w.reject);
        } catch (err) {
          w.reject(err);
        }
      });
    return true;
  }

  private timedOut(w: Waiting): void {
    if (!this.remove(w)) return;
    if (w.kind === Kind.Call) w.reject(this.expired(w.id, w.timeoutMs));
    else {
      this.stats.dropped++;
      w.resolve(undefined);
    }
  }

  private remove(w: Waiting): boolean {
    const list = this.waiting.get(w.id);
    const i = list?.indexOf(w) ?? -1;
    if (i < 0) return false;
    list!.splice(i, 1);
    if (list!.length === 0) this.waiting.delete(w.id);
    this.stats.waiting--;
    if (w.timer !== undefined) clearTimeout(w.timer);
    return true;
  }

  /** Tries every waiting message of `id` (in order); those that went out leave the buffer. */
  private release(id: string, hint?: Pid): void {
    const list = this.waiting.get(id);
    if (list !== undefined) {
      for (const w of [...list]) {
        if (performance.now() >= w.deadline) continue;
        if (this.attempt(w, hint)) {
          this.remove(w);
        }
      }
    }
    const ws = this.watchers.get(id);
    if (ws !== undefined) for (const f of [...ws]) if (f()) ws.delete(f);
    if (ws?.size === 0) this.watchers.delete(id);
  }

  // ------------------------------------------------------------------ registry changes, sweeps

  /** Registry changes (called in the hub process): waiting messages of those ids get another try. */
  onChanges(changes: readonly RegistryChange[]): void {
    this.passivation.onChanges(changes);
    if (this.waiting.size === 0 && this.watchers.size === 0) return;
    for (const c of changes)
      if (c.kind !== "unregistered" && (this.waiting.has(c.id) || this.watchers.has(c.id)))
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
    for (const id of [...this.waiting.keys(), ...this.watchers.keys()]) this.release(id);
    if (this.waiting.size === 0 && this.watchers.size === 0 && this.sweeper !== undefined) {
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
    return this.activateFor(spec.id, spec, performance.now() + timeoutMs, timeoutMs);
  }

  private activateFor(
    id: string,
    spec: NormalizedChildSpec,
    deadline: number,
    timeoutMs?: number,
  ): Promise<Pid> {
    let p = this.activations.get(id);
    if (p === undefined) {
      p = this.activate(spec, deadline, timeoutMs ?? Math.max(1, deadline - performance.now()));
      this.activations.set(id, p);
      const done = () => {
        if (this.activations.get(id) === p) this.activations.delete(id);
      };
      p.then(
        (pid) => {
          done();
          this.release(id, pid);
        },
        (e: unknown) => {
          done();
          this.failWaiting(id, e);
        },
      );
    }
    return p;
  }

  private async activate(spec: NormalizedChildSpec, deadline: number, timeoutMs: number): Promise<Pid> {
    const core = this.core;
    const id = spec.id;
    for (;;) {
      const found = this.pick(id);
      if (found !== undefined) return found;
      if (this.closed) throw new HubStoppedError(core.hubId);
      const remaining = deadline - performance.now();
      if (remaining <= 0) throw this.expired(id, timeoutMs);
      if (core.partitioned) {
        await sleep(Math.min(remaining, SWEEP_MS));
        continue;
      }
      this.stats.activations++;
      const r = await new Promise<StartResult>((resolve) =>
        core.requests.start(groupStarts(core, [spec], undefined), {
          timeoutMs: Math.ceil(remaining),
          onDone: resolve,
        }),
      );
      const started = r.started[0]?.nodes ?? [];
      const running = r.errors.find((e) => e.reason === "already_started" && e.pid !== undefined);
      const at = started.find((np) => np.node === core.view.ownerOf(id)) ?? started[0];
      if (at !== undefined) return at.pid;
      if (running?.pid !== undefined) return running.pid;
      const hard = r.errors.find((e) => e.reason === "start_failed" || e.reason === "unknown_behaviour");
      if (hard !== undefined) throw new EntityActivationError(id, hard.reason, hard.detail);
      // Gone, timed out, settling, stopping: the ring changes; try again after the change.
      await sleep(
        Math.min(Math.max(0, deadline - performance.now()), core.tuning.clusterEventDebounceMs + 50),
      );
    }
  }

  /** An activation failed for good: the calls waiting on it fail with its error. */
  private failWaiting(id: string, e: unknown): void {
    const list = this.waiting.get(id);
    if (list === undefined) return;
    for (const w of [...list]) {
      if (w.activate === undefined) continue;
      this.remove(w);
      if (w.kind === Kind.Call) w.reject(e);
      else {
        this.stats.dropped++;
        w.resolve(undefined);
      }
    }
  }

  /** Resolves with a reachable pid of `id` once it has one; `ChildNotRunningError` after `timeoutMs`. */
  whenRunning(id: string, timeoutMs: number): Promise<Pid> {
    if (this.closed) return Promise.reject(new HubStoppedError(this.core.hubId));
    const now = this.pick(id);
    if (now !== undefined) return Promise.resolve(now);
    return new Promise<Pid>((resolve, reject) => {
      let set = this.watchers.get(id);
      if (set === undefined) this.watchers.set(id, (set = new Set()));
      const timer = setTimeout(() => {
        set.delete(check);
        if (set.size === 0 && this.watchers.get(id) === set) this.watchers.delete(id);
        reject(this.closed ? new HubStoppedError(this.core.hubId) : new ChildNotRunningError(id, timeoutMs));
      }, timeoutMs);
      const check = (): boolean => {
        const pid = this.pick(id);
        if (pid === undefined) return false;
        clearTimeout(timer);
        resolve(pid);
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
    for (const list of [...this.waiting.values()])
      for (const w of [...list]) {
        this.remove(w);
        if (w.kind === Kind.Call) w.reject(err);
        else w.resolve(undefined);
      }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
