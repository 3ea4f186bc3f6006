/**
 * `KeyMap`: how registry keys compare. Primitive keys compare as JavaScript's `Map` does (strict,
 * so `1` and `"1"` differ, `1n` and `1` differ). Arrays and plain objects (Elixir's tuples and
 * maps) compare by structure, pids by value; any other object by identity. Lookups of primitive
 * keys are one plain `Map` read; structured keys are encoded to a string first and kept in a
 * second map, so they can never collide with a string key. Imports `process/pid`.
 */
import { Pid } from "../process/pid.js";

let nextIdentity = 1;
const identities = new WeakMap<object, number>();
const symbolIds = new Map<symbol, number>();

function identityOf(v: object | symbol): number {
  if (typeof v === "symbol") {
    let id = symbolIds.get(v);
    if (id === undefined) symbolIds.set(v, (id = nextIdentity++));
    return id;
  }
  let id = identities.get(v);
  if (id === undefined) identities.set(v, (id = nextIdentity++));
  return id;
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function encode(v: unknown): string {
  switch (typeof v) {
    case "string":
      return JSON.stringify(v);
    case "number":
      return Number.isNaN(v) ? "NaN" : `n${v === 0 ? 0 : v}`;
    case "bigint":
      return `b${v}`;
    case "boolean":
      return v ? "T" : "F";
    case "undefined":
      return "u";
    case "symbol":
    case "function":
      return `#${identityOf(v)}`;
  }
  if (v === null) return "N";
  const o = v as object;
  if (o instanceof Pid) return `p${o.key}`;
  if (Array.isArray(o)) return `[${o.map(encode).join(",")}]`;
  if (isPlainObject(o)) {
    const keys = Object.keys(o).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${encode((o as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return `#${identityOf(o)}`;
}

/**
 * The encoded form of a structured key (array, plain object, pid), or `undefined` for a key that
 * compares as itself.
 */
export function structuredKey(key: unknown): string | undefined {
  if (typeof key !== "object" || key === null) return undefined;
  if (key instanceof Pid || Array.isArray(key) || isPlainObject(key)) return encode(key);
  return undefined;
}

/** A 31-bit hash of a key, consistent with the key comparison above (used to pick a partition). */
export function hashKey(key: unknown): number {
  if (typeof key === "number" && Number.isInteger(key)) return Math.abs(key) % 0x7fffffff;
  const s = typeof key === "string" ? key : encode(key);
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 1;
}

/** A map from registry keys to `V` with the comparison described above. */
export class KeyMap<V> {
  private readonly plain = new Map<unknown, V>();
  private structured: Map<string, V> | null = null;

  get size(): number {
    return this.plain.size + (this.structured === null ? 0 : this.structured.size);
  }

  get(key: unknown): V | undefined {
    if (typeof key === "object" && key !== null) {
      const s = structuredKey(key);
      if (s !== undefined) return this.structured?.get(s);
    }
    return this.plain.get(key);
  }

  set(key: unknown, value: V): void {
    if (typeof key === "object" && key !== null) {
      const s = structuredKey(key);
      if (s !== undefined) {
        (this.structured ??= new Map()).set(s, value);
        return;
      }
    }
    this.plain.set(key, value);
  }

  delete(key: unknown): void {
    if (typeof key === "object" && key !== null) {
      const s = structuredKey(key);
      if (s !== undefined) {
        this.structured?.delete(s);
        return;
      }
    }
    this.plain.delete(key);
  }

  *values(): IterableIterator<V> {
    yield* this.plain.values();
    if (this.structured !== null) yield* this.structured.values();
  }

  clear(): void {
    this.plain.clear();
    this.structured = null;
  }
}
