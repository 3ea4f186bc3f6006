/**
 * `DeclaredReplica`: the declarations one node holds, as the hub reads them (reconcile, fencing,
 * entities, the handle's calls). Those of pages of the current layout live in the pages
 * themselves (each page's `decls`, beside its records), so that taking a declaration costs no
 * entry in a map of every id ever declared: at tens of thousands of ids, such a map's inserts
 * were most of what a node spent on its own declarations. Those read from stores of earlier
 * layouts (first-layout pages, keys of one declaration) are kept in `legacy`. An id's declaration
 * is the one at the highest revision. Imports the page layout and `declared.ts`'s type.
 */
import type { Declared } from "./declared.js";
import { PAGE_COUNT, type PageRecords, pageOf, positionOf } from "./pages.js";

export class DeclaredReplica {
  /** Pages of the current layout, by number. */
  private readonly pages: Array<PageRecords | undefined> = new Array(PAGE_COUNT).fill(undefined);
  /** Declarations from first-layout pages and keys of one declaration. */
  readonly legacy = new Map<string, Declared>();

  /** Page `n` of the current layout is now `page` (its `decls` are what this node holds). */
  setPage(n: number, page: PageRecords): void {
    this.pages[n] = page;
  }

  get(id: string): Declared | undefined {
    const d = this.fromPage(id);
    if (this.legacy.size === 0) return d;
    const o = this.legacy.get(id);
    return o !== undefined && (d === undefined || o.revision > d.revision) ? o : d;
  }

  has(id: string): boolean {
    return this.get(id) !== undefined;
  }

  /**
   * `fn` of every declaration in force, once per id (a callback, not an iterator: reconcile walks
   * every declaration each round, and an iterator's result objects were most of what it allocated).
   */
  forEach(fn: (d: Declared) => void): void {
    const legacy = this.legacy;
    for (const p of this.pages) {
      if (p === undefined) continue;
      const decls = p.decls;
      for (let i = 0; i < decls.length; i++) {
        const d = decls[i]!;
        const o = legacy.size === 0 ? undefined : legacy.get(d.id);
        if (o === undefined || o.revision <= d.revision) fn(d);
      }
    }
    for (const o of legacy.values()) {
      const d = this.fromPage(o.id);
      if (d === undefined || o.revision > d.revision) fn(o);
    }
  }

  /** Every declaration in force, once per id. */
  values(): Declared[] {
    const out: Declared[] = [];
    this.forEach((d) => {
      out.push(d);
    });
    return out;
  }

  /** How many ids have a declaration. */
  get size(): number {
    let n = 0;
    for (const p of this.pages) n += p?.decls.length ?? 0;
    for (const o of this.legacy.values()) if (this.fromPage(o.id) === undefined) n++;
    return n;
  }

  private fromPage(id: string): Declared | undefined {
    const p = this.pages[pageOf(id)];
    if (p === undefined) return undefined;
    const j = positionOf(p, id);
    return j < 0 ? undefined : p.decls[j];
  }
}
