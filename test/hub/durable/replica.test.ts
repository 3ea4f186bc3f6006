/**
 * `DeclaredReplica` (`src/hub/durable/replica.ts`) and `supersedes` (`declared.ts`): an id's
 * declaration is the one that supersedes the others, from its page of the current layout, the log
 * entries no page holds yet, and what earlier layouts gave; `values` yields each id once, `size`
 * counts each once; a page that holds a pending declaration takes it out of the pending ones; and
 * nodes that learn the same declarations in any order agree.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Declared, supersedes } from "../../../src/hub/durable/declared.js";
import {
  decodePage,
  EMPTY_PAGE,
  encodePage,
  packRecord,
  pageKeyOf,
  pageOf,
  stampOf,
} from "../../../src/hub/durable/pages.js";
import { DeclaredReplica } from "../../../src/hub/durable/replica.js";

const running = (id: string) => ({
  desired: "running" as const,
  spec: { id, behaviour: "w", args: undefined, restart: "permanent" as const, shutdown: 5000, metadata: {} },
  by: "n1",
  at: 1,
});

const decl = (id: string, desired: Declared["desired"], revision: number, weak = false): Declared => {
  const d: Declared = {
    id,
    desired,
    spec: desired === "stopped" ? null : running(id).spec,
    pin: null,
    revision,
    by: "old",
    at: 0,
    learnt: 0,
  };
  if (weak) d.weak = true;
  return d;
};

/** A replica holding `decls` of id "a" on its page (stamped as each says). */
function pageOfDecls(decls: readonly Declared[], revision: number) {
  const key = pageKeyOf("a");
  const run = Buffer.concat(
    decls.map((d) =>
      packRecord(d.id, { desired: d.desired, spec: d.spec, by: d.by, at: d.at }, stampOf(d.revision, d.weak)),
    ),
  );
  const page = decodePage("h", key, encodePage("h", key, run), revision, EMPTY_PAGE);
  if ("pageRefused" in page) throw new Error(page.pageRefused);
  return page;
}

describe("the replica of declarations", () => {
  it("takes each id's declaration at its highest revision, from pages or earlier layouts", () => {
    const r = new DeclaredReplica();
    const key = pageKeyOf("a");
    const page = decodePage(
      "h",
      key,
      encodePage("h", key, packRecord("a", running("a"), stampOf(10, false))),
      10,
    );
    if ("pageRefused" in page) throw new Error(page.pageRefused);
    r.setPage(pageOf("a"), page.page);
    expect(r.get("a")?.desired).toBe("running");
    expect(r.get("b")).toBeUndefined();
    expect(r.has("a")).toBe(true);
    // An older declaration from a first-layout page does not win; a newer one does.
    r.legacy.set("a", decl("a", "stopped", 5));
    r.legacy.set("b", decl("b", "running", 6));
    expect(r.get("a")?.revision).toBe(10);
    expect(r.size).toBe(2);
    expect([...r.values()].map((d) => [d.id, d.revision]).sort()).toEqual([
      ["a", 10],
      ["b", 6],
    ]);
    r.legacy.set("a", decl("a", "stopped", 12));
    expect(r.get("a")?.desired).toBe("stopped");
    expect([...r.values()].map((d) => [d.id, d.revision]).sort()).toEqual([
      ["a", 12],
      ["b", 6],
    ]);
    expect(r.size).toBe(2);
    // A page deleted: its ids keep only what earlier layouts say.
    r.setPage(pageOf("a"), EMPTY_PAGE);
    r.legacy.delete("a");
    expect(r.get("a")).toBeUndefined();
    expect(r.size).toBe(1);
  });

  it("holds log declarations until a page holds them or one that supersedes them", () => {
    const r = new DeclaredReplica();
    const first = pageOfDecls([decl("a", "running", 3)], 3);
    r.setPage(pageOf("a"), first.page, first.declared);
    // A stop from the log supersedes the page's start; an older one does not.
    expect(r.offer(decl("a", "stopped", 2))).toBe(false);
    const stop = decl("a", "stopped", 7);
    stop.learnt = 123;
    expect(r.offer(stop)).toBe(true);
    expect(r.get("a")).toBe(stop);
    expect(r.pendingCount).toBe(1);
    expect(r.covers(stop)).toBe(false);
    expect(r.values()).toEqual([stop]);
    expect(r.size).toBe(1);
    // A new id from the log counts once, beside the page's.
    expect(r.offer(decl("b", "running", 8))).toBe(true);
    expect(r.size).toBe(2);
    expect(
      r
        .values()
        .map((d) => d.id)
        .sort(),
    ).toEqual(["a", "b"]);
    // A page that does not hold the stop yet leaves it pending.
    const same = pageOfDecls([decl("a", "running", 3)], 5);
    r.setPage(pageOf("a"), same.page, same.declared);
    expect(r.get("a")).toBe(stop);
    // The fold of the stop: the page's copy is in force, and keeps when this node learnt it.
    const folded = pageOfDecls([decl("a", "stopped", 7)], 9);
    r.setPage(pageOf("a"), folded.page, folded.declared);
    expect(r.get("a")?.desired).toBe("stopped");
    expect(r.get("a")).not.toBe(stop);
    expect(r.get("a")?.learnt).toBe(123);
    expect(r.covers(stop)).toBe(true);
    expect(r.pendingOf("a")).toBeUndefined();
    expect([...r.pendingByPage().values()].flat().map((d) => d.id)).toEqual(["b"]);
  });

  it("puts any declaration over a weak one, the later of two declarations, the earlier of two weak ones", () => {
    const real5 = decl("a", "stopped", 5);
    const real9 = decl("a", "running", 9);
    const weak3 = decl("a", "running", 3, true);
    const weak7 = decl("a", "running", 7, true);
    expect(supersedes(real9, real5)).toBe(true);
    expect(supersedes(real5, real9)).toBe(false);
    // A static child declared (weak) after a stop, even one not seen yet, does not undo it.
    expect(supersedes(real5, weak7)).toBe(true);
    expect(supersedes(weak7, real5)).toBe(false);
    expect(supersedes(real5, weak3)).toBe(true);
    expect(supersedes(weak3, weak7)).toBe(true);
    expect(supersedes(weak7, weak3)).toBe(false);
    expect(supersedes(real5, real5)).toBe(false);
    expect(supersedes(weak3, decl("a", "running", 3, true))).toBe(false);
  });

  it("agrees on each id whatever order it learns the same declarations in", () => {
    const arb = fc.array(
      fc.record({ revision: fc.integer({ min: 1, max: 40 }), weak: fc.boolean(), stop: fc.boolean() }),
      { minLength: 1, maxLength: 8 },
    );
    fc.assert(
      fc.property(arb, fc.array(fc.nat(), { minLength: 8, maxLength: 8 }), (raw, order) => {
        // One declaration per revision (a revision is one write).
        const byRevision = new Map(raw.map((x) => [x.revision, x]));
        const all = [...byRevision.values()].map((x) =>
          decl("a", x.stop ? "stopped" : "running", x.revision, x.weak),
        );
        const shuffled = all
          .map((d, i) => [order[i % order.length]! + i / 100, d] as const)
          .sort((x, y) => x[0] - y[0])
          .map(([, d]) => d);
        const learn = (ds: readonly Declared[]) => {
          const r = new DeclaredReplica();
          for (const d of ds) r.offer(d);
          return r.get("a");
        };
        const expected = all.reduce((a, b) => (supersedes(b, a) ? b : a));
        expect(learn(all)).toBe(expected);
        expect(learn(shuffled)).toBe(expected);
        expect(learn([...all].reverse())).toBe(expected);
      }),
    );
  });
});
