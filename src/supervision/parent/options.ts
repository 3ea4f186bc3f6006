/**
 * Options of a parent process: parent-wide restart intensity and the optional registry. Parent
 * has no strategies; bindings and shutdown groups replace them. Imports the root `errors`.
 */
import { InvalidOptionError } from "../../errors.js";

/** Options of `Parent.initialize`, `ParentGenServer.start` and `ParentSupervisor.start`. */
export interface ParentOptions {
  /** Automatic restarts tolerated within `maxSeconds` before the parent gives up; `Infinity` or `"infinity"` disables the parent-wide limit. @default 3 */
  maxRestarts?: number | "infinity" | undefined;
  /** Length of the restart-intensity window, in seconds (> 0). @default 5 */
  maxSeconds?: number | undefined;
  /** Publish the children in a shared table so that client lookups need no call into the parent. @default false */
  registry?: boolean | undefined;
}

/** `ParentOptions` with every default filled in. */
export interface ParsedParentOptions {
  maxRestarts: number;
  maxSeconds: number;
  registry: boolean;
}

/** Defaults of `ParentOptions`. */
export const DEFAULT_PARENT_OPTIONS: Readonly<ParsedParentOptions> = Object.freeze({
  maxRestarts: 3,
  maxSeconds: 5,
  registry: false,
});

/** Reads a restart limit: an integer >= 0, `Infinity` or `"infinity"`. */
export function parseMaxRestarts(field: string, v: unknown, fallback: number): number {
  if (v === undefined) return fallback;
  if (v === "infinity" || v === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY;
  if (typeof v === "number" && Number.isInteger(v) && v >= 0) return v;
  throw new InvalidOptionError(field, 'an integer >= 0 or "infinity"', v);
}

/** Reads a window length in seconds: a number > 0. */
export function parseMaxSeconds(field: string, v: unknown, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v === "number" && Number.isFinite(v) && v > 0) return v;
  throw new InvalidOptionError(field, "a number of seconds > 0", v);
}

/** Validates parent options and fills in defaults; throws `InvalidOptionError`. */
export function parseParentOptions(options: ParentOptions = {}): ParsedParentOptions {
  if (typeof options !== "object" || options === null) {
    throw new InvalidOptionError("options", "an object", options);
  }
  const registry = options.registry ?? DEFAULT_PARENT_OPTIONS.registry;
  if (typeof registry !== "boolean") throw new InvalidOptionError("registry", "a boolean", registry);
  return {
    maxRestarts: parseMaxRestarts("maxRestarts", options.maxRestarts, DEFAULT_PARENT_OPTIONS.maxRestarts),
    maxSeconds: parseMaxSeconds("maxSeconds", options.maxSeconds, DEFAULT_PARENT_OPTIONS.maxSeconds),
    registry,
  };
}
