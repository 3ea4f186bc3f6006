/**
 * Options of the NATS transport, their defaults and their validation. Connection options of
 * `@nats-io/transport-node` (servers, token, user/password, nkeys, credentials authenticator, TLS,
 * …) are passed through untouched, on top of a few defaults suited to cluster members (reconnect
 * forever, notice a dead link within seconds). Imports `src/errors.ts`, `src/logger.ts`,
 * `./subjects.ts`, the `ResolvedAuth` type of `./wire-auth.ts` and types of `@nats-io/transport-node`.
 */
import type { NatsConnection, NodeConnectionOptions } from "@nats-io/transport-node";
import { InvalidOptionError } from "../../errors.js";
import { consoleLogger, type Logger } from "../../logger.js";
import { NatsInvalidNameError } from "./errors.js";
import { MAX_NAME_LENGTH } from "./membership.js";
import { checkToken } from "./subjects.js";
import type { ResolvedAuth } from "./wire-auth.js";

/** Options of {@link NatsTransport}. */
export interface NatsTransportOptions {
  /**
   * How to reach NATS: either connection options for `connect()` of `@nats-io/transport-node`
   * (merged over {@link DEFAULT_NATS_CONNECTION_OPTIONS}; the transport owns and closes that
   * connection), or an existing `NatsConnection` (shared; the transport never closes it, and its
   * reconnect settings are the caller's business).
   * @default { servers: "127.0.0.1:4222" } merged over the connection defaults
   */
  connection?: NodeConnectionOptions | NatsConnection | undefined;
  /**
   * How long `connect()` keeps retrying the first connection while no NATS server answers
   * (refused, unreachable), pausing `reconnectTimeWait` (+ jitter) between attempts, before it
   * rejects with `NatsConnectError`. A node started together with its server then does not die
   * for being first. Other failures (an authorization violation) reject at once. `0` tries once.
   * Ignored for an existing connection.
   * @default 30000
   */
  connectTimeoutMs?: number | undefined;
  /**
   * First token of every subject, so that hubvisor shares a NATS account with other traffic.
   * @default "hv"
   */
  subjectPrefix?: string | undefined;
  /**
   * Period of this node's heartbeat. Sent from a timer, so a busy but yielding event loop still
   * sends it.
   * @default 1000
   */
  heartbeatIntervalMs?: number | undefined;
  /**
   * A peer silent for this long is reported down (`timeout`); this node without NATS for this long
   * reports every peer down (`connection_lost`). Must be at least twice the interval. Kept generous
   * on purpose: Node's event loop can be busy, and killed nodes are caught sooner by probes.
   * @default 5000
   */
  heartbeatTimeoutMs?: number | undefined;
  /**
   * Period of the liveness probe of each peer (a NATS request to its probe subject). A killed node's
   * subscriptions vanish with its connection, so the probe fails at once with "no responders".
   * `0` disables probing (membership then relies on heartbeats alone).
   * @default 100
   */
  probeIntervalMs?: number | undefined;
  /**
   * How long one probe waits for its answer. A probe that times out proves nothing (the peer may be
   * busy or paused): the heartbeat timeout decides then.
   * @default 1000
   */
  probeTimeoutMs?: number | undefined;
  /**
   * Consecutive "no responders" answers before a peer is reported down (`timeout`). More than one
   * rides out the few milliseconds a peer needs to resubscribe after its NATS server failed over.
   * @default 2
   */
  probeMisses?: number | undefined;
  /**
   * Publish this node's heartbeat from a worker thread with its own NATS connection as well, so
   * that a node whose event loop is busy for longer than `heartbeatTimeoutMs` (a huge start, a
   * long computation) stays up for its peers and keeps its own view, for up to `maxBusyMs`. A
   * SIGSTOP stops the thread too, so a frozen process is still declared down after
   * `heartbeatTimeoutMs`, and a killed one by the probes. With `auth` it seals its heartbeats
   * itself. Off by itself with an existing connection, or with connection options a thread cannot be handed (functions such
   * as an `authenticator`). Costs a thread (~10 MB) and a connection per node.
   * @default true
   */
  heartbeatThread?: boolean | undefined;
  /**
   * How long the heartbeat thread keeps a node whose event loop does not run up: a loop silent
   * longer is taken as hung, and the peers declare it down `heartbeatTimeoutMs` later. At least
   * `heartbeatTimeoutMs`.
   * @default 60000
   */
  maxBusyMs?: number | undefined;
  /**
   * Most peers tracked at once. Heartbeats from further new names are ignored (and counted in
   * `stats().controlRefused`): anyone who can publish on the cluster's subjects could otherwise
   * make a node track, probe and hand children to any number of made-up peers.
   * @default 1024
   */
  maxPeers?: number | undefined;
  /**
   * Authenticate every message between nodes with a cluster secret (see {@link NatsAuthOptions}
   * and `docs/security.md`). Without it anyone who can publish on the cluster's subjects can act
   * as a node: run on a NATS where only the nodes can (see `natsServerConfig`), or set this.
   * @default undefined (no authentication)
   */
  auth?: NatsAuthOptions | undefined;
  /**
   * Where connection trouble and dropped frames are reported.
   * @default consoleLogger
   */
  logger?: Logger | undefined;
}

/** Options of the cluster's wire authentication ({@link NatsTransportOptions.auth}). */
export interface NatsAuthOptions {
  /**
   * The cluster secret, the same on every node: at least 16 bytes (a string counts its UTF-8
   * bytes). Each message carries an HMAC-SHA256 tag keyed from it; during a rotation, the newest
   * secret (see `acceptSecrets`). No default.
   */
  secret: string | Uint8Array;
  /**
   * Further secrets whose messages this node also accepts, without sealing with them: a key
   * rotation under way (`docs/security.md`, "Rotating the secret"). Each at least 16 bytes.
   * Changed on a running node with `NatsTransport.rotateSecrets`.
   * @default []
   */
  acceptSecrets?: readonly (string | Uint8Array)[] | undefined;
  /**
   * Also encrypt frames (AES-256-GCM): for clusters whose NATS others can read. Heartbeats are
   * authenticated, not encrypted (they say only who is up). Every node must agree.
   * @default false
   */
  encrypt?: boolean | undefined;
  /**
   * A message stamped further than this from this node's clock is refused as a replay. Clocks of
   * the nodes must agree within it (NTP). `0` is not allowed.
   * @default 30000
   */
  maxClockSkewMs?: number | undefined;
  /**
   * How long `connect()` listens for the other nodes' heartbeats to learn whether they share this
   * node's secret: a node with another secret (or none) fails with `NatsAuthError` instead of
   * joining a cluster that drops everything it says. A node that hears a peer it can verify
   * connects at once; a node alone waits this long. `0` skips the check.
   * @default 250
   */
  joinCheckMs?: number | undefined;
}

/** Options after defaults were applied. */
export interface ResolvedNatsTransportOptions {
  connection: NodeConnectionOptions | NatsConnection;
  connectTimeoutMs: number;
  subjectPrefix: string;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  probeIntervalMs: number;
  probeTimeoutMs: number;
  probeMisses: number;
  maxPeers: number;
  heartbeatThread: boolean;
  maxBusyMs: number;
  auth: ResolvedAuth | undefined;
  logger: Logger;
}

/** Defaults of {@link NatsTransportOptions}. */
export const DEFAULT_NATS_TRANSPORT_OPTIONS = Object.freeze({
  connectTimeoutMs: 30_000,
  subjectPrefix: "hv",
  heartbeatIntervalMs: 1000,
  heartbeatTimeoutMs: 5000,
  probeIntervalMs: 100,
  probeTimeoutMs: 1000,
  probeMisses: 2,
  maxPeers: 1024,
  heartbeatThread: true,
  maxBusyMs: 60_000,
});

/** Defaults of {@link NatsAuthOptions}. */
export const DEFAULT_NATS_AUTH_OPTIONS = Object.freeze({
  encrypt: false,
  maxClockSkewMs: 30_000,
  joinCheckMs: 250,
});

/** Shortest cluster secret accepted, in bytes. */
export const MIN_SECRET_BYTES = 16;

/** A secret's bytes (a copy), or `InvalidOptionError` naming `field`. */
function secretBytes(field: string, s: unknown): Uint8Array {
  const secret = typeof s === "string" ? new TextEncoder().encode(s) : s;
  if (!(secret instanceof Uint8Array) || secret.length < MIN_SECRET_BYTES) {
    throw new InvalidOptionError(
      field,
      `a string or Uint8Array of at least ${MIN_SECRET_BYTES} bytes`,
      typeof s === "string" ? `${s.length} characters` : s,
    );
  }
  return Uint8Array.from(secret);
}

/** The secrets of `auth` (or of a rotation: `NatsTransport.rotateSecrets`), checked. */
export function parseSecrets(auth: Pick<NatsAuthOptions, "secret" | "acceptSecrets">): {
  secret: Uint8Array;
  acceptSecrets: Uint8Array[];
} {
  const secret = secretBytes("auth.secret", auth.secret);
  const accept = auth.acceptSecrets ?? [];
  if (!Array.isArray(accept)) {
    throw new InvalidOptionError("auth.acceptSecrets", "an array of secrets", accept);
  }
  return {
    secret,
    acceptSecrets: accept.map((a, i) => secretBytes(`auth.acceptSecrets[${i}]`, a)),
  };
}

function parseAuth(auth: NatsAuthOptions | undefined): ResolvedAuth | undefined {
  if (auth === undefined) return undefined;
  if (typeof auth !== "object" || auth === null) throw new InvalidOptionError("auth", "an object", auth);
  const { secret, acceptSecrets } = parseSecrets(auth);
  const d = DEFAULT_NATS_AUTH_OPTIONS;
  const encrypt = auth.encrypt ?? d.encrypt;
  if (typeof encrypt !== "boolean") throw new InvalidOptionError("auth.encrypt", "a boolean", encrypt);
  return {
    secret,
    acceptSecrets,
    encrypt,
    maxClockSkewMs: positiveInt("auth.maxClockSkewMs", auth.maxClockSkewMs ?? d.maxClockSkewMs),
    joinCheckMs: positiveInt("auth.joinCheckMs", auth.joinCheckMs ?? d.joinCheckMs, true),
  };
}

/**
 * Connection defaults applied under the caller's connection options: reconnect without limit,
 * retry quickly, and ping the server every 2 s so that a half-open link is noticed in ~4-6 s
 * (the client's own default, 2 min × 2, would hide a dead server far beyond any heartbeat timeout).
 */
export const DEFAULT_NATS_CONNECTION_OPTIONS: Readonly<NodeConnectionOptions> = Object.freeze({
  servers: "127.0.0.1:4222",
  maxReconnectAttempts: -1,
  reconnectTimeWait: 250,
  reconnectJitter: 100,
  pingInterval: 2000,
  maxPingOut: 2,
});

/** True when `value` is an existing NATS connection rather than options to make one. */
export function isNatsConnection(value: unknown): value is NatsConnection {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as NatsConnection).publish === "function" &&
    typeof (value as NatsConnection).subscribe === "function"
  );
}

function positiveInt(field: string, value: unknown, allowZero = false): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || (!allowZero && value === 0)) {
    throw new InvalidOptionError(field, allowZero ? "a non-negative integer" : "a positive integer", value);
  }
  return value;
}

/** Applies defaults and validates; throws `InvalidOptionError` naming the bad field. */
export function parseNatsTransportOptions(options: NatsTransportOptions = {}): ResolvedNatsTransportOptions {
  if (typeof options !== "object" || options === null) {
    throw new InvalidOptionError("options", "an object", options);
  }
  const d = DEFAULT_NATS_TRANSPORT_OPTIONS;
  const connection = options.connection ?? {};
  if (typeof connection !== "object" || connection === null) {
    throw new InvalidOptionError("connection", "NATS connection options or a NatsConnection", connection);
  }
  const connectTimeoutMs = positiveInt(
    "connectTimeoutMs",
    options.connectTimeoutMs ?? d.connectTimeoutMs,
    true,
  );
  const subjectPrefix = options.subjectPrefix ?? d.subjectPrefix;
  if (typeof subjectPrefix !== "string" || subjectPrefix.length === 0 || /[*>\s]/.test(subjectPrefix)) {
    throw new InvalidOptionError("subjectPrefix", "a non-empty subject without wildcards", subjectPrefix);
  }
  const heartbeatIntervalMs = positiveInt(
    "heartbeatIntervalMs",
    options.heartbeatIntervalMs ?? d.heartbeatIntervalMs,
  );
  const heartbeatTimeoutMs = positiveInt(
    "heartbeatTimeoutMs",
    options.heartbeatTimeoutMs ?? d.heartbeatTimeoutMs,
  );
  if (heartbeatTimeoutMs < 2 * heartbeatIntervalMs) {
    throw new InvalidOptionError(
      "heartbeatTimeoutMs",
      `at least twice heartbeatIntervalMs (${2 * heartbeatIntervalMs})`,
      heartbeatTimeoutMs,
    );
  }
  const probeIntervalMs = positiveInt("probeIntervalMs", options.probeIntervalMs ?? d.probeIntervalMs, true);
  const probeTimeoutMs = positiveInt("probeTimeoutMs", options.probeTimeoutMs ?? d.probeTimeoutMs);
  const probeMisses = positiveInt("probeMisses", options.probeMisses ?? d.probeMisses);
  const maxPeers = positiveInt("maxPeers", options.maxPeers ?? d.maxPeers);
  const heartbeatThread = options.heartbeatThread ?? d.heartbeatThread;
  if (typeof heartbeatThread !== "boolean")
    throw new InvalidOptionError("heartbeatThread", "a boolean", heartbeatThread);
  const maxBusyMs = positiveInt("maxBusyMs", options.maxBusyMs ?? d.maxBusyMs);
  if (maxBusyMs < heartbeatTimeoutMs) {
    throw new InvalidOptionError(
      "maxBusyMs",
      `at least heartbeatTimeoutMs (${heartbeatTimeoutMs})`,
      maxBusyMs,
    );
  }
  const auth = parseAuth(options.auth);
  const logger = options.logger ?? consoleLogger;
  if (typeof logger?.warn !== "function" || typeof logger?.error !== "function") {
    throw new InvalidOptionError("logger", "a Logger", logger);
  }
  return {
    connection,
    connectTimeoutMs,
    subjectPrefix,
    heartbeatIntervalMs,
    heartbeatTimeoutMs,
    probeIntervalMs,
    probeTimeoutMs,
    probeMisses,
    maxPeers,
    heartbeatThread,
    maxBusyMs,
    auth,
    logger,
  };
}

/** Validates the identity tokens used in subjects. */
export function checkIdentityNames(cluster: string, node: string): void {
  checkToken("cluster", cluster);
  checkToken("node", node);
  if (node.length > MAX_NAME_LENGTH) throw new NatsInvalidNameError("node", node.slice(0, 64));
}
