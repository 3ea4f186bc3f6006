/**
 * Parent child specs: a superset of the Supervisor child spec. The id is optional (an anonymous
 * child is addressed by its pid), and a child may carry `meta`, bind itself to siblings
 * (`bindsTo`), join a `shutdownGroup`, be `ephemeral`, have its own restart intensity and a
 * lifetime (`timeoutMs`). `parseParentChildSpec` validates a user spec and fills in defaults,
 * throwing `InvalidParentChildSpecError` / `InvalidChildIdError`. Imports `process`, `server`
 * types, and its own `errors`, `options`.
 */
import { Pid } from "../../process/pid.js";
import type { StartResult } from "../../server/results.js";
import type { ServerBehaviour, StartOptions } from "../../server/gen-server.js";
import {
  type ChildType,
  childSpec,
  type RestartType,
  type Shutdown,
  validateChildSpec,
} from "../child-spec.js";
import { InvalidChildIdError, InvalidParentChildSpecError } from "./errors.js";
import { parseMaxRestarts, parseMaxSeconds } from "./options.js";

export type { ChildType, RestartType, Shutdown };

/** A child id: any value but `undefined`/`null` (anonymous) and a pid (which addresses children). */
export type ParentChildId = string | number | bigint | boolean | symbol | object;

/** Names a child: its id, or its pid (the only way to name an anonymous child). */
export type ChildRef = ParentChildId | Pid;

/** What a start function may return: a start result, or just the pid of the started process. */
export type StartReturn = StartResult<Pid> | Pid;

/**
 * Starts the child linked to the calling process (the parent) and returns a start result or
 * its pid; may be async. The parent calls it as itself, so `GenServer.startLink` and the
 * `Parent.*` lookups work inside it.
 */
export type ParentStartFunction = () => StartReturn | Promise<StartReturn>;

/**
 * A child of a parent, as given by the user.
 * @category models
 */
export interface ParentChildSpec {
  /** Unique id among the parent's children; leave it out for an anonymous child. @default undefined */
  id?: ParentChildId | null | undefined;
  /** Starts the child, linked to the caller. Required. */
  start: ParentStartFunction;
  /** `permanent` always restarts; `transient` restarts unless it exits `normal`; `temporary` never. @default "permanent" */
  restart?: RestartType | undefined;
  /** Ms allowed to stop after `shutdown`, or `brutal_kill` / `infinity`. @default 5000 (worker), "infinity" (supervisor) */
  shutdown?: Shutdown | undefined;
  /** Kind of child, for `whichChildren` / `countChildren`. @default "worker" */
  type?: ChildType | undefined;
  /** Modules shown by `whichChildren`. @default [] */
  modules?: "dynamic" | readonly string[] | undefined;
  /** Free value stored with the child, read by `childMeta`, reset to this on restart. @default undefined */
  meta?: unknown;
  /** Ids or pids of already-started siblings: when one of them stops or restarts, so does this child. @default [] */
  bindsTo?: readonly ChildRef[] | undefined;
  /** Children of the same group always stop and restart together. @default undefined */
  shutdownGroup?: unknown;
  /** Removed when it stops and is not restarted (instead of kept with an undefined pid). @default false */
  ephemeral?: boolean | undefined;
  /** Restarts of this child tolerated within `maxSeconds`. @default "infinity" */
  maxRestarts?: number | "infinity" | undefined;
  /** Window of `maxRestarts`, in seconds. @default 5 */
  maxSeconds?: number | undefined;
  /** Ms after which the running child is stopped with reason `timeout` (then handled as a crash). @default "infinity" */
  timeoutMs?: number | "infinity" | undefined;
  /** @deprecated the old spelling of `timeoutMs` (every duration option is `…Ms`); used when `timeoutMs` is not given. */
  timeout?: number | "infinity" | undefined;
}

/** A validated child spec with every default filled in (what `getChildSpec` returns). */
export interface NormalizedParentChildSpec {
  id: ParentChildId | undefined;
  start: ParentStartFunction;
  restart: RestartType;
  shutdown: Shutdown;
  type: ChildType;
  modules: "dynamic" | readonly string[];
  meta: unknown;
  bindsTo: ChildRef[];
  shutdownGroup: unknown;
  ephemeral: boolean;
  maxRestarts: number;
  maxSeconds: number;
  /** The child's lifetime in ms (`Infinity`: none). */
  timeoutMs: number;
  /** @deprecated the same as `timeoutMs`. */
  timeout: number;
}

const NO_BINDS: ChildRef[] = [];

function invalid(field: string, expected: string, value: unknown): never {
  throw new InvalidParentChildSpecError(field, expected, value);
}

function parseTimeout(field: string, v: unknown): number {
  if (v === undefined || v === "infinity" || v === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY;
  if (typeof v === "number" && v > 0) return v;
  return invalid(field, 'a number of ms > 0 or "infinity"', v);
}

function parseLimit<T>(field: string, parse: () => T, expected: string, value: unknown): T {
  try {
    return parse();
  } catch {
    return invalid(field, expected, value);
  }
}

/**
 * Validates a user spec and fills in defaults. The fields shared with the Supervisor are checked
 * by `validateChildSpec` (same errors); the Parent ones throw `InvalidParentChildSpecError`, a
 * pid as id `InvalidChildIdError`.
 */
export function parseParentChildSpec(input: unknown): NormalizedParentChildSpec {
  if (typeof input === "object" && input !== null) {
    if (normalized.has(input)) return input as NormalizedParentChildSpec;
    const cached = fromFrozen.get(input);
    if (cached !== undefined) return cached;
  }
  const out = Object.freeze(parse(input));
  normalized.add(out);
  // A frozen input cannot change, so the same object given again (a spec reused for many
  // dynamic children) is parsed once.
  if (Object.isFrozen(input)) fromFrozen.set(input as object, out);
  return out;
}

const normalized = new WeakSet<object>();
const fromFrozen = new WeakMap<object, NormalizedParentChildSpec>();

function parse(input: unknown): NormalizedParentChildSpec {
  const s = input as Record<string, unknown>;
  const id = typeof s === "object" && s !== null ? (s.id ?? undefined) : undefined;
  if (id instanceof Pid) throw new InvalidChildIdError(id);
  const base = validateChildSpec(input, { requireId: false });
  const bindsTo = s.bindsTo ?? NO_BINDS;
  if (!Array.isArray(bindsTo)) invalid("bindsTo", "an array of child ids or pids", bindsTo);
  const ephemeral = s.ephemeral ?? false;
  if (typeof ephemeral !== "boolean") invalid("ephemeral", "a boolean", ephemeral);
  // `timeout` is the deprecated spelling, read only when `timeoutMs` is absent.
  const timeoutMs =
    s.timeoutMs !== undefined ? parseTimeout("timeoutMs", s.timeoutMs) : parseTimeout("timeout", s.timeout);
  return {
    id: id as ParentChildId | undefined,
    start: base.start as ParentStartFunction,
    restart: base.restart,
    shutdown: base.shutdown,
    type: base.type,
    modules: base.modules,
    meta: s.meta,
    bindsTo: bindsTo as ChildRef[],
    shutdownGroup: s.shutdownGroup ?? undefined,
    ephemeral,
    maxRestarts: parseLimit(
      "maxRestarts",
      () => parseMaxRestarts("maxRestarts", s.maxRestarts, Number.POSITIVE_INFINITY),
      'an integer >= 0 or "infinity"',
      s.maxRestarts,
    ),
    maxSeconds: parseLimit(
      "maxSeconds",
      () => parseMaxSeconds("maxSeconds", s.maxSeconds, 5),
      "a number of seconds > 0",
      s.maxSeconds,
    ),
    timeoutMs,
    timeout: timeoutMs,
  };
}

/** Parent-only overrides of `parentChildSpec`, plus the GenServer start options. */
export interface ParentChildSpecOverrides extends Partial<Omit<ParentChildSpec, "start">> {
  start?: ParentStartFunction | undefined;
  startOptions?: StartOptions | undefined;
}

/**
 * A frozen, validated Parent child spec for a GenServer behaviour (`GenServer.startLink(behaviour,
 * arg)`), like `Parent.child_spec/2`: the id defaults to the behaviour's name (pass `id:
 * undefined` for an anonymous child). Reusing the returned spec costs no validation.
 */
export function parentChildSpec<A>(
  behaviour: ServerBehaviour<any, any, A>,
  arg: A,
  overrides: ParentChildSpecOverrides = {},
): NormalizedParentChildSpec {
  const { startOptions, start, ...rest } = overrides;
  const base = childSpec(behaviour, arg, startOptions === undefined ? {} : { startOptions });
  return parseParentChildSpec({ ...base, ...(start === undefined ? {} : { start }), ...rest });
}
