/**
 * `PidMap`: values keyed by pid, for tables that hold many pids of their own node (a supervisor's
 * links and children). Pids of this node's incarnation go to an `IdTable` by number, no string
 * per entry; pids of other nodes or incarnations, rare, to a `Map` by their `key`. Each value
 * carries its pid (`pidOf`), so neither side stores keys.
 * Imports `pid`, `id-table`.
 */
import { IdTable } from "./id-table.js";
import type { Pid } from "./pid.js";

export class PidMap<V> {
  private readonly local: IdTable<V>;
  private remote: Map<string, V> | null = null;

  constructor(
    /** The node name and incarnation whose pids are kept by number. */
    private readonly node: string,
    private readonly creation: number,
    pidOf: (value: V) => Pid,
  ) {
    this.local = new IdTable<V>((v) => pidOf(v).id);
  }

  private isLocal(pid: Pid): boolean {
    return pid.creation === this.creation && pid.node === this.node;
  }

  get size(): number {
    return this.local.size + (this.remote === null ? 0 : this.remote.size);
  }

  get(pid: Pid): V | undefined {
    if (this.isLocal(pid)) return this.local.get(pid.id);
    return this.remote === null ? undefined : this.remote.get(pid.key);
  }

  has(pid: Pid): boolean {
    return this.get(pid) !== undefined;
  }

  set(pid: Pid, value: V): void {
    if (this.isLocal(pid)) this.local.set(pid.id, value);
    else (this.remote ??= new Map()).set(pid.key, value);
  }

  delete(pid: Pid): boolean {
    if (this.isLocal(pid)) return this.local.delete(pid.id);
    if (this.remote === null || !this.remote.delete(pid.key)) return false;
    if (this.remote.size === 0) this.remote = null;
    return true;
  }

  /** A snapshot: this node's pids in ascending order, then the others in insertion order. */
  values(): V[] {
    const out = this.local.values();
    if (this.remote !== null) for (const v of this.remote.values()) out.push(v);
    return out;
  }

  /** A snapshot in no particular order (no sort: for bulk work on large tables). */
  unordered(): V[] {
    const out = this.local.unordered();
    if (this.remote !== null) for (const v of this.remote.values()) out.push(v);
    return out;
  }

  clear(): void {
    this.local.clear();
    this.remote = null;
  }
}
