/**
 * A trace of one hub node for diagnosing chaos runs: when `HUBVISOR_TRACE_DIR` is set, every hub
 * hook and every log line of the node goes, timestamped, to `<dir>/<node>.log` as JSON lines, so
 * the history of a lost child can be read across nodes afterwards (`grep '"c123"' <dir>/*.log`).
 * Unset, it returns nothing and the node stays silent. Synchronous writes: a node may be SIGKILLed
 * at any moment and what it did last is what matters.
 */
import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "hubvisor";

export interface NodeTrace {
  logger: Logger;
  line(kind: string, data: Record<string, unknown>): void;
}

export function nodeTrace(node: string): NodeTrace | undefined {
  const dir = process.env.HUBVISOR_TRACE_DIR;
  if (dir === undefined || dir === "") return undefined;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${node}.log`);
  const line = (kind: string, data: Record<string, unknown>) => {
    const at = (performance.timeOrigin + performance.now()).toFixed(1);
    appendFileSync(file, `${JSON.stringify({ at, os: process.pid, kind, ...data }, replacer)}\n`);
  };
  const log =
    (level: string) =>
    (obj: Record<string, unknown>, msg: string): void =>
      line(`log.${level}`, { msg, ...obj });
  return { logger: { error: log("error"), warn: log("warn"), info: log("info"), debug: () => {} }, line };
}

function replacer(_k: string, v: unknown): unknown {
  if (typeof v === "object" && v !== null && "toString" in v && v.constructor?.name === "Pid")
    return String(v);
  if (v instanceof Map) return [...v];
  if (v instanceof Set) return [...v];
  return v;
}
