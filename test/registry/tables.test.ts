/**
 * The registry's tables past their small form: key maps split into shards after a few thousand
 * keys, the per-process table spread over pages of pid numbers, and entries that remember the
 * encoding of a structured key. Results must be those of the small form.
 */
import { afterEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/logger.js";
import { Node, NoProcError, Pid, setDefaultNode } from "../../src/process/index.js";
import { Registry } from "../../src/registry/index.js";

const node = new Node({ name: "tables", logger: silentLogger });
setDefaultNode(node);

let serial = 0;
const started: string[] = [];

async function startRegistry(keys: "unique" | "duplicate", partitions = 1): Promise<string> {
  const name = `tables-${++serial}`;
  const r = await Registry.start({ keys, name, partitions, node });
  if (!r.ok) throw new Error("registry start failed");
  started.push(name);
  return name;
}

afterEach(async () => {
  for (const name of started.splice(0)) {
    if (node.whereis(name) !== undefined) await Registry.stop(name);
  }
});

function spawnIdle(n: number): Pid[] {
  const pids: Pid[] = [];
  for (let i = 0; i < n; i++) pids.push(node.spawnHandler(() => undefined, null).pid);
  return pids;
}

/** Keys of every kind, many of each, so that each kind's table splits. */
function keyOf(i: number): unknown {
  switch (i % 6) {
    case 0:
      return `k-${i}`;
    case 1:
      return i;
    case 2:
      return -i - 0.5;
    case 3:
      return ["room", i];
    case 4:
      return { id: i, tag: "x" };
    default:
      return `${i}`; // a string that looks like the number key of another i
  }
}

const M = 6 * 2500;

for (const partitions of [1, 3]) {
  describe(`many keys (${partitions} partition(s))`, () => {
    it("answers, refuses and removes exactly as with few keys", async () => {
      const name = await startRegistry("unique", partitions);
      const pids = spawnIdle(M);
      for (let i = 0; i < M; i++) {
        expect(Registry.register(name, keyOf(i), i, pids[i]).ok).toBe(true);
      }
      expect(Registry.count(name)).toBe(M);
      for (let i = 0; i < M; i += 7) {
        expect(Registry.lookup(name, keyOf(i))).toEqual([{ pid: pids[i], value: i }]);
        expect(Registry.whereis(name, structuredClone(keyOf(i)))).toBe(pids[i]);
        const again = Registry.register(name, keyOf(i), "again", pids[(i + 1) % M]);
        expect(again).toEqual({ ok: false, error: { alreadyRegistered: pids[i] } });
      }
      expect(Registry.lookup(name, "1")).toEqual([]);
      expect(Registry.lookup(name, 1)).toEqual([{ pid: pids[1], value: 1 }]);
      expect(Registry.lookup(name, "5")).toEqual([{ pid: pids[5], value: 5 }]);
      // Exits in an order that empties pages out of turn.
      for (let i = 0; i < M; i += 2) node.exit(pids[i]!, "kill");
      expect(Registry.count(name)).toBe(M / 2);
      for (let i = 0; i < M; i += 1) {
        expect(Registry.lookup(name, keyOf(i)).length).toBe(i % 2);
        expect(Registry.keys(name, pids[i]!)).toEqual(i % 2 === 1 ? [keyOf(i)] : []);
      }
      for (let i = 1; i < M; i += 2) Registry.unregister(name, keyOf(i), pids[i]);
      expect(Registry.count(name)).toBe(0);
      for (let i = 1; i < M; i += 2) node.exit(pids[i]!, "kill");
    });

    it("keeps duplicate entries in registration order across many keys and processes", async () => {
      const name = await startRegistry("duplicate", partitions);
      const pids = spawnIdle(600);
      for (let i = 0; i < 5000; i++) Registry.register(name, `d-${i % 2500}`, i, pids[i % 600]);
      expect(Registry.count(name)).toBe(5000);
      expect(Registry.lookup(name, "d-7").map((e) => e.value)).toEqual([7, 2507]);
      for (const pid of pids) node.exit(pid, "kill");
      expect(Registry.count(name)).toBe(0);
      expect(Registry.lookup(name, "d-7")).toEqual([]);
    });
  });
}

describe("entries remember their key", () => {
  it("removes a structured key mutated after registration, on exit and on unregister", async () => {
    const name = await startRegistry("unique");
    const [a, b] = spawnIdle(2);
    const ka = ["a"];
    const kb = { n: 1 };
    Registry.register(name, ka, 1, a);
    Registry.register(name, kb, 2, b);
    ka[0] = "changed";
    kb.n = 2;
    Registry.unregister(name, kb, b);
    expect(Registry.lookup(name, { n: 1 })).toEqual([]);
    node.exit(a!, "kill");
    expect(Registry.lookup(name, ["a"])).toEqual([]);
    expect(Registry.count(name)).toBe(0);
    node.exit(b!, "kill");
  });

  it("treats a pid of another node with the same number as a different process", async () => {
    const name = await startRegistry("unique");
    const [a] = spawnIdle(1);
    Registry.register(name, "k", 1, a);
    const twin = new Pid("elsewhere", a!.id, a!.creation);
    expect(Registry.keys(name, twin)).toEqual([]);
    expect(() => Registry.register(name, "k2", 1, twin)).toThrow(NoProcError);
    expect(Registry.keys(name, a!)).toEqual(["k"]);
    node.exit(a!, "kill");
    expect(Registry.count(name)).toBe(0);
  });

  it("cleans up a process that unregistered everything, then registered again, once", async () => {
    const name = await startRegistry("unique");
    const [a] = spawnIdle(1);
    Registry.register(name, "k", 1, a);
    Registry.unregister(name, "k", a);
    expect(Registry.keys(name, a!)).toEqual([]);
    Registry.register(name, "k", 2, a);
    Registry.register(name, "j", 3, a);
    expect(Registry.keys(name, a!)).toEqual(["k", "j"]);
    node.exit(a!, "kill");
    expect(Registry.count(name)).toBe(0);
    expect(Registry.keys(name, a!)).toEqual([]);
  });
});
