/**
 * The server layer: the GenServer behaviour with typed protocols, and Task. Imports `process`.
 */
import * as GenServerNs from "./gen-server.js";

export {
  Agent,
  type AgentChildOptions,
  type AgentDest,
  type AgentProtocol,
  type AgentRef,
} from "./agent.js";

export { BadReturnError, StartCrashError, StopTimeoutError, UnknownMessageError } from "./errors.js";
export {
  type CallHandlers,
  type CastHandlers,
  defineServer,
  type LinkOptions,
  type ServerBehaviour,
  ServerContext,
  type StartOptions,
} from "./gen-server.js";
export type {
  CallArg,
  CallName,
  CallReply,
  CastArg,
  CastName,
  Protocol,
  ServerDest,
  ServerRef,
  UntypedPid,
  ViaModule,
  ViaName,
} from "./protocol.js";
export {
  type CallResult,
  ignore,
  type InitResult,
  type NoReplyResult,
  noreply,
  ok,
  reply,
  type StartResult,
  stop,
} from "./results.js";

/**
 * GenServer client functions: `start`, `startLink`, `call`, `cast`, `reply`, `stop`, `whereis`,
 * and `callOn`, `castOn`, `stopOn`, `whereisOn`: the same through a given `Node` (first
 * argument), for programs with several nodes and code outside any process.
 */
export const GenServer = {
  start: GenServerNs.start,
  startLink: GenServerNs.startLink,
  call: GenServerNs.call,
  callOn: GenServerNs.callOn,
  cast: GenServerNs.cast,
  castOn: GenServerNs.castOn,
  reply: GenServerNs.reply,
  stop: GenServerNs.stop,
  stopOn: GenServerNs.stopOn,
  whereis: GenServerNs.whereis,
  whereisOn: GenServerNs.whereisOn,
} as const;
