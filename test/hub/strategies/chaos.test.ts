/**
 * The short chaos run (`scripts/chaos.ts`, seed fixed): three hub nodes over the memory
 * transport, a thousand children, a few seconds of kills, pauses and partitions with starts and
 * stops going on; then every child must run exactly its replication factor times on its
 * replicas, none lost, every registry identical, no duplicate left; with a quorum strategy, no
 * child may run in a minority partition once it could know it is one.
 */
import { describe, expect, it } from "vitest";
import { runChaos } from "../../../scripts/chaos.js";

const quiet = () => {};

describe("chaos (short)", () => {
  it("divergence, singularity: converges with no duplicate and nothing lost", async () => {
    const r = await runChaos({
      nodes: 3,
      children: 1000,
      durationMs: 2500,
      seed: 11,
      faultMs: 400,
      faultGapMs: 200,
      settleTimeoutMs: 15_000,
      log: quiet,
    });
    expect(r.violations).toEqual([]);
    expect(r.faults.kill + r.faults.pause + r.faults.partition).toBeGreaterThan(0);
    expect(r.duplicatesAfter).toBe(0);
    expect(r.convergeMs).toBeGreaterThanOrEqual(0);
  }, 60_000);

  it("majority quorum with replication 2: no child in a minority, exactly two copies after", async () => {
    const r = await runChaos({
      nodes: 3,
      children: 600,
      durationMs: 2500,
      seed: 12,
      partition: { type: "majority" },
      replication: 2,
      faultMs: 500,
      faultGapMs: 200,
      settleTimeoutMs: 15_000,
      log: quiet,
    });
    expect(r.violations).toEqual([]);
    expect(r.duplicatesAfter).toBe(0);
  }, 60_000);
});
