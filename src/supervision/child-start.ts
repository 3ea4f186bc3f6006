/**
 * Starting one child on behalf of a supervisor (stopping one is `child-stop.ts`). `invokeStart`
 * runs a spec's start function as the supervisor process (so `startLink` links the child to it,
 * even after an `await`), turns throws and rejections into `{ ok: false, error: StartCrashError }`
 * and stray values into `{ ok: false, error: BadStartReturnError }`, and makes sure a started
 * child is linked to the supervisor. A start that returns synchronously costs no promise.
 * Imports `process` (internal `Node` and `Proc` access) and `server` results.
 */
import type { Node } from "../process/node.js";
import { Pid } from "../process/pid.js";
import { type Proc, Status } from "../process/proc.js";
import { isThenable } from "../process/thenable.js";
import { StartCrashError } from "../server/errors.js";
import type { StartResult } from "../server/results.js";
import type { StartFunction } from "./child-spec.js";
import { BadStartReturnError } from "./errors.js";

const IGNORED: StartResult = Object.freeze({ ok: false as const, ignore: true as const });

/**
 * Anything a start function may return, made into a `StartResult`, by the same rules as Parent's:
 * `{ ok: true, pid }` (or a bare pid) started, `{ ok: false, ignore: true }` (or OTP's
 * `{ ok: true, pid: undefined }`) ignored, `{ ok: false, error }` failed with `error`; anything
 * else failed with a `BadStartReturnError`.
 */
export function toStartResult(r: unknown): StartResult {
  if (r instanceof Pid) return { ok: true, pid: r };
  if (typeof r === "object" && r !== null && "ok" in r) {
    const o = r as { ok: unknown; pid?: unknown; ignore?: unknown };
    if (o.ok === true) {
      if (o.pid instanceof Pid) return r as StartResult;
      if (o.pid === undefined) return IGNORED;
    } else if (o.ok === false && (o.ignore === true || "error" in o)) return r as StartResult;
  }
  return { ok: false, error: new BadStartReturnError(r) };
}

/** What a start that threw gives: a `StartCrashError`, told apart from a returned error. */
export function crashedStart(e: unknown): { ok: false; error: StartCrashError } {
  return { ok: false, error: new StartCrashError("child start function", e) };
}

/**
 * Calls `start(...extra)` as the supervisor `sup`: its result at once when the start function
 * returned synchronously, else a promise of it that never rejects (a throw or a rejection becomes
 * `{ ok: false, error: StartCrashError }`, as Elixir's supervisors turn a raise into
 * `{:error, {exception, stack}}`).
 */
export function runStart(
  node: Node,
  sup: Proc,
  start: StartFunction,
  extra: readonly unknown[],
): StartResult | Promise<StartResult> {
  let r: unknown;
  try {
    r =
      extra.length === 0
        ? node.runAs(sup.pid, start as () => unknown)
        : node.runAs(sup.pid, () => start(...extra));
  } catch (e) {
    return crashedStart(e);
  }
  if (isThenable(r)) {
    return (r instanceof Promise ? r : Promise.resolve(r)).then(
      (v) => ensureLinked(node, sup, toStartResult(v)),
      crashedStart,
    );
  }
  return ensureLinked(node, sup, toStartResult(r));
}

/** `runStart`, handing the result to `then` (at once, or when the start settles). */
export function invokeStart<T>(
  node: Node,
  sup: Proc,
  start: StartFunction,
  extra: readonly unknown[],
  then: (r: StartResult) => T,
): T | Promise<T> {
  const r = runStart(node, sup, start, extra);
  return r instanceof Promise ? r.then(then) : then(r);
}

/**
 * OTP requires start functions to link; linking again is free and makes an unlinked start
 * (a plain `spawn`) still supervised. A child already dead gives the supervisor an EXIT `noproc`.
 */
function ensureLinked(node: Node, sup: Proc, r: StartResult): StartResult {
  if (r.ok && sup.status !== Status.Dead) {
    const pid = r.pid;
    if (!sup.hasLink(pid)) node.link(pid, sup.pid);
  }
  return r;
}
