/**
 * Options of a `Node` runtime: their defaults and their validation. A bad value (a batch of 0
 * would re-schedule an empty drain forever) is refused with `InvalidOptionError` naming the field.
 * Imports the root `errors` and `logger`.
 */
import { InvalidOptionError } from "../errors.js";
import { consoleLogger, type Logger } from "../logger.js";

/** Options of `new Node`. */
export interface NodeOptions {
  /** Node name, printed in pids. @default "nonode" */
  name?: string | undefined;
  /** Incarnation of the node; a restarted node gets a new one. @default a random 31-bit integer */
  creation?: number | undefined;
  /** Messages handled per drain of the run queue before re-scheduling. @default 1000 */
  batch?: number | undefined;
  /** Messages handled on microtasks before yielding a macrotask (`setImmediate`). @default 5000 */
  yieldEvery?: number | undefined;
  /** Logger for crash reports. @default consoleLogger */
  logger?: Logger | undefined;
}

/** The defaults of `NodeOptions` (`creation` has none: each node draws a random one). */
export const DEFAULT_NODE_OPTIONS: Readonly<{
  name: string;
  batch: number;
  yieldEvery: number;
  logger: Logger;
}> = Object.freeze({ name: "nonode", batch: 1000, yieldEvery: 5000, logger: consoleLogger });

/** `NodeOptions` with every field resolved. */
export interface ParsedNodeOptions {
  name: string;
  creation: number;
  batch: number;
  yieldEvery: number;
  logger: Logger;
}

/** Validates `NodeOptions` and fills in the defaults. Throws `InvalidOptionError`. */
export function parseNodeOptions(options: NodeOptions = {}): ParsedNodeOptions {
  const name = options.name ?? DEFAULT_NODE_OPTIONS.name;
  if (typeof name !== "string" || name.length === 0) {
    throw new InvalidOptionError("name", "a non-empty string", name);
  }
  const creation = options.creation ?? 1 + Math.floor(Math.random() * 0x7ffffffe);
  if (!Number.isSafeInteger(creation) || creation < 0) {
    throw new InvalidOptionError("creation", "a non-negative integer", creation);
  }
  const logger = options.logger ?? DEFAULT_NODE_OPTIONS.logger;
  if (typeof logger !== "object" || logger === null)
    throw new InvalidOptionError("logger", "a Logger", logger);
  return {
    name,
    creation,
    batch: positiveInteger("batch", options.batch, DEFAULT_NODE_OPTIONS.batch),
    yieldEvery: positiveInteger("yieldEvery", options.yieldEvery, DEFAULT_NODE_OPTIONS.yieldEvery),
    logger,
  };
}

function positiveInteger(field: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidOptionError(field, "a positive integer", value);
  }
  return value;
}
