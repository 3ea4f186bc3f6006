/**
 * One node's attachment to a `MemoryNetwork` (`Endpoint`), the node behind it (`MemoryHost`), and
 * the small helpers every part of the network uses on them: their key, the channel between two of
 * them, an item in flight, a handler call that must not throw. Imports the cluster's `transport`
 * types and its own `channel`.
 */
import type { NodeIdentity, PeerDownReason, TransportHandlers } from "../../cluster/transport.js";
import { Channel, type Item } from "./channel.js";

/**
 * The node behind a memory transport, which `kill` and `pause` reach: a `Node` is one.
 *
 * The transport layer may not import the process layer, so the network knows the node by this
 * shape. With a host, `kill` and `pause` / `resume` act on the node itself; without one, only on
 * its connection (the node runs on, cut off or stalled on the network only).
 */
export interface MemoryHost {
  /** Must be the node name the transport connects with. */
  readonly name: string;
  /** Ends every process at once without running any of its code, for good. */
  kill(): void;
  /** Stops running processes and timers until `resume`. */
  pause(): void;
  /** Fires the timeouts that fell due, then runs processes again. */
  resume(): void;
}

/** One node's attachment to the network. */
export interface Endpoint {
  readonly identity: NodeIdentity;
  readonly handlers: TransportHandlers;
  readonly host: MemoryHost | null;
  state: "live" | "paused" | "closed" | "killed";
  /** Resumed, with its traffic to follow after a macrotask (see `MemoryNetwork.resume`). */
  thawing: boolean;
  /** Peers this endpoint has been told are up (or the notice is on its way). */
  readonly view: Set<Endpoint>;
  readonly out: Map<Endpoint, Channel<Endpoint>>;
  readonly downTimers: Map<Endpoint, NodeJS.Timeout>;
}

/** A new live endpoint. */
export function newEndpoint(
  identity: NodeIdentity,
  handlers: TransportHandlers,
  host: MemoryHost | null,
): Endpoint {
  return {
    identity,
    handlers,
    host,
    state: "live",
    thawing: false,
    view: new Set(),
    out: new Map(),
    downTimers: new Map(),
  };
}

/** An endpoint's key in the network: `cluster/node`. */
export function endpointKey(cluster: string, node: string): string {
  return `${cluster}/${node}`;
}

/** The FIFO channel from `from` to `to`, created on first use. */
export function channelOf(from: Endpoint, to: Endpoint): Channel<Endpoint> {
  let ch = from.out.get(to);
  if (ch === undefined) {
    ch = new Channel(from, to);
    from.out.set(to, ch);
  }
  return ch;
}

/** An item to put in flight. */
export function item(
  kind: Item["kind"],
  bytes: Uint8Array | null,
  peer: NodeIdentity | null,
  reason: PeerDownReason | null,
): Item {
  return { kind, due: 0, bytes, peer, reason };
}

/** Calls a node's handler; a throw is swallowed. */
export function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // Handlers must not throw; a faulty one must not stop delivery to others.
  }
}
