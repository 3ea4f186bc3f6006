/**
 * `ChildrenTable`: the children of one parent in startup order, indexed by pid and id, with
 * shutdown groups and binding edges, and the closure algorithm. The closure of a child is the
 * child, the members of its shutdown group, and (transitively) every child bound to any of them,
 * adding the group of each child reached; it is what stops and restarts together. Imports
 * `process`, its own `child-record`, `child-spec`.
 */
import { Pid } from "../../process/pid.js";
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

/** @internal */
export class ChildrenTable {
  /** Every child, iterated in startup order. */
  readonly all = new Set<ChildRecord>();
  /** By pid: the id for pids of the first child's node incarnation (no key string per child). */
  private readonly byPid = new Map<number | string, ChildRecord>();
  private home: Pid | null = null;
  private readonly byId = new Map<unknown, ChildRecord>();
  private groups: Map<unknown, Set<ChildRecord>> | null = null;
  private nextOrder = 0;

  private pidKey(pid: Pid): number | string {
    const h = (this.home ??= pid);
    return pid.creation === h.creation && pid.node === h.node ? pid.id : pid.key;
  }

  get size(): number {
    return this.all.size;
  }

  /** The next startup position. */
  takeOrder(): number {
    return this.nextOrder++;
  }

  has(r: ChildRecord): boolean {
    return this.all.has(r);
  }

  find(ref: ChildRef): ChildRecord | undefined {
    return ref instanceof Pid ? this.byPid.get(this.pidKey(ref)) : this.byId.get(idKey(ref));
  }

  findByPid(pid: Pid): ChildRecord | undefined {
    return this.byPid.get(this.pidKey(pid));
  }

  findById(id: unknown): ChildRecord | undefined {
    return this.byId.get(idKey(id));
  }

  /** Members of a shutdown group (empty for none). */
  group(group: unknown): Iterable<ChildRecord> {
    return group === undefined ? [] : (this.groups?.get(group) ?? []);
  }

  /** Adds a record (new, or returned at its old position) with its bindings and group. */
  insert(r: ChildRecord): void {
    const outOfOrder = r.order < this.nextOrder - 1 && this.all.size > 0;
    this.all.add(r);
    if (r.order >= this.nextOrder) this.nextOrder = r.order + 1;
    if (r.spec.id !== undefined) this.byId.set(idKey(r.spec.id), r);
    if (r.pid !== undefined) this.byPid.set(this.pidKey(r.pid), r);
    const g = r.spec.shutdownGroup;
    if (g !== undefined) {
      const groups = (this.groups ??= new Map());
      let members = groups.get(g);
      if (members === undefined) groups.set(g, (members = new Set()));
      members.add(r);
    }
    if (r.deps !== null) for (const d of r.deps) (d.dependents ??= new Set()).add(r);
    if (outOfOrder) this.resort();
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
    for (const r of this.all) {
      if (r.boundTo === null || back.has(r)) continue;
      if (!r.boundTo.some((d) => back.has(d))) continue;
      const deps = r.boundTo.filter((d) => this.all.has(d));
      for (const d of deps) (d.dependents ??= new Set()).add(r);
      r.deps = deps.length > 0 ? deps : null;
    }
  }

  remove(r: ChildRecord): void {
    if (!this.all.delete(r)) return;
    if (r.spec.id !== undefined && this.byId.get(idKey(r.spec.id)) === r) this.byId.delete(idKey(r.spec.id));
    if (r.pid !== undefined) this.byPid.delete(this.pidKey(r.pid));
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
    if (r.pid !== undefined) this.byPid.delete(this.pidKey(r.pid));
    r.pid = pid;
    if (pid !== undefined) this.byPid.set(this.pidKey(pid), r);
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
          if (!seen.has(d) && this.all.has(d)) {
            seen.add(d);
            queue.push(d);
          }
        }
      }
    }
    return [...seen].sort(byOrder);
  }

  /** Everything, in startup order. */
  list(): ChildRecord[] {
    return [...this.all];
  }

  private resort(): void {
    const sorted = [...this.all].sort(byOrder);
    this.all.clear();
    for (const r of sorted) this.all.add(r);
  }
}

export { byOrder };
