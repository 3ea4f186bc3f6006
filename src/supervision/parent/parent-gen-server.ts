/**
 * `ParentGenServer`: a GenServer that is a parent. The user writes an ordinary server behaviour
 * (plus an optional `handleStoppedChildren`); this module makes the process a parent before
 * `init`, routes child EXITs, timeouts and retries to the `ParentState`, answers the
 * `ParentClient` calls, and on termination runs the user's `terminate` first, then stops the
 * children one by one in reverse startup order. Inside callbacks, `Parent.of(ctx)` gives the
 * `ParentState` (or use the `Parent.*` shortcuts before any `await`). Imports `server`,
 * `process`, and its own `parent`, `parent-state`, `parent-registry`, `options`.
 */
import { isThenable } from "../../process/thenable.js";
import * as GenServer from "../../server/gen-server.js";
import type { LinkOptions, ServerBehaviour, ServerContext, StartOptions } from "../../server/gen-server.js";
import type { Protocol, ServerRef } from "../../server/protocol.js";
import {
  type InitResult,
  type NoReplyResult,
  noreply,
  reply,
  type StartResult,
} from "../../server/results.js";
import type { StoppedChildren } from "./child-record.js";
import { type ParentOptions, parseParentOptions } from "./options.js";
import { initializeParent } from "./parent.js";
import { parentOf } from "./parent-registry.js";
import type { ParentEvent, ParentState } from "./parent-state.js";

type MaybePromise<T> = T | Promise<T>;

/**
 * A GenServer behaviour that is also a parent.
 * @category supervision
 */
export interface ParentServerBehaviour<P extends Protocol, S, A = undefined>
  extends ServerBehaviour<P, S, A> {
  /**
   * Children stopped for good without a restart (ephemeral or temporary children, failed
   * temporary restarts). Pass them to `returnChildren` to bring them back. Default: ignore.
   */
  handleStoppedChildren?(
    stopped: StoppedChildren,
    state: S,
    ctx: ServerContext,
  ): MaybePromise<NoReplyResult<S>>;
}

/** Declares a parent server behaviour for protocol `P`, inferring state and argument types. */
export function defineParentServer<P extends Protocol>() {
  return <S, A = undefined>(behaviour: ParentServerBehaviour<P, S, A>): ParentServerBehaviour<P, S, A> =>
    behaviour;
}

/** Options of `ParentGenServer.start`: the GenServer's and the parent's. */
export interface ParentServerOptions extends StartOptions, ParentOptions {}

/** Names of the calls `ParentClient` makes. */
export const PARENT_CALL = {
  startChild: "$parent:startChild",
  shutdownChild: "$parent:shutdownChild",
  restartChild: "$parent:restartChild",
  returnChildren: "$parent:returnChildren",
  shutdownAll: "$parent:shutdownAll",
  children: "$parent:children",
  childPid: "$parent:childPid",
  childId: "$parent:childId",
  childMeta: "$parent:childMeta",
  updateChildMeta: "$parent:updateChildMeta",
  whichChildren: "$parent:whichChildren",
  countChildren: "$parent:countChildren",
  getChildSpec: "$parent:getChildSpec",
} as const;

interface InitArg {
  arg: unknown;
  options: ParentOptions;
}

function stateOf(ctx: ServerContext): ParentState {
  return parentOf(ctx.self)!;
}

function answer(v: unknown, state: unknown) {
  return isThenable(v) ? Promise.resolve(v).then((x) => reply(x, state)) : reply(v, state);
}

const parentCalls: Record<string, (arg: any, state: unknown, ctx: ServerContext) => unknown> = {
  [PARENT_CALL.startChild]: (spec, s, ctx) => answer(stateOf(ctx).startChild(spec), s),
  [PARENT_CALL.shutdownChild]: (ref, s, ctx) => answer(stateOf(ctx).shutdownChild(ref), s),
  [PARENT_CALL.restartChild]: (ref, s, ctx) => answer(stateOf(ctx).restartChild(ref), s),
  [PARENT_CALL.returnChildren]: (stopped, s, ctx) => answer(stateOf(ctx).returnChildren(stopped), s),
  [PARENT_CALL.shutdownAll]: (_a, s, ctx) => answer(stateOf(ctx).shutdownAll(), s),
  [PARENT_CALL.children]: (_a, s, ctx) => reply(stateOf(ctx).children(), s),
  [PARENT_CALL.childPid]: (ref, s, ctx) => reply(stateOf(ctx).childPid(ref), s),
  [PARENT_CALL.childId]: (pid, s, ctx) => reply(stateOf(ctx).childId(pid), s),
  [PARENT_CALL.childMeta]: (ref, s, ctx) => reply(stateOf(ctx).childMeta(ref), s),
  [PARENT_CALL.updateChildMeta]: (a, s, ctx) => reply(stateOf(ctx).updateChildMeta(a.ref, a.fn), s),
  [PARENT_CALL.whichChildren]: (_a, s, ctx) => reply(stateOf(ctx).whichChildren(), s),
  [PARENT_CALL.countChildren]: (_a, s, ctx) => reply(stateOf(ctx).countChildren(), s),
  [PARENT_CALL.getChildSpec]: (ref, s, ctx) => reply(stateOf(ctx).getChildSpec(ref), s),
};

const wrapped = new WeakMap<object, ServerBehaviour<any, any, InitArg>>();

/** The GenServer behaviour that runs `b` as a parent (built once per behaviour). */
function wrap<S>(b: ParentServerBehaviour<any, S, any>): ServerBehaviour<any, S, InitArg> {
  const cached = wrapped.get(b);
  if (cached !== undefined) return cached;
  const onEvent = (ev: ParentEvent, state: S, ctx: ServerContext): MaybePromise<NoReplyResult<S>> =>
    ev.type === "stoppedChildren" && b.handleStoppedChildren !== undefined
      ? b.handleStoppedChildren(ev.stopped, state, ctx)
      : noreply(state);
  const w: ServerBehaviour<any, S, InitArg> = {
    name: b.name ?? "ParentGenServer",
    async init(a, ctx): Promise<InitResult<S>> {
      const parent = initializeParent(ctx.node, ctx.self, a.options);
      let r: InitResult<S>;
      try {
        r = await b.init(a.arg, ctx);
      } catch (e) {
        await parent.stopAll();
        throw e;
      }
      if (typeof r !== "object" || r === null || !("ok" in r)) await parent.stopAll();
      return r;
    },
    handleCall: { ...(b.handleCall as object), ...parentCalls } as never,
    handleCast: b.handleCast,
    handleContinue: b.handleContinue,
    handleInfo(msg, state, ctx) {
      const ev = stateOf(ctx).handleMessage(msg);
      if (ev === undefined)
        return b.handleInfo !== undefined ? b.handleInfo(msg, state, ctx) : noreply(state);
      if (isThenable(ev)) return ev.then((e) => onEvent(e, state, ctx));
      return onEvent(ev, state, ctx);
    },
    async terminate(reason, state, ctx) {
      try {
        if (b.terminate !== undefined) await b.terminate(reason, state, ctx);
      } finally {
        await parentOf(ctx.self)?.stopAll();
      }
    },
  };
  wrapped.set(b, w);
  return w;
}

/** Splits parent from server options; bad parent options throw here, before anything starts. */
function split(options: ParentServerOptions & LinkOptions): {
  parent: ParentOptions;
  server: StartOptions & LinkOptions;
} {
  const { maxRestarts, maxSeconds, registry, ...server } = options;
  return { parent: parseParentOptions({ maxRestarts, maxSeconds, registry }), server };
}

/** Starts a parent server (unlinked); resolves when its `init` has run. */
function start<P extends Protocol, S, A>(
  behaviour: ParentServerBehaviour<P, S, A>,
  arg: A,
  options: ParentServerOptions = {},
): Promise<StartResult<ServerRef<P>>> {
  const { parent, server } = split(options);
  return GenServer.start(wrap(behaviour), { arg, options: parent }, server) as Promise<
    StartResult<ServerRef<P>>
  >;
}

/**
 * Starts a parent server linked to the calling process (or `linkTo`, a pid or the `ctx` of an
 * async process after an `await`).
 */
function startLink<P extends Protocol, S, A>(
  behaviour: ParentServerBehaviour<P, S, A>,
  arg: A,
  options: ParentServerOptions & LinkOptions = {},
): Promise<StartResult<ServerRef<P>>> {
  const { parent, server } = split(options);
  return GenServer.startLink(wrap(behaviour), { arg, options: parent }, server) as Promise<
    StartResult<ServerRef<P>>
  >;
}

/**
 * Parent servers: `start` / `startLink`; call, cast and stop them with `GenServer`, talk to their
 * children with `ParentClient`.
 * @category supervision
 */
export const ParentGenServer = { start, startLink, define: defineParentServer } as const;
