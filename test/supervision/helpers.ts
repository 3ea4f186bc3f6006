/**
 * Shared fixtures of the supervision tests: a trivial worker GenServer, a worker that traps exits
 * and stops only when released, start functions that fail on demand, and a logger that records.
 */
import type { Logger } from "../../src/logger.js";
import { defaultNode, type Pid } from "../../src/process/index.js";
import { defineServer, GenServer, ok, reply, type StartResult } from "../../src/server/index.js";

export interface WorkerProtocol {
  calls: { ping(): string; arg(): unknown };
  casts: { stop(reason: unknown): void };
}

/** Init returns its argument; answers `ping`. */
export const Worker = defineServer<WorkerProtocol>()({
  name: "Worker",
  init: (arg: unknown) => ok(arg),
  handleCall: {
    ping: (_a, s) => reply("pong", s),
    arg: (_a, s) => reply(s, s),
  },
  handleCast: {
    stop: (reason, s) => ({ stop: reason, state: s }),
  },
});

export function startWorker(arg?: unknown): Promise<StartResult> {
  return GenServer.startLink(Worker, arg);
}

/** A gate that trapping workers wait on in `terminate`. */
export class Gate {
  entered: string[] = [];
  private release: (() => void) | null = null;
  readonly opened: Promise<void> = new Promise((r) => {
    this.release = r;
  });
  open(): void {
    this.release!();
  }
}

/** A worker trapping exits whose `terminate` records its name and waits for `gate` (never, if undefined). */
export const SlowWorker = defineServer<{}>()({
  name: "SlowWorker",
  init: (arg: { name: string; gate?: Gate; log?: string[] }) => ok(arg),
  terminate: async (reason, s) => {
    s.gate?.entered.push(s.name);
    s.log?.push(`terminate ${s.name} ${String(reason)}`);
    if (s.gate === undefined) await new Promise(() => {});
    else await s.gate.opened;
  },
});

export function startSlow(name: string, gate?: Gate, log?: string[]): Promise<StartResult> {
  return GenServer.startLink(SlowWorker, { name, gate, log }, { trapExit: true });
}

/** A worker that logs its `terminate` and exits promptly (traps exits). */
export const LoggingWorker = defineServer<WorkerProtocol>()({
  name: "LoggingWorker",
  init: (arg: { name: string; log: string[] }) => {
    arg.log.push(`start ${arg.name}`);
    return ok(arg);
  },
  handleCall: {
    ping: (_a, s) => reply("pong", s),
    arg: (_a, s) => reply(s.name, s),
  },
  handleCast: { stop: (reason, s) => ({ stop: reason, state: s }) },
  terminate: (reason, s) => {
    s.log.push(`stop ${s.name} ${typeof reason === "string" ? reason : "crash"}`);
  },
});

export function startLogging(name: string, log: string[]): Promise<StartResult> {
  return GenServer.startLink(LoggingWorker, { name, log }, { trapExit: true });
}

/** Records every report. */
export class RecordingLogger implements Logger {
  readonly records: Array<{ level: string; obj: Record<string, unknown>; msg: string }> = [];
  error(obj: Record<string, unknown>, msg: string): void {
    this.records.push({ level: "error", obj, msg });
  }
  warn(obj: Record<string, unknown>, msg: string): void {
    this.records.push({ level: "warn", obj, msg });
  }
  info(obj: Record<string, unknown>, msg: string): void {
    this.records.push({ level: "info", obj, msg });
  }
  debug(obj: Record<string, unknown>, msg: string): void {
    this.records.push({ level: "debug", obj, msg });
  }
  messages(): string[] {
    return this.records.map((r) => r.msg);
  }
}

/** Sends an exit signal from outside any process (kills a non-trapping process). */
export function crash(pid: Pid, reason: unknown = "crashed"): void {
  defaultNode().exit(pid, reason);
}

export function alive(pid: Pid | undefined | string): boolean {
  return typeof pid === "object" && defaultNode().isAlive(pid);
}

/** Waits for `pid` to die; resolves its exit reason. */
export function waitDown(pid: Pid): Promise<unknown> {
  return new Promise((resolve) => {
    if (!defaultNode().onExit(pid, (_p, reason) => resolve(reason))) resolve("noproc");
  });
}

/** A worker trapping exits whose `terminate` logs enter/leave around one macrotask. */
export const SteppedWorker = defineServer<{}>()({
  name: "SteppedWorker",
  init: (arg: { name: string; log: string[] }) => {
    arg.log.push(`start ${arg.name}`);
    return ok(arg);
  },
  terminate: async (_reason, s) => {
    s.log.push(`enter ${s.name}`);
    await new Promise((r) => setImmediate(r));
    s.log.push(`leave ${s.name}`);
  },
});

export function startStepped(name: string, log: string[]): Promise<StartResult> {
  return GenServer.startLink(SteppedWorker, { name, log }, { trapExit: true });
}
