/**
 * Three hub nodes `a`, `b`, `c` over the memory transport, each running the `counter` behaviour
 * of the scenarios, for the tests of the handle's calls (`requests*.test.ts`): started, and
 * resolved once every node sees the other two. `stopCounterHubs` (each file's `afterEach`) stops
 * every hub started so and closes its cluster.
 */
import { expect } from "vitest";
import { ProcessHub } from "../../../src/hub/process-hub.js";
import { type Logger, silentLogger } from "../../../src/logger.js";
import { MemoryHubCluster } from "../memory-cluster.js";
import { counter } from "../scenarios.js";

export async function counterHubs(
  hubId: string,
  logger: Logger = silentLogger,
): Promise<{ cluster: MemoryHubCluster; hubs: ProcessHub[] }> {
  const cluster = new MemoryHubCluster();
  const hubs: ProcessHub[] = [];
  for (const name of ["a", "b", "c"]) {
    const { node, membership } = await cluster.addNode(name);
    hubs.push(
      ProcessHub.start({
        hubId,
        node,
        membership,
        behaviours: { counter },
        logger,
        clusterEventDebounceMs: 5,
      }),
    );
  }
  live.push({ cluster, hubs });
  await expect.poll(() => hubs.every((h) => h.nodes().length === 2), { timeout: 10_000 }).toBe(true);
  return { cluster, hubs };
}

const live: Array<{ cluster: MemoryHubCluster; hubs: ProcessHub[] }> = [];

export async function stopCounterHubs(): Promise<void> {
  for (const { cluster, hubs } of live.splice(0)) {
    for (const h of hubs) await h.stop();
    await cluster.close();
  }
}

/** Specs of `n` counters `k0` … `k<n-1>`. */
export const counterSpecs = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ id: `k${i}`, behaviour: "counter" }));
