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

/**
 * A 31-bit hash of a key, consistent with the key comparison above (used to pick a partition).
 * `enc` is the key's `structuredKey` when the caller has it: the form the key had when stored,
 * so a structured key mutated since still hashes to the partition holding it.
 */
export function hashKey(key: unknown, enc?: string): number {
  if (typeof key === "number" && Number.isInteger(key)) return Math.abs(key) % 0x7fffffff;
  const s = enc ?? (typeof key === "string" ? key : encode(key));
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 1;
}

/**
 * A V8 `Map` keeps its entries in one block; past ~4k entries the block is too big for the young
 * generation, so each doubling allocates a fresh large object whose pages fault in one by one.
 * Filling one `Map` with 100k new string keys (a miss then an insert each) measured 390–450 ns
 * per key on the 2-core bench VM, against 150–200 ns split. So a map of many keys is split into
 * shards by a hash of the key once it passes `SPLIT_AT` entries.
 */
const SPLIT_AT = 2048;
const SHARDS = 256;

/** Which hash picks the shard. */
enum ShardBy {
  /**
   * Length and last two characters only: a lookup must stay one `Map` read plus a few
   * instructions (hashing every character costs 40–80 ns, as much as the read itself). Keys that
   * differ only before their last two characters share a shard: still correct, only as slow to
   * grow as a single `Map`.
   */
  StringTail,
  /** Integers by value; NaN and fractions share shard 0. */
  Number,
  /** Every character: structured keys' encodings all end alike (`]`, `}`), and are long anyway. */
  WholeString,
}

function shardOf(by: ShardBy, key: string | number): number {
  if (by === ShardBy.Number) {
    const n = key as number;
    return Number.isInteger(n) ? Math.abs(n % SHARDS) : 0;
  }
  const s = key as string;
  const n = s.length;
  if (by === ShardBy.WholeString) return hashKey(s) & (SHARDS - 1);
  if (n < 2) return n === 0 ? 0 : s.charCodeAt(0) & (SHARDS - 1);
  return (s.charCodeAt(n - 1) * 31 + s.charCodeAt(n - 2) * 7 + n) & (SHARDS - 1);
}

/** A map of string keys (or of number keys): one `Map` while small, then `SHARDS` of them. */
class Sharded<K extends string | number, V> {
  private one: Map<K, V> | null = new Map();
  private shards: Array<Map<K, V>> = [];

  constructor(private readonly by: ShardBy) {}

  private shard(key: K): Map<K, V> {
    return this.shards[shardOf(this.by, key)]!;
  }

  get(key: K): V | undefined {
    const one = this.one;
    return one !== null ? one.get(key) : this.shard(key).get(key);
  }

  set(key: K, value: V): void {
    const one = this.one;
    if (one === null) this.shard(key).set(key, value);
    else if (one.set(key, value).size > SPLIT_AT) this.split(one);
  }

  delete(key: K): void {
    const one = this.one;
    if (one !== null) one.delete(key);
    else this.shard(key).delete(key);
  }

  private split(one: Map<K, V>): void {
    for (let i = 0; i < SHARDS; i++) this.shards.push(new Map());
    this.one = null;
    for (const [k, v] of one) this.shard(k).set(k, v);
  }
}

/**
 * A map from registry keys to `V` with the comparison described above. Strings, numbers, other
 * primitives and identity-compared objects, and structured keys (by their encoding) live in four
 * separate tables, so no two kinds can collide.
 */
export class KeyMap<V> {
  private strings = new Sharded<string, V>(ShardBy.StringTail);
  private numbers: Sharded<number, V> | null = null;
  private others: Map<unknown, V> | null = null;
  private structured: Sharded<string, V> | null = null;

  get(key: unknown): V | undefined {
    if (typeof key === "string") return this.strings.get(key);
    return this.getAt(key, typeof key === "object" && key !== null ? structuredKey(key) : undefined);
  }

  /**
   * The `…At` functions take the key's `structuredKey` (computed once by the caller): entries
   * keep it so that removing them never depends on what a structured key encodes to now.
   */
  getAt(key: unknown, enc: string | undefined): V | undefined {
    if (enc !== undefined) return this.structured?.get(enc);
    if (typeof key === "string") return this.strings.get(key);
    if (typeof key === "number") return this.numbers?.get(key);
    return this.others?.get(key);
  }

  setAt(key: unknown, enc: string | undefined, value: V): void {
    if (enc !== undefined) (this.structured ??= new Sharded(ShardBy.WholeString)).set(enc, value);
    else if (typeof key === "string") this.strings.set(key, value);
    else if (typeof key === "number") (this.numbers ??= new Sharded(ShardBy.Number)).set(key, value);
    else (this.others ??= new Map()).set(key, value);
  }

  deleteAt(key: unknown, enc: string | undefined): void {
    if (enc !== undefined) this.structured?.delete(enc);
    else if (typeof key === "string") this.strings.delete(key);
    else if (typeof key === "number") this.numbers?.delete(key);
    else this.others?.delete(key);
  }

  clear(): void {
    this.strings = new Sharded(ShardBy.StringTail);
    this.numbers = null;
    this.others = null;
    this.structured = null;
  }
}
