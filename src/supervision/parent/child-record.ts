/**
 * `ChildRecord`: what a parent keeps per child (spec, current pid, meta, lifetime timer, own
 * restart window, resolved bindings), and `StoppedChild` / `StoppedChildren`: what the parent
 * hands back when children stop for good (`shutdownChild`, `shutdownAll`,
 * `handleStoppedChildren`), which `returnChildren` takes to put them back in place. A record is
 * its spec, position and pid; the parts few children use (timer, bindings, restart window, a
 * changed meta) live in a `ChildExtra` allocated on first use. Imports `process`, its own
 * `child-spec`, `restart-intensity`.
 */
import type { Pid } from "../../process/pid.js";
import type { TimerEntry } from "../../process/timer-wheel.js";
import type { ParentChildId, NormalizedParentChildSpec } from "./child-spec.js";
import { RestartIntensity } from "./restart-intensity.js";

/**
 * The parts of a record most children never use, allocated on first use: every byte a record
 * keeps for life is paid again by each start (a parent with many dynamic children keeps
 * hundreds of thousands of them).
 */
class ChildExtra {
  /** Fires the lifetime `timeout` of the running incarnation. */
  timer: TimerEntry | null = null;
  /** Siblings this child is bound to (resolved `bindsTo`), among those present. */
  deps: ChildRecord[] | null = null;
  /**
   * Every sibling `bindsTo` resolved to at start. Children returned piecemeal regain a binding
   * when its target comes back later, so `deps` is recomputed from this.
   */
  boundTo: ChildRecord[] | null = null;
  /** Siblings bound to this child (the reverse edges the closure walks). */
  dependents: Set<ChildRecord> | null = null;
  /** Waiting for a retry after a failed restart. */
  restarting = false;
  window: RestartIntensity | null = null;

  constructor(
    /** Holds the meta from the moment the record has an extra part (the spec's until then). */
    public meta: unknown,
  ) {}
}

/** One child of a parent. The record survives restarts (its position and bindings with it). */
export class ChildRecord {
  /** Change it through `ChildrenTable.setPid` while the record is in a table (it keys the pid index). */
  pid: Pid | undefined = undefined;
  private x: ChildExtra | null = null;

  constructor(
    readonly spec: NormalizedParentChildSpec,
    /** Startup position; never changes, so a restarted or returned child keeps its place. */
    readonly order: number,
  ) {}

  get id(): ParentChildId | undefined {
    return this.spec.id;
  }

  private extra(): ChildExtra {
    return (this.x ??= new ChildExtra(this.spec.meta));
  }

  get meta(): unknown {
    return this.x === null ? this.spec.meta : this.x.meta;
  }

  set meta(m: unknown) {
    if (this.x !== null || m !== this.spec.meta) this.extra().meta = m;
  }

  get timer(): TimerEntry | null {
    return this.x === null ? null : this.x.timer;
  }

  set timer(t: TimerEntry | null) {
    if (this.x !== null || t !== null) this.extra().timer = t;
  }

  get deps(): ChildRecord[] | null {
    return this.x === null ? null : this.x.deps;
  }

  set deps(d: ChildRecord[] | null) {
    if (this.x !== null || d !== null) this.extra().deps = d;
  }

  get boundTo(): ChildRecord[] | null {
    return this.x === null ? null : this.x.boundTo;
  }

  set boundTo(d: ChildRecord[] | null) {
    if (this.x !== null || d !== null) this.extra().boundTo = d;
  }

  get dependents(): Set<ChildRecord> | null {
    return this.x === null ? null : this.x.dependents;
  }

  /** The set of siblings bound to this child, created on first use. */
  dependentSet(): Set<ChildRecord> {
    return (this.extra().dependents ??= new Set());
  }

  get restarting(): boolean {
    return this.x?.restarting === true;
  }

  set restarting(v: boolean) {
    if (this.x !== null || v) this.extra().restarting = v;
  }

  /** Records a restart of this child in its own window; false when its limit is exceeded. */
  recordRestart(now: number): boolean {
    if (this.spec.maxRestarts === Number.POSITIVE_INFINITY) return true;
    const x = this.extra();
    x.window ??= new RestartIntensity(this.spec.maxRestarts, this.spec.maxSeconds);
    return x.window.record(now);
  }
}

/**
 * A child that stopped and was removed from its parent (or reported through
 * `handleStoppedChildren`). Pass the map back to `returnChildren` to restore it.
 * @category models
 */
export class StoppedChild {
  constructor(
    readonly id: ParentChildId | undefined,
    /** The pid it had when it stopped (undefined if it was not running). */
    readonly pid: Pid | undefined,
    readonly meta: unknown,
    /** Why it stopped: its own exit reason, `shutdown` for siblings stopped with it. */
    readonly exitReason: unknown,
    readonly spec: NormalizedParentChildSpec,
    /** @internal */ readonly record: ChildRecord,
    /** Returning it counts as a restart (it crashed, it was not shut down on request). @internal */
    readonly recordRestart: boolean,
  ) {}
}

/** Stopped children keyed by id (by pid for anonymous children), in startup order. */
export type StoppedChildren = Map<ParentChildId | Pid | symbol, StoppedChild>;

/** Adds a record to a stopped-children map under its id (or pid, or a fresh symbol). */
export function addStopped(
  into: StoppedChildren,
  r: ChildRecord,
  pid: Pid | undefined,
  exitReason: unknown,
  recordRestart: boolean,
): void {
  const key = r.spec.id ?? pid ?? Symbol("anonymous child");
  into.set(key, new StoppedChild(r.spec.id, pid, r.meta, exitReason, r.spec, r, recordRestart));
}
