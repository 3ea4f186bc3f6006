/**
 * `NatsSession`: everything a `NatsTransport` holds while it is connected — the NATS connection,
 * its subscriptions, the membership view and its session number, the timers (heartbeat, view
 * maintenance, probes), the status watch and the stall check — created by `connect()` once the
 * connection is open, so none of it is ever half there. Imports the NATS client types, the
 * cluster `Transport` types, `src/logger.ts` and this folder.
 */
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { NodeIdentity, TransportHandlers } from "../../cluster/transport.js";
import type { Logger } from "../../logger.js";
import type { NatsTransportStats } from "./connection.js";
import { decodeControl, encodeControl } from "./control.js";
import { Membership } from "./membership.js";
import type { ResolvedNatsTransportOptions } from "./options.js";
import { Prober } from "./prober.js";
import { lastToken, Subjects } from "./subjects.js";

/** What a session reads of its transport. */
export interface SessionHost {
  readonly opts: ResolvedNatsTransportOptions;
  readonly counters: NatsTransportStats;
  /** Whether the transport is open (frames may flow). */
  isOpen(): boolean;
  /** Whether the transport was closed. */
  isClosed(): boolean;
}

export class NatsSession {
  readonly membership: Membership;
  readonly subjects: Subjects;
  prober: Prober | undefined;
  private readonly opts: ResolvedNatsTransportOptions;
  private readonly log: Logger;
  private readonly counters: NatsTransportStats;
  private subs: Subscription[] = [];
  private timers: NodeJS.Timeout[] = [];
  private statusIter: { stop?: () => void } | undefined;
  private readonly directSubjects = new Map<string, string>();
  private hbBytes: Uint8Array;
  private hbScheduled = false;
  private disconnectedAt: number | undefined;
  private viewLost = false;
  private lastTick = performance.now();
  private warnedDuplicate = false;
  /**
   * Peers dropped when this node found itself frozen past the heartbeat timeout: frames from them
   * are stale (they declared this node down meanwhile) until they see its new session and are up
   * in its view again.
   */
  private readonly stale = new Set<string>();
  private lastRefusalLog = 0;

  constructor(
    readonly nc: NatsConnection,
    readonly owned: boolean,
    readonly self: NodeIdentity,
    private readonly handlers: TransportHandlers,
    private readonly host: SessionHost,
  ) {
    this.opts = host.opts;
    this.log = host.opts.logger;
    this.counters = host.counters;
    this.subjects = new Subjects(this.opts.subjectPrefix, self.cluster);
    this.membership = new Membership(
      self,
      {
        up: (peer) => {
          this.stale.delete(peer.node);
          this.emit("peerUp", () => handlers.peerUp(peer));
        },
        down: (peer, reason) => this.emit("peerDown", () => handlers.peerDown(peer, reason)),
      },
      this.opts.maxPeers,
    );
    // A random first session: a node restarted within the same incarnation number never reuses one.
    this.membership.session = Math.floor(Math.random() * 0x7fffffff);
    this.hbBytes = encodeControl("hb", self, this.membership.session);
  }

  /** Sends one frame to `to`; dropped (and counted) unless `to` is up in this node's view. */
  send(to: string, bytes: Uint8Array): void {
    if (!this.membership.has(to)) {
      this.counters.framesDropped++;
      return;
    }
    let subject = this.directSubjects.get(to);
    if (subject === undefined) {
      subject = this.subjects.direct(to, this.self.node);
      this.directSubjects.set(to, subject);
    }
    this.publish(subject, bytes);
  }

  /** Sends one frame to every other node of the cluster (one NATS publish). */
  broadcast(bytes: Uint8Array): void {
    this.publish(this.subjects.broadcast(this.self.node), bytes);
  }

  private isClosed(): boolean {
    return this.host.isClosed();
  }

  private isOpen(): boolean {
    return this.host.isOpen();
  }

  subscribe(): void {
    const { nc, subjects, self } = this;
    const frame = (from: string, data: Uint8Array) => {
      this.counters.framesReceived++;
      this.checkStall();
      if (this.stale.size > 0 && this.stale.has(from)) {
        this.counters.framesStale++;
        return;
      }
      this.emit("frame", () => this.handlers.frame(from, data));
    };
    this.subs.push(
      nc.subscribe(subjects.directInbox(self.node), {
        callback: (err, msg) => {
          if (!err && !this.isClosed()) frame(lastToken(msg.subject), msg.data);
        },
      }),
      nc.subscribe(subjects.broadcastInbox(), {
        callback: (err, msg) => {
          if (err || this.isClosed()) return;
          const from = lastToken(msg.subject);
          if (from !== self.node) frame(from, msg.data);
        },
      }),
      nc.subscribe(subjects.heartbeat, {
        callback: (err, msg) => {
          if (!err && !this.isClosed()) this.onControl(msg.data);
        },
      }),
      nc.subscribe(subjects.probe(self.node), {
        callback: (err, msg) => {
          if (err || this.isClosed()) return;
          // A frozen node answers only once it has taken its new session.
          this.checkStall();
          msg.respond(this.hbBytes);
        },
      }),
    );
  }

  private onControl(data: Uint8Array): void {
    this.checkStall();
    const msg = decodeControl(data);
    if (!msg) {
      this.refused("malformed control message");
      return;
    }
    const peer: NodeIdentity = { cluster: this.self.cluster, node: msg.node, incarnation: msg.incarnation };
    if (msg.kind === "leave") {
      this.membership.left(peer, msg.session);
      return;
    }
    this.onAlive(peer, msg.session);
  }

  /** Counts a refused control message; warns at most once a second. */
  private refused(what: string, node?: string): void {
    this.counters.controlRefused++;
    const now = performance.now();
    if (now - this.lastRefusalLog < 1000) return;
    this.lastRefusalLog = now;
    this.log.warn(
      { node: this.self.node, peer: node?.slice(0, 64), refused: this.counters.controlRefused },
      `nats transport refused a ${what}`,
    );
  }

  private onAlive(peer: NodeIdentity, session: number): void {
    const outcome = this.membership.seen(peer, performance.now(), session);
    if (outcome === "invalid") this.refused("peer with an invalid node name", peer.node);
    else if (outcome === "full") this.refused("new peer beyond maxPeers", peer.node);
    else if (outcome === "up" || outcome === "restarted") {
      // Answer a newcomer at once instead of making it wait a whole heartbeat interval.
      this.scheduleHeartbeat();
    } else if (outcome === "duplicate_self" && !this.warnedDuplicate) {
      this.warnedDuplicate = true;
      this.log.warn(
        { cluster: peer.cluster, node: peer.node, incarnation: peer.incarnation },
        "another live node uses this node's name",
      );
    }
  }

  watchStatus(): void {
    const nc = this.nc;
    const iter = nc.status();
    this.statusIter = iter as { stop?: () => void };
    void (async () => {
      try {
        for await (const s of iter) {
          if (this.isClosed()) break;
          if (s.type === "disconnect") this.onDisconnect();
          else if (s.type === "reconnect") this.onReconnect(s.server);
          else if (s.type === "close") this.onDisconnect();
        }
      } catch (err) {
        this.log.debug({ err }, "nats status watch ended");
      }
    })();
  }

  private onDisconnect(): void {
    this.counters.disconnects++;
    if (this.disconnectedAt === undefined) this.disconnectedAt = performance.now();
    this.log.warn({ node: this.self.node }, "nats transport lost its NATS connection; reconnecting");
  }

  private onReconnect(server: string): void {
    this.counters.reconnects++;
    const since = this.disconnectedAt;
    this.disconnectedAt = undefined;
    const now = performance.now();
    if (this.viewLost || (since !== undefined && now - since > this.opts.heartbeatTimeoutMs)) {
      if (!this.viewLost) this.membership.dropAll("connection_lost");
    } else {
      // A short outage: we heard nobody meanwhile, which says nothing about the peers.
      this.membership.refresh(now);
    }
    this.viewLost = false;
    this.lastTick = now;
    this.log.info({ node: this.self.node, server }, "nats transport reconnected");
    this.publishHeartbeat();
  }

  startTimers(): void {
    this.lastTick = performance.now();
    const { heartbeatIntervalMs, heartbeatTimeoutMs, probeIntervalMs } = this.opts;
    const every = (ms: number, fn: () => void) => {
      const t = setInterval(fn, ms);
      t.unref();
      this.timers.push(t);
    };
    // Whichever timer fires first after a freeze finds the stall before anything is sent.
    every(heartbeatIntervalMs, () => {
      this.checkStall();
      this.publishHeartbeat();
    });
    every(Math.max(5, Math.min(heartbeatIntervalMs, Math.floor(heartbeatTimeoutMs / 4))), () => this.check());
    if (probeIntervalMs > 0) {
      const prober = new Prober({
        nc: this.nc,
        subjects: this.subjects,
        membership: this.membership,
        timeoutMs: this.opts.probeTimeoutMs,
        maxMisses: this.opts.probeMisses,
        active: () => !this.isClosed() && this.disconnectedAt === undefined,
        alive: (peer, session) => this.onAlive(peer, session),
      });
      this.prober = prober;
      every(probeIntervalMs, () => prober.tick());
    }
  }

  /**
   * Whether this node was frozen (SIGSTOP, a long synchronous stretch) for longer than the
   * heartbeat timeout: then every peer has declared it down by now. It drops them all, takes a
   * new session (so no peer can take it for the member it declared down: it rejoins as a new
   * one) and ignores what they sent before they see the new session. Called first by every
   * timer and every inbound callback, since after a freeze either may run first.
   */
  private checkStall(): boolean {
    const now = performance.now();
    const gap = now - this.lastTick;
    if (gap <= this.opts.heartbeatTimeoutMs || !this.isOpen()) return false;
    this.lastTick = now;
    this.counters.stalls++;
    this.log.warn(
      { node: this.self.node, stalledMs: Math.round(gap) },
      "event loop stalled beyond the heartbeat timeout: rejoining under a new session",
    );
    const m = this.membership;
    for (const p of m.list()) this.stale.add(p.node);
    m.dropAll("connection_lost");
    m.session = (m.session + 1) % 0x7fffffff;
    this.hbBytes = encodeControl("hb", this.self, m.session);
    this.publishHeartbeat();
    return true;
  }

  /** Periodic view maintenance: self-stall, connection loss, silent peers. */
  private check(): void {
    if (this.isClosed()) return;
    if (this.checkStall()) return;
    const now = performance.now();
    this.lastTick = now;
    const timeout = this.opts.heartbeatTimeoutMs;
    if (this.disconnectedAt !== undefined) {
      if (!this.viewLost && now - this.disconnectedAt > timeout) {
        this.viewLost = true;
        this.membership.dropAll("connection_lost");
      }
      return;
    }
    // Expire in the check phase, after this loop iteration has read pending socket data: a
    // heartbeat waiting in the socket buffer must count before a peer is judged silent.
    setImmediate(() => {
      if (!this.isClosed() && this.disconnectedAt === undefined) {
        this.membership.expire(performance.now(), timeout);
      }
    });
  }

  private scheduleHeartbeat(): void {
    if (this.hbScheduled) return;
    this.hbScheduled = true;
    setImmediate(() => {
      this.hbScheduled = false;
      this.publishHeartbeat();
    });
  }

  publishHeartbeat(): void {
    if (!this.isOpen() || this.disconnectedAt !== undefined) return;
    try {
      this.nc.publish(this.subjects.heartbeat, this.hbBytes);
      this.counters.heartbeatsSent++;
    } catch (err) {
      this.log.debug({ err }, "heartbeat not sent");
    }
  }

  publish(subject: string, bytes: Uint8Array): void {
    try {
      this.nc.publish(subject, bytes);
      this.counters.framesSent++;
    } catch (err) {
      this.counters.framesDropped++;
      this.log.warn({ subject, size: bytes.byteLength, err }, "nats transport dropped a frame");
    }
  }

  private emit(what: string, fn: () => void): void {
    if (this.isClosed()) return;
    try {
      fn();
    } catch (err) {
      this.log.error({ err, node: this.self?.node }, `transport handler ${what} threw`);
    }
  }

  async shutdown(wasOpen: boolean): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    const nc = this.nc;
    if (wasOpen && !nc.isClosed()) {
      try {
        nc.publish(this.subjects.heartbeat, encodeControl("leave", this.self, this.membership.session));
      } catch (err) {
        this.log.debug({ err }, "leave not announced");
      }
    }
    await this.release();
  }

  async release(): Promise<void> {
    const nc = this.nc;
    this.statusIter?.stop?.();
    if (nc.isClosed()) return;
    for (const sub of this.subs) {
      try {
        sub.unsubscribe();
      } catch {
        // already gone with the connection
      }
    }
    this.subs = [];
    try {
      if (this.owned) await nc.drain();
      else await nc.flush();
    } catch (err) {
      this.log.debug({ err }, "nats connection did not close cleanly");
      if (this.owned) await nc.close().catch(() => {});
    }
  }
}
