/**
 * The GenServer behaviour: a process holding state and answering calls, casts and plain
 * messages through the callbacks of a `ServerBehaviour`. Starting runs `init` inside the new
 * process and waits for it; `call` waits for a reply (default 5000 ms); `stop` runs `terminate`
 * and waits for the exit. Handlers may be sync (no promise on the fast path) or async (the
 * server handles nothing else until the promise settles, as a BEAM process blocked in a call).
 *
 * Imports `process`, and its own `protocol`, `results`, `errors`.
 */
import { InvalidOptionError } from "../errors.js";
import { PendingCall } from "../process/calls.js";
import { CallExitError, NoProcError } from "../process/errors.js";
import { isNormalOrShutdown } from "../process/exit-reason.js";
import { ExitMessage } from "../process/messages.js";
import { currentNodeOrDefault, type Dest, type From, type Node, ProcessContext } from "../process/node.js";
import { Pid } from "../process/pid.js";
import { type Proc, Status } from "../process/proc.js";
import { BadReturnError, StartCrashError, StopTimeoutError, UnknownMessageError } from "./errors.js";
import {
  type CallArg,
  type CallArgs,
  type CallName,
  type CallReply,
  type CastArg,
  type CastArgs,
  type CastName,
  isViaName,
  type Protocol,
  type ServerDest,
  type ServerRef,
  type ViaName,
} from "./protocol.js";
import type { CallResult, InitResult, NoReplyResult, StartResult } from "./results.js";

type MaybePromise<T> = T | Promise<T>;

/** Call handlers of protocol `P`, one per call name, each typed with its own reply. */
export type CallHandlers<P, S> = {
  [K in CallName<P>]: (
    arg: CallArg<P, K>,
    state: S,
    ctx: ServerContext,
  ) => MaybePromise<CallResult<CallReply<P, K>, S>>;
};

/** Cast handlers of protocol `P`. */
export type CastHandlers<P, S> = {
  [K in CastName<P>]: (arg: CastArg<P, K>, state: S, ctx: ServerContext) => MaybePromise<NoReplyResult<S>>;
};

/**
 * The callbacks of a server. Shared by every instance (one object per behaviour, not per
 * process). `init` gets the start argument.
 * @category server
 */
export interface ServerBehaviour<P extends Protocol, S, A = undefined> {
  /** Shown by `processInfo` and in crash reports. */
  name?: string;
  init(arg: A, ctx: ServerContext): MaybePromise<InitResult<S>>;
  handleCall?: Partial<CallHandlers<P, S>>;
  handleCast?: Partial<CastHandlers<P, S>>;
  /** Any other message: EXIT and DOWN messages, plain sends. Default: ignore (debug log). */
  handleInfo?(msg: unknown, state: S, ctx: ServerContext): MaybePromise<NoReplyResult<S>>;
  handleContinue?(cont: unknown, state: S, ctx: ServerContext): MaybePromise<NoReplyResult<S>>;
  /** Runs when the server stops by a `stop` result, `GenServer.stop`, a crash in a callback, or
   * an exit signal from its parent while trapping exits. */
  terminate?(reason: unknown, state: S, ctx: ServerContext): MaybePromise<void>;
}

/** Declares a behaviour for protocol `P`, inferring state and argument types from `init`. */
export function defineServer<P extends Protocol>() {
  return <S, A = undefined>(behaviour: ServerBehaviour<P, S, A>): ServerBehaviour<P, S, A> => behaviour;
}

/** Options of `GenServer.start`. */
export interface StartOptions {
  /** Register under a local name, a via-name. @default undefined */
  name?: string | ViaName;
  /** Time allowed for `init`; on expiry the process is killed and the start fails `timeout`. @default Infinity */
  timeoutMs?: number;
  /** Start trapping exits before `init`. @default false */
  trapExit?: boolean;
  /** Node to start on (a local `Node`). @default the current node */
  node?: Node;
}

/** The context handed to callbacks: the process operations acting as the server, plus `from`. */
export class ServerContext extends ProcessContext {
  /** The caller of the call being handled (keep it to reply later with `GenServer.reply`). */
  from: From | undefined = undefined;
  /** The process that started this server (gets `terminate` on its exit when trapping). */
  parent: Pid | undefined = undefined;
}

const GEN_CALL = "$gen_call";
const GEN_CAST = "$gen_cast";
const GEN_STOP = "$gen_stop";

/**
 * One running server: its behaviour and state. It is also the context its callbacks get, and
 * every method lives on the prototype: one object per server, no closures — memory per idle
 * server is a target (issue 2: ≤ 1,000 B with a supervisor).
 */
class ServerProcess<S> extends ServerContext {
  state!: S;
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

  /** The process's message handler; the runtime calls it with this server as `this`. */
  handle(msg: unknown): unknown {
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
      this.node.logger.debug({ pid: String(this.proc.pid), msg: String(msg) }, "unhandled message");
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
      if (report) this.node.reportCrash(this.proc.pid, this.proc.name, reason, `${this.name} terminating`);
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

function resolveDest(dest: ServerDest<unknown> | Dest): Dest | undefined {
  if (isViaName(dest)) return dest.via.whereisName(dest.key);
  return dest as Dest;
}

/** Starts a server (unlinked). Resolves with OTP's on_start result. */
export function start<P extends Protocol, S, A>(
  behaviour: ServerBehaviour<P, S, A>,
  arg: A,
  options: StartOptions = {},
): Promise<StartResult<ServerRef<P>>> {
  return spawnServer(behaviour, arg, options, undefined);
}

/**
 * The `linkTo` option of every `startLink` (GenServer, Supervisor, DynamicSupervisor,
 * TaskSupervisor, Registry, ParentGenServer, ParentSupervisor): the process the new one is linked
 * to. By default the calling process — which is known only while it runs synchronously, so an
 * async process that has `await`ed passes its `ctx` (or its pid) here.
 * @category server
 */
export interface LinkOptions {
  /** Link to this process: a pid or a process context. @default the calling process (none outside processes) */
  linkTo?: Pid | ProcessContext | undefined;
}

/**
 * The node a `startLink` starts on: `node` if given, else the node of a `linkTo` context, else
 * the current node. @internal
 */
export function startNode(node: Node | undefined, linkTo: Pid | ProcessContext | undefined): Node {
  return node ?? (linkTo instanceof ProcessContext ? linkTo.node : currentNodeOrDefault());
}

/**
 * The pid a `startLink` on `node` links to: `linkTo`'s, else the calling process, else none
 * (outside any process). @internal
 */
export function linkTarget(node: Node, linkTo: Pid | ProcessContext | undefined): Pid | undefined {
  if (linkTo !== undefined) return linkTo instanceof Pid ? linkTo : linkTo.self;
  const self = node.self();
  return self.id === 0 ? undefined : self;
}

/** Starts a server linked to the calling process (or to `linkTo`). */
export function startLink<P extends Protocol, S, A>(
  behaviour: ServerBehaviour<P, S, A>,
  arg: A,
  options: StartOptions & LinkOptions = {},
): Promise<StartResult<ServerRef<P>>> {
  return spawnServer(behaviour, arg, linkedOptions(options), linkedTo(options));
}

/** `startLink` answering synchronously when `init` is synchronous (for supervisors). @internal */
export function startLinkNow<S, A>(
  behaviour: ServerBehaviour<any, S, A>,
  arg: A,
  options: StartOptions & LinkOptions = {},
): StartResult | Promise<StartResult> {
  return startServer(behaviour, arg, linkedOptions(options), linkedTo(options));
}

/** `options` with the node a `linkTo` context implies (the same object when nothing changes). */
function linkedOptions(options: StartOptions & LinkOptions): StartOptions {
  const linkTo = options.linkTo;
  if (options.node !== undefined || !(linkTo instanceof ProcessContext)) return options;
  return { ...options, node: linkTo.node };
}

function linkedTo(options: StartOptions & LinkOptions): Pid | undefined {
  const linkTo = options.linkTo;
  return linkTarget(startNode(options.node, linkTo), linkTo);
}

function spawnServer<P extends Protocol, S, A>(
  behaviour: ServerBehaviour<P, S, A>,
  arg: A,
  options: StartOptions,
  parent: Pid | undefined,
): Promise<StartResult<ServerRef<P>>> {
  const r = startServer(behaviour, arg, options, parent);
  return (r instanceof Promise ? r : Promise.resolve(r)) as Promise<StartResult<ServerRef<P>>>;
}

/**
 * Spawns a server and runs its `init` at once, inside the new process (the caller waits for
 * `init` in any case, as OTP's `start_link` does). The result comes back synchronously when
 * `init` was synchronous, else as a promise. Supervisors call this through `childSpec`: a
 * synchronous start costs no promise, microtask or run-queue turn. @internal
 */
export function startServer<S, A>(
  behaviour: ServerBehaviour<any, S, A>,
  arg: A,
  options: StartOptions,
  parent: Pid | undefined,
): StartResult | Promise<StartResult> {
  if (typeof behaviour !== "object" || behaviour === null || typeof behaviour.init !== "function") {
    throw new InvalidOptionError("behaviour", "an object with an init function", behaviour);
  }
  const node = options.node ?? currentNodeOrDefault();
  const name = options.name;
  if (typeof name === "string") {
    const holder = node.whereis(name);
    if (holder !== undefined) return { ok: false, error: { alreadyStarted: holder } };
  } else if (name !== undefined) {
    const holder = name.via.whereisName(name.key);
    if (holder !== undefined) return { ok: false, error: { alreadyStarted: holder } };
  }
  // Misuse found above throws at once (as Elixir raises); what fails from here on is the start
  // failing, and rejects.
  let proc: Proc;
  try {
    proc = node.spawnHandlerFor(
      ServerProcess.prototype.handle as (msg: unknown) => unknown,
      parent,
      typeof name === "string" ? name : undefined,
      options.trapExit === true,
      undefined, // the server names its behaviour itself (`behaviourName`)
    );
  } catch (e) {
    return Promise.reject(e);
  }
  const pid = proc.pid;
  const server = new ServerProcess<S>(node, proc, behaviour);
  proc.behaviourState = server;
  server.parent = parent;
  if (name !== undefined && typeof name !== "string") {
    let r: ReturnType<typeof name.via.registerName>;
    try {
      r = name.via.registerName(name.key, pid);
    } catch (e) {
      // A via module that throws must not leave a process behind that never ran `init`.
      node.terminate(proc, "normal");
      return Promise.reject(e);
    }
    if (!r.ok) {
      node.terminate(proc, "normal");
      return { ok: false, error: { alreadyStarted: r.holder } };
    }
  }
  // Saved and restored: user code running inside this `init` (or in what it sets off) may start
  // other servers, each of which uses `captured` for its own answer.
  const outer = captured;
  captured = undefined;
  node.runInit(proc, ServerProcess.prototype.init, arg);
  const r = captured;
  captured = outer;
  if (r !== undefined) return r;
  if (server.onStarted === null || proc.status === Status.Dead) {
    // Dead before `init` ran (its link target was already gone) or in its synchronous part.
    server.onStarted = null;
    return { ok: false, error: proc.exitReason };
  }
  // `init` went async: the answer comes later, unless the start times out or the process dies first.
  return new Promise((resolve) => {
    const timeout = options.timeoutMs;
    const entry =
      timeout !== undefined && Number.isFinite(timeout)
        ? node.wheel.add(timeout, () => {
            if (server.onStarted === null) return;
            server.onStarted = null;
            node.terminate(proc, "killed");
            resolve({ ok: false, error: "timeout" });
          })
        : null;
    server.onStarted = (v) => {
      if (entry !== null) node.wheel.cancel(entry);
      resolve(v);
    };
    node.onExit(pid, (_pid, reason) => server.started({ ok: false, error: reason }));
  });
}

/** The answer of a synchronous `init`, read by `startServer` right after `runInit`. */
let captured: StartResult | undefined;
const CAPTURE = (r: StartResult): void => {
  captured = r;
};

/**
 * Calls a server and waits for its reply, typed from the protocol. Rejects with
 * `CallTimeoutError` after `timeoutMs` (default 5000) and with `CallExitError` (carrying the exit
 * reason: `noproc`, `noconnection`, a crash) when the server is dead or dies first.
 */
export function call<P extends Protocol, K extends CallName<P>>(
  server: ServerDest<P>,
  name: K,
  ...args: CallArgs<P, K>
): Promise<CallReply<P, K>> {
  const node = currentNodeOrDefault();
  return callOn(node, server, name, args[0], args[1] ?? 5000) as Promise<CallReply<P, K>>;
}

/** `call` through an explicit node (multi-node programs, code outside any process). */
export function callOn(node: Node, server: ServerDest<any>, name: string, arg: unknown, timeoutMs = 5000) {
  const dest = resolveDest(server);
  if (dest === undefined) return Promise.reject(new CallExitError("noproc", server));
  return node.callTagged(dest, GEN_CALL, name, arg, timeoutMs);
}

/** Sends a cast. Never fails: a dead or unknown target drops it, as OTP does. */
export function cast<P extends Protocol, K extends CastName<P>>(
  server: ServerDest<P>,
  name: K,
  ...args: CastArgs<P, K>
): void {
  castOn(currentNodeOrDefault(), server, name, args[0]);
}

export function castOn(node: Node, server: ServerDest<any>, name: string, arg: unknown): void {
  const dest = resolveDest(server);
  if (dest === undefined) return;
  try {
    node.send(dest, [GEN_CAST, name, arg]);
  } catch (e) {
    if (!(e instanceof NoProcError)) throw e;
  }
}

/** Replies to a call from anywhere (a deferred reply: the handler returned `noreply`). */
export function reply(from: From, value: unknown): void {
  currentNodeOrDefault().reply(from, value);
}

/**
 * Stops a server: it runs `terminate(reason)` and exits with `reason`. Resolves once it is
 * dead; rejects with `CallExitError` (`noproc`) for a dead target, `StopTimeoutError` after
 * `timeoutMs`.
 */
export async function stop(
  server: ServerDest<any>,
  reason: unknown = "normal",
  timeoutMs = Number.POSITIVE_INFINITY,
) {
  const node = currentNodeOrDefault();
  const dest = resolveDest(server);
  if (dest === undefined) throw new CallExitError("noproc", server);
  try {
    await node.call(dest, (from) => [GEN_STOP, from, reason], timeoutMs);
  } catch (e) {
    if (e instanceof CallExitError && isNormalOrShutdown(e.reason) && e.reason === reason) return;
    if (e instanceof CallExitError && e.reason === reason) return;
    if ((e as { code?: string }).code === "HV_ERR_CALL_TIMEOUT")
      throw new StopTimeoutError(server, timeoutMs);
    throw e;
  }
}

/** Resolves a server destination to a pid, if it is alive and local (or a remote pid). */
export function whereis(server: ServerDest<any>): Pid | undefined {
  const node = currentNodeOrDefault();
  const dest = resolveDest(server);
  if (dest === undefined) return undefined;
  if (dest instanceof Pid) return node.isLocal(dest) ? (node.isAlive(dest) ? dest : undefined) : dest;
  return node.resolve(dest);
}
