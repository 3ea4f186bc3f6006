/**
 * Options of reaching children by id (`HubOptions.entities`, and each `ref` / `ensure` call),
 * with their defaults and parsers in one place. Imports the root `errors`.
 */
import { InvalidOptionError } from "../../errors.js";

/** `ProcessHub.start({ entities })`: how references buffer and wait. */
export interface EntityOptions {
  /**
   * Deadline of a call, cast or send through a reference (and of `ensure`) when the caller
   * gives none, in ms: covers waiting for an instance, every retry, and the reply. @default 5000
   */
  callTimeoutMs?: number | undefined;
  /**
   * Messages one id may have waiting for an instance (no owner registered yet, or a retry
   * waiting for the next instance); one more fails with `EntityOverflowError` (`scope: "id"`).
   * @default 1000
   */
  maxBufferedPerId?: number | undefined;
  /** The same limit over every id of this hub on this node (`scope: "node"`). @default 100000 */
  maxBuffered?: number | undefined;
  /**
   * Children of behaviours declared with `idleTimeoutMs` this node keeps running; beyond it the
   * least recently used are passivated (see `passivation.ts`). @default Infinity (no cap)
   */
  maxActive?: number | undefined;
  /**
   * How often this node looks for children to passivate, in ms. @default a quarter of the
   * shortest `idleTimeoutMs` of the hub's behaviours, within 10 and 1000 (0 here)
   */
  passivationSweepMs?: number | undefined;
  /** How long a passivated child's handed-over data waits here for its next instance, in ms. @default 300000 */
  passivatedStateTtlMs?: number | undefined;
}

/** `EntityOptions` with every default filled in. */
export type ResolvedEntityOptions = { [K in keyof EntityOptions]-?: NonNullable<EntityOptions[K]> };

/** Defaults of `EntityOptions`. */
export const DEFAULT_ENTITY_OPTIONS: Readonly<ResolvedEntityOptions> = Object.freeze({
  callTimeoutMs: 5000,
  maxBufferedPerId: 1000,
  maxBuffered: 100_000,
  maxActive: Number.POSITIVE_INFINITY,
  passivationSweepMs: 0,
  passivatedStateTtlMs: 300_000,
});

/** Validates `HubOptions.entities`, filling in defaults. */
export function parseEntityOptions(o: EntityOptions | undefined): ResolvedEntityOptions {
  if (o !== undefined && (typeof o !== "object" || o === null))
    throw new InvalidOptionError("entities", "an object", o);
  const r: ResolvedEntityOptions = { ...DEFAULT_ENTITY_OPTIONS };
  for (const k of Object.keys(DEFAULT_ENTITY_OPTIONS) as Array<keyof EntityOptions>) {
    const v = o?.[k];
    if (v !== undefined) r[k] = v;
  }
  positive("entities.callTimeoutMs", r.callTimeoutMs);
  positiveInteger("entities.maxBufferedPerId", r.maxBufferedPerId);
  positiveInteger("entities.maxBuffered", r.maxBuffered);
  if (r.maxActive !== Number.POSITIVE_INFINITY) positiveInteger("entities.maxActive", r.maxActive);
  positive("entities.passivatedStateTtlMs", r.passivatedStateTtlMs);
  if (r.passivationSweepMs !== 0) positive("entities.passivationSweepMs", r.passivationSweepMs);
  return r;
}

/** Options of one call through a reference. */
export interface RefCallOptions {
  /** The call's deadline in ms (waiting, retries and the reply). @default `entities.callTimeoutMs` */
  timeoutMs?: number | undefined;
  /**
   * Retry this call on a new instance if the one it was delivered to goes away before replying
   * (safe only if handling it twice does no harm). @default whether the behaviour declares it
   * idempotent (`entity(behaviour, { idempotent })`)
   */
  idempotent?: boolean | undefined;
}

/** Validates a deadline given to one call (`timeoutMs`). */
export function parseTimeout(v: unknown, fallback: number): number {
  if (v === undefined) return fallback;
  positive("timeoutMs", v);
  return v as number;
}

function positive(field: string, v: unknown): void {
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0)
    throw new InvalidOptionError(field, "a finite number > 0", v);
}

function positiveInteger(field: string, v: unknown): void {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1)
    throw new InvalidOptionError(field, "a positive integer", v);
}
