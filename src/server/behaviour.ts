/**
 * What a GenServer is made of, as its author writes it: the callbacks of a `ServerBehaviour`
 * (typed from its protocol, `./protocol.ts`), `defineServer` to infer their types, and the
 * `ServerContext` every callback gets. Imports `process`, and its own `protocol`, `results`.
 */
import type { From } from "../process/node.js";
import { ProcessContext } from "../process/node.js";
import type { Pid } from "../process/pid.js";
import type { CallArg, CallName, CallReply, CastArg, CastName, Protocol } from "./protocol.js";
import type { CallResult, InitResult, NoReplyResult } from "./results.js";

export type MaybePromise<T> = T | Promise<T>;

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

/** The context handed to callbacks: the process operations acting as the server, plus `from`. */
export class ServerContext extends ProcessContext {
  /** The caller of the call being handled (keep it to reply later with `GenServer.reply`). */
  from: From | undefined = undefined;
  /** The process that started this server (gets `terminate` on its exit when trapping). */
  parent: Pid | undefined = undefined;
}
