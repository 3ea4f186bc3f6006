/**
 * `ProcessContext`: what a spawned function gets — its own pid and the process operations acting
 * as itself, each a thin call into its `Node`. GenServer's callback context extends it. A process
 * killed while its code runs on (to its next `await`) acts no more: its sends, exit signals and
 * monitors do nothing, its calls never settle.
 *
 * Imports `proc`, `types`; the `Node`, `Pid`, `Ref` and `From` types.
 */
import type { From } from "./calls.js";
import type { Node } from "./node.js";
import type { Pid, Ref } from "./pid.js";
import { type Proc, Status } from "./proc.js";
import type { Dest, SpawnOptions, Timeout } from "./types.js";

/**
 * What a spawned function gets: its own pid and the process operations acting as itself. Valid
 * across `await`s, unlike the module-level functions that find the current process only while it
 * runs synchronously.
 * @category runtime
 */
export class ProcessContext {
  constructor(
    readonly node: Node,
    /** @internal */ readonly proc: Proc,
  ) {}

  get self(): Pid {
    return this.proc.pid;
  }

  /**
   * Waits for the first message matching `match` (any message without it), leaving the others
   * queued in order. Without a timeout it waits for as long as it takes and resolves the message
   * (typed `T`: a type guard as `match` infers it); with `timeoutMs` it may also resolve
   * `TIMEOUT`, and its type says so.
   */
  receive<T>(match: (msg: unknown) => msg is T, timeoutMs?: undefined): Promise<T>;
  receive<T = unknown>(match?: ((msg: unknown) => boolean) | undefined, timeoutMs?: undefined): Promise<T>;
  receive<T>(match: (msg: unknown) => msg is T, timeoutMs: number | undefined): Promise<T | Timeout>;
  receive<T = unknown>(
    match: ((msg: unknown) => boolean) | undefined,
    timeoutMs: number | undefined,
  ): Promise<T | Timeout>;
  receive(match?: (msg: unknown) => boolean, timeoutMs?: number): Promise<unknown> {
    return this.node.receive(this.proc, match, timeoutMs);
  }

  /**
   * Registers clean-up that runs when this process dies, however it dies: its function returns
   * or throws, it is killed (`exit(pid, "kill")`), a linked process takes it down, `ctx.stop`.
   * `fn` gets the exit reason and runs synchronously at the moment of death (the process is
   * already dead: its name, links and monitors are being released), before its links and
   * monitors hear of it. A hook that throws (or returns a promise that rejects) is logged and
   * does not stop the others, which run in registration order. On a process that is already
   * dead (killed while its code ran on to this line) `fn` runs at once. The only death it misses
   * is its whole node's (`node.kill()`, a simulated crash of the program). Returns a function
   * that unregisters `fn`.
   *
   * The pattern for a resource the runtime cannot see — a socket, a file handle, a child OS
   * process: `const socket = net.connect(…); ctx.onExit(() => socket.destroy());`.
   */
  onExit(fn: (reason: unknown) => unknown): () => void {
    return this.node.onProcessExit(this.proc, fn);
  }

  send(dest: Dest, msg: unknown): void {
    if (this.proc.status !== Status.Dead) this.node.send(dest, msg);
  }

  link(pid: Pid): void {
    this.node.link(pid, this.proc.pid);
  }

  unlink(pid: Pid): void {
    this.node.unlink(pid, this.proc.pid);
  }

  /** Monitors `target`; a dead process gets a ref that never fires. */
  monitor(target: Pid | string): Ref {
    if (this.proc.status === Status.Dead) return this.node.makeRef();
    return this.node.monitor(target, this.proc.pid);
  }

  demonitor(ref: Ref, options?: { flush?: boolean }): boolean {
    return this.node.demonitor(ref, options, this.proc.pid);
  }

  trapExit(flag: boolean): boolean {
    return this.node.trapExit(flag, this.proc.pid);
  }

  /** Sends an exit signal to `pid`; with own pid and no trap, the process ends. */
  exit(pid: Pid, reason: unknown): void {
    // A killed process whose code runs on until its next await sends no more signals.
    if (this.proc.status !== Status.Dead) this.node.exit(pid, reason, this.proc.pid);
  }

  /** Ends this process with `reason` now; code after the next `await` never runs. */
  stop(reason: unknown = "normal"): void {
    this.node.terminate(this.proc, reason);
  }

  spawn(fn: (ctx: ProcessContext) => unknown, options: SpawnOptions = {}): Pid {
    const link = options.link === true ? this.proc.pid : options.link;
    return this.node.spawn(fn, { ...options, link });
  }

  /** A request-reply call; if this process dies while waiting, the promise never settles. */
  call(dest: Dest, makeRequest: (from: From) => unknown, timeoutMs = 5000): Promise<unknown> {
    const p = this.proc;
    return new Promise((resolve, reject) => {
      if (p.status === Status.Dead) return;
      this.node.call(dest, makeRequest, timeoutMs, p.pid).then(
        (v) => {
          if (p.status !== Status.Dead) resolve(v);
        },
        (e: unknown) => {
          if (p.status !== Status.Dead) reject(e);
        },
      );
    });
  }
}
