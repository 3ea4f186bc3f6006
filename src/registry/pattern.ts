/**
 * Value patterns for `Registry.match`, `countMatch` and `unregisterMatch`: a predicate, or a
 * simple structural pattern in the spirit of Elixir's match specs. `ANY` (Elixir's `_`) matches
 * anything; an array matches an array of the same length element by element; a plain object
 * matches any object having at least its keys, each matching; a pid matches an equal pid;
 * anything else matches a strictly equal value. Imports `process/pid`.
 */
import { Pid } from "../process/pid.js";

/** The wildcard of value patterns (Elixir's `_`). */
export const ANY: unique symbol = Symbol.for("hubvisor.registry.any");

/** A predicate over a registered value, or a structural pattern (see the module doc). */
export type ValuePattern =
  | ((value: any) => unknown)
  | object
  | string
  | number
  | bigint
  | boolean
  | symbol
  | null
  | undefined;

/** True when `value` matches `pattern`. */
export function matchesPattern(pattern: ValuePattern, value: unknown): boolean {
  if (pattern === ANY) return true;
  if (typeof pattern === "function") return Boolean((pattern as (v: unknown) => unknown)(value));
  if (typeof pattern !== "object" || pattern === null) {
    return pattern === value || (Number.isNaN(pattern) && Number.isNaN(value));
  }
  if (pattern instanceof Pid) return pattern.equals(value);
  if (Array.isArray(pattern)) {
    if (!Array.isArray(value) || value.length !== pattern.length) return false;
    for (let i = 0; i < pattern.length; i++) if (!matchesPattern(pattern[i], value[i])) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(pattern);
  if (proto !== Object.prototype && proto !== null) return pattern === value;
  if (typeof value !== "object" || value === null) return false;
  for (const k of Object.keys(pattern)) {
    if (!(k in value)) return false;
    if (
      !matchesPattern((pattern as Record<string, ValuePattern>)[k], (value as Record<string, unknown>)[k])
    ) {
      return false;
    }
  }
  return true;
}
