/**
 * Result types of the supervisor APIs: typed unions keeping every OTP distinction observable
 * (`{ ok: false, error: "already_present" }` vs `{ ok: false, error: { alreadyStarted: pid } }`,
 * `"running"` vs `"restarting"` vs `"not_found"`…). Atoms stay snake_case strings, OTP tuples
 * become objects with camelCase keys. Imports `process` and own types.
 */
import type { Pid } from "../process/pid.js";
import type { ChildId, ChildType, NormalizedChildSpec } from "./child-spec.js";
import type { ChildSpecError } from "./errors.js";

/** `:ok`. */
export type Ok = { ok: true };

/** One entry of `whichChildren`. `pid` is `"restarting"` while a failed restart is retried. */
export interface ChildInfo {
  /** The spec id (`undefined` under a DynamicSupervisor). */
  id: ChildId;
  pid: Pid | "restarting" | undefined;
  type: ChildType;
  modules: "dynamic" | readonly string[];
}

/** `countChildren`: kept specs, live children, and specs by type (live or not). */
export interface ChildCounts {
  specs: number;
  active: number;
  supervisors: number;
  workers: number;
}

/**
 * `Supervisor.startChild`: started; ignored (`{ ok: false, ignore: true }`: the spec is kept
 * unless temporary, OTP's `{ok, undefined}`); or an error: `"already_present"`,
 * `{ alreadyStarted: pid }`, a `ChildSpecError`, or what the start failed with (the returned
 * error, a `StartCrashError` for a throw, a `BadStartReturnError`; nothing kept). The same shapes
 * as `DynamicSupervisor.startChild`, `ParentClient.startChild` and `GenServer.start`.
 */
export type SupervisorStartChildResult =
  | { ok: true; pid: Pid; info?: unknown }
  | { ok: false; ignore: true }
  | { ok: false; error: "already_present" }
  | { ok: false; error: { alreadyStarted: Pid } }
  | { ok: false; error: ChildSpecError }
  | { ok: false; error: unknown };

/** `Supervisor.restartChild`: as `startChild`, or `"running"` / `"restarting"` / `"not_found"`. */
export type RestartChildResult =
  | { ok: true; pid: Pid; info?: unknown }
  | { ok: false; ignore: true }
  | { ok: false; error: "running" | "restarting" | "not_found" }
  | { ok: false; error: unknown };

/** `Supervisor.terminateChild` and `DynamicSupervisor.terminateChild`. */
export type TerminateChildResult = Ok | { ok: false; error: "not_found" };

/** `Supervisor.deleteChild`. */
export type DeleteChildResult = Ok | { ok: false; error: "running" | "restarting" | "not_found" };

/** `Supervisor.getChildSpec`. */
export type GetChildSpecResult = { ok: true; spec: NormalizedChildSpec } | { ok: false; error: "not_found" };

/**
 * `DynamicSupervisor.startChild`: started, `ignore` (nothing kept), `"max_children"`, a
 * `ChildSpecError`, or whatever the start function failed with (a thrown `Error` keeps its stack).
 */
export type DynamicStartChildResult =
  | { ok: true; pid: Pid; info?: unknown }
  | { ok: false; ignore: true }
  | { ok: false; error: "max_children" }
  | { ok: false; error: ChildSpecError }
  | { ok: false; error: unknown };
