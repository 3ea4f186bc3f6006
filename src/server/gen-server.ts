/**
 * The GenServer behaviour: a process holding state and answering calls, casts and plain
 * messages through the callbacks of a `ServerBehaviour`. This module gathers its parts, one
 * concept per file: `behaviour.ts` (what an author writes: callbacks, `defineServer`,
 * `ServerContext`), `server-process.ts` (one running server and how it handles each message),
 * `start.ts` (`start` / `startLink` / `startLinkNow`, which node, which link, a taken name) and
 * `client.ts` (`call`, `cast`, `reply`, `stop`, `whereis`, and their `…On(node, …)` forms).
 * Imports its own files.
 */
export {
  type CallHandlers,
  type CastHandlers,
  defineServer,
  type ServerBehaviour,
  ServerContext,
} from "./behaviour.js";
export { call, callOn, cast, castOn, reply, stop, stopOn, whereis, whereisOn } from "./client.js";
export {
  type LinkOptions,
  linkTarget,
  nameHolder,
  type StartOptions,
  start,
  startLink,
  startLinkNow,
  startNode,
  startServer,
} from "./start.js";
