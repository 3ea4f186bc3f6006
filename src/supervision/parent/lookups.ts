/**
 * Read-only queries over a parent's children, and their result types. The parent answers them
 * from its table; with the registry on, clients run the very same functions on the shared table
 * without a call, so both paths give identical results. Imports `process`, its own
 * `children-table`, `child-spec`.
 */
import { Pid } from "../../process/pid.js";
import type { ChildCounts, ChildInfo as WhichChild } from "../results.js";
import type { ChildRef, NormalizedParentChildSpec, ParentChildId } from "./child-spec.js";
import type { ChildrenTable } from "./children-table.js";

/** A lookup of an unknown child. */
export interface NotFound {
  ok: false;
  error: "not_found";
}
export const NOT_FOUND: NotFound = Object.freeze({ ok: false, error: "not_found" }) as NotFound;

/** One entry of `children()`. */
export interface ParentChildInfo {
  id: ParentChildId | undefined;
  /** Undefined while the child is not running. */
  pid: Pid | undefined;
  meta: unknown;
}

export type { ChildCounts, WhichChild };

/** Result of `childPid`. */
export type ChildPidResult = { ok: true; pid: Pid | undefined } | NotFound;
/** Result of `childId`. */
export type ChildIdResult = { ok: true; id: ParentChildId | undefined } | NotFound;
/** Result of `childMeta`. */
export type ChildMetaResult = { ok: true; meta: unknown } | NotFound;
/** Result of `getChildSpec`. */
export type ChildSpecResult = { ok: true; spec: NormalizedParentChildSpec } | NotFound;

export function children(t: ChildrenTable): ParentChildInfo[] {
  const out: ParentChildInfo[] = [];
  for (const r of t.list()) out.push({ id: r.spec.id, pid: r.pid, meta: r.meta });
  return out;
}

export function childPid(t: ChildrenTable, ref: ChildRef): ChildPidResult {
  const r = t.find(ref);
  return r === undefined ? NOT_FOUND : { ok: true, pid: r.pid };
}

export function childId(t: ChildrenTable, pid: Pid): ChildIdResult {
  const r = pid instanceof Pid ? t.findByPid(pid) : undefined;
  return r === undefined ? NOT_FOUND : { ok: true, id: r.spec.id };
}

export function childMeta(t: ChildrenTable, ref: ChildRef): ChildMetaResult {
  const r = t.find(ref);
  return r === undefined ? NOT_FOUND : { ok: true, meta: r.meta };
}

export function whichChildren(t: ChildrenTable): WhichChild[] {
  const out: WhichChild[] = [];
  for (const r of t.list()) {
    out.push({
      id: r.spec.id,
      pid: r.restarting ? "restarting" : r.pid,
      type: r.spec.type,
      modules: r.spec.modules,
    });
  }
  return out;
}

export function countChildren(t: ChildrenTable): ChildCounts {
  let active = 0;
  let supervisors = 0;
  t.each((r) => {
    if (r.pid !== undefined) active++;
    if (r.spec.type === "supervisor") supervisors++;
  });
  return { specs: t.size, active, supervisors, workers: t.size - supervisors };
}

export function getChildSpec(t: ChildrenTable, ref: ChildRef): ChildSpecResult {
  const r = t.find(ref);
  return r === undefined ? NOT_FOUND : { ok: true, spec: r.spec };
}
