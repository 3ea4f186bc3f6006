/**
 * Options of `Supervisor` and `DynamicSupervisor`: the supervisor flags (strategy, restart
 * intensity, auto-shutdown, and for a DynamicSupervisor max children and extra arguments) and the
 * start options (name, node). Bad flag values are not thrown: as in OTP they make the start
 * return `{ ok: false, error: { supervisorData: { invalidStrategy: v } } }` (and likewise
 * `invalidIntensity`, `invalidPeriod`, `invalidAutoShutdown`, `invalidMaxChildren`,
 * `invalidExtraArguments`). Imports `process` and `server` types.
 */
import type { Node } from "../process/node.js";
import type { ViaName } from "../server/protocol.js";

/** How a supervisor restarts children when one of them must be restarted. */
export type Strategy = "one_for_one" | "one_for_all" | "rest_for_one";
/** Whether significant children's exits stop the supervisor. */
export type AutoShutdown = "never" | "any_significant" | "all_significant";

/** Flags of a `Supervisor` (Elixir's `Supervisor.init/2` options). */
export interface SupervisorFlags {
  /** Restart strategy. Required. */
  strategy: Strategy;
  /** Restarts tolerated within `maxSeconds` (an integer ≥ 0). @default 3 */
  maxRestarts?: number | undefined;
  /** Length of the restart window in seconds (> 0). @default 5 */
  maxSeconds?: number | undefined;
  /** @default "never" */
  autoShutdown?: AutoShutdown | undefined;
}

/** Start options shared by both supervisors. */
export interface SupervisorStartOptions {
  /** Register the supervisor under a local name or a via-name. @default undefined */
  name?: string | ViaName | undefined;
  /** Node to start on. @default the current node */
  node?: Node | undefined;
  /** Clock in ms used for restart intensity (tests). @default performance.now */
  clock?: (() => number) | undefined;
}

/** Options of `Supervisor.startLink(children, options)`. */
export interface SupervisorOptions extends SupervisorFlags, SupervisorStartOptions {}

/** Flags of a `DynamicSupervisor` (Elixir's `DynamicSupervisor.init/1` options). */
export interface DynamicSupervisorFlags {
  /** Only `one_for_one` is accepted. @default "one_for_one" */
  strategy?: Strategy | undefined;
  /** @default 3 */
  maxRestarts?: number | undefined;
  /** @default 5 */
  maxSeconds?: number | undefined;
  /** Most children (running + restarting) at once: an integer ≥ 0 or `Infinity`/"infinity". @default Infinity */
  maxChildren?: number | "infinity" | undefined;
  /** Arguments passed before the spec's own to every start function. @default [] */
  extraArguments?: readonly unknown[] | undefined;
  /** Only "never" is accepted. @default "never" */
  autoShutdown?: AutoShutdown | undefined;
}

/** Options of `DynamicSupervisor.startLink(options)`. */
export interface DynamicSupervisorOptions extends DynamicSupervisorFlags, SupervisorStartOptions {}

/** Defaults of the supervisor flags (Elixir's: 3 restarts in 5 seconds). */
export const DEFAULT_SUPERVISOR_FLAGS = Object.freeze({
  maxRestarts: 3,
  maxSeconds: 5,
  autoShutdown: "never" as AutoShutdown,
});

/** Defaults of the DynamicSupervisor flags. */
export const DEFAULT_DYNAMIC_SUPERVISOR_FLAGS = Object.freeze({
  strategy: "one_for_one" as Strategy,
  maxRestarts: 3,
  maxSeconds: 5,
  maxChildren: Number.POSITIVE_INFINITY,
  extraArguments: Object.freeze([]) as readonly unknown[],
  autoShutdown: "never" as AutoShutdown,
});

/** The OTP `{supervisor_data, …}` start error. */
export interface SupervisorDataError {
  supervisorData: Record<string, unknown>;
}

export interface ParsedSupervisorFlags {
  strategy: Strategy;
  maxRestarts: number;
  maxSeconds: number;
  autoShutdown: AutoShutdown;
}

export interface ParsedDynamicFlags {
  maxRestarts: number;
  maxSeconds: number;
  maxChildren: number;
  extraArguments: readonly unknown[];
}

const STRATEGIES: ReadonlySet<unknown> = new Set(["one_for_one", "one_for_all", "rest_for_one"]);
const AUTO_SHUTDOWNS: ReadonlySet<unknown> = new Set(["never", "any_significant", "all_significant"]);

function bad(key: string, value: unknown): SupervisorDataError {
  return { supervisorData: { [key]: value } };
}

function checkIntensity(maxRestarts: unknown, maxSeconds: unknown): SupervisorDataError | null {
  if (
    !(
      typeof maxRestarts === "number" &&
      maxRestarts >= 0 &&
      (Number.isInteger(maxRestarts) || maxRestarts === Infinity)
    )
  ) {
    return bad("invalidIntensity", maxRestarts);
  }
  if (!(typeof maxSeconds === "number" && maxSeconds > 0 && Number.isFinite(maxSeconds))) {
    return bad("invalidPeriod", maxSeconds);
  }
  return null;
}

/** Checks Supervisor flags; a bad value gives the OTP `supervisorData` error. */
export function parseSupervisorFlags(flags: SupervisorFlags): ParsedSupervisorFlags | SupervisorDataError {
  const strategy = flags.strategy;
  if (!STRATEGIES.has(strategy)) return bad("invalidStrategy", strategy);
  const maxRestarts = flags.maxRestarts ?? DEFAULT_SUPERVISOR_FLAGS.maxRestarts;
  const maxSeconds = flags.maxSeconds ?? DEFAULT_SUPERVISOR_FLAGS.maxSeconds;
  const e = checkIntensity(maxRestarts, maxSeconds);
  if (e !== null) return e;
  const autoShutdown = flags.autoShutdown ?? DEFAULT_SUPERVISOR_FLAGS.autoShutdown;
  if (!AUTO_SHUTDOWNS.has(autoShutdown)) return bad("invalidAutoShutdown", autoShutdown);
  return { strategy, maxRestarts, maxSeconds, autoShutdown };
}

/** Checks DynamicSupervisor flags; a bad value gives the OTP `supervisorData` error. */
export function parseDynamicFlags(flags: DynamicSupervisorFlags): ParsedDynamicFlags | SupervisorDataError {
  const d = DEFAULT_DYNAMIC_SUPERVISOR_FLAGS;
  const strategy = flags.strategy ?? d.strategy;
  if (strategy !== "one_for_one") return bad("invalidStrategy", strategy);
  const maxRestarts = flags.maxRestarts ?? d.maxRestarts;
  const maxSeconds = flags.maxSeconds ?? d.maxSeconds;
  const e = checkIntensity(maxRestarts, maxSeconds);
  if (e !== null) return e;
  let maxChildren = flags.maxChildren ?? d.maxChildren;
  if (maxChildren === "infinity") maxChildren = Number.POSITIVE_INFINITY;
  if (
    !(
      typeof maxChildren === "number" &&
      maxChildren >= 0 &&
      (Number.isInteger(maxChildren) || maxChildren === Number.POSITIVE_INFINITY)
    )
  ) {
    return bad("invalidMaxChildren", maxChildren);
  }
  const extraArguments = flags.extraArguments ?? d.extraArguments;
  if (!Array.isArray(extraArguments)) return bad("invalidExtraArguments", extraArguments);
  const autoShutdown = flags.autoShutdown ?? d.autoShutdown;
  if (autoShutdown !== "never") return bad("invalidAutoShutdown", autoShutdown);
  return { maxRestarts, maxSeconds, maxChildren, extraArguments };
}

export function isSupervisorDataError(v: unknown): v is SupervisorDataError {
  return typeof v === "object" && v !== null && "supervisorData" in v;
}
