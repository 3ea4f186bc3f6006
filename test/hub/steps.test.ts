/**
 * Work in bounded steps (`src/hub/steps.ts`): `runAll` runs every step at once, `paced` and
 * `StepQueue` give the event loop a turn whenever the bound is reached — here a `due` the test
 * sets, so that what runs before and after each turn is deterministic.
 */
import { describe, expect, it } from "vitest";
import { paced, runAll, StepQueue, type Steps } from "../../src/hub/steps.js";

/** Steps that log `name:i` for i < n, then return `n`. */
function* counting(log: string[], name: string, n: number): Steps<number> {
  for (let i = 0; i < n; i++) {
    log.push(`${name}:${i}`);
    yield;
  }
  return n;
}

const turn = () => new Promise<void>((r) => setImmediate(r));

describe("runAll", () => {
  it("runs every step now and returns the steps' result", () => {
    const log: string[] = [];
    expect(runAll(counting(log, "a", 3))).toBe(3);
    expect(log).toEqual(["a:0", "a:1", "a:2"]);
  });
});

describe("paced", () => {
  it("finishes now within the bound (no promise), the result passed to done", () => {
    const log: string[] = [];
    let result = -1;
    expect(
      paced(
        counting(log, "a", 3),
        () => null,
        (r) => (result = r),
      ),
    ).toBeUndefined();
    expect(result).toBe(3);
  });

  it("past the bound goes on after each turn the pacer asks for, and settles after done", async () => {
    const log: string[] = [];
    let result = -1;
    // Queued before the pacer's turn: it runs between the first step and the second.
    setImmediate(() => log.push("turn"));
    const p = paced(counting(log, "a", 3), turn, (r) => (result = r));
    expect(log).toEqual(["a:0"]);
    await p;
    expect(log[1]).toBe("turn");
    expect(log.slice(2)).toEqual(["a:1", "a:2"]);
    expect(result).toBe(3);
  });
});

describe("StepQueue", () => {
  it("runs a job to its end at once while the bound is not reached", () => {
    const log: string[] = [];
    const q = new StepQueue(
      () => false,
      (e) => {
        throw e;
      },
    );
    q.run(counting(log, "a", 3));
    expect(log).toEqual(["a:0", "a:1", "a:2"]);
    expect(q.length).toBe(0);
  });

  it("past the bound lets the event loop turn between steps, and runs jobs in the order given", async () => {
    const log: string[] = [];
    let due = true;
    const q = new StepQueue(
      () => due,
      (e) => {
        throw e;
      },
    );
    // Queued before the queue's own turn: it runs between the first step and the second.
    setImmediate(() => log.push("turn"));
    q.run(counting(log, "a", 2));
    q.run(counting(log, "b", 2));
    expect(log).toEqual(["a:0"]);
    expect(q.length).toBe(2);
    await expect.poll(() => q.length).toBe(0);
    // Each step after the first ran in a later macrotask; b never ran before a ended.
    expect(log[1]).toBe("turn");
    expect(log.filter((l) => l !== "turn")).toEqual(["a:0", "a:1", "b:0", "b:1"]);
    due = false;
    q.run(counting(log, "c", 2));
    expect(log.slice(-2)).toEqual(["c:0", "c:1"]);
  });

  it("a job that throws is reported and does not stall the jobs behind it", async () => {
    const errors: unknown[] = [];
    const log: string[] = [];
    const q = new StepQueue(
      () => true,
      (e) => errors.push(e),
    );
    q.run(
      (function* (): Steps {
        yield;
        throw new Error("bug");
      })(),
    );
    q.run(counting(log, "b", 1));
    await expect.poll(() => q.length).toBe(0);
    expect(errors).toHaveLength(1);
    expect(log).toEqual(["b:0"]);
  });
});
