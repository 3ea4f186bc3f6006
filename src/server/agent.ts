/**
 * `Agent`: Elixir's Agent — a process that holds one state, read and changed by functions sent
 * to it, each run inside the agent in arrival order. It is a GenServer (its protocol is
 * `AgentProtocol<S>`, so `GenServer.stop`, names, via-names and `processInfo` work on it as on
 * any server) whose calls carry the caller's function. Functions never cross the wire: an agent
 * on another node of a cluster cannot be sent one (`UnserialisableError` at the caller); keep an
 * agent's users on its node, or give it a GenServer protocol.
 *
 * Imports `process` (node, pid, thenable), and its own `behaviour`, `client`, `protocol`,
 * `results`, `start`.
 */
import type { Node } from "../process/node.js";
import { currentNodeOrDefault } from "../process/node.js";
import { isThenable } from "../process/thenable.js";
import { defineServer } from "./behaviour.js";
import { callOn, castOn, stopOn } from "./client.js";
import type { ServerDest, ServerRef } from "./protocol.js";
import { noreply, ok, reply, type StartResult } from "./results.js";
import {
  type LinkOptions,
  type StartOptions,
  start as startServer,
  startLink as startLinkServer,
} from "./start.js";

/**
 * The protocol of an agent holding a state of type `S`: what its functions are called with. The
 * replies are typed by `Agent.get` / `getAndUpdate` from the function given.
 * @category server
 */
export interface AgentProtocol<S> {
  calls: {
    get(fn: (state: S) => unknown): unknown;
    getAndUpdate(fn: (state: S) => readonly [unknown, S] | Promise<readonly [unknown, S]>): unknown;
    update(fn: (state: S) => S | Promise<S>): "ok";
  };
  casts: { update(fn: (state: S) => S | Promise<S>): void };
}

/** The pid of an agent holding `S`, as its start gives it. */
export type AgentRef<S> = ServerRef<AgentProtocol<S>>;
/** Where an agent can be reached: its `AgentRef`, a pid, a local name, `{ name, node }`, a via-name. */
export type AgentDest<S> = ServerDest<AgentProtocol<S>>;

/** Options of `Agent.childSpec`: the start options, and the child's id. */
export interface AgentChildOptions extends StartOptions {
  /** The child's id in its supervisor. @default "Agent" */
  id?: unknown;
}

/** `f(v)`, after `v` settles when it is a promise (a synchronous function costs no promise). */
function then<T, R>(v: T | PromiseLike<T>, f: (v: T) => R): R | Promise<R> {
  return isThenable(v) ? Promise.resolve(v).then(f) : f(v as T);
}

const AgentServer = defineServer<AgentProtocol<any>>()({
  name: "Agent",
  init: (fn: () => unknown) => then(fn(), (state) => ok(state)),
  handleCall: {
    get: (fn, state) => then(fn(state), (value) => reply(value, state)),
    getAndUpdate: (fn, state) => then(fn(state), ([value, next]) => reply(value, next)),
    update: (fn, state) => then(fn(state), (next) => reply("ok" as const, next)),
  },
  handleCast: {
    update: (fn, state) => then(fn(state), (next) => noreply(next)),
  },
});

/** Starts an agent whose state is what `init` returns (or resolves), run inside the new process. */
function start<S>(init: () => S | Promise<S>, options: StartOptions = {}): Promise<StartResult<AgentRef<S>>> {
  return startServer(AgentServer, init, options) as Promise<StartResult<AgentRef<S>>>;
}

/** `start`, linked to the calling process (or to `linkTo`). */
function startLink<S>(
  init: () => S | Promise<S>,
  options: StartOptions & LinkOptions = {},
): Promise<StartResult<AgentRef<S>>> {
  return startLinkServer(AgentServer, init, options) as Promise<StartResult<AgentRef<S>>>;
}

/** `get` through `node`. */
function getOn<S, R>(
  node: Node,
  agent: AgentDest<S>,
  fn: (state: S) => R | Promise<R>,
  timeoutMs = 5000,
): Promise<R> {
  return callOn(node, agent as AgentDest<any>, "get", fn, timeoutMs) as Promise<R>;
}

/** `getAndUpdate` through `node`. */
function getAndUpdateOn<S, R>(
  node: Node,
  agent: AgentDest<S>,
  fn: (state: S) => readonly [R, S] | Promise<readonly [R, S]>,
  timeoutMs = 5000,
): Promise<R> {
  return callOn(node, agent as AgentDest<any>, "getAndUpdate", fn, timeoutMs) as Promise<R>;
}

/** `update` through `node`. */
async function updateOn<S>(
  node: Node,
  agent: AgentDest<S>,
  fn: (state: S) => S | Promise<S>,
  timeoutMs = 5000,
): Promise<void> {
  await callOn(node, agent as AgentDest<any>, "update", fn, timeoutMs);
}

/** `cast` through `node`. */
function castOnNode<S>(node: Node, agent: AgentDest<S>, fn: (state: S) => S | Promise<S>): void {
  castOn(node, agent as AgentDest<any>, "update", fn);
}

/**
 * Elixir's Agent, on GenServer. Every function that acts on an agent has an `…On(node, …)` form
 * with the same parameters after the node, as `GenServer`'s client functions do.
 * @category server
 */
export const Agent = {
  start,
  startLink,
  /**
   * Runs `fn(state)` in the agent and resolves what it returns; the state is unchanged. A `fn`
   * that throws crashes the agent (as in Elixir), and the call rejects `CallExitError`.
   */
  get<S, R>(agent: AgentDest<S>, fn: (state: S) => R | Promise<R>, timeoutMs = 5000): Promise<R> {
    return getOn(currentNodeOrDefault(), agent, fn, timeoutMs);
  },
  getOn,
  /** Runs `fn(state)`, which returns `[reply, newState]`: resolves the reply, keeps the new state. */
  getAndUpdate<S, R>(
    agent: AgentDest<S>,
    fn: (state: S) => readonly [R, S] | Promise<readonly [R, S]>,
    timeoutMs = 5000,
  ): Promise<R> {
    return getAndUpdateOn(currentNodeOrDefault(), agent, fn, timeoutMs);
  },
  getAndUpdateOn,
  /** Replaces the state with `fn(state)`; resolves once done. */
  update<S>(agent: AgentDest<S>, fn: (state: S) => S | Promise<S>, timeoutMs = 5000): Promise<void> {
    return updateOn(currentNodeOrDefault(), agent, fn, timeoutMs);
  },
  updateOn,
  /** `update` without waiting: never fails (a dead agent drops it), as a GenServer cast. */
  cast<S>(agent: AgentDest<S>, fn: (state: S) => S | Promise<S>): void {
    castOnNode(currentNodeOrDefault(), agent, fn);
  },
  castOn: castOnNode,
  /** Stops the agent with `reason` (`GenServer.stop`): resolves once it is dead. */
  stop(
    agent: AgentDest<any>,
    reason: unknown = "normal",
    timeoutMs = Number.POSITIVE_INFINITY,
  ): Promise<void> {
    return stopOn(currentNodeOrDefault(), agent, reason, timeoutMs);
  },
  stopOn,
  /**
   * A child spec that starts the agent linked to its supervisor, as Elixir's `{Agent, fun}`:
   * `{ id: "Agent", start, modules: ["Agent"] }` (`options.id` changes the id; spread the result
   * to override `restart`, `shutdown`…).
   */
  childSpec<S>(
    init: () => S | Promise<S>,
    options: AgentChildOptions = {},
  ): { id: unknown; start: () => Promise<StartResult<AgentRef<S>>>; modules: string[] } {
    const { id = "Agent", ...startOptions } = options;
    return { id, start: () => startLink(init, startOptions), modules: ["Agent"] };
  },
} as const;
