/**
 * Reading what a child's start function returned: a start result (`{ ok: true, pid }`,
 * `{ ok: false, ignore: true }`, `{ ok: false, error }`), or a bare pid (a "plain function" start
 * such as `() => spawnLink(...)`). Anything else is a `BadStartReturnError`. Imports `process`,
 * its own `errors`.
 */
import { Pid } from "../../process/pid.js";
import { BadStartReturnError } from "./errors.js";

export const STARTED = 0;
export const IGNORED = 1;
export const FAILED = 2;
export type OutcomeKind = typeof STARTED | typeof IGNORED | typeof FAILED;

/** Classifies a start function's return value. */
export function outcomeKind(v: unknown): OutcomeKind {
  if (v instanceof Pid) return STARTED;
  if (typeof v === "object" && v !== null) {
    const o = v as { ok?: unknown; pid?: unknown; ignore?: unknown };
    if (o.ok === true) return o.pid instanceof Pid ? STARTED : o.pid === undefined ? IGNORED : FAILED;
    if (o.ok === false) return o.ignore === true ? IGNORED : "error" in o ? FAILED : FAILED;
  }
  return FAILED;
}

/** The pid of a `STARTED` outcome. */
export function startedPid(v: unknown): Pid {
  return v instanceof Pid ? v : (v as { pid: Pid }).pid;
}

/** The error of a `FAILED` outcome. */
export function startError(v: unknown): unknown {
  if (typeof v === "object" && v !== null && (v as { ok?: unknown }).ok === false && "error" in v) {
    return (v as { error: unknown }).error;
  }
  return new BadStartReturnError(v);
}
