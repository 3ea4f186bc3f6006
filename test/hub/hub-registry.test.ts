import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { normalizeChildSpec } from "../../src/hub/child-spec.js";
import { HubRegistry, type RegistryChange, type SliceEntry } from "../../src/hub/hub-registry.js";
import { Pid } from "../../src/process/pid.js";

function entry(id: string, node: string, n: number, tag?: string, epoch = 1): SliceEntry {
  return {
    spec: normalizeChildSpec({ id, behaviour: "worker", metadata: tag === undefined ? {} : { tag } }),
    pid: new Pid(node, n, 1),
    epoch,
  };
}

describe("HubRegistry queries", () => {
  it("answers lookup, pids, local pid, exists, tag and process lists", () => {
    const a = new HubRegistry("a");
    a.putLocal("x", entry("x", "a", 1, "red"));
    a.applyDelta(
      "b",
      7,
      1,
      [
        ["y", entry("y", "b", 2, "red")],
        ["x", entry("x", "b", 3)],
      ],
      [],
    );
    expect(a.lookup("x")?.nodes.map((n) => n.node)).toEqual(["a", "b"]);
    expect(a.getPid("x")?.equals(new Pid("a", 1, 1))).toBe(true);
    expect(a.getPids("x")).toHaveLength(2);
    expect(a.localPid("y")).toBeUndefined();
    expect(a.localPid("x")?.id).toBe(1);
    expect(a.exists("y")).toBe(true);
    expect(a.exists("z")).toBe(false);
    expect(a.containsChildren(["x", "z"])).toEqual(["x"]);
    expect(
      a
        .matchTag("red")
        .map((r) => r.id)
        .sort(),
    ).toEqual(["x", "y"]);
    expect(a.processList("local")).toEqual([{ id: "x", pid: new Pid("a", 1, 1) }]);
    expect(a.processList("global")).toHaveLength(2);
    expect([...a.localChildren().keys()]).toEqual(["x"]);
    expect(a.localChildSpecs().map((s) => s.id)).toEqual(["x"]);
    expect([...a.dump().keys()].sort()).toEqual(["x", "y"]);
    expect(a.whichChildren("global").get("b")).toHaveLength(2);
    expect([...a.whichChildren("local").keys()]).toEqual(["a"]);
  });

  it("takes spec and metadata from the placement with the highest epoch", () => {
    const a = new HubRegistry("a");
    a.putLocal("x", entry("x", "a", 1, "old", 1));
    a.applyDelta("b", 1, 1, [["x", entry("x", "b", 1, "new", 2)]], []);
    expect(a.lookup("x")?.metadata.tag).toBe("new");
    expect(a.epochOf("x")).toBe(2);
  });
});

describe("HubRegistry replication", () => {
  it("applies deltas in order, ignores duplicates and reports gaps", () => {
    const a = new HubRegistry("a");
    const changes: RegistryChange[] = [];
    expect(a.applyDelta("b", 1, 1, [["x", entry("x", "b", 1)]], [], changes)).toBe("applied");
    expect(a.applyDelta("b", 1, 1, [["x", entry("x", "b", 1)]], [])).toBe("duplicate");
    expect(a.applyDelta("b", 1, 3, [["y", entry("y", "b", 2)]], [])).toBe("gap");
    expect(a.exists("y")).toBe(false);
    expect(a.applyDelta("b", 1, 2, [["x", entry("x", "b", 9)]], [], changes)).toBe("applied");
    expect(a.applyDelta("b", 1, 3, [], ["x"], changes)).toBe("applied");
    expect(changes.map((c) => c.kind)).toEqual(["registered", "pid_updated", "unregistered"]);
  });

  it("forgets an old incarnation's slice when the new one speaks", () => {
    const a = new HubRegistry("a");
    a.replaceSlice("b", 1, 5, [["x", entry("x", "b", 1)]]);
    expect(a.applyDelta("b", 2, 2, [], [])).toBe("gap");
    expect(a.applyDelta("b", 2, 1, [], [])).toBe("applied");
    expect(a.exists("x")).toBe(false);
    a.replaceSlice("b", 2, 1, [["y", entry("y", "b", 1)]]);
    expect(a.exists("x")).toBe(false);
    expect(a.exists("y")).toBe(true);
  });

  it("drops a node's slice and returns what it held", () => {
    const a = new HubRegistry("a");
    a.replaceSlice("b", 1, 1, [
      ["x", entry("x", "b", 1)],
      ["y", entry("y", "b", 2)],
    ]);
    const held = a.dropNode("b");
    expect([...held.keys()].sort()).toEqual(["x", "y"]);
    expect(a.size).toBe(0);
    expect(a.nodes()).toEqual(["a"]);
  });

  it("converges: replicas fed each writer's final slice are identical whatever they saw before", () => {
    const op = fc.record({
      node: fc.constantFrom("a", "b", "c"),
      id: fc.constantFrom("k1", "k2", "k3", "k4"),
      del: fc.boolean(),
      n: fc.nat(100),
    });
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 40 }),
        fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
        (ops, lost) => {
          const writers = new Map(["a", "b", "c"].map((n) => [n, new HubRegistry(n)]));
          const replica = new HubRegistry("z");
          const seq = new Map<string, number>();
          ops.forEach((o, i) => {
            const w = writers.get(o.node)!;
            const s = (seq.get(o.node) ?? 0) + 1;
            seq.set(o.node, s);
            if (o.del) w.removeLocal(o.id);
            else w.putLocal(o.id, entry(o.id, o.node, o.n));
            if (!lost[i]) {
              const up = o.del ? [] : ([[o.id, entry(o.id, o.node, o.n)]] as Array<[string, SliceEntry]>);
              const r = replica.applyDelta(o.node, 1, s, up, o.del ? [o.id] : []);
              if (r === "gap") replica.replaceSlice(o.node, 1, s, [...w.localSlice()]);
            }
          });
          for (const [n, w] of writers) replica.replaceSlice(n, 1, seq.get(n) ?? 0, [...w.localSlice()]);
          const union = new HubRegistry("z");
          for (const [n, w] of writers) union.replaceSlice(n, 1, 0, [...w.localSlice()]);
          expect(replica.digest()).toBe(union.digest());
        },
      ),
      { numRuns: 100 },
    );
  });
});
