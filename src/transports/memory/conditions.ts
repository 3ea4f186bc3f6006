/**
 * The injected conditions of a `MemoryNetwork` between two nodes: partition groups (who can reach
 * whom), delay and drop rate, each global or per pair of nodes (a pair's value overrides the
 * global one, both ways). Pure settings and lookups: the network asks them for every frame it
 * sends and every frame it delivers, and the sessions ask `sameGroup` when they reconcile views.
 * Imports nothing.
 */

export class LinkConditions {
  /** Node name → partition group; null when not partitioned. Unlisted nodes are group 0. */
  private groups: Map<string, number> | null = null;
  private delayMs = 0;
  private dropRate = 0;
  private readonly pairDelay = new Map<string, number>();
  private readonly pairDrop = new Map<string, number>();

  /** Splits the nodes into `groups` (nodes not listed form one more group together). */
  partition(groups: string[][]): void {
    const map = new Map<string, number>();
    groups.forEach((g, i) => {
      for (const name of g) map.set(name, i + 1);
    });
    this.groups = map;
  }

  heal(): void {
    this.groups = null;
  }

  /** Clears every delay and drop rate (partitions are the caller's to heal). */
  clearLinks(): void {
    this.pairDelay.clear();
    this.pairDrop.clear();
    this.delayMs = 0;
    this.dropRate = 0;
  }

  setDelay(ms: number, a?: string, b?: string): void {
    if (a !== undefined && b !== undefined) this.pairDelay.set(pairKey(a, b), ms);
    else this.delayMs = ms;
  }

  setDropRate(rate: number, a?: string, b?: string): void {
    if (a !== undefined && b !== undefined) this.pairDrop.set(pairKey(a, b), rate);
    else this.dropRate = rate;
  }

  /** Whether nodes `a` and `b` are on the same side of the partition (if any). */
  sameGroup(a: string, b: string): boolean {
    const g = this.groups;
    if (g === null) return true;
    return (g.get(a) ?? 0) === (g.get(b) ?? 0);
  }

  /** The drop rate between `a` and `b`. */
  dropFor(a: string, b: string): number {
    return this.pairDrop.size > 0 ? (this.pairDrop.get(pairKey(a, b)) ?? this.dropRate) : this.dropRate;
  }

  /** The delay between `a` and `b`, in milliseconds. */
  delayFor(a: string, b: string): number {
    return this.pairDelay.size > 0 ? (this.pairDelay.get(pairKey(a, b)) ?? this.delayMs) : this.delayMs;
  }
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}
