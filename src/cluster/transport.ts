/**
 * The `Transport` interface: the one seam between the cluster layer and the wire. A transport
 * moves opaque frames between named nodes of one cluster and tells who is reachable; it never
 * sees pids, messages or the codec. `memory` (many nodes in one program) and `nats` implement it.
 * Imports nothing.
 */

/** Who a node is: the cluster it joins, its name, and its incarnation (boot id). */
export interface NodeIdentity {
  /** Cluster name; transports namespace everything by it. */
  cluster: string;
  /** Node name, unique within the cluster at any one time. */
  node: string;
  /** Boot id: a node restarted under the same name comes back with another incarnation. */
  incarnation: number;
}

/** Why a peer is no longer reachable. */
export type PeerDownReason = "leave" | "timeout" | "connection_lost";

/** Callbacks a transport drives. Called synchronously from the transport's I/O; must not throw. */
export interface TransportHandlers {
  /** A frame arrived from `from` (node name). The bytes may be garbage: the cluster validates. */
  frame(from: string, bytes: Uint8Array): void;
  /** `peer` became reachable (first contact, or back after a `peerDown`). */
  peerUp(peer: NodeIdentity): void;
  /** `peer` is gone: it left gracefully, stopped answering, or this node lost its connection. */
  peerDown(peer: NodeIdentity, reason: PeerDownReason): void;
}

/**
 * The local node as a transport may see it: what a transport that injects faults into its node
 * (the memory transport's `kill`, `pause`, `resume`) reaches. A `Node` is one; the cluster layer
 * passes it to `connect`, so a transport never needs to import the process layer.
 */
export interface TransportHost {
  readonly name: string;
  kill(): void;
  pause(): void;
  resume(): void;
}

/**
 * Moves frames between the nodes of a cluster.
 * @category cluster
 */
export interface Transport {
  /** Short name for logs and metrics (`memory`, `nats`). */
  readonly kind: string;
  /**
   * Joins the cluster as `self`; resolves once frames can flow. `host` is the local node (see
   * `TransportHost`); a transport that does not inject faults ignores it.
   */
  connect(self: NodeIdentity, handlers: TransportHandlers, host?: TransportHost): Promise<void>;
  /** Sends one frame to one node; silently dropped if the node is unknown or unreachable. */
  send(to: string, bytes: Uint8Array): void;
  /** Sends one frame to every other node of the cluster. */
  broadcast(bytes: Uint8Array): void;
  /** Leaves gracefully (peers see `leave`) and releases every resource. Idempotent. */
  close(): Promise<void>;
}
