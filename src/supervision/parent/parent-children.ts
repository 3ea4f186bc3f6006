/**
 * `ParentChildren`: a parent's children while they run and as they stop — the part of
 * `ParentState` that owns a running child's link and lifetime timer (`activate`, `deactivate`)
 * and stops children per their shutdown, in reverse startup order (`stopRecords`, a closure by
 * `shutdownChild`, everything by `shutdownAll` / `stopAll`), removing and returning them. What
 * starts and restarts them, and reacts to their exits, is `ParentState`, which extends this.
 * Imports `process`, the supervisors' `child-stop`, and its own `child-record`, `child-spec`,
 * `children-table`, `lookups`, `messages`, `parent-queries`.
 */
import type { Node } from "../../process/node.js";
import type { Pid } from "../../process/pid.js";
import { isThenable } from "../../process/thenable.js";
import { stopChild } from "../child-stop.js";
import { addStopped, type ChildRecord, type StoppedChildren } from "./child-record.js";
import type { ChildRef } from "./child-spec.js";
import type { ChildrenTable } from "./children-table.js";
import * as lookups from "./lookups.js";
import { ChildTimeoutMessage } from "./messages.js";
import { ParentQueries } from "./parent-queries.js";

/** Result of `shutdownChild`: the stopped children, or not found. */
export type ShutdownChildResult = { ok: true; stopped: StoppedChildren } | lookups.NotFound;

/** How a child stopped: the pid it had (if it ran) and its exit reason. */
export interface Exit {
  pid: Pid | undefined;
  reason: unknown;
}

/** The running and stopping side of a parent's children. */
export class ParentChildren extends ParentQueries {
  constructor(
    readonly node: Node,
    /** The parent process. */
    readonly pid: Pid,
    table: ChildrenTable,
  ) {
    super(table);
  }

  /** `r` runs as `pid`: linked to the parent, its lifetime timer (if any) started. */
  protected activate(r: ChildRecord, pid: Pid): void {
    this.table.setPid(r, pid);
    this.node.link(pid, this.pid);
    const t = r.spec.timeoutMs;
    if (t !== Number.POSITIVE_INFINITY) {
      r.timer = this.node.wheel.add(t, () => this.node.send(this.pid, new ChildTimeoutMessage(this, pid)));
    }
  }

  /** `r` no longer runs: its timer cancelled, its pid cleared. */
  protected deactivate(r: ChildRecord): void {
    if (r.timer !== null) {
      this.node.wheel.cancel(r.timer);
      r.timer = null;
    }
    this.table.setPid(r, undefined);
  }

  /** Stops the running ones among `records` (startup order) in reverse order; fills `into`. */
  protected async stopRecords(
    records: ChildRecord[],
    into: Map<ChildRecord, Exit>,
    reason: unknown = "shutdown",
  ) {
    for (let i = records.length - 1; i >= 0; i--) {
      const r = records[i]!;
      const pid = r.pid;
      if (pid === undefined) {
        if (!into.has(r)) into.set(r, { pid: undefined, reason: undefined });
        continue;
      }
      this.deactivate(r);
      let x = stopChild(this.node, this.pid, pid, r.spec.shutdown, reason, true);
      if (isThenable(x)) x = await x;
      into.set(r, { pid, reason: x });
    }
  }

  /** Stops a child and its closure, removes them, and returns them (no restart, no report). */
  async shutdownChild(ref: ChildRef): Promise<ShutdownChildResult> {
    const r = this.table.find(ref);
    if (r === undefined) return lookups.NOT_FOUND;
    const closure = this.table.closure(r);
    return { ok: true, stopped: await this.stopAndRemove(closure, "shutdown") };
  }

  /** Stops every child in reverse startup order, bindings aside; removes and returns them. */
  shutdownAll(reason: unknown = "shutdown"): Promise<StoppedChildren> {
    return this.stopAndRemove(this.table.list(), reason);
  }

  /**
   * `shutdownAll` for a parent that is going away (terminating, failed init, too many restarts):
   * nobody takes the stopped children back, so no record of them is built — with many children
   * that record was most of the work and garbage of a parent's termination.
   */
  async stopAll(reason: unknown = "shutdown"): Promise<void> {
    const records = this.table.list();
    for (let i = records.length - 1; i >= 0; i--) {
      const r = records[i]!;
      const pid = r.pid;
      if (pid === undefined) continue;
      this.deactivate(r);
      const x = stopChild(this.node, this.pid, pid, r.spec.shutdown, reason, true);
      if (isThenable(x)) await x;
    }
    for (const r of records) {
      this.table.remove(r);
      r.restarting = false;
    }
  }

  protected async stopAndRemove(records: ChildRecord[], reason: unknown): Promise<StoppedChildren> {
    const exits = new Map<ChildRecord, Exit>();
    await this.stopRecords(records, exits, reason);
    const stopped: StoppedChildren = new Map();
    for (const c of records) {
      this.table.remove(c);
      c.restarting = false;
      const e = exits.get(c);
      addStopped(stopped, c, e?.pid, e?.reason, false);
    }
    return stopped;
  }
}
