/**
 * `DynamicSupervisor` (reference §C): starts empty, children added at run time with
 * `startChild` and addressed by pid; one_for_one only; `maxChildren` and `extraArguments`
 * (passed before the spec's own arguments to every start function); restart intensity with the
 * supervisor exiting `shutdown` when exceeded; failed restarts kept as `restarting` and retried
 * (each retry counted). On termination every child is signalled at once, then awaited, each with
 * its own shutdown timer.
 *
 * Children live in a `PidMap` with their spec as aux value (two slots, no object per child):
 * O(1) start, exit and terminate; no timer, monitor or closure per idle child. A restarting child stays under its old pid.
 *
 * Imports `process`, `server` and its own modules.
 */
import { isNormalOrShutdown } from "../process/exit-reason.js";
import type { ExitMessage } from "../process/messages.js";
import type { Node } from "../process/node.js";
import type { Pid } from "../process/pid.js";
import { PidMap } from "../process/pid-map.js";
import type { Proc } from "../process/proc.js";
import type { LinkOptions } from "../server/gen-server.js";
import type { ServerDest } from "../server/protocol.js";
import type { StartResult } from "../server/results.js";
import { runStart } from "./child-start.js";
import { awaitExit, signalChild, stopChild, stoppedCleanly } from "./child-stop.js";
import { type ChildSpec, type NormalizedChildSpec, validateChildSpec } from "./child-spec.js";
import { type ChildSlot, Restarting, specOf } from "./dynamic-children.js";
import {
  ChildSpecError,
  InvalidChildSpecError,
  InvalidSignificantError,
  MissingStartError,
} from "./errors.js";
import {
  type DynamicSupervisorFlags,
  type DynamicSupervisorOptions,
  isSupervisorDataError,
  type ParsedDynamicFlags,
  parseDynamicFlags,
  type SupervisorStartOptions,
} from "./options.js";
import {
  reportChildTerminated,
  reportMaxIntensity,
  reportRestarted,
  reportShutdownError,
  reportStartError,
} from "./reports.js";
import { RestartIntensity } from "./restart-intensity.js";
import type { ChildCounts, ChildInfo, DynamicStartChildResult, TerminateChildResult } from "./results.js";
import { countChildren, stopSupervisor, supervisorCall, whichChildren } from "./supervisor-client.js";
import { RetryRestart, SupervisorCore } from "./supervisor-core.js";
import { launchSupervisor } from "./supervisor-start.js";

/**
 * A DynamicSupervisor defined as a module (Elixir's `use DynamicSupervisor`): `init` returns the
 * flags, or `{ ignore: true }` to not start.
 */
export interface DynamicSupervisorBehaviour<A> {
  name?: string;
  init(arg: A): DynamicSupervisorFlags | { ignore: true };
}

class DynamicSupervisorProcess extends SupervisorCore {
  /** Each child's pid, with its slot (spec or `Restarting`) as the aux value. */
  private readonly children: PidMap<Pid, ChildSlot>;
  private flags!: ParsedDynamicFlags;
  private intensity!: RestartIntensity;

  constructor(
    node: Node,
    private readonly initFlags: () => unknown,
    private readonly clock: (() => number) | undefined,
  ) {
    super(node);
    this.children = new PidMap<Pid, ChildSlot>(node.name, node.creation, samePid, { withAux: true });
  }

  init(): StartResult {
    const r = this.initFlags();
    if (typeof r === "object" && r !== null && (r as { ignore?: unknown }).ignore === true) {
      return { ok: false, ignore: true };
    }
    if (typeof r !== "object" || r === null) return { ok: false, error: { badReturn: r } };
    const flags = parseDynamicFlags(r as DynamicSupervisorFlags);
    if (isSupervisorDataError(flags)) return { ok: false, error: flags };
    this.flags = flags;
    this.intensity = new RestartIntensity({
      maxRestarts: flags.maxRestarts,
      maxSeconds: flags.maxSeconds,
      clock: this.clock,
    });
    return { ok: true, pid: this.proc.pid };
  }

  protected onCall(op: string, arg: unknown): unknown {
    switch (op) {
      case "startChild":
        return this.startChild(arg as NormalizedChildSpec);
      case "terminateChild":
        return this.terminateChild(arg as Pid);
      case "whichChildren":
        return this.whichChildren();
      case "countChildren":
        return this.countChildren();
      default:
        return { ok: false, error: "badcall" };
    }
  }

  private startChild(spec: NormalizedChildSpec): unknown {
    if (this.children.size >= this.flags.maxChildren) return MAX_CHILDREN;
    const r = runStart(this.node, this.proc, spec.start, this.flags.extraArguments);
    if (r instanceof Promise) return r.then((v: StartResult) => this.started(spec, v));
    return this.started(spec, r);
  }

  private started(spec: NormalizedChildSpec, r: StartResult): StartResult {
    if (r.ok) this.children.set(r.pid, r.pid, spec);
    return r;
  }

  private terminateChild(pid: Pid): unknown {
    const slot = this.children.auxOf(pid);
    if (slot === undefined) return NOT_FOUND;
    this.children.delete(pid);
    if (slot instanceof Restarting) return OK;
    const reason = stopChild(this.node, this.proc.pid, pid, slot.shutdown);
    if (reason instanceof Promise) {
      return reason.then((r) => {
        this.checkShutdownReason(pid, slot, r);
        return OK;
      });
    }
    this.checkShutdownReason(pid, slot, reason);
    return OK;
  }

  private checkShutdownReason(pid: Pid, spec: NormalizedChildSpec, reason: unknown): void {
    if (!stoppedCleanly(spec.shutdown, reason))
      reportShutdownError(this.node, this.proc, undefined, pid, reason);
  }

  private whichChildren(): ChildInfo[] {
    // In the order they were (re)started: this node's pids ascend with time; others come last.
    const list: Array<{ pid: Pid; slot: ChildSlot }> = [];
    this.children.forEach((pid, slot) => {
      list.push({ pid, slot });
    });
    const rank = (p: Pid) => (this.node.isLocal(p) ? p.id : Number.POSITIVE_INFINITY);
    list.sort((a, b) => rank(a.pid) - rank(b.pid));
    return list.map(({ pid, slot }) => {
      const spec = specOf(slot);
      return {
        id: undefined,
        pid: slot instanceof Restarting ? "restarting" : pid,
        type: spec.type,
        modules: spec.modules,
      };
    });
  }

  private countChildren(): ChildCounts {
    let active = 0;
    let supervisors = 0;
    this.children.forEach((_pid, slot) => {
      if (!(slot instanceof Restarting)) active++;
      if (specOf(slot).type === "supervisor") supervisors++;
    });
    return { specs: this.children.size, active, supervisors, workers: this.children.size - supervisors };
  }

  protected onExitMessage(msg: ExitMessage): unknown {
    const pid = msg.from;
    const slot = this.children.auxOf(pid);
    if (slot === undefined || slot instanceof Restarting) return undefined;
    const reason = msg.reason;
    reportChildTerminated(this.node, this.proc, undefined, pid, reason);
    const restart = slot.restart;
    if (restart === "temporary" || (restart === "transient" && isNormalOrShutdown(reason))) {
      this.children.delete(pid);
      return undefined;
    }
    return this.restart(pid, slot, reason);
  }

  protected onRetry(child: unknown): unknown {
    const r = child as Restarting;
    if (this.children.auxOf(r.pid) !== r) return undefined;
    return this.restart(r.pid, r, "restarting");
  }

  /**
   * Counts one restart of the child under `pid` (whose slot is `slot`) and tries it; over the
   * intensity the supervisor exits `shutdown`.
   */
  private restart(pid: Pid, slot: ChildSlot, reason: unknown): unknown {
    if (!this.intensity.record()) {
      reportMaxIntensity(this.node, this.proc, undefined, reason);
      this.children.delete(pid);
      return this.exit("shutdown");
    }
    const r = runStart(this.node, this.proc, specOf(slot).start, this.flags.extraArguments);
    if (r instanceof Promise) return r.then((v: StartResult) => this.restarted(pid, slot, v));
    this.restarted(pid, slot, r);
    return undefined;
  }

  private restarted(oldPid: Pid, slot: ChildSlot, r: StartResult): void {
    if (this.terminating || this.children.auxOf(oldPid) !== slot) {
      // Terminated meanwhile: a child started anyway is not ours to keep.
      if (r.ok) stopChild(this.node, this.proc.pid, r.pid, "brutal_kill");
      return;
    }
    const spec = specOf(slot);
    this.children.delete(oldPid);
    if (r.ok) {
      this.children.set(r.pid, r.pid, spec);
      reportRestarted(this.node, this.proc, undefined, r.pid);
      return;
    }
    if ("ignore" in r) return;
    reportStartError(this.node, this.proc, undefined, r.error);
    const retry = new Restarting(oldPid, spec);
    this.children.set(oldPid, oldPid, retry);
    this.node.send(this.proc.pid, new RetryRestart(retry));
  }

  /** Signals every child at once, then waits for the slow ones, each on its own timer. */
  protected stopAllChildren(): unknown {
    let waiting: Promise<unknown>[] | null = null;
    this.children.forEach((pid, slot) => {
      if (slot instanceof Restarting) return;
      const p = signalChild(this.node, this.proc.pid, pid, slot.shutdown);
      if (p !== null) (waiting ??= []).push(this.awaitOne(pid, slot, p));
    });
    this.children.clear();
    return waiting === null ? undefined : Promise.all(waiting);
  }

  private awaitOne(pid: Pid, spec: NormalizedChildSpec, p: Proc): Promise<unknown> {
    return awaitExit(this.node, this.proc.pid, p, spec.shutdown).then((r) =>
      this.checkShutdownReason(pid, spec, r),
    );
  }
}

const samePid = (pid: Pid): Pid => pid;
const OK = Object.freeze({ ok: true as const });
const NOT_FOUND = Object.freeze({ ok: false as const, error: "not_found" as const });
const MAX_CHILDREN = Object.freeze({ ok: false as const, error: "max_children" as const });

function isBehaviour(v: unknown): v is DynamicSupervisorBehaviour<unknown> {
  return typeof v === "object" && v !== null && typeof (v as { init?: unknown }).init === "function";
}

function startDynamic(
  link: boolean,
  a: (DynamicSupervisorOptions & LinkOptions) | DynamicSupervisorBehaviour<unknown> | undefined,
  arg: unknown,
  startOptions: (SupervisorStartOptions & LinkOptions) | undefined,
): Promise<StartResult> {
  let initFlags: () => unknown;
  let opts: SupervisorStartOptions & LinkOptions;
  let behaviourName = "DynamicSupervisor";
  if (isBehaviour(a)) {
    initFlags = () => a.init(arg);
    opts = startOptions ?? {};
    if (a.name !== undefined) behaviourName = a.name;
  } else {
    const o = a ?? {};
    initFlags = () => o;
    opts = o;
  }
  const clock = opts.clock;
  return launchSupervisor(
    link,
    opts,
    behaviourName,
    (node) => new DynamicSupervisorProcess(node, initFlags, clock),
  );
}

/** Client-side check of a spec for a DynamicSupervisor (Elixir validates before calling). */
function checkDynamicSpec(spec: unknown): NormalizedChildSpec | ChildSpecError {
  try {
    const s = validateChildSpec(spec, { requireId: false });
    if (s.significant)
      return new InvalidSignificantError(true, " (a DynamicSupervisor has no auto-shutdown)");
    return s;
  } catch (e) {
    if (e instanceof MissingStartError) return new InvalidChildSpecError(spec);
    if (e instanceof ChildSpecError) return e;
    throw e;
  }
}

/**
 * The DynamicSupervisor API. Every function taking a supervisor accepts a pid, a local name, a
 * `{ name, node }` or a via-name; a dead or unknown supervisor rejects with `CallExitError`
 * (`noproc`).
 * @category supervision
 */
export const DynamicSupervisor = {
  /**
   * Starts a DynamicSupervisor linked to the calling process (or to `linkTo`: an async process
   * after an `await` passes its `ctx`). Resolves `{ ok: true, pid }`,
   * `{ ok: false, ignore: true }` (module init returned ignore), or `{ ok: false, error }` with
   * `{ supervisorData: { invalidStrategy | invalidIntensity | invalidPeriod | invalidMaxChildren |
   * invalidExtraArguments | invalidAutoShutdown: value } }` or `{ alreadyStarted: pid }`.
   */
  startLink(
    options?: (DynamicSupervisorOptions & LinkOptions) | DynamicSupervisorBehaviour<any>,
    arg?: unknown,
    startOptions?: SupervisorStartOptions & LinkOptions,
  ): Promise<StartResult> {
    return startDynamic(true, options, arg, startOptions);
  },

  /** As `startLink`, without linking. */
  start(
    options?: DynamicSupervisorOptions | DynamicSupervisorBehaviour<any>,
    arg?: unknown,
    startOptions?: SupervisorStartOptions,
  ): Promise<StartResult> {
    return startDynamic(false, options, arg, startOptions);
  },

  /**
   * Starts a child: the spec is validated here first (no `start` → `InvalidChildSpecError`,
   * `significant: true` → `InvalidSignificantError`, other fields as `validateChildSpec`), ids
   * are ignored. Resolves `{ ok: true, pid, info? }`, `{ ok: false, ignore: true }` (nothing
   * kept), `{ ok: false, error: "max_children" }`, or `{ ok: false, error }` with what the start
   * failed with: the error it returned, a `StartCrashError` when it threw or rejected, a
   * `BadStartReturnError` when it returned something else.
   */
  startChild(sup: ServerDest<unknown>, spec: ChildSpec): Promise<DynamicStartChildResult> {
    const s = checkDynamicSpec(spec);
    if (s instanceof ChildSpecError) return Promise.resolve({ ok: false, error: s });
    return supervisorCall(sup, "startChild", s);
  },

  /** Stops a child per its shutdown and forgets it; `"not_found"` for any other pid. */
  terminateChild(sup: ServerDest<unknown>, pid: Pid): Promise<TerminateChildResult> {
    return supervisorCall(sup, "terminateChild", pid);
  },

  /** `{ id: undefined, pid | "restarting", type, modules }` per child, in the order they were (re)started. */
  whichChildren,

  /** `specs` counts restarting children too, `active` only running ones. */
  countChildren,

  /**
   * A child spec starting a nested DynamicSupervisor (type `supervisor`, shutdown `infinity`);
   * `overrides` may set any other spec field. Throws like `validateChildSpec`.
   */
  childSpec(
    id: unknown,
    options: DynamicSupervisorOptions = {},
    overrides: Partial<Omit<ChildSpec, "id" | "start">> = {},
  ): NormalizedChildSpec {
    return validateChildSpec({
      type: "supervisor",
      modules: ["DynamicSupervisor"],
      ...overrides,
      id,
      start: () => startDynamic(true, options, undefined, undefined),
    });
  },

  /** Stops the supervisor (children first, concurrently) with `reason` (default `normal`) and waits until it is dead. */
  stop: stopSupervisor,
} as const;
