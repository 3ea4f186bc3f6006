/**
 * `ServerProcess`: one running GenServer — its state, its behaviour (shared by every instance)
 * and the context its callbacks get — and how it handles each message: calls, casts, `stop`
 * requests, its parent's EXIT, other messages (`handleInfo`), continues, and `terminate`.
 * Handlers may be sync (no promise on the fast path) or async (the server handles nothing else
 * until the promise settles, as a BEAM process blocked in a call). `runInitNow` runs `init` in
 * the new process and captures the answer of a synchronous one. Imports `process`, and its own
 * `behaviour`, `results`, `errors`.
 */
import { PendingCall } from "../process/calls.js";
import { ExitMessage } from "../process/messages.js";
import type { From, Node } from "../process/node.js";
import type { Proc } from "../process/proc.js";
import { type MaybePromise, type ServerBehaviour, ServerContext } from "./behaviour.js";
import { BadReturnError, StartCrashError, UnknownMessageError } from "./errors.js";
import type { CallResult, InitResult, NoReplyResult, StartResult } from "./results.js";

/** The tags of the GenServer wire format: `[GEN_CALL, from, name, arg]`, `[GEN_CAST, name, arg]`, `[GEN_STOP, from, reason]`. */
export const GEN_CALL = "$gen_call";
export const GEN_CAST = "$gen_cast";
export const GEN_STOP = "$gen_stop";

/**
 * One running server: its behaviour and state. It is also the context its callbacks get, and
 * every method lives on the prototype: one object per server, no closures — memory per idle
 * server is a target (issue 2: ≤ 1,000 B with a supervisor).
 */
export class ServerProcess<S> extends ServerContext {
  state!: S;
  /** The message being (or last) handled, for a crash report (OTP's "last message in"). */
  lastMessage: unknown = undefined;
  /**
   * Who gets the answer of `init`: `CAPTURE` while a synchronous `init` runs, the start's
   * promise once `init` went async, null once answered (or timed out).
   */
  onStarted: ((r: StartResult) => void) | null = CAPTURE;
  stopping = false;

  constructor(
    node: Node,
    proc: Proc,
    readonly behaviour: ServerBehaviour<any, S, any>,
  ) {
    super(node, proc);
  }

  get ctx(): ServerContext {
    return this;
  }

  /** The last message as a crash report shows it: a call or cast by name and argument. */
  private describeLast(): unknown {
    const m = this.lastMessage;
    const named = (kind: string, name: unknown, arg: unknown) =>
      arg === undefined ? { [kind]: name } : { [kind]: name, arg };
    if (m instanceof PendingCall && m.tag === GEN_CALL) return named("call", m.name, m.arg);
    if (Array.isArray(m) && m[0] === GEN_CALL) return named("call", m[2], m[3]);
    if (Array.isArray(m) && m[0] === GEN_CAST) return named("cast", m[1], m[2]);
    return m;
  }

  /** The process's message handler; the runtime calls it with this server as `this`. */
  handle(msg: unknown): unknown {
    this.lastMessage = msg;
    // A local call arrives as the pending call itself; a call from another node as an array.
    if (msg instanceof PendingCall && msg.tag === GEN_CALL) return this.handleCall(msg, msg.name!, msg.arg);
    if (Array.isArray(msg)) {
      const tag = msg[0];
      if (tag === GEN_CALL) return this.handleCall(msg[1] as From, msg[2] as string, msg[3]);
      if (tag === GEN_CAST) return this.handleCast(msg[1] as string, msg[2]);
      if (tag === GEN_STOP) return this.handleStop(msg[1] as From, msg[2]);
    }
    if (msg instanceof ExitMessage && this.ctx.parent !== undefined && msg.from.equals(this.ctx.parent)) {
      return this.shutdown(msg.reason, false);
    }
    const h = this.behaviour.handleInfo;
    if (h === undefined) {
      this.node.logger.debug({ process: String(this.proc.pid), msg: String(msg) }, "unhandled message");
      return undefined;
    }
    return this.guard("handleInfo", () => h(msg, this.state, this.ctx), this.afterNoReply);
  }

  init(arg: unknown): unknown {
    // Written out rather than through `guard`: three closures per start add up at 100k starts.
    let r: MaybePromise<InitResult<S>>;
    try {
      r = this.behaviour.init(arg, this.ctx);
    } catch (e) {
      return this.initFailed(e);
    }
    if (r instanceof Promise) {
      return r.then(
        (v) => (!this.stopping && this.proc.status !== 4 ? this.afterInit(v) : undefined),
        (e) => this.initFailed(e),
      );
    }
    return this.afterInit(r);
  }

  /** Answers the start once. */
  started(r: StartResult): void {
    const f = this.onStarted;
    if (f === null) return;
    this.onStarted = null;
    f(r);
  }

  private afterInit(r: InitResult<S>): unknown {
    // Killed while `init` ran (an exit signal it provoked): the start fails with that reason.
    if (this.proc.status === 4) {
      this.started({ ok: false, error: this.proc.exitReason });
      return undefined;
    }
    if (typeof r === "object" && r !== null) {
      if ("ok" in r) {
        this.state = r.ok;
        const sync = this.onStarted === CAPTURE;
        this.started({ ok: true, pid: this.proc.pid });
        const cont = r.continue;
        if (cont === undefined) return undefined;
        // After a synchronous `init` the starter has not resumed yet: the continue becomes the
        // process's first step, so it runs in the new process after the start returned (OTP
        // runs `handle_continue` after `init_ack`), never on the starter's stack.
        if (sync) {
          this.node.runFirst(this.proc, () => this.runContinue(cont));
          return undefined;
        }
        return this.runContinue(cont);
      }
      if ("ignore" in r) {
        this.started({ ok: false, ignore: true });
        this.node.terminate(this.proc, "normal");
        return undefined;
      }
      if ("stop" in r) {
        this.started({ ok: false, error: r.stop });
        this.node.terminate(this.proc, r.stop);
        return undefined;
      }
    }
    const err = new BadReturnError(`${this.name}.init`, r);
    this.started({ ok: false, error: err });
    this.node.terminate(this.proc, err);
    return undefined;
  }

  /**
   * `init` threw or rejected: the start answers a `StartCrashError` (so a crash is told apart from
   * an `init` returning `{ stop: reason }`), while the process exits with the thrown value as is,
   * as any crashing process does.
   */
  private initFailed(e: unknown): void {
    this.started({ ok: false, error: new StartCrashError(`${this.name}.init`, e) });
    this.node.reportCrash(this.proc.pid, this.proc.name, e, `${this.name} failed to start`);
    this.node.terminate(this.proc, e);
  }

  get name(): string {
    return this.behaviour.name ?? "GenServer";
  }

  /** What `processInfo` shows as this process's behaviour. */
  get behaviourName(): string {
    return this.behaviour.name ?? "GenServer";
  }

  private handleCall(from: From, name: string, arg: unknown): unknown {
    const h = this.behaviour.handleCall?.[name as never] as
      | ((a: unknown, s: S, c: ServerContext) => MaybePromise<CallResult<unknown, S>>)
      | undefined;
    if (h === undefined) return this.crash(new UnknownMessageError("call", name, this.behaviour.name));
    this.ctx.from = from;
    // The sync path is written out (no closures) because it is the hot path of every call.
    let r: MaybePromise<CallResult<unknown, S>>;
    try {
      r = h(arg, this.state, this.ctx);
    } catch (e) {
      return this.crash(e);
    }
    if (r instanceof Promise) {
      return r.then(
        (v) => (this.stopping ? undefined : this.afterCall(from, v)),
        (e) => this.crash(e),
      );
    }
    return this.afterCall(from, r);
  }

  private afterCall(from: From, r: CallResult<unknown, S>): unknown {
    this.ctx.from = undefined;
    if (typeof r === "object" && r !== null) {
      if ("reply" in r && !("stop" in r)) {
        this.state = r.state;
        this.node.reply(from, r.reply);
        return r.continue === undefined ? undefined : this.runContinue(r.continue);
      }
      if ("noreply" in r) {
        this.state = r.state;
        return r.continue === undefined ? undefined : this.runContinue(r.continue);
      }
      if ("stop" in r) {
        this.state = r.state;
        if ("reply" in r) this.node.reply(from, r.reply);
        return this.shutdown(r.stop, true);
      }
    }
    return this.crash(new BadReturnError(`${this.name}.handleCall`, r));
  }

  private handleCast(name: string, arg: unknown): unknown {
    const h = this.behaviour.handleCast?.[name as never] as
      | ((a: unknown, s: S, c: ServerContext) => MaybePromise<NoReplyResult<S>>)
      | undefined;
    if (h === undefined) return this.crash(new UnknownMessageError("cast", name, this.behaviour.name));
    return this.guard(`handleCast(${name})`, () => h(arg, this.state, this.ctx), this.afterNoReply);
  }

  private afterNoReply(r: NoReplyResult<S>): unknown {
    if (typeof r === "object" && r !== null) {
      if ("noreply" in r) {
        this.state = r.state;
        return r.continue === undefined ? undefined : this.runContinue(r.continue);
      }
      if ("stop" in r) {
        this.state = r.state;
        return this.shutdown(r.stop, true);
      }
    }
    return this.crash(new BadReturnError(this.name, r));
  }

  private runContinue(cont: unknown): unknown {
    const h = this.behaviour.handleContinue;
    if (h === undefined)
      return this.crash(new BadReturnError(`${this.name} (continue without handleContinue)`, cont));
    return this.guard("handleContinue", () => h(cont, this.state, this.ctx), this.afterNoReply);
  }

  private handleStop(from: From, reason: unknown): unknown {
    this.node.onExit(this.proc.pid, () => this.node.reply(from, "ok"));
    return this.shutdown(reason, true);
  }

  /** Runs `terminate`, then exits with `reason` (logged unless normal/shutdown). */
  private shutdown(reason: unknown, report: boolean): unknown {
    if (this.stopping) return undefined;
    this.stopping = true;
    const t = this.behaviour.terminate;
    const finish = () => {
      if (report)
        this.node.reportCrash(this.proc.pid, this.proc.name, reason, `${this.name} terminating`, {
          lastMessage: this.describeLast(),
          state: this.state,
        });
      this.node.terminate(this.proc, reason);
    };
    if (t === undefined) return finish();
    let r: unknown;
    try {
      r = t(reason, this.state, this.ctx);
    } catch (e) {
      this.node.reportCrash(this.proc.pid, this.proc.name, e, `${this.name}.terminate failed`);
      return finish();
    }
    if (r instanceof Promise) {
      return r.then(finish, (e) => {
        this.node.reportCrash(this.proc.pid, this.proc.name, e, `${this.name}.terminate failed`);
        finish();
      });
    }
    return finish();
  }

  private crash(e: unknown): unknown {
    return this.shutdown(e, true);
  }

  /**
   * Runs a callback and feeds its (possibly async) result to `then`; a throw or rejection
   * crashes the server through `terminate`, as OTP does for a callback that raises.
   */
  private guard<R>(
    _what: string,
    fn: () => MaybePromise<R>,
    then: (r: R) => unknown,
    fail: (e: unknown) => unknown = this.crash,
  ): unknown {
    let r: MaybePromise<R>;
    try {
      r = fn();
    } catch (e) {
      return fail.call(this, e);
    }
    if (r instanceof Promise) {
      return r.then(
        (v) => {
          if (!this.stopping && this.proc.status !== 4) return then.call(this, v);
          return undefined;
        },
        (e) => fail.call(this, e),
      );
    }
    return then.call(this, r);
  }
}

/** The answer of a synchronous `init`, read by `runInitNow` right after `runInit`. */
let captured: StartResult | undefined;
const CAPTURE = (r: StartResult): void => {
  captured = r;
};

/**
 * Runs the server's `init` now, inside its new process, on the caller's stack (`Node.runInit`).
 * Returns the start result when `init` answered synchronously, else undefined (it went async, or
 * the process died before `init` ran).
 */
export function runInitNow(node: Node, proc: Proc, arg: unknown): StartResult | undefined {
  // Saved and restored: user code running inside this `init` (or in what it sets off) may start
  // other servers, each of which uses `captured` for its own answer.
  const outer = captured;
  captured = undefined;
  node.runInit(proc, ServerProcess.prototype.init, arg);
  const r = captured;
  captured = outer;
  return r;
}
