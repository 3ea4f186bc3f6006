/**
 * The hub's pure decisions, tested directly (no process, no peers): what a receiving node does
 * with one child of a start (`classifyStart`), the epoch rule (`wins`), and who joined and left
 * in a topology change (`diffTopology`).
 */
import { describe, expect, it } from "vitest";
import { wins } from "../../../src/hub/core/merge.js";
import { classifyStart, type StartFacts } from "../../../src/hub/core/placement.js";
import { diffTopology } from "../../../src/hub/core/topology.js";
import { Pid } from "../../../src/process/pid.js";

const pid = new Pid("a", 7, 1);
const facts = (over: Partial<StartFacts> = {}): StartFacts => ({
  refuse: null,
  ensure: false,
  owners: ["a"],
  self: "a",
  ownerIsMember: false,
  mayForward: true,
  running: undefined,
  merging: false,
  handingOver: false,
  stoppedSince: false,
  ...over,
});

describe("classifyStart", () => {
  it("starts a child it owns that does not run here", () => {
    expect(classifyStart(facts())).toEqual({ kind: "start" });
  });

  it("refuses everything while the node refuses the message", () => {
    for (const reason of ["partitioned", "hub_stopped", "topology_pending"] as const)
      expect(classifyStart(facts({ refuse: reason, running: pid, ensure: true }))).toEqual({
        kind: "refuse",
        reason,
      });
  });

  it("forwards to a member owner while hops remain, and starts here otherwise", () => {
    const f = { owners: ["b"], ownerIsMember: true };
    expect(classifyStart(facts(f))).toEqual({ kind: "forward", to: "b" });
    expect(classifyStart(facts({ ...f, mayForward: false }))).toEqual({ kind: "start" });
    expect(classifyStart(facts({ ...f, ownerIsMember: false }))).toEqual({ kind: "start" });
  });

  it("starts a replicated child where asked (rebalance moves a misplaced copy)", () => {
    expect(classifyStart(facts({ owners: ["b", "c"], ownerIsMember: true }))).toEqual({ kind: "start" });
  });

  it("answers already_started with the pid to a plain start of a running child", () => {
    expect(classifyStart(facts({ running: pid }))).toEqual({
      kind: "refuse",
      reason: "already_started",
      detail: String(pid),
      value: pid,
    });
  });

  it("absorbs an ensure of a running child unless that copy is handing over or merging", () => {
    expect(classifyStart(facts({ running: pid, ensure: true }))).toEqual({ kind: "absorb" });
    expect(classifyStart(facts({ running: pid, ensure: true, merging: true }))).toMatchObject({
      kind: "refuse",
      reason: "start_failed",
    });
    expect(classifyStart(facts({ running: pid, ensure: true, handingOver: true }))).toMatchObject({
      kind: "refuse",
      reason: "start_failed",
    });
  });

  it("refuses an ensure of a placement stopped here since, but not a plain start", () => {
    expect(classifyStart(facts({ ensure: true, stoppedSince: true }))).toEqual({
      kind: "refuse",
      reason: "not_found",
      detail: "stopped since",
    });
    expect(classifyStart(facts({ stoppedSince: true }))).toEqual({ kind: "start" });
  });
});

describe("wins (the epoch rule)", () => {
  it("under singularity: the higher epoch, then the smaller node name; both sides agree", () => {
    expect(wins({ node: "b", epoch: 1 }, { node: "c", epoch: 2 }, ["b"])).toBe(true);
    expect(wins({ node: "c", epoch: 2 }, { node: "b", epoch: 1 }, ["b"])).toBe(false);
    expect(wins({ node: "b", epoch: 3 }, { node: "a", epoch: 3 }, ["b"])).toBe(true);
    expect(wins({ node: "a", epoch: 3 }, { node: "b", epoch: 3 }, ["b"])).toBe(false);
  });

  it("under replication: a replica at least as new beats a copy outside the replicas", () => {
    const replicas = ["b", "c"];
    expect(wins({ node: "a", epoch: 2 }, { node: "b", epoch: 2 }, replicas)).toBe(true);
    expect(wins({ node: "a", epoch: 3 }, { node: "b", epoch: 2 }, replicas)).toBe(false);
    expect(wins({ node: "a", epoch: 1 }, { node: "d", epoch: 9 }, replicas)).toBe(false);
  });
});

describe("diffTopology", () => {
  const members = new Map([
    ["b", 1],
    ["c", 2],
  ]);
  const noSlice = () => false;

  it("a new node joins; a member joining under its own incarnation is no change", () => {
    expect(diffTopology(members, new Map([["d", 5]]), new Set(), noSlice)).toEqual({
      joined: ["d"],
      left: [],
    });
    expect(diffTopology(members, new Map([["b", 1]]), new Set(), noSlice)).toEqual({ joined: [], left: [] });
  });

  it("a member under a new incarnation leaves and joins (a restart)", () => {
    expect(diffTopology(members, new Map([["b", 9]]), new Set(), noSlice)).toEqual({
      joined: ["b"],
      left: ["b"],
    });
  });

  it("a leave counts for a member or a node whose slice arrived, not for a stranger", () => {
    expect(diffTopology(members, new Map(), new Set(["c", "x", "y"]), (n) => n === "y")).toEqual({
      joined: [],
      left: ["c", "y"],
    });
  });
});
