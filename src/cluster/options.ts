/**
 * Options of `Cluster.join`: one interface, one frozen default object, one parser that throws
 * `InvalidOptionError` naming the faulty field. Imports the root `errors` and `logger`, `process`
 * (`Node`), its own `transport`, `codec` and `names`.
 */
import { InvalidOptionError } from "../errors.js";
import type { Logger } from "../logger.js";
import { Node } from "../process/node.js";
import { DEFAULT_MAX_FRAME_BYTES } from "./codec.js";
import { checkClusterName, checkNodeName } from "./names.js";
import type { Transport } from "./transport.js";

/** Options of `Cluster.join`. */
export interface ClusterOptions {
  /** The local runtime to distribute; its `name` is the node name, its `creation` the incarnation. */
  node: Node;
  /** Cluster name: only nodes joined under the same name see each other. 1 to 64 letters, digits, `_`, `-`. */
  cluster: string;
  /** How frames travel (`MemoryTransport`, `NatsTransport`). One transport per node. */
  transport: Transport;
  /** Largest wire message sent or accepted, in bytes; larger incoming ones are counted and dropped. @default 1048576 */
  maxFrameBytes?: number | undefined;
  /** Collect the frames queued to one node in the same tick into one wire message (flushed on a microtask). @default true */
  batching?: boolean | undefined;
  /** Default timeout of `spawnOn`, in milliseconds. @default 5000 */
  spawnTimeoutMs?: number | undefined;
  /** Where rejected frames and membership changes are logged. @default the node's logger */
  logger?: Logger | undefined;
}

/** `ClusterOptions` with every default applied. */
export interface ResolvedClusterOptions {
  node: Node;
  cluster: string;
  transport: Transport;
  maxFrameBytes: number;
  batching: boolean;
  spawnTimeoutMs: number;
  logger: Logger;
}

/** Defaults of the optional `ClusterOptions` fields (the logger defaults to the node's). */
export const DEFAULT_CLUSTER_OPTIONS = Object.freeze({
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  batching: true,
  spawnTimeoutMs: 5000,
});

/** Validates `options` and applies defaults. Throws `InvalidOptionError` (`InvalidNameError` for names). */
export function parseClusterOptions(options: ClusterOptions): ResolvedClusterOptions {
  if (typeof options !== "object" || options === null)
    throw new InvalidOptionError("options", "an object", options);
  const { node, cluster, transport } = options;
  if (!(node instanceof Node)) throw new InvalidOptionError("node", "a Node", node);
  checkNodeName(node.name);
  checkClusterName(cluster);
  if (typeof transport !== "object" || transport === null || typeof transport.connect !== "function") {
    throw new InvalidOptionError("transport", "a Transport", transport);
  }
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_CLUSTER_OPTIONS.maxFrameBytes;
  if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 64) {
    throw new InvalidOptionError("maxFrameBytes", "an integer >= 64", maxFrameBytes);
  }
  const batching = options.batching ?? DEFAULT_CLUSTER_OPTIONS.batching;
  if (typeof batching !== "boolean") throw new InvalidOptionError("batching", "a boolean", batching);
  const spawnTimeoutMs = options.spawnTimeoutMs ?? DEFAULT_CLUSTER_OPTIONS.spawnTimeoutMs;
  if (typeof spawnTimeoutMs !== "number" || !(spawnTimeoutMs > 0)) {
    throw new InvalidOptionError("spawnTimeoutMs", "a positive number", spawnTimeoutMs);
  }
  const logger = options.logger ?? node.logger;
  if (typeof logger !== "object" || logger === null || typeof logger.warn !== "function") {
    throw new InvalidOptionError("logger", "a Logger", logger);
  }
  return { node, cluster, transport, maxFrameBytes, batching, spawnTimeoutMs, logger };
}
