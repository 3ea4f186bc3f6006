/**
 * The memory transport: many nodes in one program over a `MemoryNetwork`, with fault injection
 * for tests. Imports only its own files.
 */
export { TransportStateError, UnknownNodeError } from "./errors.js";
export { type KillOptions, type MemoryHost, MemoryNetwork, type MemoryNetworkStats } from "./network.js";
export {
  DEFAULT_MEMORY_NETWORK_OPTIONS,
  type MemoryNetworkOptions,
  parseMemoryNetworkOptions,
} from "./options.js";
export { MemoryTransport } from "./transport.js";
