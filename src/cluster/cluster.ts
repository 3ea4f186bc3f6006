/**
 * `Cluster`: joins a local `Node` to a named cluster over a `Transport` and makes remote pids
 * behave like local ones. It is the node's `RemoteRouter`: every operation on a pid of another
 * node (send, link, monitor, exit, call replies) becomes a frame, batched per destination; every
 * incoming frame is decoded, validated and handed to the node's `remote*` methods. It keeps the
 * membership view and, when a node goes down (or this node leaves), calls `node.nodeDown`, which
 * fires every link and monitor to that node with `noconnection` and fails pending calls at once.
 *
 * ```ts
 * const network = new MemoryNetwork();
 * const a = await Cluster.join({ node: new Node({ name: "a" }), cluster: "demo", transport: network.transport() });
 * const b = await Cluster.join({ node: new Node({ name: "b" }), cluster: "demo", transport: network.transport() });
 * b.registerBehaviour("echo", () => b.node.spawn(async (ctx) => { ... }));
 * const pid = await a.spawnOn("b", "echo", []);
 * a.node.send(pid, "hello");            // location-transparent
 * await a.leave();                      // b sees nodedown with reason "leave"
 * ```
 *
 * Imports the root `logger`, `process`, its own `codec`, `frames`, `inbound`, `membership`, `options`,
 * `outbox`, `spawner`, `stats`, `errors`, `transport`.
 */
import type { Logger } from "../logger.js";
import { formatReason } from "../process/exit-reason.js";
import type { Node } from "../process/node.js";
import { Pid, type Ref } from "../process/pid.js";
import type { RemoteRouter } from "../process/remote.js";
import { Codec } from "./codec.js";
import { AlreadyJoinedError, ClusterClosedError } from "./errors.js";
import { type Frame, FrameTag, PROTOCOL_VERSION, validateFrame } from "./frames.js";
import { dispatchFrame, type InboundContext } from "./inbound.js";
import { type Member, Membership, type MembershipEvents } from "./membership.js";
import { type ClusterOptions, parseClusterOptions } from "./options.js";
import { Outbox } from "./outbox.js";
import { Spawner, type StartFunction } from "./spawner.js";
import { type ClusterStats, newStats, type RejectKind } from "./stats.js";
import type { NodeIdentity, PeerDownReason, Transport, TransportHandlers } from "./transport.js";

/** Options of `spawnOn`. */
export interface SpawnOnOptions {
  /** Give up after this many milliseconds (`SpawnTimeoutError`). @default the cluster's `spawnTimeoutMs` */
  timeoutMs?: number;
}

/**
 * A node's membership in a cluster. Create it with `Cluster.join`.
 * @category cluster
 */
export class Cluster implements RemoteRouter {
  /** The local runtime this cluster distributes. */
  readonly node: Node;
  /** Cluster name. */
  readonly name: string;
  /** This node's identity (name and incarnation) as peers see it. */
  readonly self: NodeIdentity;
  readonly transport: Transport;

  private readonly codec: Codec;
  private readonly outbox: Outbox;
  private readonly membership: Membership;
  private readonly spawner: Spawner;
  private readonly logger: Logger;
  private readonly counters: ClusterStats = newStats();
  private readonly spawnTimeoutMs: number;
  /** Monitors made by name from other nodes: ref key → the pid the name resolved to. */
  private readonly nameMonitors = new Map<string, { watcher: Pid; pid: Pid }>();
  private readonly peerVersions = new Map<string, number>();
  /** Incarnation whose `hello` opened the current session with each peer. */
  private readonly helloSeen = new Map<string, number>();
  private readonly inbound: InboundContext;
  private lastRejectLog = 0;
  private closed = false;

  private constructor(options: ClusterOptions) {
    const o = parseClusterOptions(options);
    this.node = o.node;
    this.name = o.cluster;
    this.transport = o.transport;
    this.logger = o.logger;
    this.spawnTimeoutMs = o.spawnTimeoutMs;
    this.self = { cluster: o.cluster, node: o.node.name, incarnation: o.node.creation };
    this.codec = new Codec(o.maxFrameBytes);
    this.outbox = new Outbox(o.transport, o.maxFrameBytes, this.counters, o.batching);
    this.membership = new Membership(o.node, this.self, o.logger);
    this.spawner = new Spawner({
      node: o.node,
      isConnected: (n) => this.membership.has(n),
      sendFrame: (to, frame, what) => this.outbox.push(to, this.codec.encode(frame, what)),
      checkSerialisable: (value, what) => void this.codec.encode(value, what),
    });
    this.inbound = {
      node: o.node,
      logger: o.logger,
      nameMonitors: this.nameMonitors,
      peerVersions: this.peerVersions,
      spawner: this.spawner,
      hello: (from, incarnation, answer) => this.onHello(from, incarnation, answer),
    };
  }

  /**
   * Joins `options.node` to the cluster `options.cluster` over `options.transport`: installs the
   * cluster as the node's router and resolves once frames can flow. Throws `InvalidOptionError`,
   * or `AlreadyJoinedError` if the node is in a cluster already.
   */
  static async join(options: ClusterOptions): Promise<Cluster> {
    const cluster = new Cluster(options);
    const node = cluster.node;
    if (node.router !== null) throw new AlreadyJoinedError(node.name);
    node.router = cluster;
    try {
      await cluster.transport.connect(cluster.self, cluster.handlers, node);
    } catch (e) {
      if (node.router === cluster) node.router = null;
      throw e;
    }
    return cluster;
  }

  // ---------------------------------------------------------------- public API

  /** Names of the connected peers (not this node), sorted. Erlang's `nodes()`. */
  nodes(): string[] {
    return this.membership.names();
  }

  /** This node and its connected peers, with incarnations. */
  members(): Member[] {
    return this.membership.members();
  }

  /** Whether `node` is this node or a connected peer. */
  isMember(node: string): boolean {
    return node === this.self.node || this.membership.has(node);
  }

  /** Subscribes to `nodeup` / `nodedown`; returns the unsubscribe function. */
  on<K extends keyof MembershipEvents>(event: K, listener: (event: MembershipEvents[K]) => void): () => void {
    return this.membership.on(event, listener);
  }

  /** Sends `NodeUpMessage` / `NodeDownMessage` to a local process until it exits. */
  monitorNodes(pid: Pid): void {
    this.membership.watch(pid);
  }

  demonitorNodes(pid: Pid): void {
    this.membership.unwatch(pid);
  }

  /** Makes `name` spawnable on this node by `spawnOn`. Throws `BehaviourTakenError`. */
  registerBehaviour(name: string, start: StartFunction): void {
    this.spawner.register(name, start);
  }

  unregisterBehaviour(name: string): boolean {
    return this.spawner.unregister(name);
  }

  /** Names of the behaviours spawnable on this node. */
  behaviours(): string[] {
    return this.spawner.registered();
  }

  /**
   * Starts `behaviour` on `node` (this node included) with `args` and resolves with the pid.
   * Rejects with `UnknownBehaviourError`, `UnserialisableError` (arguments that cannot travel),
   * `RemoteSpawnError` (the start function failed), `NoConnectionError` (node absent or lost),
   * `SpawnTimeoutError`, or `ClusterClosedError` after `leave`.
   */
  spawnOn(node: string, behaviour: string, args: unknown[] = [], options: SpawnOnOptions = {}): Promise<Pid> {
    if (this.closed) return Promise.reject(new ClusterClosedError(this.name));
    return this.spawner.spawnOn(node, behaviour, args, options.timeoutMs ?? this.spawnTimeoutMs);
  }

  /** A snapshot of the counters. */
  get stats(): ClusterStats {
    return { ...this.counters, rejected: { ...this.counters.rejected } };
  }

  /** Whether `leave` was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Leaves gracefully: queued frames are sent, peers see `nodedown` with reason `leave`, and on
   * this node every peer goes down with reason `leave` (links and monitors fire `noconnection`).
   * The node is no longer distributed afterwards. Idempotent.
   */
  async leave(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.outbox.flush();
    try {
      await this.transport.close();
    } finally {
      for (const name of this.membership.names()) this.peerGone(this.membership.get(name)!, "leave");
      if (this.node.router === this) this.node.router = null;
    }
  }

  // ---------------------------------------------------------------- RemoteRouter (outbound)

  /** @internal */
  send(to: Pid, msg: unknown): void {
    this.outbox.push(to.node, this.codec.encode([FrameTag.Send, to, msg], "message"));
  }

  /** @internal */
  sendNamed(node: string, name: string, msg: unknown): void {
    this.outbox.push(node, this.codec.encode([FrameTag.SendNamed, name, msg], "message"));
  }

  /** @internal */
  link(from: Pid, to: Pid): void {
    if (!this.membership.has(to.node)) {
      queueMicrotask(() => this.node.remoteExit(to, from, "noconnection", true));
      return;
    }
    this.signal(to.node, [FrameTag.Link, from, to]);
  }

  /** @internal */
  unlink(from: Pid, to: Pid): void {
    this.signal(to.node, [FrameTag.Unlink, from, to]);
  }

  /** @internal */
  monitor(watcher: Pid, target: Pid, ref: Ref): void {
    if (!this.membership.has(target.node)) {
      queueMicrotask(() => this.node.remoteDown(watcher, ref, target, "noconnection"));
      return;
    }
    this.signal(target.node, [FrameTag.Monitor, watcher, target, ref]);
  }

  /** @internal */
  monitorName(watcher: Pid, node: string, name: string, ref: Ref): void {
    if (!this.membership.has(node)) {
      const placeholder = new Pid(node, 0, 0);
      queueMicrotask(() => this.node.remoteDown(watcher, ref, placeholder, "noconnection"));
      return;
    }
    this.signal(node, [FrameTag.MonitorName, watcher, name, ref]);
  }

  /** @internal */
  demonitor(watcher: Pid, target: Pid, ref: Ref): void {
    this.signal(target.node, [FrameTag.Demonitor, watcher, target, ref]);
  }

  /** @internal */
  exit(from: Pid, to: Pid, reason: unknown, viaLink: boolean): void {
    this.signal(
      to.node,
      [FrameTag.Exit, from, to, reason, viaLink],
      [FrameTag.Exit, from, to, formatReason(reason), viaLink],
    );
  }

  /** @internal */
  down(watcher: Pid, ref: Ref, pid: Pid, reason: unknown): void {
    if (this.nameMonitors.size > 0) this.nameMonitors.delete(ref.key);
    this.signal(
      watcher.node,
      [FrameTag.Down, watcher, ref, pid, reason],
      [FrameTag.Down, watcher, ref, pid, formatReason(reason)],
    );
  }

  /**
   * A reply to a remote caller. A value that cannot travel fails the caller's call (a `DOWN` for
   * the call's ref carrying the `UnserialisableError`) instead of leaving it to time out.
   * @internal
   */
  reply(to: Pid, ref: Ref, value: unknown): void {
    let bytes: Uint8Array;
    try {
      bytes = this.codec.encode([FrameTag.Reply, to, ref, value], "reply");
    } catch (e) {
      this.counters.unserialisable++;
      const me = new Pid(this.node.name, 0, this.node.creation);
      this.signal(to.node, [FrameTag.Down, to, ref, me, e], [FrameTag.Down, to, ref, me, formatReason(e)]);
      return;
    }
    this.outbox.push(to.node, bytes);
  }

  /** @internal */
  isConnected(node: string): boolean {
    return this.membership.has(node);
  }

  /** Queues a system frame; if it does not encode, sends `fallback` (reason as text) or drops it. */
  private signal(to: string, frame: Frame, fallback?: Frame): void {
    let bytes: Uint8Array;
    try {
      bytes = this.codec.encode(frame, "signal");
    } catch (e) {
      this.counters.unserialisable++;
      this.logger.warn(
        { node: this.self.node, to, err: e },
        "a signal did not encode; sent with its reason as text",
      );
      if (fallback === undefined) return;
      try {
        bytes = this.codec.encode(fallback, "signal");
      } catch {
        return;
      }
    }
    this.outbox.push(to, bytes);
  }

  // ---------------------------------------------------------------- transport handlers (inbound)

  private readonly handlers: TransportHandlers = {
    frame: (from, bytes) => this.onFrames(from, bytes),
    peerUp: (peer) => this.onPeerUp(peer),
    peerDown: (peer, reason) => this.onPeerDown(peer, reason),
  };

  private onFrames(from: string, bytes: Uint8Array): void {
    if (this.closed) return;
    const c = this.counters;
    c.messagesIn++;
    c.bytesIn += bytes.length;
    const { values, problem, detail } = this.codec.decode(bytes);
    for (let i = 0; i < values.length; i++) {
      const frame = validateFrame(values[i]);
      if (typeof frame === "string") {
        this.reject("invalid", from, frame);
        continue;
      }
      try {
        const fault = dispatchFrame(this.inbound, from, frame);
        if (fault !== null) this.reject("misaddressed", from, fault);
        else c.framesIn++;
      } catch (e) {
        this.logger.error({ node: this.self.node, from, err: e }, "handling a frame failed");
      }
    }
    if (problem !== null) this.reject(problem, from, detail ?? "");
  }

  private reject(kind: RejectKind, from: string, detail: string): void {
    this.counters.rejected[kind]++;
    const now = Date.now();
    if (now - this.lastRejectLog < 1000) return;
    this.lastRejectLog = now;
    this.logger.warn(
      { node: this.self.node, from, kind, detail, rejected: this.counters.rejected[kind] },
      "rejected an incoming frame",
    );
  }

  private onPeerUp(peer: NodeIdentity, answer = false): void {
    if (this.closed || peer.cluster !== this.name || peer.node === this.self.node) return;
    const known = this.membership.get(peer.node);
    if (known !== undefined) {
      if (known.incarnation === peer.incarnation) return;
      // Restarted under the same name before we saw it go: the old incarnation is gone.
      this.peerGone(known, "connection_lost");
    }
    this.membership.add(peer);
    this.signal(peer.node, [FrameTag.Hello, PROTOCOL_VERSION, this.self.incarnation, answer]);
  }

  /**
   * A peer sends `hello` once per session, when it sees this node come up. A second one from the
   * same incarnation means the peer dropped this node and took it back (its event loop stalled
   * past the timeout, or it lost its connection) while this node never saw the peer go: the
   * session is reset here too, so that links and monitors fire on both sides, not only on one.
   */
  private onHello(from: string, incarnation: number, answer: boolean): void {
    if (this.closed) return;
    const known = this.membership.get(from);
    if (
      !answer &&
      known !== undefined &&
      known.incarnation === incarnation &&
      this.helloSeen.get(from) === incarnation
    ) {
      this.peerGone(known, "connection_lost");
      this.onPeerUp({ cluster: this.name, node: from, incarnation }, true);
    }
    this.helloSeen.set(from, incarnation);
  }

  private onPeerDown(peer: NodeIdentity, reason: PeerDownReason): void {
    if (this.closed) return;
    const known = this.membership.get(peer.node);
    if (known === undefined || known.incarnation !== peer.incarnation) return;
    this.peerGone(known, reason);
  }

  private peerGone(member: Member, reason: PeerDownReason): void {
    const name = member.node;
    this.outbox.forget(name);
    this.peerVersions.delete(name);
    if (this.helloSeen.get(name) === member.incarnation) this.helloSeen.delete(name);
    this.membership.remove(member);
    if (this.nameMonitors.size > 0) {
      for (const [k, m] of this.nameMonitors) if (m.watcher.node === name) this.nameMonitors.delete(k);
    }
    this.spawner.nodeDown(name);
    this.node.nodeDown(name);
    this.membership.announceDown(member, reason);
  }
}
