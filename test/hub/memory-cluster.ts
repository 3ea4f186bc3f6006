/**
 * `HubTestCluster` over the real cluster layer and the memory transport: each node joins a
 * `Cluster` on one `MemoryNetwork` with a transport made for it, so killing a node is the
 * network's `kill` of the node itself (its processes die unrun, peers see it lost).
 */
import { Cluster } from "../../src/cluster/index.js";
import { clusterMembership, type HubMembership } from "../../src/hub/membership.js";
import { silentLogger } from "../../src/logger.js";
import { Node } from "../../src/process/node.js";
import { MemoryNetwork } from "../../src/transports/memory/index.js";
import type { HubTestCluster } from "./scenarios.js";

export class MemoryHubCluster implements HubTestCluster {
  readonly kind = "memory";
  readonly network = new MemoryNetwork();
  private readonly clusters = new Map<string, Cluster>();
  private static seq = 0;
  private readonly name = `hubtest${MemoryHubCluster.seq++}`;

  async addNode(name: string): Promise<{ node: Node; membership: HubMembership }> {
    const node = new Node({ name, logger: silentLogger });
    const cluster = await Cluster.join({
      node,
      cluster: this.name,
      transport: this.network.transport(node),
      logger: silentLogger,
    });
    this.clusters.set(name, cluster);
    return { node, membership: clusterMembership(cluster) };
  }

  async killNode(name: string): Promise<void> {
    this.network.kill(name);
    this.clusters.delete(name);
  }

  async close(): Promise<void> {
    for (const c of this.clusters.values()) await c.leave().catch(() => {});
    this.clusters.clear();
  }
}
