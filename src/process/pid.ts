/**
 * `Pid` and `Ref`: value types naming a process and a unique reference. Both name the node that
 * created them (name plus incarnation), print like Erlang's, compare by value and serialise.
 * Imports the root `errors`.
 */
import { InvalidOptionError } from "../errors.js";

/**
 * What pids and refs share: the node that minted them (name and incarnation) and a number unique
 * within that incarnation. Two values are equal when they are of the same class and all three
 * parts match.
 */
abstract class NodeScoped {
  #key: string | undefined;
  constructor(
    readonly node: string,
    readonly id: number,
    readonly creation: number,
  ) {}

  /** A string unique to this value across nodes and incarnations; usable as a map key (built once). */
  get key(): string {
    return (this.#key ??= `${this.node}.${this.id}.${this.creation}`);
  }

  equals(other: unknown): boolean {
    return (
      other instanceof NodeScoped &&
      other.constructor === this.constructor &&
      other.id === this.id &&
      other.node === this.node &&
      other.creation === this.creation
    );
  }

  abstract toString(): string;

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

/**
 * A process identifier. `node` is the node's name, `creation` its incarnation (boot id), so a
 * node restarted under the same name mints pids that never equal the old ones.
 * @category models
 */
export class Pid extends NodeScoped {
  /** Total order: by node name, then incarnation, then id. */
  compare(other: Pid): number {
    if (this.node !== other.node) return this.node < other.node ? -1 : 1;
    if (this.creation !== other.creation) return this.creation - other.creation;
    return this.id - other.id;
  }

  toString(): string {
    return `<${this.node}.${this.id}>`;
  }

  toJSON(): { pid: [string, number, number] } {
    return { pid: [this.node, this.id, this.creation] };
  }

  /** Rebuilds a pid from `toJSON`'s output; throws `InvalidOptionError` for any other shape. */
  static fromJSON(json: { pid: [string, number, number] }): Pid {
    const [node, id, creation] = parts(json, "pid");
    return new Pid(node, id, creation);
  }
}

/**
 * A unique reference (monitor refs, call tags). Unique per node incarnation.
 * @category models
 */
export class Ref extends NodeScoped {
  toString(): string {
    return `#Ref<${this.node}.${this.id}>`;
  }

  toJSON(): { ref: [string, number, number] } {
    return { ref: [this.node, this.id, this.creation] };
  }

  /** Rebuilds a ref from `toJSON`'s output; throws `InvalidOptionError` for any other shape. */
  static fromJSON(json: { ref: [string, number, number] }): Ref {
    const [node, id, creation] = parts(json, "ref");
    return new Ref(node, id, creation);
  }
}

/** Type guard for `Pid`. */
export function isPid(value: unknown): value is Pid {
  return value instanceof Pid;
}

/** The `[node, id, creation]` triple of a serialised pid or ref, checked (data may come off the wire). */
function parts(json: unknown, field: "pid" | "ref"): [string, number, number] {
  const t = typeof json === "object" && json !== null ? (json as Record<string, unknown>)[field] : undefined;
  if (
    !Array.isArray(t) ||
    t.length !== 3 ||
    typeof t[0] !== "string" ||
    !Number.isSafeInteger(t[1]) ||
    !Number.isSafeInteger(t[2])
  ) {
    throw new InvalidOptionError(field, `{ ${field}: [node, id, creation] }`, json);
  }
  return t as [string, number, number];
}
