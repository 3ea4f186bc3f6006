/**
 * `Proc`: the internal record of one live process (mailbox, links, monitors, status). Users never
 * see it; they hold a `Pid`. Kept small and lazily populated because a node may hold millions.
 * Imports `pid`, `pid-map`, `timer-wheel`.
 */
import type { Pid, Ref } from "./pid.js";
import { PidMap } from "./pid-map.js";
import type { TimerEntry } from "./timer-wheel.js";

/** Lifecycle states of a process. */
export enum Status {
  /** Driven by a handler, waiting for a message. */
  Idle = 0,
  /** Driven by a handler whose last invocation returned a promise not yet settled. */
  Suspended = 1,
  /** An async function process, running (not blocked in `receive`). */
  Running = 2,
  /** An async function process blocked in `receive`. */
  Waiting = 3,
  Dead = 4,
}

export interface PendingReceive {
  match: ((msg: unknown) => boolean) | undefined;
  resolve: (msg: unknown) => void;
  timer: TimerEntry | null;
}

export interface Watcher {
  ref: Ref;
  watcher: Pid;
}

/**
 * The fields most processes never use (a pending init or receive, monitors, a name, more than
 * one link) or only once dead (the exit reason), kept apart so that an idle process costs less: a `Proc`
 * allocates this only when one of them is first set.
 */
class ProcExtra {
  pendingInit: (() => unknown) | null = null;
  receiver: PendingReceive | null = null;
  linkMore: PidMap<Pid> | null = null;
  behaviour: string | undefined = undefined;
  watchers: Map<string, Watcher> | null = null;
  monitoring: Map<string, { ref: Ref; target: Pid }> | null = null;
  name: string | undefined = undefined;
  exitReason: unknown = undefined;
  senderField: string | undefined = undefined;
}

const STATUS_MASK = 7;
const QUEUED = 8;
const TRAP_EXIT = 16;
const LINKED_REMOTE_EXITS_ONLY = 32;

export type ExitHook = (pid: Pid, reason: unknown) => void;

export class Proc {
  /** `status`, `queued`, `trapExit` and `linkedRemoteExitsOnly` packed in one small integer. */
  private bits: number;
  /** Mailbox: a queue with a moving head, compacted when the head passes half. */
  mq: unknown[] | null = null;
  mqHead = 0;
  handler: ((msg: unknown) => unknown) | null;
  /**
   * Links. Most processes have exactly one (their supervisor), so the first lives in a field and
   * only further ones allocate a table.
   */
  private link1: Pid | null = null;
  /** Local calls waiting on this process; lets death fail them without a monitor per call. */
  callersWaiting = 0;
  /** Calls from other nodes monitoring this process (`CallWatches`); its death looks for them. */
  remoteCallers = 0;
  /** Free slot for the behaviour driving this process (GenServer state, supervisor…). */
  behaviourState: unknown = undefined;
  /**
   * Run on death: one function, or several in an array. Kept here rather than in the extra record
   * because every process in a registry has one (the registry's clean-up), and a lone hook needs
   * no array: registering costs no allocation on the process side.
   */
  exitHooks: ExitHook | ExitHook[] | null = null;
  private x: ProcExtra | null = null;

  constructor(
    readonly pid: Pid,
    handler: ((msg: unknown) => unknown) | null,
    behaviour: string | undefined,
  ) {
    this.handler = handler;
    if (behaviour !== undefined) this.extra.behaviour = behaviour;
    this.bits = handler === null ? Status.Running : Status.Idle;
  }

  get status(): Status {
    return this.bits & STATUS_MASK;
  }
  set status(v: Status) {
    this.bits = (this.bits & ~STATUS_MASK) | v;
  }

  /** On the run queue. */
  get queued(): boolean {
    return (this.bits & QUEUED) !== 0;
  }
  set queued(v: boolean) {
    this.bits = v ? this.bits | QUEUED : this.bits & ~QUEUED;
  }

  get trapExit(): boolean {
    return (this.bits & TRAP_EXIT) !== 0;
  }
  set trapExit(v: boolean) {
    this.bits = v ? this.bits | TRAP_EXIT : this.bits & ~TRAP_EXIT;
  }

  /**
   * Exit signals from other nodes reach this process only through its links: an explicit
   * `exit(pid, reason)` sent from another node (even `kill`) is refused by the cluster layer.
   * For processes a whole node depends on (a hub), which a peer must not stop by naming their pid.
   */
  get linkedRemoteExitsOnly(): boolean {
    return (this.bits & LINKED_REMOTE_EXITS_ONLY) !== 0;
  }
  set linkedRemoteExitsOnly(v: boolean) {
    this.bits = v ? this.bits | LINKED_REMOTE_EXITS_ONLY : this.bits & ~LINKED_REMOTE_EXITS_ONLY;
  }

  /**
   * A field that messages from other nodes to this process must fill with the sending node's name
   * when they have it as a string (`"from"` for a hub, whose peers' messages say who sent them):
   * the cluster layer refuses one that names another node, so a peer cannot speak for a third.
   */
  get senderField(): string | undefined {
    return this.x === null ? undefined : this.x.senderField;
  }
  set senderField(v: string | undefined) {
    this.extra.senderField = v;
  }

  private get extra(): ProcExtra {
    if (this.x === null) this.x = new ProcExtra();
    return this.x;
  }

  /** Runs before the first message of a handler process (GenServer init). */
  get pendingInit(): (() => unknown) | null {
    return this.x === null ? null : this.x.pendingInit;
  }
  set pendingInit(v: (() => unknown) | null) {
    if (v !== null || this.x !== null) this.extra.pendingInit = v;
  }

  get receiver(): PendingReceive | null {
    return this.x === null ? null : this.x.receiver;
  }
  set receiver(v: PendingReceive | null) {
    if (v !== null || this.x !== null) this.extra.receiver = v;
  }

  private get linkMore(): PidMap<Pid> | null {
    return this.x === null ? null : this.x.linkMore;
  }
  private set linkMore(v: PidMap<Pid> | null) {
    if (v !== null || this.x !== null) this.extra.linkMore = v;
  }

  /** Monitors on this process, by ref key. */
  get watchers(): Map<string, Watcher> | null {
    return this.x === null ? null : this.x.watchers;
  }
  set watchers(v: Map<string, Watcher> | null) {
    if (v !== null || this.x !== null) this.extra.watchers = v;
  }

  /** Monitors this process holds on others, by ref key → target. */
  get monitoring(): Map<string, { ref: Ref; target: Pid }> | null {
    return this.x === null ? null : this.x.monitoring;
  }
  set monitoring(v: Map<string, { ref: Ref; target: Pid }> | null) {
    if (v !== null || this.x !== null) this.extra.monitoring = v;
  }

  /**
   * The behaviour's name shown by `processInfo`: given at spawn, or told by the behaviour state
   * (a GenServer names its behaviour itself, so its process needs no field for it).
   */
  get behaviour(): string | undefined {
    if (this.x !== null && this.x.behaviour !== undefined) return this.x.behaviour;
    const s = this.behaviourState as { behaviourName?: unknown } | undefined;
    return typeof s === "object" && s !== null && typeof s.behaviourName === "string"
      ? s.behaviourName
      : undefined;
  }

  get name(): string | undefined {
    return this.x === null ? undefined : this.x.name;
  }
  set name(v: string | undefined) {
    if (v !== undefined || this.x !== null) this.extra.name = v;
  }

  /** Set on death (read by whoever stopped it: a supervisor checks the reason). */
  get exitReason(): unknown {
    return this.x === null ? undefined : this.x.exitReason;
  }
  set exitReason(v: unknown) {
    if (v !== undefined || this.x !== null) this.extra.exitReason = v;
  }

  hasLink(pid: Pid): boolean {
    if (this.link1?.equals(pid)) return true;
    return this.linkMore?.has(pid) === true;
  }

  /** Adds a link; linking twice is linking once. */
  addLink(pid: Pid): void {
    if (this.hasLink(pid)) return;
    if (this.link1 === null) this.link1 = pid;
    else (this.linkMore ??= new PidMap<Pid>(this.pid.node, this.pid.creation, samePid)).set(pid, pid);
  }

  /** Removes a link; returns whether there was one. */
  removeLink(pid: Pid): boolean {
    if (this.link1?.equals(pid)) {
      this.link1 = null;
      return true;
    }
    if (this.linkMore === null) return false;
    const had = this.linkMore.delete(pid);
    if (this.linkMore.size === 0) this.linkMore = null;
    return had;
  }

  get linkCount(): number {
    return (this.link1 === null ? 0 : 1) + (this.linkMore === null ? 0 : this.linkMore.size);
  }

  /** The linked pids (a snapshot). */
  links(): Pid[] {
    if (this.linkMore === null) return this.link1 === null ? [] : [this.link1];
    const out = this.linkMore.values();
    if (this.link1 !== null) out.unshift(this.link1);
    return out;
  }

  /** Removes and returns every link (on death): the first one made, then the rest in no particular order. */
  takeLinks(): Pid[] {
    const out: Pid[] = this.link1 === null ? [] : [this.link1];
    if (this.linkMore !== null) for (const pid of this.linkMore.unordered()) out.push(pid);
    this.link1 = null;
    this.linkMore = null;
    return out;
  }

  get mailboxLength(): number {
    return this.mq === null ? 0 : this.mq.length - this.mqHead;
  }

  push(msg: unknown): void {
    if (this.mq === null) this.mq = [msg];
    else this.mq.push(msg);
  }

  shift(): unknown {
    const q = this.mq!;
    const msg = q[this.mqHead];
    q[this.mqHead++] = undefined;
    if (this.mqHead === q.length) {
      this.mq = null;
      this.mqHead = 0;
    } else if (this.mqHead > 1024 && this.mqHead * 2 > q.length) {
      this.mq = q.slice(this.mqHead);
      this.mqHead = 0;
    }
    return msg;
  }

  /** Removes and returns the first message matching `match` (selective receive). */
  take(match: (msg: unknown) => boolean): { found: boolean; msg: unknown } {
    const q = this.mq;
    if (q === null) return NOT_FOUND;
    for (let i = this.mqHead; i < q.length; i++) {
      const msg = q[i];
      if (match(msg)) {
        if (i === this.mqHead) this.shift();
        else q.splice(i, 1);
        return { found: true, msg };
      }
    }
    return NOT_FOUND;
  }

  /** Drops every queued message matching `match`. */
  drop(match: (msg: unknown) => boolean): void {
    if (this.mq === null) return;
    const kept = this.mq.slice(this.mqHead).filter((m) => !match(m));
    this.mq = kept.length === 0 ? null : kept;
    this.mqHead = 0;
  }
}

const samePid = (pid: Pid): Pid => pid;
const NOT_FOUND = Object.freeze({ found: false, msg: undefined });
