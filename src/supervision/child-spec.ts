/**
 * Child specs: how a supervisor starts, restarts and stops one child. `validateChildSpec` checks
 * a user spec field by field in OTP's order and fills in the defaults (restart `permanent`,
 * shutdown 5000 ms for a worker and `infinity` for a supervisor, type `worker`, significant
 * `false`), throwing the `ChildSpecError` subclass that names the problem. `childSpec(behaviour,
 * arg, overrides)` builds a spec for a GenServer behaviour, like Elixir's `child_spec/1`.
 *
 * A start function must start the child linked to the calling process (the supervisor) before
 * any `await`, as `GenServer.startLink` does, and resolve to a `StartResult`. A DynamicSupervisor
 * passes its `extraArguments` to it as leading arguments.
 *
 * Imports `server` (GenServer start and results) and its own `errors`.
 */
import { type ServerBehaviour, type StartOptions, startLinkNow } from "../server/gen-server.js";
import type { Pid } from "../process/pid.js";
import type { StartResult } from "../server/results.js";
import {
  InvalidChildSpecError,
  InvalidChildTypeError,
  InvalidModulesError,
  InvalidRestartTypeError,
  InvalidShutdownError,
  InvalidSignificantError,
  InvalidStartError,
  MissingIdError,
  MissingStartError,
} from "./errors.js";

/** When a child is restarted: always, only after an abnormal exit, or never. */
export type RestartType = "permanent" | "transient" | "temporary";
/** How a child is stopped: killed at once, asked to stop within N ms, or waited for forever. */
export type Shutdown = "brutal_kill" | "infinity" | number;
/** Whether the child is a worker or a supervisor (it changes the default shutdown). */
export type ChildType = "worker" | "supervisor";
/** Identifies a child within a (static) supervisor; compared like a `Map` key. */
export type ChildId = unknown;
/**
 * Starts the child linked to the caller and resolves to OTP's on_start result (or just the pid
 * of the started process, as for Parent). It receives a DynamicSupervisor's `extraArguments`, if
 * any.
 */
export type StartFunction = (...extraArguments: any[]) => StartResult | Pid | Promise<StartResult | Pid>;

/**
 * A child spec as written by the user. Unknown fields are ignored. Optional fields may be given
 * as `undefined` (the default applies), so specs build under `exactOptionalPropertyTypes`.
 * @category supervision
 */
export interface ChildSpec {
  /** Unique id within a Supervisor (required there; ignored by a DynamicSupervisor). */
  id?: ChildId;
  /** Starts the child, linked to the supervisor. */
  start: StartFunction;
  /** @default "permanent" */
  restart?: RestartType | undefined;
  /** @default 5000 for a worker, "infinity" for a supervisor */
  shutdown?: Shutdown | undefined;
  /** @default "worker" */
  type?: ChildType | undefined;
  /** Names of the behaviours the child runs (informational, shown by `whichChildren`). @default [] */
  modules?: "dynamic" | readonly string[] | undefined;
  /** With auto-shutdown, this child's exit may stop the supervisor. @default false */
  significant?: boolean | undefined;
}

/**
 * A validated child spec with every default filled in. Frozen; validating it again returns it
 * unchanged at no cost.
 * @category supervision
 */
export interface NormalizedChildSpec {
  readonly id: ChildId;
  readonly start: StartFunction;
  readonly restart: RestartType;
  readonly shutdown: Shutdown;
  readonly type: ChildType;
  readonly modules: "dynamic" | readonly string[];
  readonly significant: boolean;
}

/** Defaults of the optional child-spec fields. */
export const DEFAULT_CHILD_SPEC = Object.freeze({
  restart: "permanent" as RestartType,
  workerShutdown: 5000 as Shutdown,
  supervisorShutdown: "infinity" as Shutdown,
  type: "worker" as ChildType,
  modules: Object.freeze([]) as readonly string[],
  significant: false,
});

const normalized = new WeakSet<object>();

/** Options of `validateChildSpec`. */
export interface ValidateOptions {
  /** Require `id` (a Supervisor does, a DynamicSupervisor does not). @default true */
  requireId?: boolean;
}

/**
 * Checks a child spec and fills in its defaults. Throws `MissingIdError`, `MissingStartError`,
 * `InvalidStartError`, `InvalidRestartTypeError`, `InvalidChildTypeError`,
 * `InvalidShutdownError`, `InvalidModulesError`, `InvalidSignificantError` (each carrying its OTP
 * `reason`), or `InvalidChildSpecError` for a value that is not an object.
 */
export function validateChildSpec(spec: unknown, options: ValidateOptions = {}): NormalizedChildSpec {
  if (typeof spec === "object" && spec !== null && normalized.has(spec)) return spec as NormalizedChildSpec;
  if (typeof spec !== "object" || spec === null || Array.isArray(spec)) throw new InvalidChildSpecError(spec);
  const s = spec as Record<string, unknown>;
  if (options.requireId !== false && s.id === undefined) throw new MissingIdError();
  if (s.start === undefined) throw new MissingStartError();
  if (typeof s.start !== "function") throw new InvalidStartError(s.start);
  const restart = s.restart ?? DEFAULT_CHILD_SPEC.restart;
  if (restart !== "permanent" && restart !== "transient" && restart !== "temporary") {
    throw new InvalidRestartTypeError(restart);
  }
  const type = s.type ?? DEFAULT_CHILD_SPEC.type;
  if (type !== "worker" && type !== "supervisor") throw new InvalidChildTypeError(type);
  let shutdown = s.shutdown;
  if (shutdown === undefined) {
    shutdown = type === "worker" ? DEFAULT_CHILD_SPEC.workerShutdown : DEFAULT_CHILD_SPEC.supervisorShutdown;
  } else if (shutdown === Number.POSITIVE_INFINITY) {
    shutdown = "infinity";
  } else if (
    shutdown !== "brutal_kill" &&
    shutdown !== "infinity" &&
    !(typeof shutdown === "number" && Number.isInteger(shutdown) && shutdown >= 0)
  ) {
    throw new InvalidShutdownError(shutdown);
  }
  const modules = s.modules ?? DEFAULT_CHILD_SPEC.modules;
  if (modules !== "dynamic" && !(Array.isArray(modules) && modules.every((m) => typeof m === "string"))) {
    throw new InvalidModulesError(modules);
  }
  const significant = s.significant ?? false;
  if (typeof significant !== "boolean") throw new InvalidSignificantError(significant);
  const out: NormalizedChildSpec = Object.freeze({
    id: s.id,
    start: s.start as StartFunction,
    restart,
    shutdown: shutdown as Shutdown,
    type,
    modules:
      modules === "dynamic" ? "dynamic" : Object.isFrozen(modules) ? modules : Object.freeze([...modules]),
    significant,
  });
  normalized.add(out);
  return out;
}

/** Fields that `childSpec` lets a caller override, plus GenServer start options. */
export interface ChildSpecOverrides extends Partial<Omit<ChildSpec, "start">> {
  /** Replaces the generated start function. */
  start?: StartFunction | undefined;
  /** Options passed to `GenServer.startLink` (a name, an init timeout, trap-exit). @default {} */
  startOptions?: StartOptions | undefined;
}

/**
 * A child spec for a GenServer behaviour, like Elixir's `child_spec/1`: `id` defaults to the
 * behaviour's `name` (else the behaviour object), `start` calls `GenServer.startLink(behaviour,
 * arg)`, `modules` is `[name]`. With a DynamicSupervisor's extra arguments `e1, e2…`, `init`
 * receives the array `[e1, e2, …, arg]` instead of `arg`. Throws like `validateChildSpec`.
 */
export function childSpec<A>(
  behaviour: ServerBehaviour<any, any, A>,
  arg: A,
  overrides: ChildSpecOverrides = {},
): NormalizedChildSpec {
  const { startOptions, ...rest } = overrides;
  const opts = startOptions ?? {};
  // `startLinkNow`: a synchronous `init` gives the supervisor its answer without a promise.
  // `arguments` rather than a rest parameter: no array per start when there are no extras.
  const b = behaviour as ServerBehaviour<any, any, unknown>;
  const start: StartFunction = function startChildServer() {
    // biome-ignore lint/complexity/noArguments: see above
    const n = arguments.length;
    if (n === 0) return startLinkNow(b, arg, opts);
    // biome-ignore lint/complexity/noArguments: see above
    return startLinkNow(b, [...Array.prototype.slice.call(arguments), arg], opts);
  };
  const name = behaviour.name;
  return validateChildSpec({
    id: name ?? behaviour,
    start,
    modules: [name ?? "GenServer"],
    ...rest,
  });
}
