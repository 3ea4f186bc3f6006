/**
 * Running a supervision tree as an application: start its root supervisor, and on SIGTERM or
 * SIGINT stop it in order (the root stops its children one at a time in reverse start order,
 * each within its own shutdown timeout), then end the program. If the root exits by itself the
 * program ends with code 1 (restart intensity reached), or 0 if it exited `normal`. A second
 * signal during the shutdown, or the overall `shutdownTimeoutMs` passing, forces exit code 1.
 * `stopped` resolves the code before the program ends, and the default exit waits a turn for
 * what awaits it.
 *
 * Signals and the exit function are injectable, so the whole flow is testable in-process.
 * Imports `process`, `server`, `supervision` and the root `errors`/`logger`.
 */
import { HubvisorError, show } from "./errors.js";
import type { Logger } from "./logger.js";
import { formatReason } from "./process/exit-reason.js";
import { currentNodeOrDefault, type Node } from "./process/node.js";
import type { Pid } from "./process/pid.js";
import { stopOn } from "./server/client.js";
import type { StartResult } from "./server/results.js";
import type { ChildSpec } from "./supervision/child-spec.js";
import type { SupervisorOptions } from "./supervision/options.js";
import { Supervisor } from "./supervision/supervisor.js";

/** Where signals come from: `process` by default, an `EventEmitter` in tests. */
export interface SignalSource {
  on(signal: string, listener: () => void): unknown;
  off(signal: string, listener: () => void): unknown;
}

/** Options of `runApplication`. */
export interface ApplicationOptions {
  /** Signals that stop the application. @default ["SIGTERM", "SIGINT"] */
  signals?: readonly string[] | undefined;
  /** Longest the whole shutdown may take before the program exits with code 1. @default 30000 */
  shutdownTimeoutMs?: number | undefined;
  /** Source of the signals. @default process */
  signalSource?: SignalSource | undefined;
  /**
   * Ends the program with an exit code, once the application has ended. The default sets
   * `process.exitCode` and calls `process.exit` on the next turn of the event loop, so that code
   * awaiting `stopped` (or `stop()`) runs first, up to its first wait on I/O or a timer. Give your
   * own to finish asynchronous clean-up first (and call `process.exit` after it), or a no-op to
   * let the program end by itself. @default exit on the next turn
   */
  exit?: ((code: number) => void) | undefined;
  /** Node the root runs on. @default the current node */
  node?: Node | undefined;
  /** Where application events are reported. @default the node's logger */
  logger?: Logger | undefined;
  /** Keep the Node.js event loop alive until the application ends (a tree of in-memory
   * processes holds no I/O handle, so the program would otherwise end at once). @default true */
  keepAlive?: boolean | undefined;
}

/** Defaults of `ApplicationOptions`. */
export const DEFAULT_APPLICATION_OPTIONS = Object.freeze({
  signals: Object.freeze(["SIGTERM", "SIGINT"]) as readonly string[],
  shutdownTimeoutMs: 30_000,
  keepAlive: true,
});

/** The root supervisor did not start. `reason` is its start error. */
export class ApplicationStartError extends HubvisorError {
  constructor(readonly reason: unknown) {
    super("HV_ERR_APPLICATION_START", `application root failed to start: ${show(reason)}`);
  }
}

/**
 * A running application.
 * @category supervision
 */
export interface Application {
  /** The root supervisor. */
  readonly pid: Pid;
  /** Stops the tree in order (as a signal would) and ends the program; resolves the exit code. */
  stop(): Promise<number>;
  /**
   * Resolves the exit code once the application has ended, whatever ended it (never rejects): 0
   * after an orderly stop or a root that exited `normal` by itself, 1 otherwise.
   * It resolves before `exit` is called; with the default `exit`, what awaits it runs before the
   * program ends.
   */
  readonly stopped: Promise<number>;
}

/**
 * Starts `start()` (a root supervisor start, e.g. `() => Supervisor.start(children, opts)`) as
 * an application. Throws `ApplicationStartError` if it does not start.
 */
export async function runApplication(
  start: () => Promise<StartResult>,
  options: ApplicationOptions = {},
): Promise<Application> {
  const settings = settingsOf(options);
  const r = await start();
  if (!r.ok) throw new ApplicationStartError("ignore" in r ? "ignore" : r.error);
  const run = new ApplicationRun(settings, r.pid);
  return { pid: r.pid, stop: () => run.stop("stop"), stopped: run.stopped };
}

/** `ApplicationOptions` with their defaults. */
interface Settings {
  node: Node;
  logger: Logger;
  signals: readonly string[];
  timeoutMs: number;
  source: SignalSource;
  exit: (code: number) => void;
  keepAlive: boolean;
}

function settingsOf(options: ApplicationOptions): Settings {
  const node = options.node ?? currentNodeOrDefault();
  return {
    node,
    logger: options.logger ?? node.logger,
    signals: options.signals ?? DEFAULT_APPLICATION_OPTIONS.signals,
    timeoutMs: options.shutdownTimeoutMs ?? DEFAULT_APPLICATION_OPTIONS.shutdownTimeoutMs,
    source: options.signalSource ?? process,
    exit: options.exit ?? exitNextTurn,
    keepAlive: options.keepAlive ?? DEFAULT_APPLICATION_OPTIONS.keepAlive,
  };
}

/**
 * One running application: its root, the signal listeners, the keep-alive timer, and how it
 * ends — stopped in order (a signal, `stop()`), forced (a second signal, the shutdown timeout), or
 * by the root exiting on its own. It ends once: listeners off, `stopped` resolved, `exit` called.
 */
class ApplicationRun {
  readonly stopped: Promise<number>;
  private resolveStopped!: (code: number) => void;
  private stopping: Promise<number> | null = null;
  private ended = false;
  private readonly keepAlive: ReturnType<typeof setInterval> | null;
  private readonly onSignal: Record<string, () => void> = {};

  constructor(
    private readonly s: Settings,
    private readonly pid: Pid,
  ) {
    this.stopped = new Promise<number>((res) => {
      this.resolveStopped = res;
    });
    this.keepAlive = s.keepAlive ? setInterval(() => {}, 1 << 30) : null;
    for (const signal of s.signals) {
      this.onSignal[signal] = () => this.signalled(signal);
      s.source.on(signal, this.onSignal[signal]);
    }
    if (!s.node.onExit(pid, (_pid, reason) => this.rootExited(reason))) this.end(1);
  }

  /** Stops the tree in order, once; resolves the exit code (also when the stop was asked before). */
  stop(why: string): Promise<number> {
    if (this.stopping !== null) return this.stopping;
    this.s.logger.info({ process: String(this.pid), why }, "application stopping");
    this.stopping = this.stopRoot().then((code) => {
      this.s.logger.info({ process: String(this.pid), code }, "application stopped");
      this.end(code);
      return code;
    });
    return this.stopping;
  }

  /** Asks the root to stop (`shutdown`); kills it when the shutdown timeout passes first. */
  private stopRoot(): Promise<number> {
    const { node, logger, timeoutMs } = this.s;
    const pid = this.pid;
    return new Promise<number>((resolve) => {
      const timer = setTimeout(() => {
        logger.error({ process: String(pid), timeoutMs }, "application shutdown timed out, killing the root");
        node.exit(pid, "kill");
        resolve(1);
      }, timeoutMs);
      timer.unref?.();
      stopOn(node, pid, "shutdown").then(
        () => {
          clearTimeout(timer);
          resolve(0);
        },
        (e: unknown) => {
          clearTimeout(timer);
          // Already dead (it exited by itself meanwhile): nothing left to stop.
          logger.warn({ process: String(pid), err: formatReason(e) }, "application root was not running");
          resolve(0);
        },
      );
    });
  }

  private signalled(signal: string): void {
    if (this.stopping !== null) {
      this.s.logger.warn({ signal }, "second signal during shutdown, exiting now");
      this.end(1);
      return;
    }
    void this.stop(signal);
  }

  /**
   * The root exited by itself: 0 for `normal`, else 1 — `shutdown` included, which is how a
   * supervisor gives up (restart intensity reached), as a permanent OTP application ends its node.
   */
  private rootExited(reason: unknown): void {
    if (this.stopping !== null) return;
    const fields = { process: String(this.pid), reason: formatReason(reason) };
    if (reason === "normal") this.s.logger.info(fields, "application root exited");
    else this.s.logger.error(fields, "application root exited");
    this.end(reason === "normal" ? 0 : 1);
  }

  private end(code: number): void {
    if (this.ended) return;
    this.ended = true;
    if (this.keepAlive !== null) clearInterval(this.keepAlive);
    for (const signal of this.s.signals) this.s.source.off(signal, this.onSignal[signal]!);
    this.resolveStopped(code);
    this.s.exit(code);
  }
}

/**
 * The default `exit`: the exit code now, the end on the next turn, after the continuations of
 * `stopped` (`process.exit` at once would end the program before any of them ran).
 */
function exitNextTurn(code: number): void {
  process.exitCode = code;
  setImmediate(() => process.exit(code));
}

/** `runApplication` for a root `Supervisor` over `children` with `supervisorOptions`. */
export function startApplication(
  children: readonly ChildSpec[],
  supervisorOptions: SupervisorOptions,
  options: ApplicationOptions = {},
): Promise<Application> {
  const node = options.node ?? supervisorOptions.node;
  return runApplication(() => Supervisor.start(children, { ...supervisorOptions, node }), {
    ...options,
    node,
  });
}
