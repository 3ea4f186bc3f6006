/**
 * Three hub nodes `a`, `b`, `c` over the memory transport, each running the `counter` behaviour
 * of the scenarios, for the tests of the handle's calls (`requests*.test.ts`): started, and
 * resolved once every node sees the other two. The caller stops the hubs and closes the cluster.
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
  await expect.poll(() => hubs.every((h) => h.nodes().length === 2), { timeout: 10_000 }).toBe(true);
  return { cluster, hubs };
}

/** Specs of `n` counters `k0` … `k<n-1>`. */
export const counterSpecs = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ id: `k${i}`, behaviour: "counter" }));
