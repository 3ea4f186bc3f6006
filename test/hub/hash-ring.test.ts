import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HashRing, hash32 } from "../../src/hub/hash-ring.js";

const keys = Array.from({ length: 5000 }, (_, i) => `child-${i}`);
const nodeName = fc.stringMatching(/^[a-z][a-z0-9]{0,7}$/);
const memberSet = fc.uniqueArray(nodeName, { minLength: 1, maxLength: 7 });

describe("hash32", () => {
  it("is deterministic and spreads nearby strings", () => {
    expect(hash32("a")).toBe(hash32("a"));
    expect(hash32("child-1")).not.toBe(hash32("child-2"));
    expect(hash32("")).toBeGreaterThanOrEqual(0);
  });
});

describe("HashRing.owner", () => {
  it("gives the same placement for the same members in any order", () => {
    fc.assert(
      fc.property(memberSet, (members) => {
        const a = new HashRing(members, 64);
        const b = new HashRing([...members].reverse(), 64);
        for (const k of keys.slice(0, 500)) expect(a.owner(k)).toBe(b.owner(k));
      }),
      { numRuns: 30 },
    );
  });

  it("returns undefined on an empty ring and the only member on a ring of one", () => {
    expect(new HashRing([]).owner("x")).toBeUndefined();
    expect(new HashRing(["solo"]).owner("x")).toBe("solo");
  });

  it("moves only keys to a new member, and about 1/N of them", () => {
    fc.assert(
      fc.property(memberSet, nodeName, (members, extra) => {
        fc.pre(!members.includes(extra));
        const before = new HashRing(members);
        const after = before.with(extra);
        let moved = 0;
        for (const k of keys) {
          const o1 = before.owner(k);
          const o2 = after.owner(k);
          if (o1 !== o2) {
            moved++;
            expect(o2).toBe(extra);
          }
        }
        const expected = keys.length / after.size;
        expect(moved).toBeGreaterThan(expected * 0.6);
        expect(moved).toBeLessThan(expected * 1.4);
      }),
      { numRuns: 30 },
    );
  });

  it("moves only the removed member's keys when a member leaves", () => {
    fc.assert(
      fc.property(fc.uniqueArray(nodeName, { minLength: 2, maxLength: 7 }), fc.nat(), (members, pick) => {
        const gone = members[pick % members.length]!;
        const before = new HashRing(members);
        const after = before.without(gone);
        for (const k of keys) {
          const o1 = before.owner(k);
          if (o1 !== gone) expect(after.owner(k)).toBe(o1);
          else expect(after.owner(k)).not.toBe(gone);
        }
      }),
      { numRuns: 30 },
    );
  });
});

describe("HashRing.ownersOf", () => {
  it("lists distinct members starting with the owner", () => {
    const ring = new HashRing(["a", "b", "c", "d"]);
    for (const k of keys.slice(0, 200)) {
      const o = ring.ownersOf(k, 3);
      expect(o).toHaveLength(3);
      expect(new Set(o).size).toBe(3);
      expect(o[0]).toBe(ring.owner(k));
    }
    expect(ring.ownersOf("x", 10)).toHaveLength(4);
  });
});
