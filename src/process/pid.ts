/**
 * `Pid` and `Ref`: value types naming a process and a unique reference. Both name the node that
 * created them (name plus incarnation), print like Erlang's, compare by value and serialise.
 * Imports nothing.
 */

/**
 * A process identifier. `node` is the node's name, `creation` its incarnation (boot id), so a
 * node restarted under the same name mints pids that never equal the old ones.
 * @category models
 */
export class Pid {
  #key: string | undefined;
  constructor(
    readonly node: string,
    readonly id: number,
    readonly creation: number,
  ) {}

  /** A string unique to this pid across nodes and incarnations; usable as a map key. */
  get key(): string {
    return (this.#key ??= `${this.node}.${this.id}.${this.creation}`);
  }

  equals(other: unknown): boolean {
    return (
      other instanceof Pid &&
      other.id === this.id &&
      other.node === this.node &&
      other.creation === this.creation
    );
  }

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

  static fromJSON(json: { pid: [string, number, number] }): Pid {
    return new Pid(json.pid[0], json.pid[1], json.pid[2]);
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

/**
 * A unique reference (monitor refs, call tags). Unique per node incarnation.
 * @category models
 */
export class Ref {
  #key: string | undefined;
  constructor(
    readonly node: string,
    readonly id: number,
    readonly creation: number,
  ) {}

  get key(): string {
    return (this.#key ??= `${this.node}.${this.id}.${this.creation}`);
  }

  equals(other: unknown): boolean {
    return (
      other instanceof Ref &&
      other.id === this.id &&
      other.node === this.node &&
      other.creation === this.creation
    );
  }

  toString(): string {
    return `#Ref<${this.node}.${this.id}>`;
  }

  toJSON(): { ref: [string, number, number] } {
    return { ref: [this.node, this.id, this.creation] };
  }

  static fromJSON(json: { ref: [string, number, number] }): Ref {
    return new Ref(json.ref[0], json.ref[1], json.ref[2]);
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

export function isPid(value: unknown): value is Pid {
  return value instanceof Pid;
}
