/**
 * `MemoryTransport`: one node's `Transport` on a `MemoryNetwork`. A thin handle: the network
 * does the delivery and the fault injection. Imports the cluster's `transport` interface, its
 * own `network` (types) and `errors`.
 */
import type { NodeIdentity, Transport, TransportHandlers } from "../../cluster/transport.js";
import { TransportStateError } from "./errors.js";
import type { Endpoint, MemoryHost, MemoryNetwork } from "./network.js";

/**
 * A node's attachment to a `MemoryNetwork`. Get one with `network.transport(node)`; connect it once.
 * @category transports
 */
export class MemoryTransport implements Transport {
  readonly kind = "memory";
  private endpoint: Endpoint | null = null;
  private closed = false;

  constructor(
    readonly network: MemoryNetwork,
    /** The node `kill` and `pause` reach, besides the connection (see `MemoryHost`). */
    readonly host: MemoryHost | null = null,
  ) {}

  /** The identity this transport connected with, or null before `connect`. */
  get identity(): NodeIdentity | null {
    return this.endpoint?.identity ?? null;
  }

  async connect(self: NodeIdentity, handlers: TransportHandlers, given?: MemoryHost): Promise<void> {
    if (this.closed) throw new TransportStateError("this memory transport was closed; create another one");
    if (this.endpoint !== null) throw new TransportStateError("this memory transport is connected already");
    // The node `Cluster.join` passes, unless the transport was made for one (`transport(node)`).
    const host = this.host ?? given ?? null;
    // A kill aimed at one node must never reach another.
    if (host !== null && host.name !== self.node) {
      throw new TransportStateError(
        `this memory transport was made for node ${JSON.stringify(host.name)}, not ${JSON.stringify(self.node)}`,
      );
    }
    this.endpoint = this.network.attach({ ...self }, handlers, host);
  }

  send(to: string, bytes: Uint8Array): void {
    const ep = this.endpoint;
    if (ep !== null) this.network.send(ep, to, bytes);
  }

  broadcast(bytes: Uint8Array): void {
    const ep = this.endpoint;
    if (ep !== null) this.network.broadcast(ep, bytes);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const ep = this.endpoint;
    if (ep !== null) this.network.leave(ep);
  }
}
