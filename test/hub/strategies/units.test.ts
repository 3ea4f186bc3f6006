/**
 * Unit tests of the strategy pieces: option parsing, quorum decisions, load-aware placement,
 * replicas and modes.
 */
import { describe, expect, it } from "vitest";
import { InvalidOptionError } from "../../../src/errors.js";
import { HashRing } from "../../../src/hub/hash-ring.js";
import { placeByLoad } from "../../../src/hub/strategies/load.js";
import { DEFAULT_STRATEGIES, parseStrategies } from "../../../src/hub/strategies/options.js";
import { QuorumTracker } from "../../../src/hub/strategies/quorum.js";
import { modeOf, replicasOf } from "../../../src/hub/strategies/redundancy.js";

describe("parseStrategies", () => {
  it("fills in defaults", () => {
    expect(parseStrategies()).toEqual(DEFAULT_STRATEGIES);
    expect(parseStrategies({ migration: { type: "hotSwap" } }).migration).toEqual({
      type: "hotSwap",
      retentionMs: 5000,
      handoverTimeoutMs: 3000,
    });
  });
  it("names the bad field", () => {
    expect(() => parseStrategies({ redundancy: { type: "replication", factor: 0 } })).toThrow(
      /redundancy.factor/,
    );
    expect(() => parseStrategies({ partition: { type: "dynamic", quorumPercent: 120 } })).toThrow(
      InvalidOptionError,
    );
    expect(() => parseStrategies({ partition: { type: "nope" } as never })).toThrow(/partition/);
    expect(() => parseStrategies({ synchronization: { type: "gossip", recipients: 0 } })).toThrow(
      /recipients/,
    );
  });
  it("refuses loadAware with replication rather than silently keeping one copy", () => {
    expect(() =>
      parseStrategies({
        redundancy: { type: "replication", factor: 2 },
        distribution: { type: "loadAware" },
      }),
    ).toThrow(expect.objectContaining({ code: "HV_ERR_INVALID_OPTION", field: "distribution" }));
    expect(parseStrategies({ distribution: { type: "loadAware" } }).distribution.type).toBe("loadAware");
  });
});

describe("QuorumTracker", () => {
  it("static: members >= quorumSize", () => {
    const q = new QuorumTracker({ type: "static", quorumSize: 3 });
    expect(q.update(3, [], [])).toBe(true);
    expect(q.update(2, ["c"], [])).toBe(false);
  });
  it("dynamic: nodes lost within the window count as down", () => {
    let now = 0;
    const q = new QuorumTracker({ type: "dynamic", quorumPercent: 60, windowMs: 1000 }, () => now);
    expect(q.update(4, [], [])).toBe(true);
    expect(q.update(3, ["d"], [])).toBe(true); // 75%
    expect(q.update(2, ["c"], [])).toBe(false); // 50%
    now = 2000; // both leaves are older than the window: an intended scale-down
    expect(q.check(2)).toBe(true);
  });
  it("majority: tracks the largest size seen; reset forgets it", () => {
    const q = new QuorumTracker({ type: "majority", initialClusterSize: 1 });
    expect(q.update(5, [], [])).toBe(true);
    expect(q.update(3, ["d", "e"], [])).toBe(true);
    expect(q.update(2, ["c"], [])).toBe(false);
    q.reset(2);
    expect(q.check(2)).toBe(true);
    expect(q.check(1)).toBe(false);
  });
});

describe("placeByLoad", () => {
  it("fills the least-loaded nodes first and spreads ties", () => {
    const loads = new Map([
      ["a", { children: 10, lagMs: 0, memory: 0 }],
      ["b", { children: 0, lagMs: 0, memory: 0 }],
      ["c", { children: 0, lagMs: 0, memory: 0 }],
    ]);
    const out = placeByLoad(loads, 20, { children: 1, lag: 0, memory: 0 });
    const n = (x: string) => out.filter((o) => o === x).length;
    expect(n("a")).toBe(0);
    expect(n("b")).toBe(10);
    expect(n("c")).toBe(10);
  });
  it("weighs lag and memory", () => {
    const loads = new Map([
      ["a", { children: 0, lagMs: 50, memory: 0.9 }],
      ["b", { children: 0, lagMs: 1, memory: 0.1 }],
    ]);
    expect(placeByLoad(loads, 1, { children: 0.5, lag: 0.3, memory: 0.2 })).toEqual(["b"]);
  });
});

describe("replicas and modes", () => {
  it("takes the first distinct ring members, owner first; the owner is the active one", () => {
    const ring = new HashRing(["a", "b", "c", "d"]);
    const r = { factor: 3 as const, mode: "activePassive" as const, signal: "all" as const };
    const reps = replicasOf(ring, "x", r);
    expect(reps).toHaveLength(3);
    expect(reps[0]).toBe(ring.owner("x"));
    expect(modeOf(r, reps, reps[0]!)).toBe("active");
    expect(modeOf(r, reps, reps[1]!)).toBe("passive");
    expect(replicasOf(ring, "x", { ...r, factor: "cluster" })).toHaveLength(4);
  });
});
