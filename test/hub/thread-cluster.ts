/**
 * `HubTestCluster` over the real cluster layer and the thread transport: each node joins a
 * `Cluster` on one `ThreadNetwork` through its own `MessagePort`s (all in this thread, so the
 * scenarios can read every hub), and killing a node is the network's `kill` (its processes die
 * unrun, its ports close, peers see it lost).
 */
import { Cluster } from "../../src/cluster/index.js";
import { clusterMembership, type HubMembership } from "../../src/hub/membership.js";
import { silentLogger } from "../../src/logger.js";
import { Node } from "../../src/process/node.js";
import { ThreadNetwork } from "../../src/transports/threads/index.js";
import type { HubTestCluster } from "./scenarios.js";

export class ThreadHubCluster implements HubTestCluster {
  readonly kind = "threads";
  readonly network = new ThreadNetwork();
  private readonly clusters = new Map<string, Cluster>();
  private static seq = 0;
  private readonly name = `hubthreads${ThreadHubCluster.seq++}`;

  async addNode(name: string): Promise<{ node: Node; membership: HubMembership }> {
    const node = new Node({ name, logger: silentLogger });
    const cluster = await Cluster.join({
      node,
      cluster: this.name,
      transport: this.network.transport(),
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
