/**
 * `ParentClient`: the parent API for other processes, by calls into a parent server
 * (`ParentGenServer`, `ParentSupervisor`). Mutating calls wait without a timeout by default (a
 * start or a shutdown takes as long as the children take); queries use 5000 ms. For a local
 * parent started with `registry: true`, the queries read the parent's shared table directly, with
 * the same results and no message to the parent. `via(parent, id)` names a child for `GenServer`
 * calls. The calls go through the supervisors' own wrapper (`../supervisor-client.ts`). Imports
 * `process`, `server`, `supervision`'s client, and its own files.
 */
import { currentNodeOrDefault } from "../../process/node.js";
import type { Pid } from "../../process/pid.js";
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

/** A call into a parent server: the supervisors' call, through the current node (parents are not tracked supervisors). */
function ask<T>(dest: ParentDest, name: string, arg: unknown, timeoutMs: number): Promise<T> {
  return supervisorCall(dest, name, arg, timeoutMs, currentNodeOrDefault());
}

/** A query: from the shared table when published, else a call. */
function query<T>(
  dest: ParentDest,
  read: (t: ChildrenTable) => T,
  name: string,
  arg: unknown,
  timeoutMs: number,
) {
  const t = tableOf(dest);
  return t !== undefined ? Promise.resolve(read(t)) : ask<T>(dest, name, arg, timeoutMs);
}

/**
 * The parent API for other processes.
 * @category supervision
 */
export const ParentClient = {
  /**
   * Starts a child under the parent (validated there): `{ ok: true, pid }`, `{ ok: false, ignore:
   * true }` (kept with an undefined pid unless ephemeral) or `{ ok: false, error }`.
   */
  startChild(parent: ParentDest, spec: ParentChildSpec, timeoutMs = FOREVER): Promise<ParentStartResult> {
    return ask(parent, PARENT_CALL.startChild, spec, timeoutMs);
  },
  /** Stops a child and its closure, removes them, and returns them. */
  shutdownChild(parent: ParentDest, ref: ChildRef, timeoutMs = FOREVER): Promise<ShutdownChildResult> {
    return ask(parent, PARENT_CALL.shutdownChild, ref, timeoutMs);
  },
  /** Restarts a child and its closure (not counted toward the restart intensity). */
  restartChild(parent: ParentDest, ref: ChildRef, timeoutMs = FOREVER): Promise<OkOrNotFound> {
    return ask(parent, PARENT_CALL.restartChild, ref, timeoutMs);
  },
  /** Puts stopped children back at their places and starts them; idempotent. */
  returnChildren(parent: ParentDest, stopped: StoppedChildren, timeoutMs = FOREVER): Promise<void> {
    return ask(parent, PARENT_CALL.returnChildren, stopped, timeoutMs);
  },
  /** Stops every child (reverse startup order) and returns them. */
  shutdownAll(parent: ParentDest, timeoutMs = FOREVER): Promise<StoppedChildren> {
    return ask(parent, PARENT_CALL.shutdownAll, undefined, timeoutMs);
  },
  /** Children in startup order, including those not running. */
  children(parent: ParentDest, timeoutMs = QUERY_TIMEOUT): Promise<lookups.ParentChildInfo[]> {
    return query(parent, lookups.children, PARENT_CALL.children, undefined, timeoutMs);
  },
  childPid(parent: ParentDest, ref: ChildRef, timeoutMs = QUERY_TIMEOUT): Promise<lookups.ChildPidResult> {
    const t = tableOf(parent);
    if (t !== undefined) return Promise.resolve(lookups.childPid(t, ref));
    return ask(parent, PARENT_CALL.childPid, ref, timeoutMs);
  },
  childId(parent: ParentDest, pid: Pid, timeoutMs = QUERY_TIMEOUT): Promise<lookups.ChildIdResult> {
    return query(parent, (t) => lookups.childId(t, pid), PARENT_CALL.childId, pid, timeoutMs);
  },
  childMeta(parent: ParentDest, ref: ChildRef, timeoutMs = QUERY_TIMEOUT): Promise<lookups.ChildMetaResult> {
    return query(parent, (t) => lookups.childMeta(t, ref), PARENT_CALL.childMeta, ref, timeoutMs);
  },
  /** Replaces a child's meta with `fn(meta)`, in the parent. */
  updateChildMeta(
    parent: ParentDest,
    ref: ChildRef,
    fn: (meta: unknown) => unknown,
    timeoutMs = QUERY_TIMEOUT,
  ): Promise<OkOrNotFound> {
    return ask(parent, PARENT_CALL.updateChildMeta, { ref, fn }, timeoutMs);
  },
  /** Supervisor-compatible `whichChildren` (`id` undefined for anonymous children). */
  whichChildren(parent: ParentDest, timeoutMs = QUERY_TIMEOUT): Promise<lookups.WhichChild[]> {
    return query(parent, lookups.whichChildren, PARENT_CALL.whichChildren, undefined, timeoutMs);
  },
  countChildren(parent: ParentDest, timeoutMs = QUERY_TIMEOUT): Promise<lookups.ChildCounts> {
    return query(parent, lookups.countChildren, PARENT_CALL.countChildren, undefined, timeoutMs);
  },
  getChildSpec(
    parent: ParentDest,
    ref: ChildRef,
    timeoutMs = QUERY_TIMEOUT,
  ): Promise<lookups.ChildSpecResult> {
    return query(parent, (t) => lookups.getChildSpec(t, ref), PARENT_CALL.getChildSpec, ref, timeoutMs);
  },
  /**
   * A via-name for the child `id` of a local parent: `GenServer.call(ParentClient.via(sup, "db"), …)`.
   * Resolves through the parent's table (no call), so the parent must live on this node.
   */
  via(parent: ParentDest, id: ChildRef): ViaName {
    return {
      key: id,
      via: {
        whereisName: (key) => {
          const node = currentNodeOrDefault();
          const pid = localPid(node, parent);
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
  },
} as const;
