/**
 * A hub node frozen past the failure-detection timeout, over the memory transport's pause model
 * (the node itself freezes: no process runs, no timer fires, while the others' failure detectors
 * keep running). The others adopt its children; when it thaws it must not take back what they
 * moved to it while its own "everyone left" change is pending, and no child may be lost. The
 * NATS version is `test/hub/nats-pause.test.ts`.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { HubOptions } from "../../../src/hub/process-hub.js";
import { StrategyHarness, specs } from "./harness.js";

let h: StrategyHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const cases: Array<[string, Partial<HubOptions>]> = [
  [
    "static quorum, hot swap",
    { partition: { type: "static", quorumSize: 3 }, migration: { type: "hotSwap" } },
  ],
  [
    "majority, cold swap",
    { partition: { type: "majority", initialClusterSize: 5 }, migration: { type: "coldSwap" } },
  ],
  [
    "majority, hot swap",
    { partition: { type: "majority", initialClusterSize: 5 }, migration: { type: "hotSwap" } },
  ],
];

describe("a hub node paused past the failure-detection timeout (memory)", () => {
  for (const [label, options] of cases) {
    it(`${label}: the others adopt its children, it rejoins, and nothing is lost`, async () => {
      // No debounce: the thawed node handles "every peer gone" before it sees them back, as a
      // NATS node does when its peers answer only at their next heartbeat.
      h = new StrategyHarness({ ...options, clusterEventDebounceMs: 0 });
      const names = ["a", "b", "c", "d", "e"];
      for (const n of names) await h.add(n);
      await h.formed();
      const ids = specs(500).map((s) => s.id);
      await h.hubs.get("a")!.startChildren(specs(500), { awaitable: true }).await(10_000);
      await h.converged(ids);
      const e = h.hubs.get("e")!;
      expect(e.localChildren().size).toBeGreaterThan(0);

      h.network.pause("e");
      await h.formed([["a", "b", "c", "d"]]);
      await h.converged(ids, ["a", "b", "c", "d"]);
      expect(h.hubs.get("a")!.isPartitioned()).toBe(false);
      h.network.resume("e");

      await h.formed();
      await expect.poll(() => names.filter((n) => h!.hubs.get(n)!.isPartitioned())).toEqual([]);
      await h.converged(ids);
      expect(e.localChildren().size).toBeGreaterThan(0);
    });
  }
});
