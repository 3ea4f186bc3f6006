import { afterEach, describe, expect, it, vi } from "vitest";
import { RestartIntensity as ParentRestartIntensity } from "../../src/supervision/parent/restart-intensity.js";
import {
  DEFAULT_RESTART_INTENSITY,
  RestartIntensity,
  WALL_CLOCK,
} from "../../src/supervision/restart-intensity.js";

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

/** The rules of each user of the one window, as they build it. */
describe("RestartIntensity: one window, each user's rules", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("records at a given time (one event counted in several windows with one stamp)", () => {
    const parentWide = new RestartIntensity({ maxRestarts: 2, maxSeconds: 1, clock: () => 1e9 });
    const perChild = new RestartIntensity({ maxRestarts: 1, maxSeconds: 1, clock: () => 1e9 });
    const now = 5000;
    expect([parentWide.record(now), perChild.record(now)]).toEqual([true, true]);
    expect([parentWide.record(now + 10), perChild.record(now + 10)]).toEqual([true, false]);
    // The explicit times were used, not the clock: at the clock's time both windows are empty.
    expect(parentWide.size).toBe(2);
    expect(parentWide.count).toBe(0);
  });

  it("size is the count as of the last record; count reads the clock", () => {
    const t = { now: 0 };
    const ri = new RestartIntensity({ maxRestarts: 5, maxSeconds: 1, clock: () => t.now });
    ri.record();
    ri.record();
    t.now = 2000;
    expect(ri.size).toBe(2);
    expect(ri.count).toBe(0);
    expect(ri.size).toBe(0);
  });

  it("Supervisor / DynamicSupervisor (OTP): an entry exactly maxSeconds old still counts", () => {
    const t = { now: 100 };
    const ri = new RestartIntensity({ maxRestarts: 2, maxSeconds: 0.5, clock: () => t.now });
    expect(ri.record()).toBe(true);
    t.now = 350;
    expect(ri.record()).toBe(true);
    t.now = 600; // the first is exactly 500 ms old
    expect(ri.record()).toBe(false);
  });

  it("Parent (ParentRestartIntensity): wall clock, an entry exactly maxSeconds old has left", () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(1_000_000);
    const ri = new ParentRestartIntensity(1, 2);
    expect(ri).toBeInstanceOf(RestartIntensity);
    expect([ri.maxRestarts, ri.maxSeconds]).toEqual([1, 2]);
    expect(ri.record()).toBe(true);
    vi.setSystemTime(1_001_999);
    expect(ri.record()).toBe(false);
    const again = new ParentRestartIntensity(1, 2);
    vi.setSystemTime(2_000_000);
    expect(again.record()).toBe(true);
    vi.setSystemTime(2_002_000); // exactly 2 s later
    expect(again.record()).toBe(true);
    expect(again.size).toBe(1);
  });

  it("the hub's local children: the options Parent's window is built from, per child", () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(50_000);
    const child = new RestartIntensity({
      maxRestarts: 3,
      maxSeconds: 1,
      clock: WALL_CLOCK,
      dropAtBoundary: true,
    });
    const parent = new ParentRestartIntensity(3, 1);
    const outcomes: Array<[boolean, boolean]> = [];
    for (const dt of [0, 100, 200, 1100, 1150, 1199, 1200, 5000]) {
      vi.setSystemTime(50_000 + dt);
      outcomes.push([child.record(), parent.record()]);
    }
    for (const [a, b] of outcomes) expect(a).toBe(b);
    // At 1199 the window (199, 1199] holds 200, 1100, 1150, 1199: four, over the limit of three;
    // at 1200 (200 has just left) it holds 1100, 1150, 1199, 1200: still four.
    expect(outcomes.map(([a]) => a)).toEqual([true, true, true, true, true, false, false, true]);
  });

  it("WALL_CLOCK reads Date at each call (a fake Date installed later is seen)", () => {
    const ri = new RestartIntensity({
      maxRestarts: 1,
      maxSeconds: 1,
      clock: WALL_CLOCK,
      dropAtBoundary: true,
    });
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(10_000);
    expect(WALL_CLOCK()).toBe(10_000);
    expect(ri.record()).toBe(true);
    vi.setSystemTime(10_999);
    expect(ri.record()).toBe(false);
  });

  it("an infinite limit keeps nothing, under every rule", () => {
    const otp = new RestartIntensity({ maxRestarts: Number.POSITIVE_INFINITY, clock: () => 0 });
    const parent = new ParentRestartIntensity(Number.POSITIVE_INFINITY, 1);
    for (let i = 0; i < 1000; i++) expect([otp.record(i), parent.record(i)]).toEqual([true, true]);
    expect([otp.size, parent.size]).toEqual([0, 0]);
  });

  it("agrees with a plain list of timestamps over random histories (both boundary rules)", () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (const dropAtBoundary of [false, true]) {
      for (let run = 0; run < 50; run++) {
        const max = Math.floor(rand() * 5);
        const secs = 0.05 + Math.floor(rand() * 4) * 0.05;
        const ri = new RestartIntensity({
          maxRestarts: max,
          maxSeconds: secs,
          clock: () => 0,
          dropAtBoundary,
        });
        let stamps: number[] = [];
        let t = 0;
        for (let i = 0; i < 200; i++) {
          t += Math.floor(rand() * 120);
          const limit = t - secs * 1000;
          stamps = stamps.filter((s) => (dropAtBoundary ? s > limit : s >= limit));
          stamps.push(t);
          const expected = stamps.length <= max;
          expect(ri.record(t)).toBe(expected);
          // A caller gives up at false: start a fresh window, as a restarted supervisor would.
          if (!expected) {
            ri.reset();
            stamps = [];
          }
        }
      }
    }
  });
});
