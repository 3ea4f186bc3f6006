import { describe, expect, it } from "vitest";
import { DEFAULT_RESTART_INTENSITY, RestartIntensity } from "../../src/supervision/restart-intensity.js";

function withClock(options: { maxRestarts?: number; maxSeconds?: number; dropAtBoundary?: boolean } = {}) {
  const t = { now: 0 };
  return { t, ri: new RestartIntensity({ ...options, clock: () => t.now }) };
}

describe("RestartIntensity", () => {
  it("defaults to 3 restarts in 5 seconds", () => {
    expect(DEFAULT_RESTART_INTENSITY).toEqual({ maxRestarts: 3, maxSeconds: 5 });
    const { ri } = withClock();
    expect([ri.record(), ri.record(), ri.record()]).toEqual([true, true, true]);
    expect(ri.record()).toBe(false);
  });

  it("gives up on the first restart with maxRestarts 0", () => {
    const { ri } = withClock({ maxRestarts: 0 });
    expect(ri.record()).toBe(false);
  });

  it("forgets restarts older than the window", () => {
    const { t, ri } = withClock({ maxRestarts: 2, maxSeconds: 1 });
    expect(ri.record()).toBe(true);
    t.now = 500;
    expect(ri.record()).toBe(true);
    t.now = 1200;
    expect(ri.count).toBe(1);
    expect(ri.record()).toBe(true);
    t.now = 1300;
    expect(ri.record()).toBe(false);
  });

  it("keeps an entry exactly maxSeconds old (OTP), or drops it with dropAtBoundary (Parent)", () => {
    const otp = withClock({ maxRestarts: 1, maxSeconds: 1 });
    otp.ri.record();
    otp.t.now = 1000;
    expect(otp.ri.record()).toBe(false);
    const parent = withClock({ maxRestarts: 1, maxSeconds: 1, dropAtBoundary: true });
    parent.ri.record();
    parent.t.now = 1000;
    expect(parent.ri.record()).toBe(true);
  });

  it("never accumulates spaced-out restarts", () => {
    const { t, ri } = withClock({ maxRestarts: 1, maxSeconds: 5 });
    for (let i = 0; i < 1000; i++) {
      t.now += 5001;
      expect(ri.record()).toBe(true);
    }
  });

  it("holds at most maxRestarts + 1 timestamps whatever the history", () => {
    const { t, ri } = withClock({ maxRestarts: 3, maxSeconds: 1 });
    for (let i = 0; i < 10_000; i++) {
      t.now += 400;
      ri.record();
    }
    const ring = (ri as unknown as { ring: number[] }).ring;
    expect(ring.length).toBeLessThanOrEqual(4);
    expect(ri.count).toBeLessThanOrEqual(4);
  });

  it("keeps counting correctly after the buffer wraps", () => {
    const { t, ri } = withClock({ maxRestarts: 2, maxSeconds: 1 });
    const results: boolean[] = [];
    for (let i = 0; i < 12; i++) {
      t.now += 400;
      results.push(ri.record());
    }
    // At 400 ms spacing, a 1 s window holds 3 entries (t, t-400, t-800) > 2 from the 3rd on.
    expect(results.slice(0, 2)).toEqual([true, true]);
    expect(results.slice(2).every((r) => r === false)).toBe(true);
  });

  it("never gives up with Infinity", () => {
    const { ri } = withClock({ maxRestarts: Number.POSITIVE_INFINITY });
    for (let i = 0; i < 100; i++) expect(ri.record()).toBe(true);
  });

  it("forgets everything on reset", () => {
    const { ri } = withClock({ maxRestarts: 1 });
    ri.record();
    ri.reset();
    expect(ri.record()).toBe(true);
  });
});
