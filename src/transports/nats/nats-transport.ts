/**
 * `NatsTransport`: the cluster `Transport` over core NATS (`@nats-io/transport-node` v3). Frames
 * are plain publishes on per-node subjects; membership comes from timer-driven heartbeats on a
 * cluster subject, graceful leaves, and cheap liveness probes (`./prober.ts`). The view rules live
 * in `./membership.ts`; everything that exists only while connected (the connection, the view,
 * the timers) lives in one `NatsSession` (`./session.ts`) that `connect()` creates; this file is
 * the lifecycle: idle → connecting → open → closed. No JetStream, no KV: works on nats-server
 * 2.9. Imports the cluster `Transport` types, `src/logger.ts` and this folder.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { NodeIdentity, Transport, TransportHandlers } from "../../cluster/transport.js";
import { type NatsTransportStats, openConnection } from "./connection.js";
import {
  NatsAlreadyConnectedError,
  NatsAuthError,
  NatsTransportClosedError,
  NatsWireVersionError,
} from "./errors.js";
import { nodeInboxPrefix } from "./nats-config.js";
import { InvalidOptionError } from "../../errors.js";
import {
  checkIdentityNames,
  type NatsAuthOptions,
  type NatsTransportOptions,
  parseNatsTransportOptions,
  parseSecrets,
  type ResolvedNatsTransportOptions,
} from "./options.js";
import type { HeartbeatThread } from "./heartbeat-thread.js";
import { NatsSession, type SessionHost, startHeartbeatThread } from "./session.js";
import { WIRE_VERSION } from "./wire-auth.js";

type State = "idle" | "connecting" | "open" | "closed";

/** Cluster transport over NATS. One instance per node; single use (connect once, close once). */
export class NatsTransport implements Transport {
  readonly kind = "nats";
  private readonly host: SessionHost;
  private state: State = "idle";
  private self: NodeIdentity | undefined;
  private session: NatsSession | undefined;
  private closing: Promise<void> | undefined;
  private readonly counters: NatsTransportStats = {
    framesSent: 0,
    framesReceived: 0,
    framesDropped: 0,
    framesStale: 0,
    controlRefused: 0,
    authRejected: { malformed: 0, version: 0, key: 0, mac: 0, replay: 0, stale: 0, misaddressed: 0 },
    stalls: 0,
    busy: 0,
    heartbeatThread: false,
    heartbeatsSent: 0,
    probesSent: 0,
    disconnects: 0,
    reconnects: 0,
  };

  constructor(options: NatsTransportOptions = {}) {
    const opts: ResolvedNatsTransportOptions = parseNatsTransportOptions(options);
    this.host = {
      opts,
      counters: this.counters,
      isOpen: () => this.state === "open",
      isClosed: () => this.state === "closed",
    };
  }

  /**
   * Joins the cluster as `self`: connects (unless given a connection), subscribes, announces.
   * Resolves once the heartbeat thread, when it runs, is connected too, so that from the first
   * moment peers can hear this node a busy event loop does not make it look dead.
   */
  async connect(self: NodeIdentity, handlers: TransportHandlers): Promise<void> {
    if (this.state === "closed") throw new NatsTransportClosedError();
    if (this.state !== "idle") throw new NatsAlreadyConnectedError();
    checkIdentityNames(self.cluster, self.node);
    this.state = "connecting";
    const me = { cluster: self.cluster, node: self.node, incarnation: self.incarnation };
    this.self = me;
    // Beside the session's own connection: the worker takes a while to boot.
    const thread = startHeartbeatThread(this.host.opts, me);
    let opened: Awaited<ReturnType<typeof openConnection>>;
    try {
      opened = await openConnection(this.host.opts.connection, self, {
        timeoutMs: this.host.opts.connectTimeoutMs,
        logger: this.host.opts.logger,
        cancelled: () => this.isClosed(),
        inboxPrefix: nodeInboxPrefix(this.host.opts.subjectPrefix, self.cluster, self.node),
      });
    } catch (err) {
      await (await thread)?.stop();
      this.state = this.isClosed() ? "closed" : "idle";
      throw err;
    }
    const session = new NatsSession(opened.nc, opened.owned, me, handlers, this.host);
    this.session = session;
    if (this.isClosed()) return this.abandon(session, thread);
    session.subscribe();
    await opened.nc.flush();
    // close() ran while subscribing: its release may have missed these subscriptions.
    if (this.isClosed()) return this.abandon(session, thread);
    const beats = await thread;
    if (this.isClosed()) return this.abandon(session, Promise.resolve(beats));
    if (beats !== undefined) session.adoptHeartbeatThread(beats);
    session.watchStatus();
    session.startTimers();
    this.state = "open";
    session.publishHeartbeat();
    const auth = this.host.opts.auth;
    if (auth !== undefined && auth.joinCheckMs > 0) await this.checkKey(session, auth.joinCheckMs);
  }

  /** Ends a `connect()` that `close()` overtook: releases what it opened, then throws. */
  private async abandon(session: NatsSession, thread: Promise<HeartbeatThread | undefined>): Promise<never> {
    await (await thread)?.stop();
    await session.release();
    throw new NatsTransportClosedError();
  }

  /**
   * Fails `connect()` with `NatsAuthError` when the others do not share this node's secret, and
   * with `NatsWireVersionError` when they seal under another wire version.
   */
  private async checkKey(session: NatsSession, ms: number): Promise<void> {
    const check = await session.keyCheck(ms);
    if (this.isClosed()) throw new NatsTransportClosedError();
    if (check.ok) return;
    this.state = "closed";
    this.closing = session.shutdown(false);
    await this.closing;
    if ("version" in check) throw new NatsWireVersionError(session.self.cluster, WIRE_VERSION, check.version);
    const ours = session.auth!.keyId.toString(16).padStart(8, "0");
    throw new NatsAuthError(session.self.cluster, ours, check.theirs);
  }

  /** Sends one frame to `to`; dropped (and counted) unless `to` is up in this node's view. */
  send(to: string, bytes: Uint8Array): void {
    // Not only once open: while `connect()` waits for the heartbeat thread the session already
    // hears peers come up, and the cluster's `hello` to them must not be lost (a peer that never
    // hears it never learns this node's protocol version, nor its session).
    if (this.session === undefined || this.state === "closed") this.counters.framesDropped++;
    else this.session.send(to, bytes);
  }

  /** Sends one frame to every other node of the cluster (one NATS publish). */
  broadcast(bytes: Uint8Array): void {
    if (this.session === undefined || this.state === "closed") this.counters.framesDropped++;
    else this.session.broadcast(bytes);
  }

  /** Announces a graceful leave, unsubscribes, and closes the connection if this transport made it. */
  close(): Promise<void> {
    if (!this.closing) {
      const wasOpen = this.state === "open";
      this.state = "closed";
      this.closing = this.session?.shutdown(wasOpen) ?? Promise.resolve();
    }
    return this.closing;
  }

  /**
   * Changes the cluster secrets of this node while it runs (it must have been given `auth`):
   * seals with `secret` from now on — its heartbeat thread too — and also opens what is sealed
   * under any of `acceptSecrets`. Rolled over every node in three rounds, a cluster changes its
   * secret without a restart and without dropping a message (`docs/security.md`, "Rotating the
   * secret"). Before `connect()` it sets what the node will join with.
   * @throws InvalidOptionError without `auth`, or for a secret shorter than 16 bytes.
   */
  rotateSecrets(secrets: Pick<NatsAuthOptions, "secret" | "acceptSecrets">): void {
    const auth = this.host.opts.auth;
    if (auth === undefined) {
      throw new InvalidOptionError("auth", "given to the transport to rotate its secrets", undefined);
    }
    const { secret, acceptSecrets } = parseSecrets(secrets);
    auth.secret = secret;
    auth.acceptSecrets = acceptSecrets;
    this.session?.rotateSecrets(secret, acceptSecrets);
  }

  /** Peers currently up in this node's view. */
  peers(): NodeIdentity[] {
    return this.session?.membership.list() ?? [];
  }

  /** A snapshot of this transport's counters. */
  stats(): NatsTransportStats {
    return {
      ...this.counters,
      authRejected: { ...this.counters.authRejected },
      probesSent: this.session?.prober?.sent ?? 0,
      heartbeatThread: this.session?.heartbeatThread ?? false,
    };
  }

  /** This node's identity once `connect()` was called. */
  get identity(): NodeIdentity | undefined {
    return this.self;
  }

  /** The underlying NATS connection once connected (for diagnostics). */
  get connection(): NatsConnection | undefined {
    return this.session?.nc;
  }

  private isClosed(): boolean {
    return this.state === "closed";
  }
}
