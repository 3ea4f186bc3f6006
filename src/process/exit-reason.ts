/**
 * Exit reasons, as in OTP: `normal` is success, everything else is abnormal; `shutdown` and
 * `{ shutdown: term }` are abnormal but expected (not logged, transient children not restarted);
 * `kill` is the untrappable signal whose victim exits `killed`. A crash carries the thrown value
 * (an `Error` keeps its stack). Imports nothing.
 */

/**
 * Any exit reason. The well-known atoms are strings; `{ shutdown: term }` is a shutdown with a
 * detail; a crash is the thrown value itself (usually an `Error`).
 * @category models
 */
export type ExitReason =
  | "normal"
  | "shutdown"
  | "kill"
  | "killed"
  | "noproc"
  | "noconnection"
  | "timeout"
  | { shutdown: unknown }
  | Error
  | (string & {})
  | (object & {});

/** `{ shutdown: detail }`: an expected stop that carries a term. */
export function shutdownWith(detail: unknown): { shutdown: unknown } {
  return { shutdown: detail };
}

/** `normal`: the only successful exit reason. */
export function isNormal(reason: unknown): boolean {
  return reason === "normal";
}

/** `shutdown` or `{ shutdown: term }`. */
export function isShutdown(reason: unknown): boolean {
  return (
    reason === "shutdown" ||
    (typeof reason === "object" &&
      reason !== null &&
      !(reason instanceof Error) &&
      Object.keys(reason).length === 1 &&
      "shutdown" in reason)
  );
}

/** Reasons a transient Supervisor child is not restarted for, and that are not logged. */
export function isNormalOrShutdown(reason: unknown): boolean {
  return reason === "normal" || isShutdown(reason);
}

/** Printable form of a reason for logs. */
export function formatReason(reason: unknown): string {
  if (reason instanceof Error) return `${reason.name}: ${reason.message}`;
  if (typeof reason === "string") return reason;
  try {
    return JSON.stringify(reason) ?? String(reason);
  } catch {
    return String(reason);
  }
}
