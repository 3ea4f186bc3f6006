/**
 * Opening the transport's NATS connection: either the caller's existing connection (shared, never
 * closed by the transport) or a new one from the caller's options laid over the cluster-member
 * defaults. Imports `@nats-io/transport-node`, `./errors.ts`, `./options.ts`.
 */
import { connect, type NatsConnection, type NodeConnectionOptions } from "@nats-io/transport-node";
import type { NodeIdentity } from "../../cluster/transport.js";
import { NatsConnectError } from "./errors.js";
import { DEFAULT_NATS_CONNECTION_OPTIONS, isNatsConnection } from "./options.js";

/** A connection and whether the transport owns it (and so closes it). */
export interface OpenedConnection {
  nc: NatsConnection;
  owned: boolean;
}

/** Uses `given` if it is a connection, otherwise connects; throws `NatsConnectError`. */
export async function openConnection(
  given: NodeConnectionOptions | NatsConnection,
  self: NodeIdentity,
): Promise<OpenedConnection> {
  if (isNatsConnection(given)) return { nc: given, owned: false };
  const options: NodeConnectionOptions = {
    ...DEFAULT_NATS_CONNECTION_OPTIONS,
    name: `hubvisor ${self.cluster}/${self.node}`,
    ...given,
  };
  try {
    return { nc: await connect(options), owned: true };
  } catch (err) {
    throw new NatsConnectError(String(options.servers), err);
  }
}

/** Counters of one transport, for tests, logs and metrics. */
export interface NatsTransportStats {
  framesSent: number;
  framesReceived: number;
  /** Frames not sent: unknown or down destination, closed transport, or refused by the client. */
  framesDropped: number;
  /** Frames ignored because their sender declared this node down while it was frozen (see `stalls`). */
  framesStale: number;
  /** Control messages refused: malformed, an invalid node name, or a new peer beyond `maxPeers`. */
  controlRefused: number;
  /** Times this node found itself frozen past the heartbeat timeout and rejoined under a new session. */
  stalls: number;
  heartbeatsSent: number;
  probesSent: number;
  disconnects: number;
  reconnects: number;
}
