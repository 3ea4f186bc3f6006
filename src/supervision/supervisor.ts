/**
 * The `Supervisor` API (reference §B). Start a supervisor from a list of child specs and flags
 * (`Supervisor.startLink(children, { strategy })`, like Elixir's `Supervisor.start_link/2`) or
 * from a module whose `init(arg)` returns `{ children, strategy, … }` or `{ ignore: true }`;
 * then administer its children by id. Every function taking a supervisor accepts a pid, a local
 * name, a `{ name, node }` or a via-name; a dead or unknown supervisor rejects with
 * `CallExitError` (`noproc`). Calls wait without timeout, as OTP's do.
 * Imports `process`, `server` and its own modules.
 */
import { InvalidOptionError } from "../errors.js";
import type { LinkOptions } from "../server/gen-server.js";
import type { ServerDest } from "../server/protocol.js";
import type { StartResult } from "../server/results.js";
import { type ChildId, type ChildSpec, type NormalizedChildSpec, validateChildSpec } from "./child-spec.js";
import type { SupervisorOptions, SupervisorStartOptions } from "./options.js";
import type {
  DeleteChildResult,
  GetChildSpecResult,
  RestartChildResult,
  SupervisorStartChildResult,
  TerminateChildResult,
} from "./results.js";
import { countChildren, stopSupervisor, supervisorCall, whichChildren } from "./supervisor-client.js";
import { type SupervisorInit, SupervisorProcess } from "./supervisor-process.js";
import { launchSupervisor } from "./supervisor-start.js";

export type { SupervisorInit } from "./supervisor-process.js";

/**
 * A supervisor defined as a module (Elixir's `use Supervisor`). `init` runs inside the new
 * supervisor and returns its children and flags, or `{ ignore: true }`.
 * @category supervision
 */
export interface SupervisorBehaviour<A> {
  /** Shown by `processInfo`. */
  name?: string;
  init(arg: A): SupervisorInit | { ignore: true };
}

/**
 * How a start resolves: `{ ok: true, pid }`; `{ ok: false, ignore: true }`; or `{ ok: false,
 * error }` with `{ shutdown: { failedToStartChild: id, reason } }` (a child failed: the started
 * ones were stopped), `{ startSpec: ChildSpecError }` (an invalid spec or a duplicate id),
 * `{ supervisorData: { invalidStrategy | invalidIntensity | invalidPeriod | invalidAutoShutdown:
 * v } }`, `{ badReturn: v }` (module init returned something else) or `{ alreadyStarted: pid }`.
 */
export type SupervisorStartResult = StartResult;

function isBehaviour(v: unknown): v is SupervisorBehaviour<unknown> {
  return (
    typeof v === "object" &&
    v !== null &&
    !Array.isArray(v) &&
    typeof (v as { init?: unknown }).init === "function"
  );
}

function startSupervisor(
  link: boolean,
  a: readonly ChildSpec[] | SupervisorBehaviour<unknown>,
  b: unknown,
  c: (SupervisorStartOptions & LinkOptions) | undefined,
): Promise<SupervisorStartResult> {
  let initCallback: () => unknown;
  let opts: SupervisorStartOptions & LinkOptions;
  let behaviourName = "Supervisor";
  if (isBehaviour(a)) {
    initCallback = () => a.init(b);
    opts = c ?? {};
    if (a.name !== undefined) behaviourName = a.name;
  } else if (Array.isArray(a)) {
    const options = b as (SupervisorOptions & LinkOptions) | undefined;
    if (options === undefined || options.strategy === undefined) {
      throw new InvalidOptionError("strategy", "given (expected :strategy option to be given)", undefined);
    }
    const children = a;
    initCallback = () => ({ ...options, children });
    opts = options;
  } else {
    throw new InvalidOptionError("children", "an array of child specs or a supervisor behaviour", a);
  }
  const clock = opts.clock;
  return launchSupervisor(
    link,
    opts,
    behaviourName,
    (node) => new SupervisorProcess(node, initCallback, clock),
  );
}

interface StartFn<O = {}> {
  /** From child specs and options (`strategy` required: `InvalidOptionError` without it). */
  (children: readonly ChildSpec[], options: SupervisorOptions & O): Promise<SupervisorStartResult>;
  /** From a module whose `init(arg)` returns children and flags. */
  <A>(
    behaviour: SupervisorBehaviour<A>,
    arg: A,
    options?: SupervisorStartOptions & O,
  ): Promise<SupervisorStartResult>;
}

const startLink: StartFn<LinkOptions> = (a: any, b: any, c?: any) => startSupervisor(true, a, b, c);
const start: StartFn = (a: any, b: any, c?: any) => startSupervisor(false, a, b, c);

/**
 * The Supervisor API.
 * @category supervision
 */
export const Supervisor = {
  /**
   * Starts a supervisor linked to the calling process (or to `linkTo`: an async process after an
   * `await` passes its `ctx`); all children are started on return.
   */
  startLink,
  /** As `startLink`, without linking. */
  start,

  /**
   * Adds and starts a child (youngest). `{ ok: true, pid }`; `{ ok: false, ignore: true }` when
   * the start returned ignore (the spec is kept unless temporary); or an error: `{ alreadyStarted:
   * pid }` (id running), `"already_present"` (id kept, not running), a `ChildSpecError`, or what
   * the start failed with (nothing kept) — the shapes of every start.
   */
  startChild(sup: ServerDest<unknown>, spec: ChildSpec): Promise<SupervisorStartChildResult> {
    return supervisorCall(sup, "startChild", spec);
  },

  /** Stops a child by id (the spec is kept unless temporary); `"not_found"` for unknown ids and pids. */
  terminateChild(sup: ServerDest<unknown>, id: ChildId): Promise<TerminateChildResult> {
    return supervisorCall(sup, "terminateChild", id);
  },

  /**
   * Starts a kept, non-running child again (not counted as a restart): `{ ok: true, pid }`,
   * `{ ok: false, ignore: true }`, or `"running"`, `"restarting"`, `"not_found"`, or the start's
   * error.
   */
  restartChild(sup: ServerDest<unknown>, id: ChildId): Promise<RestartChildResult> {
    return supervisorCall(sup, "restartChild", id);
  },

  /** Forgets a non-running child's spec: `{ ok: true }`, or `"running"`, `"restarting"`, `"not_found"`. */
  deleteChild(sup: ServerDest<unknown>, id: ChildId): Promise<DeleteChildResult> {
    return supervisorCall(sup, "deleteChild", id);
  },

  /** One entry per kept spec, newest first; `pid` is a Pid, `"restarting"` or undefined. */
  whichChildren,

  /** Kept specs, live children, and specs by type. */
  countChildren,

  /** The kept spec with its defaults filled in. */
  getChildSpec(sup: ServerDest<unknown>, id: ChildId): Promise<GetChildSpecResult> {
    return supervisorCall(sup, "getChildSpec", id);
  },

  /**
   * A child spec starting a nested Supervisor over `children` (type `supervisor`, shutdown
   * `infinity`); `overrides` may set any other spec field. Throws like `validateChildSpec`.
   */
  childSpec(
    id: ChildId,
    children: readonly ChildSpec[],
    options: SupervisorOptions,
    overrides: Partial<Omit<ChildSpec, "id" | "start">> = {},
  ): NormalizedChildSpec {
    return validateChildSpec({
      type: "supervisor",
      modules: ["Supervisor"],
      ...overrides,
      id,
      start: () => startSupervisor(true, children, options, undefined),
    });
  },

  /**
   * Stops the supervisor: children one at a time in reverse start order, then the supervisor
   * exits with `reason` (default `normal`). Resolves once it is dead.
   */
  stop: stopSupervisor,
} as const;
