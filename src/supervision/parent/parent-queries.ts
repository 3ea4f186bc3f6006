/**
 * `ParentQueries`: the read side of a parent (children, pids, ids, meta, Supervisor-shaped
 * listings) and `updateChildMeta`, over its children table. `ParentState` extends it. Imports
 * `process`, its own `lookups`, `children-table`, `child-spec`.
 */
import type { Pid } from "../../process/pid.js";
import type { ChildRef } from "./child-spec.js";
import type { ChildrenTable } from "./children-table.js";
import * as lookups from "./lookups.js";

/** `{ ok: true }`, or the child was not found. */
export type OkOrNotFound = { ok: true } | lookups.NotFound;

export class ParentQueries {
  constructor(
    /** The children; with the registry on, clients read it directly. @internal */
    readonly table: ChildrenTable,
  ) {}

  /** Children in startup order, including those not running (pid undefined). */
  children(): lookups.ParentChildInfo[] {
    return lookups.children(this.table);
  }
  childPid(ref: ChildRef): lookups.ChildPidResult {
    return lookups.childPid(this.table, ref);
  }
  childId(pid: Pid): lookups.ChildIdResult {
    return lookups.childId(this.table, pid);
  }
  childMeta(ref: ChildRef): lookups.ChildMetaResult {
    return lookups.childMeta(this.table, ref);
  }
  /** Replaces a child's meta with `fn(meta)` (until its next restart). */
  updateChildMeta(ref: ChildRef, fn: (meta: unknown) => unknown): OkOrNotFound {
    const r = this.table.find(ref);
    if (r === undefined) return lookups.NOT_FOUND;
    r.meta = fn(r.meta);
    return { ok: true };
  }
  whichChildren(): lookups.WhichChild[] {
    return lookups.whichChildren(this.table);
  }
  countChildren(): lookups.ChildCounts {
    return lookups.countChildren(this.table);
  }
  getChildSpec(ref: ChildRef): lookups.ChildSpecResult {
    return lookups.getChildSpec(this.table, ref);
  }
  /** Number of children (running or not). */
  get size(): number {
    return this.table.size;
  }
}
