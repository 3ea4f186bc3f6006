/**
 * `IdTable` and `PidMap`, the pid-numbered tables behind the node's process table and a
 * supervisor's links and children: they behave as a `Map` for any mix of operations, whether
 * ids arrive in sequence (spawn order) or far apart (collisions in the direct-mapped slots).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { IdTable } from "../../src/process/id-table.js";
import { Pid } from "../../src/process/pid.js";
import { PidMap } from "../../src/process/pid-map.js";

interface Item {
  id: number;
  v: number;
}

type Op = { op: "set"; id: number; v: number } | { op: "delete"; id: number } | { op: "get"; id: number };

const ops = (ids: fc.Arbitrary<number>) =>
  fc.array(
    fc.oneof(
      fc.record({ op: fc.constant("set" as const), id: ids, v: fc.integer() }),
      fc.record({ op: fc.constant("delete" as const), id: ids }),
      fc.record({ op: fc.constant("get" as const), id: ids }),
    ),
    { maxLength: 600 },
  );

function check(list: Op[]): void {
  const t = new IdTable<Item, string>((x) => x.id, { withAux: true });
  const m = new Map<number, Item>();
  for (const o of list) {
    if (o.op === "set") {
      const item = { id: o.id, v: o.v };
      t.set(o.id, item, `aux ${o.v}`);
      m.set(o.id, item);
    } else if (o.op === "delete") expect(t.delete(o.id)).toBe(m.delete(o.id));
    else {
      expect(t.get(o.id)).toBe(m.get(o.id));
      expect(t.auxOf(o.id)).toBe(m.has(o.id) ? `aux ${m.get(o.id)!.v}` : undefined);
    }
    expect(t.size).toBe(m.size);
  }
  // Every entry still carries its own aux value, wherever growth and shrinking moved it.
  const pairs: string[] = [];
  t.forEach((item, aux) => {
    pairs.push(`${item.id}:${aux}`);
  });
  expect(pairs.sort()).toEqual([...m.values()].map((x) => `${x.id}:aux ${x.v}`).sort());
  const ids = [...m.keys()].sort((a, b) => a - b);
  expect(t.values().map((x) => x.id)).toEqual(ids);
  expect(
    t
      .unordered()
      .map((x) => x.id)
      .sort((a, b) => a - b),
  ).toEqual(ids);
  for (const id of ids) expect(t.has(id)).toBe(true);
}

describe("IdTable", () => {
  it("behaves as a Map for ids close together (a sliding window of pid numbers)", () => {
    fc.assert(fc.property(ops(fc.integer({ min: 0, max: 300 })), check));
  });

  it("behaves as a Map for ids far apart (many share a slot)", () => {
    const spread = fc.oneof(
      fc.integer({ min: 0, max: 40 }).map((i) => i * 64),
      fc.integer({ min: 0, max: 2 ** 40 }),
      fc.integer({ min: 0, max: 2 ** 53 - 1 }),
    );
    fc.assert(fc.property(ops(spread), check));
  });

  it("behaves as a Map across chunked growth and shrinking (thousands of entries, some colliding)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 900, max: 5000 }),
        fc.integer({ min: 0, max: 2 ** 30 }),
        ops(fc.oneof(fc.integer({ min: 0, max: 12_000 }), fc.integer({ min: 0, max: 2 ** 40 }))),
        fc.integer({ min: 0, max: 100 }),
        (n, base, mixed, keepPercent) => {
          const list: Op[] = [];
          for (let i = 0; i < n; i++) list.push({ op: "set", id: base + i, v: i });
          // Ids a full capacity apart share a slot whatever the table's size.
          for (let i = 0; i < 50; i++) list.push({ op: "set", id: base + i * 8192, v: -i });
          list.push(...mixed);
          for (let i = 0; i < n; i++)
            if ((i * 37) % 100 >= keepPercent) list.push({ op: "delete", id: base + i });
          for (let i = 0; i < n; i += 97) list.push({ op: "get", id: base + i });
          check(list);
        },
      ),
      { numRuns: 20 },
    );
  });

  it("grows to a hundred thousand sequential ids and shrinks back when they leave", () => {
    const t = new IdTable<Item>((x) => x.id);
    for (let i = 1; i <= 100_000; i++) t.set(i, { id: i, v: i });
    expect(t.size).toBe(100_000);
    expect(t.capacity).toBe(131_072);
    expect(t.get(54_321)?.v).toBe(54_321);
    let deleted = 0;
    for (let i = 1; i <= 99_990; i++) if (t.delete(i)) deleted++;
    expect(deleted).toBe(99_990);
    expect(t.capacity).toBeLessThanOrEqual(128);
    expect(t.values().map((x) => x.id)).toEqual([
      99_991, 99_992, 99_993, 99_994, 99_995, 99_996, 99_997, 99_998, 99_999, 100_000,
    ]);
    t.clear();
    expect(t.size).toBe(0);
    expect(t.get(100_000)).toBeUndefined();
  });
});

describe("PidMap", () => {
  it("keeps this node's pids by number and others by key, and tells them apart", () => {
    const m = new PidMap<Pid>("a", 7, (p) => p);
    const local = new Pid("a", 5, 7);
    const oldIncarnation = new Pid("a", 5, 6);
    const remote = new Pid("b", 5, 7);
    m.set(local, local);
    m.set(remote, remote);
    expect(m.size).toBe(2);
    expect(m.get(new Pid("a", 5, 7))).toBe(local);
    expect(m.get(oldIncarnation)).toBeUndefined();
    expect(m.has(new Pid("b", 5, 7))).toBe(true);
    m.set(oldIncarnation, oldIncarnation);
    expect(m.values()).toEqual([local, remote, oldIncarnation]);
    expect(m.delete(remote)).toBe(true);
    expect(m.delete(remote)).toBe(false);
    expect(m.get(oldIncarnation)).toBe(oldIncarnation);
    m.clear();
    expect(m.size).toBe(0);
    expect(m.unordered()).toEqual([]);
  });
});
