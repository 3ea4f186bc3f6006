/**
 * The children of a DynamicSupervisor, by pid: each child's spec, or a `Restarting` record while a
 * failed restart waits to be retried (the child stays under its old pid meanwhile). This node's
 * pids live in an `IdTable` with the spec as its aux value — two slots per child and no object —
 * because every byte a child keeps for life costs its start a few nanoseconds more (the garbage
 * collector copies it twice, and its pages are fresh memory). Pids of other nodes, rare, go to a
 * `Map` by key.
 * Imports `process` (pid, id-table) and `child-spec` types.
 */
import { IdTable } from "../process/id-table.js";
import type { Pid } from "../process/pid.js";
import type { NormalizedChildSpec } from "./child-spec.js";

/** A child whose restart failed: kept under its old pid until a retry succeeds. */
export class Restarting {
  constructor(
    readonly pid: Pid,
    readonly spec: NormalizedChildSpec,
  ) {}
}

/** What the table holds per child. */
export type ChildSlot = NormalizedChildSpec | Restarting;

/** The spec behind a slot. */
export function specOf(slot: ChildSlot): NormalizedChildSpec {
  return slot instanceof Restarting ? slot.spec : slot;
}

const pidId = (pid: Pid): number => pid.id;

export class DynamicChildren {
  private readonly local = new IdTable<Pid, ChildSlot>(pidId, { withAux: true });
  private remote: Map<string, { pid: Pid; slot: ChildSlot }> | null = null;

  constructor(
    private readonly node: string,
    private readonly creation: number,
  ) {}

  private isLocal(pid: Pid): boolean {
    return pid.creation === this.creation && pid.node === this.node;
  }

  get size(): number {
    return this.local.size + (this.remote === null ? 0 : this.remote.size);
  }

  get(pid: Pid): ChildSlot | undefined {
    if (this.isLocal(pid)) return this.local.auxOf(pid.id);
    return this.remote?.get(pid.key)?.slot;
  }

  set(pid: Pid, slot: ChildSlot): void {
    if (this.isLocal(pid)) this.local.set(pid.id, pid, slot);
    else (this.remote ??= new Map()).set(pid.key, { pid, slot });
  }

  delete(pid: Pid): void {
    if (this.isLocal(pid)) this.local.delete(pid.id);
    else if (this.remote?.delete(pid.key) && this.remote.size === 0) this.remote = null;
  }

  /**
   * Every child with its slot, this node's in pid order (the order they were started in, a
   * restarted child counting from its restart), then the others. For listings: sorts.
   */
  list(): Array<{ pid: Pid; slot: ChildSlot }> {
    const out: Array<{ pid: Pid; slot: ChildSlot }> = [];
    this.local.forEach((pid, slot) => {
      out.push({ pid, slot });
    });
    out.sort((a, b) => a.pid.id - b.pid.id);
    if (this.remote !== null) for (const c of this.remote.values()) out.push(c);
    return out;
  }

  /** Calls `fn` per child, in no particular order; `fn` must not change the table. */
  forEach(fn: (pid: Pid, slot: ChildSlot) => void): void {
    this.local.forEach(fn);
    if (this.remote !== null) for (const c of this.remote.values()) fn(c.pid, c.slot);
  }

  clear(): void {
    this.local.clear();
    this.remote = null;
  }
}
