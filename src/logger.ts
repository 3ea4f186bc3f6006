/**
 * The pluggable logger used for crash and restart reports. Its shape is the subset of pino's
 * logger that hubvisor calls (`logger.error(obj, msg)`), so a pino instance can be passed as is.
 * The default writes one line per report to stderr: a program's stdout stays its own.
 *
 * `crashReport` builds the fields of a crash report: the crashed process is `process`, never
 * `pid` (pino writes the OS process id as `pid` in every line, and a second `pid` key would make
 * its JSON ambiguous), absent fields are left out, and the last message and the state, which can
 * be anything, are printed and cut to a bounded size, as OTP's crash reports bound theirs.
 * Imports `node:util`.
 */
import { inspect } from "node:util";

/** A pino-compatible logger: each method takes a structured object and a message. */
export interface Logger {
  error(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  info(obj: Record<string, unknown>, msg: string): void;
  debug(obj: Record<string, unknown>, msg: string): void;
}

/** Longest printed form of a term in a report (the last message, the state, a reason). */
export const REPORT_TERM_MAX_CHARS = 2000;

/**
 * A term printed on one line for a report, at most `max` characters (then ending in `…`): nested
 * data is cut at depth 4, arrays and maps at 20 entries, strings at 500 characters, before the
 * whole is cut, so that printing a huge state costs little more than printing a small one.
 */
export function printTerm(value: unknown, max = REPORT_TERM_MAX_CHARS): string {
  const text =
    typeof value === "string"
      ? value
      : inspect(value, {
          depth: 4,
          maxArrayLength: 20,
          maxStringLength: 500,
          breakLength: Number.POSITIVE_INFINITY,
        });
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** What a crash report says; `lastMessage` and `state` only when the crashed process had them. */
export interface CrashReportInput {
  /** The crashed process (its pid, printed). */
  process: { toString(): string };
  /** Its registered name, if any. */
  name?: string | undefined;
  /** The exit reason (an `Error` keeps its stack in `stack`). */
  reason: unknown;
  /** The message it was handling when it crashed. */
  lastMessage?: unknown;
  /** Its state when it crashed (a GenServer's state). */
  state?: unknown;
}

/**
 * The fields of a crash report, for `logger.error(crashReport(…), "… terminating")`: `process`,
 * then `name`, `reason`, `lastMessage`, `state` and `stack` when there are any. Terms are printed
 * and bounded by `printTerm`.
 */
export function crashReport(input: CrashReportInput): Record<string, unknown> {
  const fields: Record<string, unknown> = { process: String(input.process) };
  if (input.name !== undefined) fields.name = input.name;
  fields.reason =
    input.reason instanceof Error ? `${input.reason.name}: ${input.reason.message}` : printTerm(input.reason);
  if ("lastMessage" in input) fields.lastMessage = printTerm(input.lastMessage);
  if ("state" in input) fields.state = printTerm(input.state);
  if (input.reason instanceof Error && typeof input.reason.stack === "string")
    fields.stack = input.reason.stack;
  return fields;
}

function field(v: unknown): string {
  if (v instanceof Error) return `${v.name}: ${v.message}`;
  if (typeof v === "string") return /[\s"=]/.test(v) || v === "" ? JSON.stringify(v) : v;
  return printTerm(v, 500);
}

/** One report line: `[hubvisor] level message k=v …`, undefined fields left out, stack below. */
function line(level: string, obj: Record<string, unknown>, msg: string): string {
  const fields = Object.entries(obj)
    .filter(([k, v]) => k !== "stack" && v !== undefined)
    .map(([k, v]) => `${k}=${field(v)}`)
    .join(" ");
  const stack = typeof obj.stack === "string" ? `\n${obj.stack}` : "";
  return `[hubvisor] ${level} ${msg}${fields ? ` ${fields}` : ""}${stack}\n`;
}

/** Writes a line to stderr, where diagnostics belong, whatever its level. */
function toStderr(text: string): void {
  process.stderr.write(text);
}

/** Writes reports to stderr, one line each; `debug` is dropped unless `HUBVISOR_DEBUG` is set. */
export const consoleLogger: Logger = {
  error: (obj, msg) => toStderr(line("error", obj, msg)),
  warn: (obj, msg) => toStderr(line("warn", obj, msg)),
  info: (obj, msg) => toStderr(line("info", obj, msg)),
  debug: (obj, msg) => {
    if (process.env.HUBVISOR_DEBUG) toStderr(line("debug", obj, msg));
  },
};

/** Drops everything. Handy in tests and benchmarks. */
export const silentLogger: Logger = {
  error: () => {},
  warn: () => {},
  info: () => {},
  debug: () => {},
};
