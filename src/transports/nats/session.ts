/**
 * `NatsSession`: everything a `NatsTransport` holds while it is connected — the NATS connection,
 * its subscriptions, the membership view and its session number, the timers (heartbeat, view
 * maintenance, probes), the status watch and the stall check — created by `connect()` once the
 * connection is open, so none of it is ever half there. With `auth` every message out is sealed
 * and every message in opened (`./wire-auth.ts`) before anything reads it; what fails is counted
 * in `stats().authRejected`, logged at most once a second, and dropped. Imports the NATS client types, the
 * cluster `Transport` types, `src/logger.ts` and this folder.
 */
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { NodeIdentity, TransportHandlers } from "../../cluster/transport.js";
import type { Logger } from "../../logger.js";
import { connectionOptions, type NatsTransportStats } from "./connection.js";
import { type ControlMessage, decodeControl, encodeControl } from "./control.js";
import { clock, HeartbeatThread } from "./heartbeat-thread.js";
import { Membership } from "./membership.js";
import { nodeInboxPrefix } from "./nats-config.js";
import { isNatsConnection, type ResolvedNatsTransportOptions } from "./options.js";
import { Prober } from "./prober.js";
import { lastToken, Subjects } from "./subjects.js";
import { type AuthRejectKind, type Opened, SealKind, WireAuth } from "./wire-auth.js";

/** What `connect()` learnt about the other nodes' secret (see `NatsAuthOptions.joinCheckMs`). */
/** What `keyCheck` found: `theirs` is a key id, or `"none"`; `version`, a wire version other than this node's. */
export type KeyCheck = { ok: true } | { ok: false; theirs: string } | { ok: false; version: number };

const EMPTY = new Uint8Array(0);
/** A probe nonce longer than this is not one of ours: such a probe is not answered. */
const MAX_NONCE_BYTES = 32;

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
  /** The heartbeat as the heartbeat thread sends it while the event loop does not run. */
  private hbBusyBytes: Uint8Array;
  private hbScheduled = false;
  private disconnectedAt: number | undefined;
  private viewLost = false;
  private lastTick = performance.now();
  /**
   * Listening time (see `listenNow`): when the event loop last ran one of this session's
   * callbacks, how much time it spent not running beyond `deafAfterMs` at a stretch, and that
   * threshold (twice the maintenance period, the longest an idle loop normally goes unseen).
   */
  private loopAt = performance.now();
  private deafMs = 0;
  private readonly deafAfterMs: number;
  /** Publishes heartbeats while the event loop is busy (see `heartbeat-thread.ts`); absent when off. */
  private beats: HeartbeatThread | undefined;
  /** Wall-clock time of the last rejoin after a stall. */
  private rejoinedAt = Number.NEGATIVE_INFINITY;
  private warnedDuplicate = false;
  /**
   * Peers dropped when this node found itself frozen past the heartbeat timeout: frames from them
   * are stale (they declared this node down meanwhile) until they see its new session and are up
   * in its view again.
   */
  private readonly stale = new Set<string>();
  private lastRefusalLog = 0;
  private lastAuthLog = 0;
  private lastMismatchAnswer = 0;
  /** Present when the cluster authenticates its messages. */
  readonly auth: WireAuth | undefined;
  /**
   * A peer verified, a foreign key id heard (`"none"`: an unauthenticated peer) and a foreign wire
   * version, for `keyCheck`.
   */
  private verifiedPeer = false;
  private foreignKey: string | undefined;
  private foreignVersion: number | undefined;

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
    this.hbBusyBytes = encodeControl("hb", self, this.membership.session, true);
    this.deafAfterMs = 2 * checkPeriod(this.opts);
    if (this.opts.auth !== undefined) {
      this.auth = new WireAuth(self, this.opts.auth, 2 * this.opts.maxPeers);
      this.auth.session = this.membership.session;
    }
  }

  /**
   * With `auth`: waits up to `ms` for a heartbeat of another node. One that opens means this
   * node shares the cluster's secret (`ok` at once); if by then only foreign key ids (or
   * unauthenticated heartbeats) were heard, it does not (`theirs`); nobody heard is `ok` (alone).
   */
  async keyCheck(ms: number): Promise<KeyCheck> {
    const deadline = performance.now() + ms;
    while (!this.verifiedPeer && performance.now() < deadline && !this.isClosed()) {
      await new Promise((r) => setTimeout(r, Math.min(10, ms)));
    }
    if (this.verifiedPeer) return { ok: true };
    if (this.foreignVersion !== undefined) return { ok: false, version: this.foreignVersion };
    if (this.foreignKey === undefined) return { ok: true };
    return { ok: false, theirs: this.foreignKey };
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
    const auth = this.auth;
    if (auth !== undefined)
      bytes = auth.seal(SealKind.Direct, to, this.membership.get(to)!.incarnation, bytes);
    this.publish(subject, bytes);
  }

  /** Sends one frame to every other node of the cluster (one NATS publish). */
  broadcast(bytes: Uint8Array): void {
    const auth = this.auth;
    this.publish(
      this.subjects.broadcast(this.self.node),
      auth === undefined ? bytes : auth.seal(SealKind.Broadcast, "", 0, bytes),
    );
  }

  private isClosed(): boolean {
    return this.host.isClosed();
  }

  private isOpen(): boolean {
    return this.host.isOpen();
  }

  subscribe(): void {
    const { nc, subjects, self } = this;
    // Senders first heard from now on must have stamped their message after this; taken as the
    // subscriptions go out (not once the server confirmed them), so no genuine message is refused.
    this.auth?.listening();
    const frame = (kind: SealKind, from: string, data: Uint8Array) => {
      this.counters.framesReceived++;
      this.checkStall();
      if (this.stale.size > 0 && this.stale.has(from)) {
        this.counters.framesStale++;
        return;
      }
      const auth = this.auth;
      if (auth !== undefined) {
        const opened = auth.openPayload(kind, from, kind === SealKind.Direct ? self.node : "", data);
        if (typeof opened === "string") return this.authRefused(opened, from);
        data = opened;
      }
      this.emit("frame", () => this.handlers.frame(from, data));
    };
    this.subs.push(
      nc.subscribe(subjects.directInbox(self.node), {
        callback: (err, msg) => {
          if (!err && !this.isClosed()) frame(SealKind.Direct, lastToken(msg.subject), msg.data);
        },
      }),
      nc.subscribe(subjects.broadcastInbox(), {
        callback: (err, msg) => {
          if (err || this.isClosed()) return;
          const from = lastToken(msg.subject);
          if (from !== self.node) frame(SealKind.Broadcast, from, msg.data);
        },
      }),
      nc.subscribe(subjects.heartbeatInbox, {
        callback: (err, msg) => {
          if (!err && !this.isClosed()) this.onControl(lastToken(msg.subject), msg.data);
        },
      }),
      nc.subscribe(subjects.probe(self.node), {
        callback: (err, msg) => {
          if (err || this.isClosed()) return;
          // A frozen node answers only once it has taken its new session.
          this.checkStall();
          const auth = this.auth;
          if (auth === undefined) msg.respond(this.hbBytes);
          else if (msg.data.length > 0 && msg.data.length <= MAX_NONCE_BYTES) {
            msg.respond(auth.seal(SealKind.Pong, "", 0, this.hbBytes, msg.data));
          }
        },
      }),
    );
  }

  /** The body of a probe: a fresh nonce the answer must cover when answers are authenticated. */
  ping(): Uint8Array {
    if (this.auth === undefined) return EMPTY;
    const nonce = new Uint8Array(12);
    crypto.getRandomValues(nonce);
    return nonce;
  }

  /** A probe answer of `node`, opened and checked; undefined if it does not hold. */
  pong(node: string, sent: Uint8Array, answer: Uint8Array): ControlMessage | undefined {
    let data = answer;
    let opened: Opened | undefined;
    if (this.auth !== undefined) {
      const r = this.auth.open(SealKind.Pong, node, "", answer, sent);
      if (typeof r === "string") {
        this.authRefused(r, node);
        return undefined;
      }
      opened = r;
      data = r.payload;
    }
    const msg = decodeControl(data);
    return msg !== undefined && this.vouched(node, msg, opened) ? msg : undefined;
  }

  /**
   * Whether a control message says what its envelope does: the sender token of the subject,
   * and with authentication the incarnation and session of the sealed header. Counted if not.
   */
  private vouched(from: string, msg: ControlMessage, opened: Opened | undefined): boolean {
    if (msg.node !== from) {
      this.refused("control message naming another node than its sender", from);
      return false;
    }
    if (opened !== undefined && (opened.incarnation !== msg.incarnation || opened.session !== msg.session)) {
      this.refused("control message whose identity differs from its seal", from);
      return false;
    }
    return true;
  }

  /** Counts a message that failed authentication; warns at most once a second. */
  private authRefused(kind: AuthRejectKind, from: string): void {
    const n = ++this.counters.authRejected[kind];
    const now = performance.now();
    if (now - this.lastAuthLog < 1000) return;
    this.lastAuthLog = now;
    this.log.warn(
      { node: this.self.node, peer: from.slice(0, 64), kind, rejected: n },
      "nats transport dropped a message that failed authentication",
    );
  }

  private onControl(from: string, data: Uint8Array): void {
    this.checkStall();
    const opened = this.openControl(from, data);
    if (opened === null) return;
    const msg = decodeControl(opened === undefined ? data : opened.payload);
    if (!msg) {
      this.refused("malformed control message", from);
      return;
    }
    if (!this.vouched(from, msg, opened)) return;
    if (from !== this.self.node) this.verifiedPeer = true;
    const peer: NodeIdentity = { cluster: this.self.cluster, node: msg.node, incarnation: msg.incarnation };
    if (msg.kind === "leave") {
      this.membership.left(peer, msg.session);
      return;
    }
    this.onAlive(peer, msg.session, msg.busy);
  }

  /**
   * Opens a heartbeat or leave of `from`: `undefined` without authentication (read as is), the
   * opened message, or `null` when it failed (counted). A heartbeat under another key id, or
   * none where one is expected (and the other way round), is also evidence for `keyCheck`, and
   * answered with a heartbeat of this node, at most every 100 ms, so that a node joining with
   * the wrong secret learns it within a round trip.
   */
  private openControl(from: string, data: Uint8Array): Opened | undefined | null {
    const auth = this.auth;
    const sealedKind = WireAuth.kindOf(data);
    if (auth === undefined) {
      const sealed = sealedKind !== undefined || WireAuth.otherVersionIn(data) !== undefined;
      if (!sealed || from === this.self.node) return undefined;
      this.mismatch(from, "authenticated");
      this.refused("authenticated control message (set auth to join that cluster)", from);
      return null;
    }
    if (sealedKind !== SealKind.Heartbeat && sealedKind !== SealKind.Leave) {
      const version = WireAuth.otherVersionIn(data);
      if (version !== undefined) {
        if (from !== this.self.node) this.mismatch(from, undefined, version);
        this.authRefused("version", from);
        return null;
      }
      if (from !== this.self.node && sealedKind === undefined) this.mismatch(from, "none");
      this.authRefused("malformed", from);
      return null;
    }
    const opened = auth.open(sealedKind, from, "", data);
    if (typeof opened === "string") {
      if (opened === "key" && from !== this.self.node) {
        this.mismatch(from, WireAuth.keyIdIn(data)!.toString(16).padStart(8, "0"));
      }
      this.authRefused(opened, from);
      return null;
    }
    return opened;
  }

  /** A peer under another key (`theirs`) or wire version: evidence for `keyCheck`, answered. */
  private mismatch(from: string, theirs: string | undefined, version?: number): void {
    if (this.membership.has(from)) return;
    if (theirs !== undefined) this.foreignKey ??= theirs;
    if (version !== undefined) this.foreignVersion ??= version;
    const now = performance.now();
    if (now - this.lastMismatchAnswer < 100) return;
    this.lastMismatchAnswer = now;
    this.scheduleHeartbeat();
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

  private onAlive(peer: NodeIdentity, session: number, busy = false): void {
    const outcome = this.membership.seen(peer, this.listenNow(), session, busy);
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
    if (this.beats !== undefined) this.beats.offline = true;
    this.log.warn({ node: this.self.node }, "nats transport lost its NATS connection; reconnecting");
  }

  private onReconnect(server: string): void {
    this.counters.reconnects++;
    const since = this.disconnectedAt;
    this.disconnectedAt = undefined;
    if (this.beats !== undefined) this.beats.offline = false;
    const now = performance.now();
    if (this.viewLost || (since !== undefined && now - since > this.opts.heartbeatTimeoutMs)) {
      if (!this.viewLost) this.membership.dropAll("connection_lost");
    } else {
      // A short outage: we heard nobody meanwhile, which says nothing about the peers.
      this.membership.refresh(this.listenNow());
    }
    this.viewLost = false;
    this.lastTick = now;
    this.log.info({ node: this.self.node, server }, "nats transport reconnected");
    this.publishHeartbeat();
  }

  startTimers(): void {
    this.lastTick = performance.now();
    const { heartbeatIntervalMs, probeIntervalMs } = this.opts;
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
    every(checkPeriod(this.opts), () => this.check());
    if (probeIntervalMs > 0) {
      const prober = new Prober({
        nc: this.nc,
        subjects: this.subjects,
        membership: this.membership,
        timeoutMs: this.opts.probeTimeoutMs,
        maxMisses: this.opts.probeMisses,
        maxBusyMs: this.opts.maxBusyMs,
        now: () => this.listenNow(),
        active: () => !this.isClosed() && this.disconnectedAt === undefined,
        alive: (peer, session) => this.onAlive(peer, session),
        ping: () => this.ping(),
        pong: (node, sent, answer) => this.pong(node, sent, answer),
      });
      this.prober = prober;
      every(probeIntervalMs, () => prober.tick());
    }
  }

  /**
   * Whether this node was frozen (SIGSTOP) for longer than the heartbeat timeout: then every peer
   * has declared it down by now. It drops them all, takes a new session (so no peer can take it
   * for the member it declared down: it rejoins as a new one) and ignores what they sent before
   * they see the new session. Called first by every timer and every inbound callback, since after
   * a freeze either may run first.
   *
   * A long stretch of the event loop alone is not a freeze when the heartbeat thread beat all
   * along meanwhile: the peers kept hearing this node, so it keeps its view (counted in
   * `stats().busy`). A SIGSTOP freezes that thread too, which it reports (`frozeAt`), so a freeze
   * is caught even when this loop's own gap stayed under the timeout.
   */
  private checkStall(): boolean {
    const now = performance.now();
    this.listen(now);
    const gap = now - this.lastTick;
    const beats = this.beats;
    const froze = beats !== undefined && beats.frozeAt > this.rejoinedAt;
    if ((gap <= this.opts.heartbeatTimeoutMs && !froze) || !this.isOpen()) return false;
    this.lastTick = now;
    if (!froze && beats !== undefined && beats.covered(clock() - gap)) {
      this.counters.busy++;
      beats.tick();
      this.log.info(
        { node: this.self.node, busyMs: Math.round(gap) },
        "event loop was busy beyond the heartbeat timeout; the heartbeat thread kept this node up",
      );
      return false;
    }
    this.counters.stalls++;
    this.log.warn(
      { node: this.self.node, stalledMs: Math.round(gap) },
      "event loop stalled beyond the heartbeat timeout: rejoining under a new session",
    );
    const m = this.membership;
    for (const p of m.list()) this.stale.add(p.node);
    m.dropAll("connection_lost");
    m.session = (m.session + 1) % 0x7fffffff;
    if (this.auth !== undefined) this.auth.session = m.session;
    this.hbBytes = encodeControl("hb", this.self, m.session);
    this.hbBusyBytes = encodeControl("hb", this.self, m.session, true);
    this.rejoinedAt = clock();
    beats?.beat(this.hbBytes, this.hbBusyBytes, this.rejoinedAt, this.auth?.forThread());
    this.publishHeartbeat();
    return true;
  }

  /**
   * Takes the heartbeat thread started for this session (see `startHeartbeatThread`) and has it
   * beat from now on: once the session has subscribed, so that no peer hears a node before its
   * probes can find it.
   */
  adoptHeartbeatThread(t: HeartbeatThread): void {
    this.beats = t;
    t.tick();
    t.beat(this.hbBytes, this.hbBusyBytes, clock(), this.auth?.forThread());
  }

  /**
   * The clock the membership view runs on: time this node spent listening. A stretch in which
   * its event loop did not run (beyond `deafAfterMs`) is left out: the heartbeats its peers sent
   * meanwhile wait unread in the socket, so their silence then says nothing about them. Without
   * this a node whose loop was blocked for longer than the heartbeat timeout would, on thawing,
   * time out every peer whose heartbeats it had not read yet.
   */
  private listenNow(): number {
    const now = performance.now();
    this.listen(now);
    return now - this.deafMs;
  }

  /** The event loop runs this session's code at `now` (performance clock). */
  private listen(now: number): void {
    const gap = now - this.loopAt;
    if (gap > this.deafAfterMs) this.deafMs += gap - this.deafAfterMs;
    this.loopAt = now;
    this.beats?.tick(performance.timeOrigin + now);
  }

  /**
   * Seals with `secret` from now on and also opens what `acceptSecrets` sealed; the heartbeat
   * thread too (`NatsTransport.rotateSecrets`).
   */
  rotateSecrets(secret: Uint8Array, acceptSecrets: readonly Uint8Array[]): void {
    const auth = this.auth;
    if (auth === undefined) return;
    auth.setSecrets(secret, acceptSecrets);
    this.beats?.reseal(auth.forThread());
  }

  /** Whether the heartbeat thread runs. */
  get heartbeatThread(): boolean {
    return this.beats !== undefined;
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
        this.membership.expire(this.listenNow(), timeout);
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
      this.nc.publish(
        this.subjects.heartbeat(this.self.node),
        this.control(SealKind.Heartbeat, this.hbBytes),
      );
      this.counters.heartbeatsSent++;
    } catch (err) {
      this.log.debug({ err }, "heartbeat not sent");
    }
  }

  /** A control message as it goes out: sealed afresh (a new sequence number and time) with `auth`. */
  private control(kind: SealKind, bytes: Uint8Array): Uint8Array {
    return this.auth === undefined ? bytes : this.auth.seal(kind, "", 0, bytes);
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
    // Before the leave: a heartbeat after it must not bring this node back.
    await this.stopHeartbeatThread();
    const nc = this.nc;
    if (wasOpen && !nc.isClosed()) {
      try {
        const leave = encodeControl("leave", this.self, this.membership.session);
        nc.publish(this.subjects.heartbeat(this.self.node), this.control(SealKind.Leave, leave));
      } catch (err) {
        this.log.debug({ err }, "leave not announced");
      }
    }
    await this.release();
  }

  private async stopHeartbeatThread(): Promise<void> {
    const beats = this.beats;
    this.beats = undefined;
    await beats?.stop();
  }

  async release(): Promise<void> {
    await this.stopHeartbeatThread();
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

/** The period of a session's view maintenance (`NatsSession.check`). */
function checkPeriod(o: ResolvedNatsTransportOptions): number {
  return Math.max(5, Math.min(o.heartbeatIntervalMs, Math.floor(o.heartbeatTimeoutMs / 4)));
}

/**
 * Starts the heartbeat thread of a node about to join as `self`, connected but not beating yet
 * (see `NatsSession.adoptHeartbeatThread`), or resolves `undefined` when it does not run: off, or
 * an existing connection (a connection cannot cross threads). With `auth` it seals its heartbeats
 * with what the session hands it (`WireAuth.forThread`). Its connection has the session's options, so both
 * reconnect and fail over alike. Started beside the session's own connection: a worker takes
 * some 100 ms to boot and load the client, more on a loaded machine.
 */
export function startHeartbeatThread(
  o: ResolvedNatsTransportOptions,
  self: NodeIdentity,
): Promise<HeartbeatThread | undefined> {
  if (!o.heartbeatThread || isNatsConnection(o.connection)) return Promise.resolve(undefined);
  const options = connectionOptions(
    o.connection,
    self,
    nodeInboxPrefix(o.subjectPrefix, self.cluster, self.node),
  );
  return HeartbeatThread.start({
    connection: { ...options, name: `${options.name} heartbeat` },
    subject: new Subjects(o.subjectPrefix, self.cluster).heartbeat(self.node),
    intervalMs: o.heartbeatIntervalMs,
    busyAfterMs: 2 * checkPeriod(o),
    timeoutMs: o.heartbeatTimeoutMs,
    maxBusyMs: o.maxBusyMs,
    logger: o.logger,
  });
}
