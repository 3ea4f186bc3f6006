import { afterEach, describe, expect, it, vi } from "vitest";
import { TimerWheel } from "../../src/process/timer-wheel.js";

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("TimerWheel.add", () => {
  it("fires once, never before its delay", async () => {
    const wheel = new TimerWheel();
    const start = performance.now();
    const fired: number[] = [];
    wheel.add(15, () => fired.push(performance.now() - start));
    expect(wheel.size).toBe(1);
    await expect.poll(() => fired.length).toBe(1);
    expect(fired[0]).toBeGreaterThanOrEqual(15);
    expect(wheel.size).toBe(0);
  });

  it("fires entries in deadline order, many per slot", async () => {
    const wheel = new TimerWheel(4);
    const order: number[] = [];
    for (const d of [30, 10, 20, 10, 0]) wheel.add(d, () => order.push(d));
    expect(wheel.size).toBe(5);
    await expect.poll(() => order.length).toBe(5);
    expect(order).toEqual([0, 10, 10, 20, 30]);
    expect(wheel.size).toBe(0);
  });

  it("fires in deadline order even when one late tick finds several slots due", () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    let now = 1000;
    vi.spyOn(performance, "now").mockImplementation(() => now);
    const wheel = new TimerWheel(4);
    const order: number[] = [];
    for (const d of [40, 20, 30, 10]) wheel.add(d, () => order.push(d));
    now += 500; // the event loop was blocked: every deadline is past when the timer runs
    vi.runOnlyPendingTimers();
    expect(order).toEqual([10, 20, 30, 40]);
    expect(wheel.size).toBe(0);
  });

  it("accepts entries added from inside a firing entry", async () => {
    const wheel = new TimerWheel();
    const log: string[] = [];
    wheel.add(1, () => {
      log.push("first");
      wheel.add(1, () => log.push("second"));
    });
    await expect.poll(() => log).toEqual(["first", "second"]);
  });

  it("re-arms for an earlier deadline added after a later one", async () => {
    const wheel = new TimerWheel();
    const log: string[] = [];
    wheel.add(60_000, () => log.push("late"));
    wheel.add(1, () => log.push("early"));
    await expect.poll(() => log).toEqual(["early"]);
    expect(wheel.size).toBe(1);
  });
});

describe("TimerWheel.cancel", () => {
  it("prevents the entry from firing and frees it", async () => {
    const wheel = new TimerWheel();
    const log: string[] = [];
    const dropped = wheel.add(5, () => log.push("dropped"));
    wheel.add(10, () => log.push("kept"));
    wheel.cancel(dropped);
    expect(wheel.size).toBe(1);
    await expect.poll(() => log).toEqual(["kept"]);
    expect(wheel.size).toBe(0);
  });

  it("stops an entry due in the same tick as the entry that cancels it", async () => {
    const wheel = new TimerWheel(50);
    const log: string[] = [];
    let second: ReturnType<TimerWheel["add"]> | undefined;
    wheel.add(1, () => {
      log.push("first");
      if (second !== undefined) wheel.cancel(second);
    });
    second = wheel.add(1, () => log.push("second"));
    wheel.add(60, () => log.push("third"));
    await expect.poll(() => log).toEqual(["first", "third"]);
  });

  it("is a no-op for an entry that already fired or was cancelled", async () => {
    const wheel = new TimerWheel();
    let fired = 0;
    const entry = wheel.add(1, () => fired++);
    await expect.poll(() => fired).toBe(1);
    wheel.cancel(entry);
    wheel.cancel(entry);
    expect(wheel.size).toBe(0);
    expect(fired).toBe(1);
  });
});
