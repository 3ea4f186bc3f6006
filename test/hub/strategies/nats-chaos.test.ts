/**
 * The short chaos run over a real NATS (`npm run chaos -- --nats`, seed fixed): three hub nodes
 * as OS processes on a private `nats-server`, a few hundred children, a few seconds of SIGKILL +
 * restart, SIGSTOP/SIGCONT and graceful restarts with starts and stops going on; then every child
 * must run exactly its replication factor times on its replicas, none lost, none stopped for good
 * come back, every registry identical; with a quorum strategy, the two nodes left while one is
 * faulted keep quorum, and a node without quorum runs no child. Fenced, with a node cut off from
 * NATS (its relays severed: it loses its lease while it runs on) and then from its peers only:
 * no child on two nodes in any sample, and every child once after the heals.
 */
import { describe, expect, it } from "vitest";
import { type NatsChaosOptions, runChaosNats } from "../../../scripts/chaos-nats.js";

const short: NatsChaosOptions = {
  nodes: 3,
  children: 300,
  durationMs: 4000,
  seed: 5,
  partition: { type: "divergence" },
  replication: 1,
  migration: "coldSwap",
  faultGapMs: 300,
  faultMs: 400,
  settleTimeoutMs: 20_000,
  stopsWhen: "settled",
  log: () => {},
};

describe("chaos over NATS (short)", () => {
  it("divergence, singularity: converges with no duplicate and nothing lost", async () => {
    const r = await runChaosNats({ ...short, settleTimeoutMs: 30_000 });
    expect(r.violations).toEqual([]);
    expect((r.faults.kill ?? 0) + r.faults.pause + (r.faults.restart ?? 0)).toBeGreaterThan(0);
    expect(r.convergeMs).toBeGreaterThanOrEqual(0);
    expect(r.operations.starts).toBeGreaterThan(0);
  }, 120_000);

  it("divergence, replication 2: every child on exactly its two replicas", async () => {
    const r = await runChaosNats({ ...short, replication: 2, durationMs: 5000, seed: 7 });
    expect(r.violations).toEqual([]);
    expect((r.faults.kill ?? 0) + r.faults.pause + (r.faults.restart ?? 0)).toBeGreaterThan(0);
    expect(r.convergeMs).toBeGreaterThanOrEqual(0);
    expect(r.children).toBeGreaterThan(0);
  }, 60_000);

  it("static quorum 2 of 3: the two left keep quorum, converges with nothing lost", async () => {
    const r = await runChaosNats({ ...short, partition: { type: "static", quorumSize: 2 }, seed: 27 });
    expect(r.violations).toEqual([]);
    expect((r.faults.kill ?? 0) + r.faults.pause + (r.faults.restart ?? 0)).toBeGreaterThan(0);
    expect(r.convergeMs).toBeGreaterThanOrEqual(0);
    expect(r.children).toBeGreaterThan(0);
  }, 60_000);
  it("static quorum: a node paused past the heartbeat timeout loses quorum on resuming; nothing is lost", async () => {
    // Seed 27 with one short round gives a single SIGSTOP of 7 s: the others adopt its children
    // and move them back when it returns, while it, seeing them down first, has no quorum.
    const r = await runChaosNats({
      ...short,
      partition: { type: "static", quorumSize: 2 },
      children: 1000,
      durationMs: 1000,
      faultMs: 7000,
      seed: 27,
    });
    expect(r.violations).toEqual([]);
    expect(r.faults.pause).toBe(1);
    expect(r.children).toBeGreaterThan(0);
  }, 90_000);

  it("fenced: a node cut off from NATS, then one cut off from its peers; never two copies, all back once", async () => {
    const r = await runChaosNats({
      ...short,
      children: 200,
      // Room for both: each takes the gap, the fault and 600 ms of rejoining.
      durationMs: 7000,
      faultMs: 5000,
      faultGapMs: 500,
      fencing: true,
      leaseMs: 2500,
      settleTimeoutMs: 60_000,
      faults: ["partition", "split"],
    });
    expect(r.violations).toEqual([]);
    expect(r.faults.partition).toBeGreaterThanOrEqual(1);
    expect(r.faults.split).toBeGreaterThanOrEqual(1);
    // Cut off from JetStream past its lease, the node lost it for real.
    expect(r.fencing?.leaseLost).toBeGreaterThanOrEqual(1);
    expect(r.duplicatesDuringMax).toBe(0);
    expect(r.convergeMs).toBeGreaterThanOrEqual(0);
  }, 150_000);
});
