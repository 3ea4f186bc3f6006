/**
 * `sizeBound` is what the hub splits its messages by, so it must never be below what the codec
 * really writes (or a message built to fit would be refused), and must not be far above it for
 * large strings (or messages would be split needlessly small).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Codec, encodedSize, sizeBound, strBound } from "../../src/cluster/codec.js";
import { Pid, Ref } from "../../src/process/pid.js";

const codec = new Codec(64 * 1024 * 1024);
const actual = (v: unknown) => codec.encode(v).length;

/** Data as child arguments and metadata hold it (what `normalizeChildSpec` lets through). */
const data = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(undefined),
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double(),
    fc.maxSafeInteger(),
    fc.string(),
    fc.string({ unit: "binary", maxLength: 200 }),
    fc.string({ unit: "grapheme", minLength: 60, maxLength: 300 }),
    fc.date({ noInvalidDate: true }),
    fc.uint8Array({ maxLength: 64 }),
    fc.constant(new Pid("some-node", 123456, 7)),
    fc.constant(new Ref("n", 1, 2)),
    fc.array(tie("value"), { maxLength: 8 }),
    fc.dictionary(fc.string(), tie("value"), { maxKeys: 8 }),
  ),
})).value;

describe("sizeBound", () => {
  it("is never below the encoded size of child data", () => {
    fc.assert(
      fc.property(data, (v) => {
        expect(sizeBound(v)).toBeGreaterThanOrEqual(actual(v));
      }),
      { numRuns: 3000 },
    );
  });

  it("bounds strings of any script, short and long", () => {
    for (const s of [
      "",
      "a",
      "é",
      "😀",
      "x".repeat(63),
      "x".repeat(64),
      "€".repeat(70_000),
      "😀".repeat(40_000),
    ])
      expect(strBound(s)).toBeGreaterThanOrEqual(actual(s));
  });

  it("counts a long ASCII string at its length (plus a header), not three times it", () => {
    const s = "x".repeat(2048);
    expect(sizeBound(s)).toBeLessThanOrEqual(actual(s) + 5);
    expect(sizeBound({ a: [s, s] })).toBeLessThanOrEqual(actual({ a: [s, s] }) + 32);
  });

  it("measures values of other classes by encoding them, and gives 0 for what cannot be encoded", () => {
    const m = new Map([["k", "v".repeat(100)]]);
    expect(sizeBound(m)).toBe(actual(m));
    expect(encodedSize(() => 1)).toBe(0);
  });
});
