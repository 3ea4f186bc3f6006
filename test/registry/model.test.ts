import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { silentLogger } from "../../src/logger.js";
import { Node, type Pid, setDefaultNode } from "../../src/process/index.js";
import { Registry } from "../../src/registry/index.js";

const node = new Node({ name: "model", logger: silentLogger });
setDefaultNode(node);

type Op =
  | { op: "register"; proc: number; key: number; value: number }
  | { op: "unregister"; proc: number; key: number }
  | { op: "kill"; proc: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant("register" as const),
    proc: fc.nat(4),
    key: fc.nat(3),
    value: fc.nat(100),
  }),
  fc.record({ op: fc.constant("unregister" as const), proc: fc.nat(4), key: fc.nat(3) }),
  fc.record({ op: fc.constant("kill" as const), proc: fc.nat(4) }),
);

function idle(): Pid {
  return node.spawnHandler(() => undefined, null).pid;
}

let serial = 0;

/** Runs `ops` on a real registry and on a list model; every observation must agree. */
async function check(keys: "unique" | "duplicate", partitions: number, ops: Op[]): Promise<void> {
  const name = `model-${++serial}`;
  const r = await Registry.start({ keys, name, partitions });
  if (!r.ok) throw new Error("registry did not start");
  const procs = Array.from({ length: 5 }, idle);
  let model: Array<{ proc: number; pid: Pid; key: number; value: number }> = [];
  for (const o of ops) {
    if (o.op === "register") {
      const got = Registry.register(name, o.key, o.value, procs[o.proc]!);
      const holder = model.find((e) => e.key === o.key);
      if (keys === "unique" && holder !== undefined) {
        expect(got).toEqual({ ok: false, error: { alreadyRegistered: holder.pid } });
      } else {
        expect(got.ok).toBe(true);
        model.push({ proc: o.proc, pid: procs[o.proc]!, key: o.key, value: o.value });
      }
    } else if (o.op === "unregister") {
      Registry.unregister(name, o.key, procs[o.proc]!);
      model = model.filter((e) => !(e.proc === o.proc && e.key === o.key));
    } else {
      node.exit(procs[o.proc]!, "kill");
      model = model.filter((e) => e.proc !== o.proc);
      procs[o.proc] = idle();
    }
    expect(Registry.count(name)).toBe(model.length);
    for (let k = 0; k < 4; k++) {
      expect(Registry.lookup(name, k)).toEqual(
        model.filter((e) => e.key === k).map((e) => ({ pid: e.pid, value: e.value })),
      );
    }
    for (let p = 0; p < 5; p++) {
      expect(Registry.keys(name, procs[p]!)).toEqual(model.filter((e) => e.proc === p).map((e) => e.key));
    }
  }
  for (const pid of procs) node.exit(pid, "kill");
  expect(Registry.count(name)).toBe(0);
  await Registry.stop(name);
}

describe("Registry (model-based)", () => {
  for (const keys of ["unique", "duplicate"] as const) {
    for (const partitions of [1, 8]) {
      it(`agrees with a list model for ${keys} keys and ${partitions} partition(s)`, async () => {
        await fc.assert(
          fc.asyncProperty(fc.array(opArb, { maxLength: 40 }), (ops) => check(keys, partitions, ops)),
          { numRuns: 100 },
        );
      });
    }
  }
});
