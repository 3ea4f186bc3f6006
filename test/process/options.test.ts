import { describe, expect, it } from "vitest";
import { InvalidOptionError } from "../../src/errors.js";
import { Node } from "../../src/process/index.js";

describe("new Node (options)", () => {
  it("uses the defaults: name nonode, a random creation", () => {
    const a = new Node();
    const b = new Node();
    expect(a.name).toBe("nonode");
    expect(Number.isInteger(a.creation) && a.creation > 0).toBe(true);
    expect(a.creation === b.creation && a.systemPid.equals(b.systemPid)).toBe(a.creation === b.creation);
  });

  for (const [field, value] of [
    ["batch", 0],
    ["batch", -5],
    ["batch", Number.NaN],
    ["batch", 1.5],
    ["yieldEvery", 0],
    ["yieldEvery", "100"],
    ["name", ""],
    ["name", 42],
    ["creation", -1],
    ["creation", 1.25],
  ] as const) {
    it(`rejects ${field} = ${String(value)} with an InvalidOptionError naming the field`, () => {
      const err = (() => {
        try {
          new Node({ [field]: value } as never);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(InvalidOptionError);
      expect((err as InvalidOptionError).field).toBe(field);
      expect((err as InvalidOptionError).code).toBe("HV_ERR_INVALID_OPTION");
    });
  }

  it("still handles every message with the smallest batch and yield settings", async () => {
    const node = new Node({ name: "tiny", batch: 1, yieldEvery: 1 });
    let handled = 0;
    const { pid } = node.spawnHandler(() => {
      handled++;
    }, null);
    for (let i = 0; i < 1000; i++) node.send(pid, i);
    await expect.poll(() => handled).toBe(1000);
  });
});
