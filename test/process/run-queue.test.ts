import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RunQueue } from "../../src/process/run-queue.js";

describe("RunQueue", () => {
  it("is first in, first out across growth", () => {
    const q = new RunQueue<number>(4);
    for (let i = 0; i < 100; i++) q.push(i);
    expect(q.length).toBe(100);
    const out: number[] = [];
    for (let x = q.shift(); x !== undefined; x = q.shift()) out.push(x);
    expect(out).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(q.isEmpty).toBe(true);
    expect(q.shift()).toBeUndefined();
  });

  it("behaves as an array queue for any interleaving of push and shift", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.constant(-1)), { maxLength: 400 }),
        (ops) => {
          const q = new RunQueue<number>(2);
          const model: number[] = [];
          for (const op of ops) {
            if (op === -1) expect(q.shift()).toBe(model.shift());
            else {
              q.push(op);
              model.push(op);
            }
            expect(q.length).toBe(model.length);
            expect(q.isEmpty).toBe(model.length === 0);
          }
        },
      ),
    );
  });

  it("stays small while two processes keep re-queueing each other", () => {
    // The ping-pong pattern: one in, one out, forever. The old array-with-a-head grew by one slot
    // per message here.
    const q = new RunQueue<string>(8);
    q.push("a");
    for (let i = 0; i < 100_000; i++) {
      const x = q.shift()!;
      q.push(x === "a" ? "b" : "a");
    }
    expect(q.length).toBe(1);
    expect((q as unknown as { buf: unknown[] }).buf.length).toBe(8);
  });
});
