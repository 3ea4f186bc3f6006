/**
 * `PidMap`: values keyed by pid, for tables that hold many pids of their own node (a supervisor's
 * links and children). Pids of this node's incarnation go to an `IdTable` by number, no string
 * per entry; pids of other nodes or incarnations, rare, to a `Map` by their `key`. Each value
 * carries its pid (`pidOf`), so neither side stores keys; a map made `withAux` keeps a second
 * value per pid beside it.
 * Imports `pid`, `id-table`.
 */
import { IdTable } from "./id-table.js";
import type { Pid } from "./pid.js";

export class PidMap<V, A = never> {
  private readonly local: IdTable<V, A>;
  private remote: Map<string, V> | null = null;
  /** Aux values of the other nodes' pids (`withAux` only). */
  private remoteAux: Map<string, A> | null = null;

  constructor(
    /** The node name and incarnation whose pids are kept by number. */
    private readonly node: string,
    private readonly creation: number,
    pidOf: (value: V) => Pid,
    /** Keep a second value per entry (`IdTable`'s aux): a pair costs two slots, no object. */
    options: { withAux?: boolean } = {},
  ) {
    this.local = new IdTable<V, A>((v) => pidOf(v).id, options);
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

  /** The aux value of `pid` (a map made `withAux`). */
  auxOf(pid: Pid): A | undefined {
    if (this.isLocal(pid)) return this.local.auxOf(pid.id);
    return this.remoteAux === null ? undefined : this.remoteAux.get(pid.key);
  }

  set(pid: Pid, value: V, aux?: A): void {
    if (this.isLocal(pid)) this.local.set(pid.id, value, aux);
    else {
      (this.remote ??= new Map()).set(pid.key, value);
      if (aux !== undefined) (this.remoteAux ??= new Map()).set(pid.key, aux);
    }
  }

  delete(pid: Pid): boolean {
    if (this.isLocal(pid)) return this.local.delete(pid.id);
    if (this.remote === null || !this.remote.delete(pid.key)) return false;
    this.remoteAux?.delete(pid.key);
    if (this.remote.size === 0) this.remote = this.remoteAux = null;
    return true;
  }

  /** Calls `fn` per entry with its aux value, this node's pids first; `fn` must not change the map. */
  forEach(fn: (value: V, aux: A) => void): void {
    this.local.forEach(fn);
    if (this.remote !== null) for (const [k, v] of this.remote) fn(v, this.remoteAux?.get(k) as A);
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
    this.remote = this.remoteAux = null;
  }
}
