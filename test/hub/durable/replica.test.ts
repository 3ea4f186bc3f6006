/**
 * `DeclaredReplica` (`src/hub/durable/replica.ts`): an id's declaration is the one at the highest
 * revision of its page of the current layout and of what earlier layouts gave; `values` yields
 * each id once, `size` counts each once.
 */
import { describe, expect, it } from "vitest";
import type { Declared } from "../../../src/hub/durable/declared.js";
import {
  decodePage,
  EMPTY_PAGE,
  encodePage,
  packRecord,
  pageKeyOf,
  pageOf,
} from "../../../src/hub/durable/pages.js";
import { DeclaredReplica } from "../../../src/hub/durable/replica.js";

const running = (id: string) => ({
  desired: "running" as const,
  spec: { id, behaviour: "w", args: undefined, restart: "permanent" as const, shutdown: 5000, metadata: {} },
  by: "n1",
  at: 1,
});

const legacyDecl = (id: string, desired: Declared["desired"], revision: number): Declared => ({
  id,
  desired,
  spec: desired === "stopped" ? null : running(id).spec,
  pin: null,
  revision,
  by: "old",
  at: 0,
  learnt: 0,
});

describe("the replica of declarations", () => {
  it("takes each id's declaration at its highest revision, from pages or earlier layouts", () => {
    const r = new DeclaredReplica();
    const key = pageKeyOf("a");
    const page = decodePage("h", key, encodePage("h", key, packRecord("a", running("a"))), 10, EMPTY_PAGE);
    if ("pageRefused" in page) throw new Error(page.pageRefused);
    r.setPage(pageOf("a"), page.page);
    expect(r.get("a")?.desired).toBe("running");
    expect(r.get("b")).toBeUndefined();
    expect(r.has("a")).toBe(true);
    // An older declaration from a first-layout page does not win; a newer one does.
    r.legacy.set("a", legacyDecl("a", "stopped", 5));
    r.legacy.set("b", legacyDecl("b", "running", 6));
    expect(r.get("a")?.revision).toBe(10);
    expect(r.size).toBe(2);
    expect([...r.values()].map((d) => [d.id, d.revision]).sort()).toEqual([
      ["a", 10],
      ["b", 6],
    ]);
    r.legacy.set("a", legacyDecl("a", "stopped", 12));
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
});
