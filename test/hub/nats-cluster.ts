/**
 * `HubTestCluster` over the real cluster layer and the NATS transport: every node of the test
 * joins one `nats-server` (started by `test/support/nats-server.ts` on free loopback ports) with
 * its own `NatsTransport` and `Cluster`, all in this process. Killing a node closes its NATS
 * connection without a leave, which is what a crash looks like to the others: its subscriptions
 * vanish and their probes see "no responders". Imports the cluster layer, the NATS transport and
 * the test NATS harness.
 */
import { Cluster } from "../../src/cluster/index.js";
import { clusterMembership, type HubMembership } from "../../src/hub/membership.js";
import { silentLogger } from "../../src/logger.js";
import { Node } from "../../src/process/node.js";
import { NatsTransport } from "../../src/transports/nats/index.js";
import type { HubTestCluster } from "./scenarios.js";

/**
 * Membership timings for hub tests over NATS: probes find a dead node within about
 * `probeMisses` × `probeIntervalMs` (≈ 100 ms); the heartbeat timeout is generous so that a busy
 * 2-core machine running a 1000-child start never declares a live node down.
 */
export const HUB_NATS_TIMINGS = {
  heartbeatIntervalMs: 200,
  heartbeatTimeoutMs: 3000,
  probeIntervalMs: 50,
  probeTimeoutMs: 1000,
  probeMisses: 2,
} as const;

let seq = 0;

export class NatsHubCluster implements HubTestCluster {
  readonly kind = "nats";
  private readonly nodes = new Map<string, { cluster: Cluster; transport: NatsTransport }>();
  /** A fresh cluster name per test, so tests sharing one server never see each other. */
  private readonly name = `hubnats${process.pid}x${seq++}`;

  constructor(private readonly url: () => Promise<string>) {}

  /**
   * Joins a node. `server` pins it to one server of a routed NATS cluster: the client ignores
   * the other servers' addresses the cluster advertises, so stopping that server cuts the node
   * off (a network partition) instead of letting it fail over.
   */
  async addNode(name: string, server?: string): Promise<{ node: Node; membership: HubMembership }> {
    const node = new Node({ name, logger: silentLogger });
    const transport = new NatsTransport({
      ...HUB_NATS_TIMINGS,
      logger: silentLogger,
      connection:
        server === undefined
          ? { servers: await this.url(), reconnectTimeWait: 100 }
          : { servers: server, reconnectTimeWait: 100, ignoreClusterUpdates: true },
    });
    const cluster = await Cluster.join({ node, cluster: this.name, transport, logger: silentLogger });
    this.nodes.set(name, { cluster, transport });
    return { node, membership: clusterMembership(cluster) };
  }

  async killNode(name: string): Promise<void> {
    const n = this.nodes.get(name);
    this.nodes.delete(name);
    await n?.transport.connection?.close();
  }

  async close(): Promise<void> {
    for (const { cluster } of this.nodes.values()) await cluster.leave().catch(() => {});
    this.nodes.clear();
  }
}
