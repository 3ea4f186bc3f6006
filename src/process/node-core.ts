/**
 * `NodeCore`: the base of `Node` (node.ts) — the node's state and parts, and the plumbing the
 * parts and the other layers build on. `Node` adds the API programs call; only `Node` is ever
 * instantiated, so every node is one object of one shape, and a method inherited from here costs
 * a call to it nothing more.
 *
 * What it owns: the node's identity, its processes (an `IdTable` by pid number: the `Node` adds
 * them, `Signals.terminate` removes the dead) and local names, the ref numbers, the killed flag,
 * and one of each part, which it creates and wires: the run queue and the running process
 * (`scheduler.ts`), async-function processes and their receive (`fibers.ts`), links, monitors,
 * exit signals and death (`signals.ts`), calls (`caller.ts` over `calls.ts`), operations from
 * other nodes (`inbound.ts`). The parts ask of it only what is here: identity and lookups,
 * `deliver`, `terminate`, the router, the wheel, the logger.
 *
 * Imports `caller`, `calls`, `fibers`, `id-table`, `inbound`, `options`, `pid`, `proc`, `remote`,
 * `scheduler`, `signals`, `timer-wheel`, `types`, `exit-reason`, the root `logger`.
 */
import { mailboxChannel, mailboxWatch, spawnChannel } from "../diagnostics.js";
import { crashReport, type Logger } from "../logger.js";
import { CallWatches } from "./call-watches.js";
import { Caller, RefNumbers } from "./caller.js";
import type { From } from "./calls.js";
import { NameTakenError } from "./errors.js";
import { isNormalOrShutdown } from "./exit-reason.js";
import { Fibers } from "./fibers.js";
import { IdTable } from "./id-table.js";
import { Inbound } from "./inbound.js";
import { type NodeOptions, parseNodeOptions } from "./options.js";
import { Pid, Ref } from "./pid.js";
import { Proc, Status } from "./proc.js";
import type { RemoteRouter } from "./remote.js";
import { runningNode, runningProc, Scheduler } from "./scheduler.js";
import { Signals } from "./signals.js";
import { TimerWheel } from "./timer-wheel.js";
import type { Dest } from "./types.js";

const procId = (p: Proc): number => p.pid.id;

/**
 * The state and plumbing of a `Node`; construct a `Node`, never this. Its plumbing members are
 * tagged one by one, so that the published `Node` keeps its public ones.
 */
export abstract class NodeCore {
  readonly name: string;
  readonly creation: number;
  logger: Logger;
  /** Installed by the cluster layer; `null` while the node is not distributed. @internal */
  router: RemoteRouter | null = null;
  /** Receive timeouts (and behaviours' timers) of this node. */
  readonly wheel = new TimerWheel();
  /** Pid used as the sender of calls and signals made from outside any process. */
  readonly systemPid: Pid;
  /**
   * Called before every drain of the run queue, before any process handles a message (the
   * hub's fencing: a node thawed past its lease stops its children before they run). Usually
   * empty. @internal
   */
  readonly runGuards: Array<() => void> = [];

  protected readonly procs = new IdTable<Proc>(procId);
  protected readonly names = new Map<string, Proc>();
  private nextId = 1;
  private readonly refs = new RefNumbers();
  protected killed = false;
  protected readonly sched: Scheduler;
  protected readonly fibers: Fibers;
  protected readonly caller: Caller;
  protected readonly signals: Signals;
  private readonly inbound: Inbound;
  /** The monitors calls from other nodes hold on this node's processes. */
  protected readonly callWatches = new CallWatches();

  constructor(options: NodeOptions = {}) {
    const parsed = parseNodeOptions(options);
    this.name = parsed.name;
    this.creation = parsed.creation;
    this.logger = parsed.logger;
    this.systemPid = new Pid(this.name, 0, this.creation);
    this.sched = new Scheduler(this, parsed.batch, parsed.yieldEvery);
    this.fibers = new Fibers(this, this.sched, this.wheel);
    this.caller = new Caller(this, this.procs, this.refs);
    this.signals = new Signals(this, this.procs, this.names, this.caller.table, this.callWatches);
    this.inbound = new Inbound(
      this,
      this.procs,
      this.names,
      this.signals,
      this.caller.table,
      this.callWatches,
    );
  }

  /** Adds a run guard (see `runGuards`); returns its removal. @internal */
  addRunGuard(fn: () => void): () => void {
    this.runGuards.push(fn);
    return () => {
      const i = this.runGuards.indexOf(fn);
      if (i >= 0) this.runGuards.splice(i, 1);
    };
  }

  // ---------------------------------------------------------------- identity and lookups

  /** True if `pid` was minted by this node incarnation. */
  isLocal(pid: Pid): boolean {
    return pid.node === this.name && pid.creation === this.creation;
  }

  makeRef(): Ref {
    return new Ref(this.name, this.refs.next++, this.creation);
  }

  /** The process running now on this node, else the system pid. */
  self(): Pid {
    const p = runningProc();
    return p !== null && runningNode() === this ? p.pid : this.systemPid;
  }

  /** The live `Proc` of a local pid. @internal */
  proc(pid: Pid): Proc | undefined {
    if (!this.isLocal(pid)) return undefined;
    return this.procs.get(pid.id);
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

  // ---------------------------------------------------------------- processes and mail

  protected newProc(
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
        this.signals.linkPair(p, parent);
      } catch (e) {
        this.procs.delete(p.pid.id);
        if (p.name !== undefined) this.names.delete(p.name);
        throw e;
      }
    }
    if (spawnChannel.hasSubscribers) this.spawned(p, parent);
    return p;
  }

  // Publishing lives out of line so that the hot functions stay small enough to inline.
  private spawned(p: Proc, parent: Pid | undefined): void {
    spawnChannel.publish({
      type: "process:spawn",
      node: this.name,
      pid: p.pid,
      parent,
      name: p.name,
      behaviour: p.behaviour,
    });
  }

  /** A process of a killed node: dead from birth, in no table, never run. */
  private stillborn(handler: ((msg: unknown) => unknown) | null, behaviour: string | undefined): Proc {
    const p = new Proc(new Pid(this.name, this.nextId++, this.creation), handler, behaviour);
    p.status = Status.Dead;
    p.exitReason = "killed";
    return p;
  }

  protected registerProc(name: string, p: Proc): void {
    const holder = this.names.get(name);
    // Registering again, even the same name for the same process, is a conflict (Erlang's badarg).
    if (holder !== undefined) throw new NameTakenError(name, holder.pid);
    if (p.name !== undefined) throw new NameTakenError(p.name, p.pid);
    this.names.set(name, p);
    p.name = name;
  }

  protected sendPid(pid: Pid, msg: unknown): void {
    if (pid.node === this.name) {
      if (pid.creation !== this.creation) return;
      const p = this.procs.get(pid.id);
      if (p !== undefined) this.deliver(p, msg);
      return;
    }
    if (this.router !== null) this.router.send(pid, msg);
  }

  /** Puts a message into a live process's mailbox (or hands it to its pending receive). @internal */
  deliver(p: Proc, msg: unknown): void {
    if (p.status === Status.Dead) return;
    if (p.status === Status.Waiting && this.fibers.offer(p, msg)) return;
    p.push(msg);
    if (p.status === Status.Idle && !p.queued) this.sched.schedule(p);
    // An idle process off the run queue had an empty mailbox: only a backlog can cross the
    // threshold (at least 2), so the common delivery never reads the channel.
    else if (mailboxChannel.hasSubscribers && p.mailboxLength === mailboxWatch.threshold)
      this.mailboxCrossed(p);
  }

  private mailboxCrossed(p: Proc): void {
    mailboxChannel.publish({
      type: "process:mailbox",
      node: this.name,
      pid: p.pid,
      length: p.mailboxLength,
      behaviour: p.behaviour,
    });
  }

  /**
   * Calls `fn` with each live process's pid and mailbox length, allocating nothing: how an
   * observer scans a node of 100k processes without a copy of its table. @internal
   */
  forEachMailbox(fn: (pid: Pid, length: number) => void): void {
    this.procs.forEach((p) => {
      fn(p.pid, p.mailboxLength);
    });
  }

  /** Ends a process with `reason` and propagates its death. @internal */
  terminate(p: Proc, reason: unknown): void {
    this.signals.terminate(p, reason);
  }

  // ---------------------------------------------------------------- inbound from the cluster

  /** A message from another node. @internal */
  remoteSend(to: Pid, msg: unknown): void {
    this.sendPid(to, msg);
  }

  /** A message to a local name from another node; unknown names drop it. @internal */
  remoteSendNamed(name: string, msg: unknown): void {
    this.inbound.sendNamed(name, msg);
  }

  /** @internal */
  remoteLink(from: Pid, to: Pid): void {
    this.inbound.link(from, to);
  }

  /** @internal */
  remoteUnlink(from: Pid, to: Pid): void {
    this.proc(to)?.removeLink(from);
  }

  /**
   * Returns whether the monitor holds (false: the target is dead or unknown, and `watcher` got
   * its `DOWN noproc`). @internal
   */
  remoteMonitor(watcher: Pid, target: Pid | string, ref: Ref): boolean {
    return this.inbound.monitor(watcher, target, ref);
  }

  /**
   * A call from another node (`from`: its caller and ref number) to `target`, a process of this
   * node: the caller monitors the target until the call is answered (`remoteCallEnded`), the
   * target dies, the caller demonitors or its node goes; then `msg` is delivered. Returns false
   * when the target is not alive (the caller got `DOWN noproc`, nothing is delivered). @internal
   */
  remoteCall(target: Pid, from: From, msg: unknown): boolean {
    return this.inbound.call(target, from, msg);
  }

  /**
   * Ends the monitor of the call `ref` from another node (its answer goes out, or its caller
   * demonitors). Returns whether there was one. @internal
   */
  remoteCallEnded(ref: Ref): boolean {
    return this.callWatches.end(ref);
  }

  /** @internal */
  remoteDemonitor(_watcher: Pid, target: Pid | string, ref: Ref): void {
    this.inbound.demonitor(target, ref);
  }

  /** @internal */
  remoteExit(from: Pid, to: Pid, reason: unknown, viaLink: boolean): void {
    this.inbound.exit(from, to, reason, viaLink);
  }

  /** @internal */
  remoteDown(watcher: Pid, ref: Ref, pid: Pid, reason: unknown): void {
    this.inbound.down(watcher, ref, pid, reason);
  }

  /** Another node's `lookup` of a process of this one: answered with a reply. @internal */
  remoteLookup(from: Pid, ref: Ref, target: Pid | string): void {
    this.inbound.lookup(from, ref, target);
  }

  /** @internal */
  remoteReply(to: Pid, ref: Ref, value: unknown): void {
    this.caller.remoteReply(to, ref, value);
  }

  /** A reply from node `from` that ended the call's monitor there (see `Caller.callReply`). @internal */
  remoteCallReply(from: string, toId: number, creation: number, refId: number, value: unknown): void {
    this.caller.callReply(from, toId, creation, refId, value);
  }

  /**
   * A node left or was lost: every link and monitor to its processes fires with `noconnection`
   * and pending calls to it fail at once. @internal
   */
  nodeDown(node: string): void {
    this.inbound.nodeDown(node);
  }

  /**
   * Logs an abnormal exit the way OTP's crash reports do (not for normal/shutdown): the process
   * (not `pid`, which pino and others use for the OS process), its name, the reason, the stack,
   * and what a server passes along: the last message it handled and its state (size-capped by
   * `crashReport`). @internal
   */
  reportCrash(
    pid: Pid,
    name: string | undefined,
    reason: unknown,
    what: string,
    extra?: { lastMessage?: unknown; state?: unknown },
  ): void {
    if (isNormalOrShutdown(reason)) return;
    this.logger.error(crashReport({ process: pid, name, reason, ...extra }), what);
  }
}
