/**
 * The thread transport: nodes in the threads of one process over `MessagePort`s, and
 * `startNodeThreads`, a node per core in one program. Imports only its own files.
 */
export { NodeThreadStartError, NodeThreadTimeoutError } from "./errors.js";
export { ThreadNetwork, type ThreadNetworkStats } from "./network.js";
export { ThreadTransport, type ThreadTransportStats } from "./transport.js";
