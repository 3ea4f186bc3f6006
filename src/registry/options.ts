/**
 * Options of `Registry.start`, their defaults and their validation. Imports the root `errors` and
 * the process layer's `Pid`/`Node` types.
 */
import { InvalidOptionError } from "../errors.js";
import type { Node } from "../process/node.js";
import { Pid } from "../process/pid.js";

/** Whether a key maps to at most one process (`unique`) or to any number of entries (`duplicate`). */
export type RegistryKeys = "unique" | "duplicate";

/** Options of `Registry.start` / `Registry.startLink`. */
export interface RegistryOptions {
  /** Key kind. Required: `"unique"` or `"duplicate"`. */
  keys: RegistryKeys;
  /** Name of the registry (also the local process name of its owner process). Required. */
  name: string;
  /** Number of partitions the tables are split into (an integer >= 1); results never depend on it. @default 1 */
  partitions?: number | undefined;
  /**
   * Processes (pids or local names) told about every explicit `register` / `unregister` with a
   * `RegistryEvent` message. Automatic removal on exit is not reported. @default []
   */
  listeners?: ReadonlyArray<Pid | string> | undefined;
  /** Initial registry metadata, read with `Registry.meta`. @default {} */
  meta?:
    | Record<string, unknown>
    | ReadonlyMap<unknown, unknown>
    | ReadonlyArray<readonly [unknown, unknown]>
    | undefined;
  /** Node the registry lives on. @default the current node */
  node?: Node | undefined;
}

/** Defaults of the optional fields of `RegistryOptions`. */
export const DEFAULT_REGISTRY_OPTIONS = Object.freeze({
  partitions: 1,
  listeners: Object.freeze([]) as ReadonlyArray<Pid | string>,
  meta: Object.freeze({}) as Record<string, unknown>,
});

/** `RegistryOptions` validated and completed with defaults. */
export interface ParsedRegistryOptions {
  keys: RegistryKeys;
  name: string;
  partitions: number;
  listeners: Array<Pid | string>;
  meta: Map<unknown, unknown>;
  node: Node | undefined;
}

/** Validates `options`; throws `InvalidOptionError` naming the first bad field and its value. */
export function parseRegistryOptions(options: unknown): ParsedRegistryOptions {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new InvalidOptionError("options", "an object with `keys` and `name`", options);
  }
  const o = options as Partial<RegistryOptions>;
  if (o.keys !== "unique" && o.keys !== "duplicate") {
    throw new InvalidOptionError("keys", '"unique" or "duplicate"', o.keys);
  }
  if (typeof o.name !== "string" || o.name.length === 0) {
    throw new InvalidOptionError("name", "a non-empty string", o.name);
  }
  const partitions = o.partitions ?? DEFAULT_REGISTRY_OPTIONS.partitions;
  if (typeof partitions !== "number" || !Number.isInteger(partitions) || partitions < 1) {
    throw new InvalidOptionError("partitions", "an integer >= 1", partitions);
  }
  const listeners = o.listeners ?? DEFAULT_REGISTRY_OPTIONS.listeners;
  if (!Array.isArray(listeners) || !listeners.every((l) => l instanceof Pid || typeof l === "string")) {
    throw new InvalidOptionError("listeners", "an array of pids or process names", listeners);
  }
  return {
    keys: o.keys,
    name: o.name,
    partitions,
    listeners: [...listeners],
    meta: parseMeta(o.meta),
    node: o.node,
  };
}

function parseMeta(meta: unknown): Map<unknown, unknown> {
  if (meta === undefined) return new Map();
  if (meta instanceof Map) return new Map(meta);
  if (Array.isArray(meta)) {
    if (!meta.every((p) => Array.isArray(p) && p.length === 2)) {
      throw new InvalidOptionError("meta", "an object, a Map or an array of [key, value] pairs", meta);
    }
    return new Map(meta as Array<[unknown, unknown]>);
  }
  if (typeof meta === "object" && meta !== null) return new Map(Object.entries(meta));
  throw new InvalidOptionError("meta", "an object, a Map or an array of [key, value] pairs", meta);
}
