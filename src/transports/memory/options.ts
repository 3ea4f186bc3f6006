/**
 * Options of `MemoryNetwork`: one interface, one frozen default object, one parser throwing
 * `InvalidOptionError`. Imports the root `errors`.
 */
import { InvalidOptionError } from "../../errors.js";

/** Options of `new MemoryNetwork`. */
export interface MemoryNetworkOptions {
  /**
   * How long a peer that stopped answering (partitioned away, paused, killed with
   * `detectedBy: "timeout"`) takes to be declared down, in milliseconds: the heartbeat timeout
   * a real transport would have. @default 100
   */
  timeoutMs?: number | undefined;
  /** Random source for `setDropRate`, returning [0, 1). Pass a seeded one for reproducible runs. @default Math.random */
  random?: (() => number) | undefined;
}

export interface ResolvedMemoryNetworkOptions {
  timeoutMs: number;
  random: () => number;
}

/** Defaults of `MemoryNetworkOptions`. */
export const DEFAULT_MEMORY_NETWORK_OPTIONS = Object.freeze({
  timeoutMs: 100,
  random: Math.random,
});

/** Validates `MemoryNetworkOptions` and fills in the defaults. */
export function parseMemoryNetworkOptions(options: MemoryNetworkOptions = {}): ResolvedMemoryNetworkOptions {
  if (typeof options !== "object" || options === null)
    throw new InvalidOptionError("options", "an object", options);
  const timeoutMs = options.timeoutMs ?? DEFAULT_MEMORY_NETWORK_OPTIONS.timeoutMs;
  if (typeof timeoutMs !== "number" || !(timeoutMs >= 0) || !Number.isFinite(timeoutMs)) {
    throw new InvalidOptionError("timeoutMs", "a finite number >= 0", timeoutMs);
  }
  const random = options.random ?? DEFAULT_MEMORY_NETWORK_OPTIONS.random;
  if (typeof random !== "function") throw new InvalidOptionError("random", "a function", random);
  return { timeoutMs, random };
}
