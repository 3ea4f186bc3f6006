/**
 * The process behind `Supervisor` (reference §B): children started in order and stopped one at
 * a time in reverse order; one_for_one / one_for_all / rest_for_one restarts of permanent and
 * transient children; restart intensity with exit `shutdown`; failed restarts kept as
 * `restarting` and retried through a self-message (each retry counted); auto-shutdown on
 * significant children; and the child administration calls.
 *
 * The children are a `StaticChildren` (`static-children.ts`: by id in start order, and by pid),
 * so exits, lookups and one_for_one restarts never scan. Work that may wait (starting, stopping)
 * stays synchronous until a start or a stop actually returns a promise.
 *
 * Imports `process`, `server` and its own modules.
 */
import { InvalidOptionError } from "../errors.js";
import { isNormalOrShutdown } from "../process/exit-reason.js";
import type { ExitMessage } from "../process/messages.js";
import type { Node } from "../process/node.js";
import type { Pid } from "../process/pid.js";
import { isThenable } from "../process/thenable.js";
import type { StartResult } from "../server/results.js";
import { invokeStart } from "./child-start.js";
import { stopChild, stoppedCleanly } from "./child-stop.js";
import { type ChildSpec, type NormalizedChildSpec, validateChildSpec } from "./child-spec.js";
import { ChildSpecError, DuplicateChildNameError, InvalidSignificantError } from "./errors.js";
import {
  isSupervisorDataError,
  type ParsedSupervisorFlags,
  parseSupervisorFlags,
  type SupervisorFlags,
} from "./options.js";
import {
  reportChildTerminated,
  reportMaxIntensity,
  reportRestarted,
  reportShutdownError,
  reportStartError,
} from "./reports.js";
import { RestartIntensity } from "./restart-intensity.js";
import { StaticChild, StaticChildren } from "./static-children.js";
import { RetryRestart, SupervisorCore } from "./supervisor-core.js";

/** What a Supervisor's init gives: its flags and its children. */
export interface SupervisorInit extends SupervisorFlags {
  children: readonly ChildSpec[];
}

const NO_ARGS: readonly unknown[] = [];
const OK = Object.freeze({ ok: true as const });
const NOT_FOUND = Object.freeze({ ok: false as const, error: "not_found" as const });

export class SupervisorProcess extends SupervisorCore {
  private readonly children: StaticChildren;
  private flags!: ParsedSupervisorFlags;
  private intensity!: RestartIntensity;

  constructor(
    node: Node,
    private readonly initCallback: () => unknown,
    private readonly clock: (() => number) | undefined,
  ) {
    super(node);
    this.children = new StaticChildren(node.name, node.creation);
  }

  // ------------------------------------------------------------------ init

  init(): StartResult | Promise<StartResult> {
    const r = this.initCallback();
    if (typeof r === "object" && r !== null && (r as { ignore?: unknown }).ignore === true) {
      return { ok: false, ignore: true };
    }
    if (typeof r !== "object" || r === null || !Array.isArray((r as SupervisorInit).children)) {
      return { ok: false, error: { badReturn: r } };
    }
    const init = r as SupervisorInit;
    if (init.strategy === undefined) {
      return { ok: false, error: new InvalidOptionError("strategy", "given", undefined) };
    }
    const flags = parseSupervisorFlags(init);
    if (isSupervisorDataError(flags)) return { ok: false, error: flags };
    this.flags = flags;
    this.intensity = new RestartIntensity({
      maxRestarts: flags.maxRestarts,
      maxSeconds: flags.maxSeconds,
      clock: this.clock,
    });
    for (const raw of init.children) {
      const spec = this.check(raw);
      if (spec instanceof ChildSpecError) return { ok: false, error: { startSpec: spec } };
      if (this.children.has(spec.id)) {
        return { ok: false, error: { startSpec: new DuplicateChildNameError(spec.id) } };
      }
      this.children.add(new StaticChild(spec.id, spec));
    }
    return this.startAll(this.children.list(), 0);
  }

  /** Starts `list[i..]` in order; on a failure stops the started ones and fails the init. */
  private startAll(list: StaticChild[], i: number): StartResult | Promise<StartResult> {
    for (; i < list.length; i++) {
      const c = list[i]!;
      let failed: { reason: unknown } | null = null;
      const r = invokeStart(this.node, this.proc, c.spec.start, NO_ARGS, (res) => {
        failed = this.initStarted(c, res);
        return failed;
      });
      if (r instanceof Promise) {
        const at = i;
        return r.then((f) => (f !== null ? this.initFailed(c, f) : this.startAll(list, at + 1)));
      }
      if (failed !== null) return this.initFailed(c, failed);
    }
    return { ok: true, pid: this.proc.pid };
  }

  /** Records a child started at init; returns the failure reason, if any. */
  private initStarted(c: StaticChild, r: StartResult): { reason: unknown } | null {
    if (r.ok) {
      this.children.setPid(c, r.pid);
      return null;
    }
    if ("ignore" in r) {
      if (c.spec.restart === "temporary") this.children.delete(c.id);
      return null;
    }
    reportStartError(this.node, this.proc, c.id, r.error);
    return { reason: r.error };
  }

  private initFailed(c: StaticChild, failed: { reason: unknown }): StartResult | Promise<StartResult> {
    const error = { shutdown: { failedToStartChild: c.id, reason: failed.reason } };
    this.terminating = true;
    const r = this.stopAllChildren();
    if (isThenable(r)) return Promise.resolve(r).then(() => ({ ok: false, error }));
    return { ok: false, error };
  }

  private check(raw: unknown): NormalizedChildSpec | ChildSpecError {
    let spec: NormalizedChildSpec;
    try {
      spec = validateChildSpec(raw);
    } catch (e) {
      if (e instanceof ChildSpecError) return e;
      throw e;
    }
    if (spec.significant) {
      if (spec.restart === "permanent") return new InvalidSignificantError(true, " (a permanent child)");
      if (this.flags.autoShutdown === "never") {
        return new InvalidSignificantError(true, ' (the supervisor has autoShutdown "never")');
      }
    }
    return spec;
  }

  // ------------------------------------------------------------------ stopping

  /** Stops one running child per its shutdown (clearing its pid); sync unless it lingers. */
  private stopOne(c: StaticChild): unknown {
    c.restarting = false;
    const pid = this.children.clearPid(c);
    if (pid === undefined) return undefined;
    const reason = stopChild(this.node, this.proc.pid, pid, c.spec.shutdown);
    if (reason instanceof Promise) return reason.then((r) => this.checkShutdown(c, pid, r));
    this.checkShutdown(c, pid, reason);
    return undefined;
  }

  private checkShutdown(c: StaticChild, pid: Pid, reason: unknown): void {
    if (!stoppedCleanly(c.spec.shutdown, reason))
      reportShutdownError(this.node, this.proc, c.id, pid, reason);
  }

  /**
   * Stops `list[0..i]` one at a time from the end, each dead before the next is signalled;
   * temporary children are forgotten (`dropTemporary`).
   */
  private stopDown(list: StaticChild[], i: number, dropTemporary: boolean): unknown {
    for (; i >= 0; i--) {
      const c = list[i]!;
      const r = this.stopOne(c);
      if (dropTemporary && c.spec.restart === "temporary") this.children.delete(c.id);
      if (isThenable(r)) {
        const at = i - 1;
        return Promise.resolve(r).then(() => this.stopDown(list, at, dropTemporary));
      }
    }
    return undefined;
  }

  protected stopAllChildren(): unknown {
    const list = this.children.list();
    return this.stopDown(list, list.length - 1, false);
  }

  // ------------------------------------------------------------------ exits and restarts

  protected onExitMessage(msg: ExitMessage): unknown {
    const c = this.children.running(msg.from);
    if (c === undefined) return undefined;
    this.children.clearPid(c);
    const reason = msg.reason;
    reportChildTerminated(this.node, this.proc, c.id, msg.from, reason);
    const restart = c.spec.restart;
    if (restart === "temporary") {
      this.children.delete(c.id);
      return this.autoShutdown(c);
    }
    if (restart === "transient" && isNormalOrShutdown(reason)) return this.autoShutdown(c);
    return this.restart(c, reason);
  }

  private autoShutdown(c: StaticChild): unknown {
    if (!c.spec.significant) return undefined;
    const mode = this.flags.autoShutdown;
    if (mode === "any_significant") return this.exit("shutdown");
    if (mode === "all_significant") {
      return this.children.anySignificantRunning() ? undefined : this.exit("shutdown");
    }
    return undefined;
  }

  protected onRetry(id: unknown): unknown {
    const c = this.children.get(id);
    if (c === undefined || !c.restarting) return undefined;
    return this.restart(c, "restarting");
  }

  /** One automatic restart (counted), per strategy. */
  private restart(c: StaticChild, reason: unknown): unknown {
    if (!this.intensity.record()) {
      reportMaxIntensity(this.node, this.proc, c.id, reason);
      c.restarting = false;
      return this.exit("shutdown");
    }
    if (this.flags.strategy === "one_for_one") return this.restartOne(c);
    const all = this.children.list();
    const group = this.flags.strategy === "one_for_all" ? all : all.slice(all.indexOf(c));
    const stopped = this.stopDown(group, group.length - 1, true);
    if (isThenable(stopped)) return Promise.resolve(stopped).then(() => this.startGroup(group, 0));
    return this.startGroup(group, 0);
  }

  private restartOne(c: StaticChild): unknown {
    return invokeStart(this.node, this.proc, c.spec.start, NO_ARGS, (r) => {
      this.restarted(c, r);
    });
  }

  /** Applies an automatic restart's result; false when it failed (retry scheduled). */
  private restarted(c: StaticChild, r: StartResult): boolean {
    if (this.terminating || this.children.get(c.id) !== c) {
      if (r.ok) stopChild(this.node, this.proc.pid, r.pid, "brutal_kill");
      return true;
    }
    if (r.ok) {
      this.children.setPid(c, r.pid);
      reportRestarted(this.node, this.proc, c.id, r.pid);
      return true;
    }
    c.restarting = false;
    if ("ignore" in r) return true;
    reportStartError(this.node, this.proc, c.id, r.error);
    c.restarting = true;
    this.node.send(this.proc.pid, new RetryRestart(c.id));
    return false;
  }

  /** Starts the members of a restart group still kept, in order, until one fails. */
  private startGroup(group: StaticChild[], i: number): unknown {
    for (; i < group.length; i++) {
      const c = group[i]!;
      if (this.children.get(c.id) !== c) continue;
      const r = invokeStart(this.node, this.proc, c.spec.start, NO_ARGS, (res) => this.restarted(c, res));
      if (r instanceof Promise) {
        const at = i;
        return r.then((ok) => (ok ? this.startGroup(group, at + 1) : undefined));
      }
      if (!r) return undefined;
    }
    return undefined;
  }

  // ------------------------------------------------------------------ calls

  protected onCall(op: string, arg: unknown): unknown {
    switch (op) {
      case "startChild":
        return this.startChild(arg);
      case "terminateChild":
        return this.terminateChild(arg);
      case "restartChild":
        return this.restartChild(arg);
      case "deleteChild":
        return this.deleteChild(arg);
      case "whichChildren":
        return this.children.whichChildren();
      case "countChildren":
        return this.children.countChildren();
      case "getChildSpec": {
        const c = this.children.get(arg);
        return c === undefined ? NOT_FOUND : { ok: true, spec: c.spec };
      }
      default:
        return { ok: false, error: "badcall" };
    }
  }

  private startChild(raw: unknown): unknown {
    const spec = this.check(raw);
    if (spec instanceof ChildSpecError) return { ok: false, error: spec };
    const existing = this.children.get(spec.id);
    if (existing !== undefined) {
      if (existing.pid !== undefined) return { ok: false, error: { alreadyStarted: existing.pid } };
      return { ok: false, error: "already_present" };
    }
    return invokeStart(this.node, this.proc, spec.start, NO_ARGS, (r) => this.childAdded(spec, r));
  }

  /**
   * One shape in every layer: ignored is `{ ok: false, ignore: true }` (the spec is kept unless
   * temporary, as OTP's `{ok, undefined}` keeps it), a failed start `{ ok: false, error }` with
   * the bare reason (OTP wraps it with the spec the caller already has).
   */
  private childAdded(spec: NormalizedChildSpec, r: StartResult): unknown {
    if (r.ok) {
      const c = new StaticChild(spec.id, spec);
      this.children.add(c);
      this.children.setPid(c, r.pid);
      return r.info === undefined ? { ok: true, pid: r.pid } : { ok: true, pid: r.pid, info: r.info };
    }
    if ("ignore" in r && spec.restart !== "temporary") {
      this.children.add(new StaticChild(spec.id, spec));
    }
    return r;
  }

  private terminateChild(id: unknown): unknown {
    const c = this.children.get(id);
    if (c === undefined) return NOT_FOUND;
    const r = this.stopOne(c);
    if (c.spec.restart === "temporary") this.children.delete(c.id);
    if (isThenable(r)) return Promise.resolve(r).then(() => OK);
    return OK;
  }

  private restartChild(id: unknown): unknown {
    const c = this.children.get(id);
    if (c === undefined) return NOT_FOUND;
    if (c.restarting) return { ok: false, error: "restarting" };
    if (c.pid !== undefined) return { ok: false, error: "running" };
    return invokeStart(this.node, this.proc, c.spec.start, NO_ARGS, (r) => this.manuallyRestarted(c, r));
  }

  private manuallyRestarted(c: StaticChild, r: StartResult): unknown {
    if (r.ok) {
      if (this.children.get(c.id) === c) this.children.setPid(c, r.pid);
      return r.info === undefined ? { ok: true, pid: r.pid } : { ok: true, pid: r.pid, info: r.info };
    }
    return r;
  }

  private deleteChild(id: unknown): unknown {
    const c = this.children.get(id);
    if (c === undefined) return NOT_FOUND;
    if (c.restarting) return { ok: false, error: "restarting" };
    if (c.pid !== undefined) return { ok: false, error: "running" };
    this.children.delete(id);
    return OK;
  }
}
