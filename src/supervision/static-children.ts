/**
 * `StaticChildren`: a `Supervisor`'s children, by id in one insertion-ordered `Map` (its order is
 * start order: a restart keeps the key, so the position) plus a `PidMap` of the running ones by
 * pid, so exits, lookups and one_for_one restarts never scan; and the listings read from them
 * (`whichChildren`, `countChildren`). A child whose restart failed stays, `restarting`, without a
 * pid. Imports `process`, its own `child-spec`, `results`.
 */
import type { Pid } from "../process/pid.js";
import { PidMap } from "../process/pid-map.js";
import type { ChildId, NormalizedChildSpec } from "./child-spec.js";
import type { ChildCounts, ChildInfo } from "./results.js";

/** One child of a Supervisor: its spec, and its pid while it runs. */
export class StaticChild {
  pid: Pid | undefined = undefined;
  restarting = false;
  constructor(
    readonly id: ChildId,
    readonly spec: NormalizedChildSpec,
  ) {}
}

/** A child in `byPid` is running: it has a pid. */
const runningPid = (c: StaticChild): Pid => c.pid!;

export class StaticChildren {
  private readonly byId = new Map<ChildId, StaticChild>();
  private readonly byPid: PidMap<StaticChild>;

  constructor(node: string, creation: number) {
    this.byPid = new PidMap<StaticChild>(node, creation, runningPid);
  }

  get size(): number {
    return this.byId.size;
  }

  get(id: unknown): StaticChild | undefined {
    return this.byId.get(id);
  }

  has(id: ChildId): boolean {
    return this.byId.has(id);
  }

  /** Adds a child last (youngest); it keeps that position for good. */
  add(c: StaticChild): void {
    this.byId.set(c.id, c);
  }

  /** Forgets the child with this id (its spec too). */
  delete(id: unknown): void {
    this.byId.delete(id);
  }

  /** Every child, in start order. */
  list(): StaticChild[] {
    return [...this.byId.values()];
  }

  /** The running child of `pid`. */
  running(pid: Pid): StaticChild | undefined {
    return this.byPid.get(pid);
  }

  /** `c` runs as `pid` (no longer restarting). */
  setPid(c: StaticChild, pid: Pid): void {
    c.pid = pid;
    c.restarting = false;
    this.byPid.set(pid, c);
  }

  /** `c` no longer runs; its pid, if it had one. */
  clearPid(c: StaticChild): Pid | undefined {
    const pid = c.pid;
    if (pid === undefined) return undefined;
    this.byPid.delete(pid);
    c.pid = undefined;
    return pid;
  }

  /** Whether a significant child still runs (auto-shutdown `all_significant`). */
  anySignificantRunning(): boolean {
    for (const c of this.byId.values()) if (c.spec.significant && c.pid !== undefined) return true;
    return false;
  }

  /** One entry per kept spec, newest first. */
  whichChildren(): ChildInfo[] {
    const out: ChildInfo[] = [];
    for (const c of this.byId.values()) {
      out.push({
        id: c.id,
        pid: c.restarting ? "restarting" : c.pid,
        type: c.spec.type,
        modules: c.spec.modules,
      });
    }
    return out.reverse();
  }

  countChildren(): ChildCounts {
    let active = 0;
    let supervisors = 0;
    for (const c of this.byId.values()) {
      if (c.pid !== undefined) active++;
      if (c.spec.type === "supervisor") supervisors++;
    }
    return { specs: this.byId.size, active, supervisors, workers: this.byId.size - supervisors };
  }
}
