/**
 * Running a supervision tree as an application: start its root supervisor, and on SIGTERM or
 * SIGINT stop it in order (the root stops its children one at a time in reverse start order,
 * each within its own shutdown timeout), then end the program. If the root exits by itself
 * (restart intensity reached) the program ends with code 1. A second signal during the shutdown,
 * or the overall `shutdownTimeoutMs` passing, forces exit code 1.
 *
 * Signals and the exit function are injectable, so the whole flow is testable in-process.
 * Imports `process`, `server`, `supervision` and the root `errors`/`logger`.
 */
import { HubvisorError, show } from "./errors.js";
import type { Logger } from "./logger.js";
import { formatReason } from "./process/exit-reason.js";
import { currentNodeOrDefault, type Node } from "./process/node.js";
import type { Pid } from "./process/pid.js";
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
  signals?: readonly string[];
  /** Longest the whole shutdown may take before the program exits with code 1. @default 30000 */
  shutdownTimeoutMs?: number;
  /** Source of the signals. @default process */
  signalSource?: SignalSource;
  /** Ends the program with an exit code. @default process.exit */
  exit?: (code: number) => void;
  /** Node the root runs on. @default the current node */
  node?: Node;
  /** Where application events are reported. @default the node's logger */
  logger?: Logger;
  /** Keep the Node.js event loop alive until the application ends (a tree of in-memory
   * processes holds no I/O handle, so the program would otherwise end at once). @default true */
  keepAlive?: boolean;
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
  /** Resolves the exit code once the application has ended, whatever ended it. */
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
  const node = options.node ?? currentNodeOrDefault();
  const logger = options.logger ?? node.logger;
  const signals = options.signals ?? DEFAULT_APPLICATION_OPTIONS.signals;
  const timeoutMs = options.shutdownTimeoutMs ?? DEFAULT_APPLICATION_OPTIONS.shutdownTimeoutMs;
  const source: SignalSource = options.signalSource ?? process;
  const exit = options.exit ?? ((code: number) => process.exit(code));

  const r = await start();
  if (!r.ok) throw new ApplicationStartError("ignore" in r ? "ignore" : r.error);
  const pid = r.pid;

  let stopping: Promise<number> | null = null;
  let ended = false;
  let resolveStopped!: (code: number) => void;
  const stopped = new Promise<number>((res) => {
    resolveStopped = res;
  });

  const keepAlive =
    (options.keepAlive ?? DEFAULT_APPLICATION_OPTIONS.keepAlive) ? setInterval(() => {}, 1 << 30) : null;

  const end = (code: number): void => {
    if (ended) return;
    ended = true;
    if (keepAlive !== null) clearInterval(keepAlive);
    for (const s of signals) source.off(s, onSignal[s]!);
    resolveStopped(code);
    exit(code);
  };

  const stop = (why: string): Promise<number> => {
    if (stopping !== null) return stopping;
    logger.info({ pid: String(pid), why }, "application stopping");
    stopping = new Promise<number>((resolve) => {
      const timer = setTimeout(() => {
        logger.error({ pid: String(pid), timeoutMs }, "application shutdown timed out, killing the root");
        node.exit(pid, "kill");
        resolve(1);
      }, timeoutMs);
      timer.unref?.();
      node
        .call(pid, (from) => ["$gen_stop", from, "shutdown"], Number.POSITIVE_INFINITY)
        .then(
          () => {
            clearTimeout(timer);
            resolve(0);
          },
          (e: unknown) => {
            clearTimeout(timer);
            // Already dead (it exited by itself meanwhile): nothing left to stop.
            logger.warn({ pid: String(pid), err: formatReason(e) }, "application root was not running");
            resolve(0);
          },
        );
    }).then((code) => {
      logger.info({ pid: String(pid), code }, "application stopped");
      end(code);
      return code;
    });
    return stopping;
  };

  const onSignal: Record<string, () => void> = {};
  for (const s of signals) {
    onSignal[s] = () => {
      if (stopping !== null) {
        logger.warn({ signal: s }, "second signal during shutdown, exiting now");
        end(1);
        return;
      }
      void stop(s);
    };
    source.on(s, onSignal[s]);
  }

  if (
    !node.onExit(pid, (_pid, reason) => {
      if (stopping !== null) return;
      logger.error({ pid: String(pid), reason: formatReason(reason) }, "application root exited");
      end(reason === "normal" ? 0 : 1);
    })
  ) {
    end(1);
  }

  return { pid, stop: () => stop("stop"), stopped };
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
