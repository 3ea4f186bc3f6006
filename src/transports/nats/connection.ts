/**
 * Opening the transport's NATS connection: either the caller's existing connection (shared, never
 * closed by the transport) or a new one from the caller's options laid over the cluster-member
 * defaults.
 *
 * A first connection that finds no server is retried until `connectTimeoutMs` has passed: nodes
 * and their NATS server are usually started together (a compose file, a test, a reboot), and a
 * node must not die because it won the race. Only failures to reach a server are retried; an
 * answer that will not change by waiting (an authorization violation, a bad option) fails at once.
 * Either way the `NatsConnectError` names the cause. Imports `@nats-io/transport-node`,
 * `src/logger.ts`, `./errors.ts`, `./options.ts`.
 */
import {
  ConnectionError,
  connect,
  type NatsConnection,
  type NodeConnectionOptions,
  TimeoutError,
} from "@nats-io/transport-node";
import type { NodeIdentity } from "../../cluster/transport.js";
import type { Logger } from "../../logger.js";
import { causeText, NatsConnectError, NatsTransportClosedError } from "./errors.js";
import { DEFAULT_NATS_CONNECTION_OPTIONS, isNatsConnection } from "./options.js";
import type { AuthRejectKind } from "./wire-auth.js";

/** A connection and whether the transport owns it (and so closes it). */
export interface OpenedConnection {
  nc: NatsConnection;
  owned: boolean;
}

/** How the first connection waits for a server. */
export interface FirstConnectPolicy {
  /** How long to keep retrying while no server answers; 0 tries once. */
  timeoutMs: number;
  /** Told once when the first attempt fails and retries begin. */
  logger: Logger;
  /** True once the transport was closed: stop retrying. */
  cancelled: () => boolean;
  /**
   * The connection's inbox prefix unless the caller set one: per node, so that the least-privilege
   * configuration (`nats-config.ts`) lets a node read its own probe answers and nobody else's.
   */
  inboxPrefix?: string;
}

/** Used when the transport passes no policy: one attempt, as before retries existed. */
const ONE_ATTEMPT: FirstConnectPolicy = {
  timeoutMs: 0,
  logger: { error() {}, warn() {}, info() {}, debug() {} },
  cancelled: () => false,
};

/** Failures to reach a server, which waiting may cure (refused, reset, unanswered). */
function isUnreachable(err: unknown): boolean {
  return err instanceof ConnectionError || err instanceof TimeoutError;
}

/**
 * The options a node's connection is opened with: the caller's over the cluster-member defaults.
 * The heartbeat thread opens its own connection with these too, so that both reconnect and fail
 * over on the same timing.
 */
export function connectionOptions(
  given: NodeConnectionOptions,
  self: NodeIdentity,
  inboxPrefix: string | undefined,
): NodeConnectionOptions {
  return {
    ...DEFAULT_NATS_CONNECTION_OPTIONS,
    name: `hubvisor ${self.cluster}/${self.node}`,
    ...(inboxPrefix === undefined ? {} : { inboxPrefix }),
    ...given,
  };
}

/**
 * Uses `given` if it is a connection, otherwise connects, retrying as `policy` says while no
 * server answers. Throws `NatsConnectError` (its message names the cause), or
 * `NatsTransportClosedError` when the transport was closed while waiting.
 */
export async function openConnection(
  given: NodeConnectionOptions | NatsConnection,
  self: NodeIdentity,
  policy: FirstConnectPolicy = ONE_ATTEMPT,
): Promise<OpenedConnection> {
  if (isNatsConnection(given)) return { nc: given, owned: false };
  const options = connectionOptions(given, self, policy.inboxPrefix);
  const servers = String(options.servers);
  // Between attempts, the pause the client itself takes between reconnects.
  const pauseMs = Math.max(10, options.reconnectTimeWait ?? 250);
  const jitterMs = Math.max(0, options.reconnectJitter ?? 0);
  const started = performance.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return { nc: await connect(options), owned: true };
    } catch (err) {
      const elapsed = performance.now() - started;
      if (!isUnreachable(err) || policy.cancelled() || elapsed + pauseMs > policy.timeoutMs) {
        if (policy.cancelled()) throw new NatsTransportClosedError();
        throw new NatsConnectError(servers, err, { attempts: attempt, elapsedMs: Math.round(elapsed) });
      }
      if (attempt === 1) {
        policy.logger.warn(
          { servers, cause: causeText(err), retryForMs: policy.timeoutMs },
          "NATS not reachable yet: retrying the first connection",
        );
      }
      await new Promise((resolve) => setTimeout(resolve, pauseMs + Math.random() * jitterMs));
      if (policy.cancelled()) throw new NatsTransportClosedError();
    }
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
  /**
   * Control messages refused: malformed, an invalid node name, a name other than its subject's
   * sender token, or a new peer beyond `maxPeers`.
   */
  controlRefused: number;
  /**
   * Messages that failed authentication (only with `auth`), by why: not a sealed message
   * (`malformed`), one sealed under another wire version (`version`: a node of another hubvisor
   * release), another secret (`key`), a forged or damaged tag (`mac`), a replay (`replay`:
   * a sequence number seen before; `stale`: stamped beyond `maxClockSkewMs`), or a direct frame
   * sealed for another incarnation of this node (`misaddressed`). Dropped, never acted on, and
   * logged at most once a second.
   */
  authRejected: Record<AuthRejectKind, number>;
  /** Times this node found itself frozen past the heartbeat timeout and rejoined under a new session. */
  stalls: number;
  /**
   * Times this node's event loop was busy past the heartbeat timeout while the heartbeat thread
   * kept it up (no rejoin, no peer lost).
   */
  busy: number;
  /** Whether the heartbeat thread runs (see `NatsTransportOptions.heartbeatThread`). */
  heartbeatThread: boolean;
  heartbeatsSent: number;
  probesSent: number;
  disconnects: number;
  reconnects: number;
}
