/**
 * `ChildrenTable`: the children of one parent in startup order, indexed by pid and id, with
 * shutdown groups and binding edges, and the closure algorithm. The closure of a child is the
 * child, the members of its shutdown group, and (transitively) every child bound to any of them,
 * adding the group of each child reached; it is what stops and restarts together. Imports
 * `process`, its own `child-record`, `child-spec`.
 */
import { IdTable } from "../../process/id-table.js";
import { Pid } from "../../process/pid.js";
import { PidMap } from "../../process/pid-map.js";
import type { ChildRecord } from "./child-record.js";
import type { ChildRef } from "./child-spec.js";

/** Map key of an id: primitives as they are, structured ids by value. */
function idKey(id: unknown): unknown {
  if (typeof id !== "object" || id === null) return id;
  try {
    return `\u0000${JSON.stringify(id)}`;
  } catch {
    return id;
  }
}

const byOrder = (a: ChildRecord, b: ChildRecord) => a.order - b.order;

export class ChildrenTable {
  /**
   * Every child by startup position. Positions are handed out in sequence like pid numbers, so
   * an `IdTable` keeps them for a slot each, where a `Set` cost ~30 B and a rehash per doubling;
   * a returned child goes back under its old position with no re-sort.
   */
  private readonly all = new IdTable<ChildRecord>((r) => r.order);
  /** The running children by pid; a record leaves it before its pid changes (`setPid`). */
  private readonly byPid: PidMap<ChildRecord>;
  private readonly byId = new Map<unknown, ChildRecord>();
  private groups: Map<unknown, Set<ChildRecord>> | null = null;
  private nextOrder = 0;

  /** `node` and `creation`: the parent's, whose children's pids are kept by number. */
  constructor(node: string, creation: number) {
    this.byPid = new PidMap<ChildRecord>(node, creation, (r) => r.pid!);
  }

  get size(): number {
    return this.all.size;
  }

  /** The next startup position. */
  takeOrder(): number {
    return this.nextOrder++;
  }

  has(r: ChildRecord): boolean {
    return this.all.get(r.order) === r;
  }

  find(ref: ChildRef): ChildRecord | undefined {
    return ref instanceof Pid ? this.byPid.get(ref) : this.byId.get(idKey(ref));
  }

  findByPid(pid: Pid): ChildRecord | undefined {
    return this.byPid.get(pid);
  }

  findById(id: unknown): ChildRecord | undefined {
    return this.byId.get(idKey(id));
  }

  /** Members of a shutdown group (empty for none). */
  group(group: unknown): Iterable<ChildRecord> {
    return group === undefined ? [] : (this.groups?.get(group) ?? []);
  }

  /** Adds a record (new, or returned at its old position) with its bindings and group. */
  /** Whether another child already holds `r`'s startup position (a record of another parent). */
  positionTaken(r: ChildRecord): boolean {
    const at = this.all.get(r.order);
    return at !== undefined && at !== r;
  }

  insert(r: ChildRecord): void {
    this.all.set(r.order, r);
    if (r.order >= this.nextOrder) this.nextOrder = r.order + 1;
    if (r.spec.id !== undefined) this.byId.set(idKey(r.spec.id), r);
    if (r.pid !== undefined) this.byPid.set(r.pid, r);
    const g = r.spec.shutdownGroup;
    if (g !== undefined) {
      const groups = (this.groups ??= new Map());
      let members = groups.get(g);
      if (members === undefined) groups.set(g, (members = new Set()));
      members.add(r);
    }
    if (r.deps !== null) for (const d of r.deps) d.dependentSet().add(r);
  }

  /** Resolves a spec's `bindsTo` against the present children; the refs not found. */
  resolveDeps(r: ChildRecord, refs: readonly ChildRef[]): unknown[] {
    const missing: unknown[] = [];
    const deps: ChildRecord[] = [];
    for (const ref of refs) {
      const d = this.find(ref);
      if (d === undefined) missing.push(ref);
      else deps.push(d);
    }
    r.deps = deps.length > 0 ? deps : null;
    r.boundTo = r.deps;
    return missing;
  }

  /**
   * Re-links bindings to records that came back (`returnChildren`): a returned child binds again
   * to whichever of its original targets are present, and a present child whose target was
   * returned after it binds to it again.
   */
  rebind(back: ReadonlySet<ChildRecord>): void {
    this.all.forEach((r) => {
      const boundTo = r.boundTo;
      if (boundTo === null || back.has(r) || !boundTo.some((d) => back.has(d))) return;
      const deps = boundTo.filter((d) => this.has(d));
      for (const d of deps) d.dependentSet().add(r);
      r.deps = deps.length > 0 ? deps : null;
    });
  }

  remove(r: ChildRecord): void {
    if (!this.has(r)) return;
    this.all.delete(r.order);
    if (r.spec.id !== undefined && this.byId.get(idKey(r.spec.id)) === r) this.byId.delete(idKey(r.spec.id));
    if (r.pid !== undefined) this.byPid.delete(r.pid);
    const g = r.spec.shutdownGroup;
    if (g !== undefined) {
      const members = this.groups?.get(g);
      members?.delete(r);
      if (members?.size === 0) this.groups!.delete(g);
    }
    if (r.deps !== null) for (const d of r.deps) d.dependents?.delete(r);
  }

  /** Changes a record's pid, keeping the pid index right. */
  setPid(r: ChildRecord, pid: Pid | undefined): void {
    if (r.pid !== undefined) this.byPid.delete(r.pid);
    r.pid = pid;
    if (pid !== undefined) this.byPid.set(pid, r);
  }

  /** The child, its group, and everything bound to any of them, transitively; startup order. */
  closure(start: ChildRecord): ChildRecord[] {
    if (start.dependents === null && start.spec.shutdownGroup === undefined) return [start];
    const seen = new Set<ChildRecord>([start]);
    const queue = [start];
    while (queue.length > 0) {
      const r = queue.pop()!;
      for (const m of this.group(r.spec.shutdownGroup)) {
        if (!seen.has(m)) {
          seen.add(m);
          queue.push(m);
        }
      }
      if (r.dependents !== null) {
        for (const d of r.dependents) {
          if (!seen.has(d) && this.has(d)) {
            seen.add(d);
            queue.push(d);
          }
        }
      }
    }
    return [...seen].sort(byOrder);
  }

  /** Everything, in startup order (a snapshot). */
  list(): ChildRecord[] {
    return this.all.values();
  }

  /** Calls `fn` with every child, in no particular order; `fn` must not change the table. */
  each(fn: (r: ChildRecord) => void): void {
    this.all.forEach(fn);
  }
}

export { byOrder };
