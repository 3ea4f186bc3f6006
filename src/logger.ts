/**
 * The pluggable logger used for crash and restart reports. Its shape is the subset of pino's
 * logger that hubvisor calls (`logger.error(obj, msg)`), so a pino instance can be passed as is.
 * The default writes one line per report to the console. Imports nothing.
 */

/** A pino-compatible logger: each method takes a structured object and a message. */
export interface Logger {
  error(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  info(obj: Record<string, unknown>, msg: string): void;
  debug(obj: Record<string, unknown>, msg: string): void;
}

function line(level: string, obj: Record<string, unknown>, msg: string): string {
  const fields = Object.entries(obj)
    .filter(([k]) => k !== "stack")
    .map(([k, v]) => `${k}=${v instanceof Error ? `${v.name}: ${v.message}` : String(v)}`)
    .join(" ");
  const stack = typeof obj.stack === "string" ? `\n${obj.stack}` : "";
  return `[hubvisor] ${level} ${msg}${fields ? ` ${fields}` : ""}${stack}`;
}

/** Writes reports to the console; `debug` is dropped unless `HUBVISOR_DEBUG` is set. */
export const consoleLogger: Logger = {
  error: (obj, msg) => console.error(line("error", obj, msg)),
  warn: (obj, msg) => console.warn(line("warn", obj, msg)),
  info: (obj, msg) => console.info(line("info", obj, msg)),
  debug: (obj, msg) => {
    if (process.env.HUBVISOR_DEBUG) console.debug(line("debug", obj, msg));
  },
};

/** Drops everything. Handy in tests and benchmarks. */
export const silentLogger: Logger = {
  error: () => {},
  warn: () => {},
  info: () => {},
  debug: () => {},
};
