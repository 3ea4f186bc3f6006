/**
 * `hubvisor/testing`: what tests of a hubvisor program need — the in-memory network with fault
 * injection (partition, delay, drop, kill, pause) and a convenience to build an in-program cluster.
 */
import { Cluster } from "./cluster/index.js";
import { Node } from "./process/index.js";
import { MemoryNetwork, type MemoryNetworkOptions } from "./transports/memory/index.js";
import { silentLogger } from "./logger.js";

export { MemoryNetwork, MemoryTransport } from "./transports/memory/index.js";

/** Starts `names.length` nodes joined into one cluster over a fresh `MemoryNetwork`. */
export async function startMemoryCluster(
  names: string[],
  options: { cluster?: string; network?: MemoryNetworkOptions; quiet?: boolean } = {},
): Promise<{ network: MemoryNetwork; nodes: Node[]; clusters: Cluster[] }> {
  const network = new MemoryNetwork(options.network);
  const logger = options.quiet === false ? undefined : silentLogger;
  const nodes = names.map((name) => new Node({ name, logger }));
  const clusters = await Promise.all(
    nodes.map((node) =>
      Cluster.join({ node, cluster: options.cluster ?? "test", transport: network.transport(), logger }),
    ),
  );
  return { network, nodes, clusters };
}
