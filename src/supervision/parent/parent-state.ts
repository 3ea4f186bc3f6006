/**
 * `ParentState`: the parent plumbing any process can embed. It starts children, stops them with
 * their closure (reverse startup order), restarts closures in startup order (one restart per
 * event, counted parent-wide and per child), retries failed restarts, removes ephemeral children,
 * reports children stopped for good, and gives up with `too_many_restarts`. The host process
 * must trap exits (`initialize` sets it) and feed every message to `handleMessage`; operations
 * that wait for children return promises, during which a handler-driven host handles nothing
 * else (as a BEAM parent blocked in `receive`). Running and stopping children (link, lifetime
 * timer, stop per shutdown in reverse order) is the base class, `ParentChildren`
 * (`parent-children.ts`); this file decides when: starts, restarts, retries, exits, giving up.
 * Imports `process`, `server` types, the supervisors' `child-start`, and its own files.
 */
import { isNormalOrShutdown } from "../../process/exit-reason.js";
import { ExitMessage } from "../../process/messages.js";
import type { Node } from "../../process/node.js";
import type { Pid } from "../../process/pid.js";
import { isThenable } from "../../process/thenable.js";
import { crashedStart } from "../child-start.js";
import { stopChild } from "../child-stop.js";
import { reportFields } from "../reports.js";
import { addStopped, ChildRecord, StoppedChild, type StoppedChildren } from "./child-record.js";
import {
  type ChildRef,
  type NormalizedParentChildSpec,
  type ParentChildSpec,
  parseParentChildSpec,
} from "./child-spec.js";
import { ChildrenTable } from "./children-table.js";
import { ChildAlreadyStartedError, MissingDepsError, NonUniformShutdownGroupError } from "./errors.js";
import * as lookups from "./lookups.js";
import { type Exit, ParentChildren, type ShutdownChildResult } from "./parent-children.js";
import type { OkOrNotFound } from "./parent-queries.js";
import { ChildTimeoutMessage, RestartRetryMessage, StoppedReportMessage } from "./messages.js";
import type { ParsedParentOptions } from "./options.js";
import { RestartIntensity } from "./restart-intensity.js";
import {
  FAILED,
  IGNORED as IGNORED_KIND,
  outcomeKind,
  STARTED,
  startedPid,
  startError,
} from "./start-outcome.js";

/** Exit reason of a parent that exceeded its restart intensity. */
export const TOO_MANY_RESTARTS = "too_many_restarts";

/**
 * Result of `startChild`, in the shapes of every start: started; ignored (`{ ok: false, ignore:
 * true }`: the child is kept with an undefined pid unless ephemeral, Parent's `{:ok, :undefined}`);
 * or failed (`error`: a validation error, or what the start failed with; nothing kept).
 */
export type ParentStartResult =
  | { ok: true; pid: Pid; info?: unknown }
  | { ok: false; ignore: true }
  | { ok: false; error: unknown };

const IGNORED: ParentStartResult = Object.freeze({ ok: false as const, ignore: true as const });

/** What `handleMessage` did with a parent message. */
export type ParentEvent = { type: "ignore" } | { type: "stoppedChildren"; stopped: StoppedChildren };

const IGNORE: ParentEvent = Object.freeze({ type: "ignore" }) as ParentEvent;
const OK = Object.freeze({ ok: true }) as { ok: true };

export type { OkOrNotFound, ShutdownChildResult };

function stoppedEvent(stopped: StoppedChildren | null): ParentEvent {
  return stopped === null || stopped.size === 0 ? IGNORE : { type: "stoppedChildren", stopped };
}

/** The parent side of a process: its children, their closures, restarts and the optional registry. */
export class ParentState extends ParentChildren {
  private readonly intensity: RestartIntensity;

  constructor(
    node: Node,
    /** The parent process. */
    pid: Pid,
    readonly options: ParsedParentOptions,
  ) {
    super(node, pid, new ChildrenTable(pid.node, pid.creation));
    this.intensity = new RestartIntensity(options.maxRestarts, options.maxSeconds);
  }

  // ------------------------------------------------------------------ starting

  /** Starts a child (validated first); see `ParentStartResult`. */
  startChild(input: ParentChildSpec): ParentStartResult | Promise<ParentStartResult> {
    let spec: NormalizedParentChildSpec;
    try {
      spec = parseParentChildSpec(input);
    } catch (e) {
      return { ok: false, error: e };
    }
    const invalid = this.validate(spec);
    if (invalid !== undefined) return { ok: false, error: invalid };
    let v: unknown;
    try {
      v = this.node.runAs(this.pid, () => spec.start());
    } catch (e) {
      return crashedStart(e);
    }
    if (isThenable(v)) {
      return Promise.resolve(v).then((r) => this.finishStart(spec, r), crashedStart);
    }
    return this.finishStart(spec, v);
  }

  private validate(spec: NormalizedParentChildSpec): Error | undefined {
    if (spec.id !== undefined) {
      const existing = this.table.findById(spec.id);
      if (existing !== undefined) return new ChildAlreadyStartedError(spec.id, existing.pid);
    }
    let missing: unknown[] | null = null;
    for (const ref of spec.bindsTo) if (this.table.find(ref) === undefined) (missing ??= []).push(ref);
    if (missing !== null) return new MissingDepsError(missing);
    for (const m of this.table.group(spec.shutdownGroup)) {
      if (m.spec.restart !== spec.restart || m.spec.ephemeral !== spec.ephemeral) {
        return new NonUniformShutdownGroupError(spec.shutdownGroup);
      }
      break;
    }
    return undefined;
  }

  private finishStart(spec: NormalizedParentChildSpec, v: unknown): ParentStartResult {
    const kind = outcomeKind(v);
    if (kind === FAILED) return { ok: false, error: startError(v) };
    if (kind === IGNORED_KIND && spec.ephemeral) return IGNORED;
    const r = new ChildRecord(spec, this.table.takeOrder());
    if (spec.bindsTo.length > 0) this.table.resolveDeps(r, spec.bindsTo);
    this.table.insert(r);
    if (kind === IGNORED_KIND) return IGNORED;
    const pid = startedPid(v);
    this.activate(r, pid);
    const info = (v as { info?: unknown }).info;
    return info === undefined ? { ok: true, pid } : { ok: true, pid, info };
  }

  // ------------------------------------------------------------------ restarting

  /** Restarts a child's closure (running or not); not counted toward the restart intensity. */
  async restartChild(ref: ChildRef): Promise<OkOrNotFound> {
    const r = this.table.find(ref);
    if (r === undefined) return lookups.NOT_FOUND;
    const closure = this.table.closure(r);
    await this.stopRecords(closure, new Map());
    this.report(await this.startRecords(closure));
    return OK;
  }

  /**
   * Puts stopped children back in their original places and starts them, in startup order.
   * Children already back (same record or same id) are skipped, so returning twice is harmless.
   * Children that had crashed (reported by `handleStoppedChildren`) count as a restart.
   */
  async returnChildren(stopped: StoppedChildren): Promise<void> {
    const back = new Set<ChildRecord>();
    const counted: ChildRecord[] = [];
    const entries = [...stopped.values()].filter((e) => e instanceof StoppedChild);
    entries.sort((a, b) => a.record.order - b.record.order);
    for (const e of entries) {
      const r = e.record;
      // Present already, or not one of ours (its position belongs to another child here).
      if (
        this.table.has(r) ||
        this.table.positionTaken(r) ||
        (r.spec.id !== undefined && this.table.findById(r.spec.id) !== undefined)
      )
        continue;
      r.pid = undefined;
      r.restarting = false;
      r.timer = null;
      back.add(r);
      if (e.recordRestart) counted.push(r);
    }
    if (back.size === 0) return;
    for (const r of back) {
      if (r.boundTo !== null) {
        const deps = r.boundTo.filter((d) => back.has(d) || this.table.has(d));
        r.deps = deps.length > 0 ? deps : null;
      }
      this.table.insert(r);
    }
    this.table.rebind(back);
    if (counted.length > 0) await this.recordRestart(counted);
    this.report(await this.startRecords([...back]));
  }

  /**
   * Starts the stopped ones among `records` (startup order). A failed start is a crash of that
   * child: its closure is stopped and not started this round; the others go on. Non-temporary
   * failures are retried through a message to self (each retry counts as a restart); temporary
   * ephemeral ones are removed and returned for reporting; temporary others stay undefined.
   */
  private async startRecords(records: ChildRecord[]): Promise<StoppedChildren | null> {
    let failed: Map<ChildRecord, Exit> | null = null;
    let own: ChildRecord[] | null = null;
    for (const r of records) {
      if (r.pid !== undefined || !this.table.has(r) || failed?.has(r)) continue;
      r.restarting = false;
      r.meta = r.spec.meta;
      let v: unknown;
      try {
        v = this.node.runAs(this.pid, () => r.spec.start());
        if (isThenable(v)) v = await v;
      } catch (e) {
        v = crashedStart(e);
      }
      const kind = outcomeKind(v);
      if (kind === STARTED) {
        this.activate(r, startedPid(v));
        continue;
      }
      if (kind === IGNORED_KIND) {
        if (r.spec.ephemeral) this.table.remove(r);
        continue;
      }
      failed ??= new Map();
      (own ??= []).push(r);
      const closure = this.table.closure(r);
      const exits = new Map<ChildRecord, Exit>();
      await this.stopRecords(closure, exits);
      for (const c of closure) {
        if (failed.has(c)) continue;
        const reason = c === r ? startError(v) : "shutdown";
        failed.set(c, { pid: exits.get(c)?.pid, reason });
      }
    }
    if (failed === null) return null;
    let report: StoppedChildren | null = null;
    const retry: ChildRecord[] = [];
    for (const [c, e] of [...failed].sort((a, b) => a[0].order - b[0].order)) {
      if (!this.table.has(c)) continue;
      if (c.spec.restart !== "temporary") {
        c.restarting = true;
        retry.push(c);
      } else if (c.spec.ephemeral) {
        this.table.remove(c);
        addStopped((report ??= new Map()), c, e.pid, e.reason, own!.includes(c));
      }
    }
    if (retry.length > 0) {
      const ownRetried = own!.filter((c) => retry.includes(c));
      this.node.send(this.pid, new RestartRetryMessage(this, retry, ownRetried));
    }
    return report;
  }

  /** Records one restart event for the parent and for each of `records`; gives up past a limit. */
  private async recordRestart(records: ChildRecord[]): Promise<void> {
    const now = Date.now();
    let ok = this.intensity.record(now);
    for (const r of records) if (!r.recordRestart(now)) ok = false;
    if (!ok) await this.giveUp();
  }

  /** Stops every child and throws `too_many_restarts`, the exit reason of the host process. */
  private async giveUp(): Promise<never> {
    this.node.logger.error(
      reportFields("parent", this.node.proc(this.pid) ?? this.pid, undefined, undefined),
      "Too many restarts in parent process",
    );
    await this.stopAll();
    throw TOO_MANY_RESTARTS;
  }

  /** Hands stopped children to the host through a message to self (`handleMessage` reports it). */
  private report(stopped: StoppedChildren | null): void {
    if (stopped !== null && stopped.size > 0)
      this.node.send(this.pid, new StoppedReportMessage(this, stopped));
  }

  // ------------------------------------------------------------------ messages

  /**
   * Handles a message if it is a parent message (a child's EXIT, a child timeout, a retry, a
   * report): returns what happened, possibly after stopping and restarting children. Returns
   * `undefined` for any other message. Rejects with `too_many_restarts` after giving up.
   */
  handleMessage(msg: unknown): undefined | ParentEvent | Promise<ParentEvent> {
    if (msg instanceof ExitMessage) {
      const r = this.table.findByPid(msg.from);
      return r === undefined ? undefined : this.onChildExit(r, msg.from, msg.reason);
    }
    if (msg instanceof ChildTimeoutMessage && msg.owner === this) {
      const r = this.table.findByPid(msg.pid);
      return r === undefined ? IGNORE : this.onChildTimeout(r, msg.pid);
    }
    if (msg instanceof RestartRetryMessage && msg.owner === this) return this.onRetry(msg);
    if (msg instanceof StoppedReportMessage && msg.owner === this) return stoppedEvent(msg.stopped);
    return undefined;
  }

  private async onChildTimeout(r: ChildRecord, pid: Pid): Promise<ParentEvent> {
    this.deactivate(r);
    const x = stopChild(this.node, this.pid, pid, r.spec.shutdown, "timeout", true);
    if (isThenable(x)) await x;
    return this.onChildExit(r, pid, "timeout");
  }

  private async onChildExit(r: ChildRecord, pid: Pid, reason: unknown): Promise<ParentEvent> {
    this.deactivate(r);
    if (!isNormalOrShutdown(reason)) {
      this.node.logger.error(
        reportFields("parent", this.node.proc(this.pid) ?? this.pid, r.spec.id, pid, reason),
        "child terminated",
      );
    }
    const closure = this.table.closure(r);
    const exits = new Map<ChildRecord, Exit>([[r, { pid, reason }]]);
    if (closure.length > 1) await this.stopRecords(closure, exits);
    const restart = r.spec.restart;
    if (restart === "permanent" || (restart === "transient" && reason !== "normal")) {
      await this.recordRestart([r]);
      return stoppedEvent(await this.startRecords(closure));
    }
    const stopped: StoppedChildren = new Map();
    for (const c of closure) {
      if (!r.spec.ephemeral && !c.spec.ephemeral) continue;
      this.table.remove(c);
      const e = exits.get(c);
      addStopped(stopped, c, e?.pid, e?.reason, c === r);
    }
    return stoppedEvent(stopped);
  }

  private async onRetry(msg: RestartRetryMessage): Promise<ParentEvent> {
    const records = msg.records.filter((r) => r.restarting && r.pid === undefined && this.table.has(r));
    if (records.length === 0) return IGNORE;
    await this.recordRestart(msg.failed.filter((r) => this.table.has(r)));
    return stoppedEvent(await this.startRecords(records));
  }
}
