/**
 * `HubOptions.durability`: the store and the reconcile timing, with their defaults in one place.
 * Imports the store interface and the root errors.
 */
import { InvalidOptionError } from "../../errors.js";
import { type FencingOptions, type ParsedFencing, parseFencing } from "./fencing-options.js";
import type { DurableStore } from "./store.js";

/**
 * A durable hub (`ProcessHub.start({ durability: { store } })`): what should run is declared in
 * `store` and survives every node; see `docs/hub-guarantees.md` ("Durable hubs").
 * @category hub
 */
export interface DurabilityOptions {
  /** Where declarations live: `MemoryDurableStore` (one program) or `JetStreamDurableStore` (hubvisor/nats). */
  store: DurableStore;
  /** Period of reconcile rounds, in ms. @default 1000 */
  reconcileIntervalMs?: number | undefined;
  /**
   * A reconcile round acts only after the hub's membership has not changed for this long (ms):
   * registries of nodes that just (re)joined are still filling in. @default 1000
   */
  settleMs?: number | undefined;
  /**
   * A declaration written while this node runs is left to the call that wrote it (which starts
   * or stops the child itself) for this long (ms) before reconcile acts on it; declarations
   * found when the store was opened are acted on at once. @default 5000
   */
  graceMs?: number | undefined;
  /** Store writes in flight at once for one call (log entries) or one fold (pages). @default 64 */
  writeConcurrency?: number | undefined;
  /**
   * A call's declarations are written to the log at once and into their pages (which every node
   * reads at startup) by a fold this long after (ms): one fold takes every call of that span.
   * Entries of a node that died before folding are folded by any node after 5 times this.
   * @default 5000
   */
  foldDelayMs?: number | undefined;
  /**
   * Longest wait between two reconcile starts of a declared child whose starts keep failing
   * (the wait doubles from `reconcileIntervalMs`). @default 30000
   */
  maxRetryDelayMs?: number | undefined;
  /**
   * At most one copy of each child at any instant, even while failures are being detected: one
   * lease per node and a claim per child in `store` (`true` for the defaults, or lease timings:
   * `fencing-options.ts`). Needs singularity redundancy. @default false
   */
  fencing?: boolean | FencingOptions | undefined;
}

export interface ParsedDurability {
  readonly store: DurableStore;
  readonly reconcileIntervalMs: number;
  readonly settleMs: number;
  readonly graceMs: number;
  readonly writeConcurrency: number;
  readonly foldDelayMs: number;
  readonly maxRetryDelayMs: number;
  readonly fencing: ParsedFencing | null;
}

/** Defaults of the `durability` option of a hub (besides its `store`). */
export const DEFAULT_DURABILITY = Object.freeze({
  reconcileIntervalMs: 1000,
  settleMs: 1000,
  graceMs: 5000,
  writeConcurrency: 64,
  foldDelayMs: 5000,
  maxRetryDelayMs: 30_000,
});

export function parseDurability(o: DurabilityOptions): ParsedDurability {
  if (typeof o !== "object" || o === null) throw new InvalidOptionError("durability", "an object", o);
  const s = o.store as Partial<DurableStore> | undefined;
  if (typeof s !== "object" || s === null || typeof s.open !== "function")
    throw new InvalidOptionError("durability.store", "a DurableStore", s);
  const num = (field: keyof typeof DEFAULT_DURABILITY, min: number): number => {
    const v = o[field] ?? DEFAULT_DURABILITY[field];
    if (typeof v !== "number" || !Number.isFinite(v) || v < min)
      throw new InvalidOptionError(`durability.${field}`, `a number >= ${min}`, v);
    return v;
  };
  return {
    store: o.store,
    reconcileIntervalMs: num("reconcileIntervalMs", 10),
    settleMs: num("settleMs", 0),
    graceMs: num("graceMs", 0),
    writeConcurrency: Math.floor(num("writeConcurrency", 1)),
    foldDelayMs: num("foldDelayMs", 0),
    maxRetryDelayMs: num("maxRetryDelayMs", 10),
    fencing: parseFencing(o.fencing),
  };
}
