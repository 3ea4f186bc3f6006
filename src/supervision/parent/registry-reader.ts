/**
 * `ParentRegistry`: synchronous reads of a local parent's published children table (a parent
 * started with `registry: true`). They never message the parent and return exactly what the
 * corresponding `ParentClient` query returns; `ParentClient` uses them itself whenever the table
 * is published. A parent that is dead, remote, or without the registry makes them throw
 * `NoParentRegistryError` (use `ParentClient` then). Imports `process`, `server`, its own
 * `lookups`, `parent-registry`, `errors`.
 */
import { currentNodeOrDefault, type Node } from "../../process/node.js";
import { Pid } from "../../process/pid.js";
import { isViaName, type ServerDest } from "../../server/protocol.js";
import type { ChildRef } from "./child-spec.js";
import type { ChildrenTable } from "./children-table.js";
import { NoParentRegistryError } from "./errors.js";
import * as lookups from "./lookups.js";
import { publishedTable } from "./parent-registry.js";

/** A local parent pid for `dest`, if it resolves on this node. */
export function localPid(node: Node, dest: ServerDest<any>): Pid | undefined {
  if (dest instanceof Pid) return node.isLocal(dest) ? dest : undefined;
  if (isViaName(dest)) return dest.via.whereisName(dest.key);
  return node.resolve(dest);
}

/** The published table of `dest` (a name resolved on `node`, by default the current one), or undefined. */
export function tableOf(dest: ServerDest<any>, node?: Node): ChildrenTable | undefined {
  if (dest instanceof Pid) return publishedTable(dest);
  const pid = localPid(node ?? currentNodeOrDefault(), dest);
  return pid === undefined ? undefined : publishedTable(pid);
}

function table(dest: ServerDest<any>): ChildrenTable {
  const t = tableOf(dest);
  if (t === undefined) throw new NoParentRegistryError(dest);
  return t;
}

/**
 * Synchronous registry reads (parents started with `registry: true`, on this node).
 * @category supervision
 */
export const ParentRegistry = {
  /** True when `parent` publishes a table these functions can read. */
  has(parent: ServerDest<any>): boolean {
    return tableOf(parent) !== undefined;
  },
  children: (parent: ServerDest<any>): lookups.ParentChildInfo[] => lookups.children(table(parent)),
  childPid: (parent: ServerDest<any>, ref: ChildRef): lookups.ChildPidResult =>
    lookups.childPid(table(parent), ref),
  childId: (parent: ServerDest<any>, pid: Pid): lookups.ChildIdResult => lookups.childId(table(parent), pid),
  childMeta: (parent: ServerDest<any>, ref: ChildRef): lookups.ChildMetaResult =>
    lookups.childMeta(table(parent), ref),
  whichChildren: (parent: ServerDest<any>): lookups.WhichChild[] => lookups.whichChildren(table(parent)),
  countChildren: (parent: ServerDest<any>): lookups.ChildCounts => lookups.countChildren(table(parent)),
  getChildSpec: (parent: ServerDest<any>, ref: ChildRef): lookups.ChildSpecResult =>
    lookups.getChildSpec(table(parent), ref),
} as const;
