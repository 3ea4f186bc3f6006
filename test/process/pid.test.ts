import { describe, expect, it } from "vitest";
import { InvalidOptionError } from "../../src/errors.js";
import { isPid, Pid, Ref } from "../../src/process/index.js";
import { idle, newNode } from "./helpers.js";

describe("Pid", () => {
  it("prints as <node.N>", () => {
    expect(String(new Pid("alpha", 7, 123))).toBe("<alpha.7>");
    const node = newNode("beta");
    const pid = idle(node);
    expect(`${pid}`).toMatch(/^<beta\.\d+>$/);
  });

  it("equals a pid with the same node, id and creation only", () => {
    const a = new Pid("n", 1, 5);
    expect(a.equals(new Pid("n", 1, 5))).toBe(true);
    expect(a.equals(new Pid("n", 2, 5))).toBe(false);
    expect(a.equals(new Pid("m", 1, 5))).toBe(false);
    expect(a.equals(new Pid("n", 1, 6))).toBe(false);
    expect(a.equals("<n.1>")).toBe(false);
    expect(a.key).toBe(new Pid("n", 1, 5).key);
  });

  it("compares by node name, then creation, then id (a total order)", () => {
    const sorted = [new Pid("b", 1, 1), new Pid("a", 2, 1), new Pid("a", 1, 2), new Pid("a", 1, 1)].sort(
      (x, y) => x.compare(y),
    );
    expect(sorted.map((p) => [p.node, p.creation, p.id])).toEqual([
      ["a", 1, 1],
      ["a", 1, 2],
      ["a", 2, 1],
      ["b", 1, 1],
    ]);
    expect(new Pid("a", 1, 1).compare(new Pid("a", 1, 1))).toBe(0);
  });

  it("survives a JSON round trip through toJSON and fromJSON", () => {
    const pid = new Pid("node-1", 42, 99);
    const back = Pid.fromJSON(JSON.parse(JSON.stringify(pid)));
    expect(back).toBeInstanceOf(Pid);
    expect(back.equals(pid)).toBe(true);
    expect(JSON.stringify(pid)).toBe('{"pid":["node-1",42,99]}');
  });

  it("refuses anything but toJSON's shape with InvalidOptionError", () => {
    for (const bad of [
      null,
      {},
      { pid: ["n", 1] },
      { pid: [1, 2, 3] },
      { pid: ["n", "1", 2] },
      { ref: ["n", 1, 2] },
    ]) {
      expect(() => Pid.fromJSON(bad as never)).toThrow(InvalidOptionError);
    }
    expect(() => Ref.fromJSON({ pid: ["n", 1, 2] } as never)).toThrow(InvalidOptionError);
  });

  it("differs between two incarnations of a node with the same name", () => {
    const first = newNode("same");
    const second = newNode("same");
    const a = idle(first);
    const b = idle(second);
    expect(a.id).toBe(b.id);
    expect(a.equals(b)).toBe(false);
    expect(second.isLocal(a)).toBe(false);
  });

  it("is recognised by isPid", () => {
    expect(isPid(new Pid("n", 1, 1))).toBe(true);
    expect(isPid({ node: "n", id: 1, creation: 1 })).toBe(false);
  });
});

describe("Ref", () => {
  it("is unique per makeRef call and prints as #Ref<node.N>", () => {
    const node = newNode("r");
    const a = node.makeRef();
    const b = node.makeRef();
    expect(a.equals(b)).toBe(false);
    expect(a.equals(new Ref(a.node, a.id, a.creation))).toBe(true);
    expect(String(a)).toMatch(/^#Ref<r\.\d+>$/);
  });

  it("survives a JSON round trip through toJSON and fromJSON", () => {
    const ref = new Ref("n", 3, 4);
    expect(Ref.fromJSON(JSON.parse(JSON.stringify(ref))).equals(ref)).toBe(true);
  });
});
