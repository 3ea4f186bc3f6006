/**
 * `durability.fencing`: lease timings, with their defaults in one place, and the clock fencing
 * reads (a monotonic clock; tests give a scripted one). Imports the root errors.
 */
import { InvalidOptionError } from "../../errors.js";

/**
 * The clock fencing measures leases with: monotonic milliseconds (not wall-clock time) and a
 * timer on it. The default is `performance.now()` and `setTimeout`.
 */
export interface FenceClock {
  now(): number;
  /** Calls `fn` once `ms` have passed on this clock; returns a cancel function. */
  after(ms: number, fn: () => void): () => void;
}

/** `performance.now()` and unref'd timers. */
export const MONOTONIC_CLOCK: FenceClock = {
  now: () => performance.now(),
  after(ms, fn) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref?.();
    return () => clearTimeout(t);
  },
};

/**
 * Fencing of a durable hub (`durability: { store, fencing: true | {...} }`): a node runs a child
 * only while its own lease is valid and the child's claim names it; see `docs/hub-guarantees.md`
 * ("Fencing"). Every node of a hub should use the same timings (a taker waits for the longer of
 * its own `leaseMs` and the one the holder wrote).
 * @category hub
 */
export interface FencingOptions {
  /**
   * How long a node's lease lasts after the send of its last acknowledged renewal, in ms. A
   * child of a node that died is adopted only after this (and the margin) has passed since the
   * adopter last saw that node renew. @default 30000
   */
  leaseMs?: number | undefined;
  /** Period of lease renewals, in ms. @default leaseMs / 3 */
  renewIntervalMs?: number | undefined;
  /**
   * A node that could not renew stops its children when this little of its lease is left, in
   * ms, and kills those still running when the lease ends. @default leaseMs / 5
   */
  stopMarginMs?: number | undefined;
  /** A taker waits this long past a holder's lease besides the drift allowance, in ms. @default 1000 */
  takeoverMarginMs?: number | undefined;
  /**
   * Largest relative rate difference assumed between two nodes' monotonic clocks (0.01: one
   * runs at most 1 % faster than another). A taker waits `leaseMs * (1 + clockDriftRate)`. @default 0.01
   */
  clockDriftRate?: number | undefined;
  /** Claims written concurrently by one node. @default 256 */
  writeConcurrency?: number | undefined;
  /** @internal The clock (tests script it). @default MONOTONIC_CLOCK */
  clock?: FenceClock | undefined;
}

export interface ParsedFencing {
  readonly leaseMs: number;
  readonly renewIntervalMs: number;
  readonly stopMarginMs: number;
  readonly takeoverMarginMs: number;
  readonly clockDriftRate: number;
  readonly writeConcurrency: number;
  readonly clock: FenceClock;
}

/** Defaults of `durability.fencing` (the renewal period and stop margin follow `leaseMs`). */
export const DEFAULT_FENCING = Object.freeze({
  leaseMs: 30_000,
  takeoverMarginMs: 1000,
  clockDriftRate: 0.01,
  writeConcurrency: 256,
});

export function parseFencing(o: boolean | FencingOptions | undefined): ParsedFencing | null {
  if (o === undefined || o === false) return null;
  const f: FencingOptions = o === true ? {} : o;
  if (typeof f !== "object" || f === null)
    throw new InvalidOptionError("durability.fencing", "true or an object", o);
  const num = (field: keyof FencingOptions, v: unknown, min: number, minOk = true): number => {
    if (typeof v !== "number" || !Number.isFinite(v) || v < min || (!minOk && v === min))
      throw new InvalidOptionError(`durability.fencing.${field}`, `a number ${minOk ? ">=" : ">"} ${min}`, v);
    return v;
  };
  const leaseMs = num("leaseMs", f.leaseMs ?? DEFAULT_FENCING.leaseMs, 10);
  const renewIntervalMs = num("renewIntervalMs", f.renewIntervalMs ?? leaseMs / 3, 1);
  const stopMarginMs = num("stopMarginMs", f.stopMarginMs ?? leaseMs / 5, 0, false);
  // A renewal must be able to land before the children are stopped.
  if (renewIntervalMs >= leaseMs - stopMarginMs)
    throw new InvalidOptionError(
      "durability.fencing.renewIntervalMs",
      `less than leaseMs - stopMarginMs (${leaseMs - stopMarginMs})`,
      renewIntervalMs,
    );
  const clock = f.clock ?? MONOTONIC_CLOCK;
  if (typeof clock.now !== "function" || typeof clock.after !== "function")
    throw new InvalidOptionError("durability.fencing.clock", "a FenceClock", clock);
  return {
    leaseMs,
    renewIntervalMs,
    stopMarginMs,
    takeoverMarginMs: num("takeoverMarginMs", f.takeoverMarginMs ?? DEFAULT_FENCING.takeoverMarginMs, 0),
    clockDriftRate: num("clockDriftRate", f.clockDriftRate ?? DEFAULT_FENCING.clockDriftRate, 0),
    writeConcurrency: Math.floor(
      num("writeConcurrency", f.writeConcurrency ?? DEFAULT_FENCING.writeConcurrency, 1),
    ),
    clock,
  };
}
