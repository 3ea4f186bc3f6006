/**
 * `ParentClient`: the parent API for other processes, by calls into a parent server
 * (`ParentGenServer`, `ParentSupervisor`). Mutating calls wait without a timeout by default (a
 * start or a shutdown takes as long as the children take); queries use 5000 ms. For a local
 * parent started with `registry: true`, the queries read the parent's shared table directly, with
 * the same results and no message to the parent. `via(parent, id)` names a child for `GenServer`
 * calls. The calls go through the supervisors' own wrapper (`../supervisor-client.ts`). Imports
 * `process`, `server`, `supervision`'s client, and its own files.
 */
import { currentNodeOrDefault, type Node } from "../../process/node.js";
import { Pid } from "../../process/pid.js";
import type { ServerDest, ViaName } from "../../server/protocol.js";
import { supervisorCall } from "../supervisor-client.js";
import type { StoppedChildren } from "./child-record.js";
import type { ChildRef, ParentChildSpec } from "./child-spec.js";
import type { ChildrenTable } from "./children-table.js";
import { ParentViaRegisterError } from "./errors.js";
import * as lookups from "./lookups.js";
import { PARENT_CALL } from "./parent-gen-server.js";
import { parentOf } from "./parent-registry.js";
import { localPid, tableOf } from "./registry-reader.js";
import type { OkOrNotFound, ParentStartResult, ShutdownChildResult } from "./parent-state.js";

/** A parent server: its pid, a local name, a name on a node, or a via-name. */
export type ParentDest = ServerDest<any>;

const QUERY_TIMEOUT = 5000;
const FOREVER = Number.POSITIVE_INFINITY;

/**
 * The node a call goes through: `node` when given (an `…On` form); else, for a pid of a parent
 * running in this program, the parent's own node, so that a program with several nodes needs no
 * `setDefaultNode` (the same lookup the registry read makes, a parent server not being a tracked
 * supervisor); else the current node.
 */
function through(node: Node | undefined, parent: ParentDest): Node {
  if (node !== undefined) return node;
  if (parent instanceof Pid) {
    const state = parentOf(parent);
    if (state !== undefined) return state.node;
  }
  return currentNodeOrDefault();
}

/** A call into a parent server: the supervisors' call. */
function ask<T>(
  node: Node | undefined,
  dest: ParentDest,
  name: string,
  arg: unknown,
  timeoutMs: number,
): Promise<T> {
  return supervisorCall(dest, name, arg, timeoutMs, through(node, dest));
}

/** A query: from the shared table when published, else a call. */
function query<T>(
  node: Node | undefined,
  dest: ParentDest,
  read: (t: ChildrenTable) => T,
  name: string,
  arg: unknown,
  timeoutMs: number,
) {
  const t = tableOf(dest, node);
  return t !== undefined ? Promise.resolve(read(t)) : ask<T>(node, dest, name, arg, timeoutMs);
}

function startChildOn(
  node: Node | undefined,
  parent: ParentDest,
  spec: ParentChildSpec,
  timeoutMs = FOREVER,
): Promise<ParentStartResult> {
  return ask(node, parent, PARENT_CALL.startChild, spec, timeoutMs);
}
function shutdownChildOn(
  node: Node | undefined,
  parent: ParentDest,
  ref: ChildRef,
  timeoutMs = FOREVER,
): Promise<ShutdownChildResult> {
  return ask(node, parent, PARENT_CALL.shutdownChild, ref, timeoutMs);
}
function restartChildOn(
  node: Node | undefined,
  parent: ParentDest,
  ref: ChildRef,
  timeoutMs = FOREVER,
): Promise<OkOrNotFound> {
  return ask(node, parent, PARENT_CALL.restartChild, ref, timeoutMs);
}
function returnChildrenOn(
  node: Node | undefined,
  parent: ParentDest,
  stopped: StoppedChildren,
  timeoutMs = FOREVER,
): Promise<void> {
  return ask(node, parent, PARENT_CALL.returnChildren, stopped, timeoutMs);
}
function shutdownAllOn(
  node: Node | undefined,
  parent: ParentDest,
  timeoutMs = FOREVER,
): Promise<StoppedChildren> {
  return ask(node, parent, PARENT_CALL.shutdownAll, undefined, timeoutMs);
}
function childrenOn(
  node: Node | undefined,
  parent: ParentDest,
  timeoutMs = QUERY_TIMEOUT,
): Promise<lookups.ParentChildInfo[]> {
  return query(node, parent, lookups.children, PARENT_CALL.children, undefined, timeoutMs);
}
function childPidOn(
  node: Node | undefined,
  parent: ParentDest,
  ref: ChildRef,
  timeoutMs = QUERY_TIMEOUT,
): Promise<lookups.ChildPidResult> {
  // No closure per lookup: this is the hot query (a child's pid before each call to it).
  const t = tableOf(parent, node);
  if (t !== undefined) return Promise.resolve(lookups.childPid(t, ref));
  return ask(node, parent, PARENT_CALL.childPid, ref, timeoutMs);
}
function childIdOn(
  node: Node | undefined,
  parent: ParentDest,
  pid: Pid,
  timeoutMs = QUERY_TIMEOUT,
): Promise<lookups.ChildIdResult> {
  return query(node, parent, (t) => lookups.childId(t, pid), PARENT_CALL.childId, pid, timeoutMs);
}
function childMetaOn(
  node: Node | undefined,
  parent: ParentDest,
  ref: ChildRef,
  timeoutMs = QUERY_TIMEOUT,
): Promise<lookups.ChildMetaResult> {
  return query(node, parent, (t) => lookups.childMeta(t, ref), PARENT_CALL.childMeta, ref, timeoutMs);
}
function updateChildMetaOn(
  node: Node | undefined,
  parent: ParentDest,
  ref: ChildRef,
  fn: (meta: unknown) => unknown,
  timeoutMs = QUERY_TIMEOUT,
): Promise<OkOrNotFound> {
  return ask(node, parent, PARENT_CALL.updateChildMeta, { ref, fn }, timeoutMs);
}
function whichChildrenOn(
  node: Node | undefined,
  parent: ParentDest,
  timeoutMs = QUERY_TIMEOUT,
): Promise<lookups.WhichChild[]> {
  return query(node, parent, lookups.whichChildren, PARENT_CALL.whichChildren, undefined, timeoutMs);
}
function countChildrenOn(
  node: Node | undefined,
  parent: ParentDest,
  timeoutMs = QUERY_TIMEOUT,
): Promise<lookups.ChildCounts> {
  return query(node, parent, lookups.countChildren, PARENT_CALL.countChildren, undefined, timeoutMs);
}
function getChildSpecOn(
  node: Node | undefined,
  parent: ParentDest,
  ref: ChildRef,
  timeoutMs = QUERY_TIMEOUT,
): Promise<lookups.ChildSpecResult> {
  return query(node, parent, (t) => lookups.getChildSpec(t, ref), PARENT_CALL.getChildSpec, ref, timeoutMs);
}
function viaOn(node: Node | undefined, parent: ParentDest, id: ChildRef): ViaName {
  return {
    key: id,
    via: {
      whereisName: (key) => {
        const pid = parent instanceof Pid ? parent : localPid(node ?? currentNodeOrDefault(), parent);
        const state = pid === undefined ? undefined : parentOf(pid);
        const r = state?.childPid(key as ChildRef);
        return r?.ok ? r.pid : undefined;
      },
      registerName: () => {
        throw new ParentViaRegisterError();
      },
      unregisterName: () => {},
    },
  };
}

/**
 * The parent API for other processes. Each function has an `…On` form taking first the `Node`
 * to act through (as `GenServer.callOn`): for a parent named by a name that is registered on a
 * node other than the current one. A parent named by its pid needs none: a parent of this
 * program is reached through its own node, whichever node is current.
 * @category supervision
 */
export const ParentClient = {
  /**
   * Starts a child under the parent (validated there): `{ ok: true, pid }`, `{ ok: false, ignore:
   * true }` (kept with an undefined pid unless ephemeral) or `{ ok: false, error }`.
   */
  startChild: (parent: ParentDest, spec: ParentChildSpec, timeoutMs = FOREVER): Promise<ParentStartResult> =>
    startChildOn(undefined, parent, spec, timeoutMs),
  startChildOn: (node: Node, parent: ParentDest, spec: ParentChildSpec, timeoutMs = FOREVER) =>
    startChildOn(node, parent, spec, timeoutMs),
  /** Stops a child and its closure, removes them, and returns them. */
  shutdownChild: (parent: ParentDest, ref: ChildRef, timeoutMs = FOREVER): Promise<ShutdownChildResult> =>
    shutdownChildOn(undefined, parent, ref, timeoutMs),
  shutdownChildOn: (node: Node, parent: ParentDest, ref: ChildRef, timeoutMs = FOREVER) =>
    shutdownChildOn(node, parent, ref, timeoutMs),
  /** Restarts a child and its closure (not counted toward the restart intensity). */
  restartChild: (parent: ParentDest, ref: ChildRef, timeoutMs = FOREVER): Promise<OkOrNotFound> =>
    restartChildOn(undefined, parent, ref, timeoutMs),
  restartChildOn: (node: Node, parent: ParentDest, ref: ChildRef, timeoutMs = FOREVER) =>
    restartChildOn(node, parent, ref, timeoutMs),
  /** Puts stopped children back at their places and starts them; idempotent. */
  returnChildren: (parent: ParentDest, stopped: StoppedChildren, timeoutMs = FOREVER): Promise<void> =>
    returnChildrenOn(undefined, parent, stopped, timeoutMs),
  returnChildrenOn: (node: Node, parent: ParentDest, stopped: StoppedChildren, timeoutMs = FOREVER) =>
    returnChildrenOn(node, parent, stopped, timeoutMs),
  /** Stops every child (reverse startup order) and returns them. */
  shutdownAll: (parent: ParentDest, timeoutMs = FOREVER): Promise<StoppedChildren> =>
    shutdownAllOn(undefined, parent, timeoutMs),
  shutdownAllOn: (node: Node, parent: ParentDest, timeoutMs = FOREVER) =>
    shutdownAllOn(node, parent, timeoutMs),
  /** Children in startup order, including those not running. */
  children: (parent: ParentDest, timeoutMs = QUERY_TIMEOUT): Promise<lookups.ParentChildInfo[]> =>
    childrenOn(undefined, parent, timeoutMs),
  childrenOn: (node: Node, parent: ParentDest, timeoutMs = QUERY_TIMEOUT) =>
    childrenOn(node, parent, timeoutMs),
  childPid: (parent: ParentDest, ref: ChildRef, timeoutMs = QUERY_TIMEOUT): Promise<lookups.ChildPidResult> =>
    childPidOn(undefined, parent, ref, timeoutMs),
  childPidOn: (node: Node, parent: ParentDest, ref: ChildRef, timeoutMs = QUERY_TIMEOUT) =>
    childPidOn(node, parent, ref, timeoutMs),
  childId: (parent: ParentDest, pid: Pid, timeoutMs = QUERY_TIMEOUT): Promise<lookups.ChildIdResult> =>
    childIdOn(undefined, parent, pid, timeoutMs),
  childIdOn: (node: Node, parent: ParentDest, pid: Pid, timeoutMs = QUERY_TIMEOUT) =>
    childIdOn(node, parent, pid, timeoutMs),
  childMeta: (
    parent: ParentDest,
    ref: ChildRef,
    timeoutMs = QUERY_TIMEOUT,
  ): Promise<lookups.ChildMetaResult> => childMetaOn(undefined, parent, ref, timeoutMs),
  childMetaOn: (node: Node, parent: ParentDest, ref: ChildRef, timeoutMs = QUERY_TIMEOUT) =>
    childMetaOn(node, parent, ref, timeoutMs),
  /** Replaces a child's meta with `fn(meta)`, in the parent. */
  updateChildMeta: (
    parent: ParentDest,
    ref: ChildRef,
    fn: (meta: unknown) => unknown,
    timeoutMs = QUERY_TIMEOUT,
  ): Promise<OkOrNotFound> => updateChildMetaOn(undefined, parent, ref, fn, timeoutMs),
  updateChildMetaOn: (
    node: Node,
    parent: ParentDest,
    ref: ChildRef,
    fn: (meta: unknown) => unknown,
    timeoutMs = QUERY_TIMEOUT,
  ) => updateChildMetaOn(node, parent, ref, fn, timeoutMs),
  /** Supervisor-compatible `whichChildren` (`id` undefined for anonymous children). */
  whichChildren: (parent: ParentDest, timeoutMs = QUERY_TIMEOUT): Promise<lookups.WhichChild[]> =>
    whichChildrenOn(undefined, parent, timeoutMs),
  whichChildrenOn: (node: Node, parent: ParentDest, timeoutMs = QUERY_TIMEOUT) =>
    whichChildrenOn(node, parent, timeoutMs),
  countChildren: (parent: ParentDest, timeoutMs = QUERY_TIMEOUT): Promise<lookups.ChildCounts> =>
    countChildrenOn(undefined, parent, timeoutMs),
  countChildrenOn: (node: Node, parent: ParentDest, timeoutMs = QUERY_TIMEOUT) =>
    countChildrenOn(node, parent, timeoutMs),
  getChildSpec: (
    parent: ParentDest,
    ref: ChildRef,
    timeoutMs = QUERY_TIMEOUT,
  ): Promise<lookups.ChildSpecResult> => getChildSpecOn(undefined, parent, ref, timeoutMs),
  getChildSpecOn: (node: Node, parent: ParentDest, ref: ChildRef, timeoutMs = QUERY_TIMEOUT) =>
    getChildSpecOn(node, parent, ref, timeoutMs),
  /**
   * A via-name for the child `id` of a parent of this program: `GenServer.call(ParentClient.via(sup,
   * "db"), …)`. Resolves through the parent's table (no call), so the parent must run in this
   * program; a parent named by a name is looked up on the current node (`viaOn`: on `node`).
   */
  via: (parent: ParentDest, id: ChildRef): ViaName => viaOn(undefined, parent, id),
  viaOn: (node: Node, parent: ParentDest, id: ChildRef): ViaName => viaOn(node, parent, id),
} as const;
