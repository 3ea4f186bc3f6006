/**
 * `HubMembership`: what a hub needs from the cluster layer, and nothing more: this node's name,
 * the peers it is connected to now, and events when peers come and go. Messages between hubs go
 * through the `Node`'s remote router (`node.send({ name, node }, msg)`), which the cluster layer
 * installs. Keeping this seam small lets the hub run over any cluster implementation and be
 * tested without one. Imports nothing.
 */

/**
 * Cluster membership as a hub sees it.
 * @category hub
 */
export interface HubMembership {
  /** Names of the other nodes connected now. */
  peers(): string[];
  /** Subscribes to a peer becoming reachable; returns the unsubscribe function. */
  onPeerUp(listener: (node: string) => void): () => void;
  /** Subscribes to a peer leaving or being lost; returns the unsubscribe function. */
  onPeerDown(listener: (node: string) => void): () => void;
}

/** A membership with no peers: a hub on a lone node. */
export const NO_PEERS: HubMembership = Object.freeze({
  peers: () => [],
  onPeerUp: () => () => {},
  onPeerDown: () => () => {},
});

/** The part of `Cluster` a hub membership reads (kept structural so tests can fake it). */
export interface ClusterLike {
  nodes(): string[];
  on(event: "nodeup", listener: (e: { node: string }) => void): () => void;
  on(event: "nodedown", listener: (e: { node: string }) => void): () => void;
}

/** The membership of a `Cluster`: its connected peers and its nodeup / nodedown events. */
export function clusterMembership(cluster: ClusterLike): HubMembership {
  return {
    peers: () => cluster.nodes(),
    onPeerUp: (l) => cluster.on("nodeup", (e) => l(e.node)),
    onPeerDown: (l) => cluster.on("nodedown", (e) => l(e.node)),
  };
}
