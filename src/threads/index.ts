/**
 * A node per core in one program: `startNodeThreads`. Imports only its own files and the thread
 * transport's errors.
 */
export { NodeThreadStartError, NodeThreadTimeoutError } from "../transports/threads/errors.js";
export { NodeThreads, startNodeThreads } from "./node-threads.js";
export {
  DEFAULT_NODE_THREADS_OPTIONS,
  type NodeThreadsNatsOptions,
  type NodeThreadsOptions,
  parseNodeThreadsOptions,
} from "./options.js";
export type { NodeThreadContext, NodeThreadMain } from "./protocol.js";
