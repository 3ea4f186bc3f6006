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
 * The cluster is the API and the outbound side (the `RemoteRouter`); incoming wire messages are
 * `inbound.ts` (decode, validate, dispatch to the node), and what a peer coming up, saying `hello`
 * or going down does is `sessions.ts`.
 *
 * Imports the root `logger`, `process`, its own `codec`, `frames`, `inbound`, `membership`, `options`,
 * `outbox`, `sessions`, `spawner`, `stats`, `errors`, `transport`.
 */
import type { Logger } from "../logger.js";
import { formatReason } from "../process/exit-reason.js";
import type { From, Node } from "../process/node.js";
import { Pid, type Ref } from "../process/pid.js";
import { Codec } from "./codec.js";
import { AlreadyJoinedError, ClusterClosedError } from "./errors.js";
import { CALL_FRAMES_VERSION, type Frame, FrameTag } from "./frames.js";
import { FrameIntake } from "./inbound.js";
import { type Member, Membership, type MembershipEvents } from "./membership.js";
import { type ClusterOptions, parseClusterOptions } from "./options.js";
import { Outbox } from "./outbox.js";
import { PeerSessions } from "./sessions.js";
import { Spawner, type StartFunction } from "./spawner.js";
import { type ClusterStats, newStats } from "./stats.js";
import type { NodeIdentity, Transport, TransportHandlers } from "./transport.js";

/** Options of `spawnOn`. */
export interface SpawnOnOptions {
  /** Give up after this many milliseconds (`SpawnTimeoutError`). @default the cluster's `spawnTimeoutMs` */
  timeoutMs?: number | undefined;
}

// No `implements RemoteRouter`: its methods are internal, stripped from the published types, and
// the clause would then not hold there. `node.router = cluster` in `join` checks the shape.
/**
 * A node's membership in a cluster. Create it with `Cluster.join`.
 * @category cluster
 */
export class Cluster {
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
  private readonly sessions: PeerSessions;
  private readonly intake: FrameIntake;
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
    this.sessions = new PeerSessions({
      node: o.node,
      self: this.self,
      membership: this.membership,
      outbox: this.outbox,
      spawner: this.spawner,
      peerVersions: this.peerVersions,
      nameMonitors: this.nameMonitors,
      signal: (to, frame) => this.signal(to, frame),
    });
    const inbound = {
      node: o.node,
      logger: o.logger,
      nameMonitors: this.nameMonitors,
      peerVersions: this.peerVersions,
      spawner: this.spawner,
      hello: (from: string, incarnation: number, answer: boolean) =>
        this.closed || this.sessions.hello(from, incarnation, answer),
    };
    this.intake = new FrameIntake(inbound, this.codec, this.counters);
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
      for (const name of this.membership.names()) this.sessions.gone(this.membership.get(name)!, "leave");
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

  /**
   * A call to a process of another node: one `Call` frame (monitor and message) to a peer that
   * speaks it, else `monitor` then `send`. @internal
   */
  call(target: Pid, from: From, msg: unknown): void {
    if (!this.speaksCalls(target, from)) {
      this.monitor(from.pid, target, from.ref);
      this.send(target, msg);
      return;
    }
    const caller = from.pid;
    const frame = [
      FrameTag.Call,
      caller.id,
      caller.creation,
      target.id,
      target.creation,
      from.refId,
      msg,
    ] as const;
    this.outbox.push(target.node, this.codec.encode(frame, "message"));
  }

  /** A `[tag, from, name, arg]` call: one `GenCall` frame, else as `call`. @internal */
  callTagged(target: Pid, from: From, tag: string, name: string, arg: unknown): void {
    if (!this.speaksCalls(target, from)) {
      this.monitor(from.pid, target, from.ref);
      this.send(target, [tag, from, name, arg]);
      return;
    }
    const caller = from.pid;
    const frame = [
      FrameTag.GenCall,
      caller.id,
      caller.creation,
      target.id,
      target.creation,
      from.refId,
      tag,
      name,
      arg,
    ] as const;
    this.outbox.push(target.node, this.codec.encode(frame, "message"));
  }

  /**
   * Whether a call can go as one frame: the peer announced the call frames, and the caller is of
   * this node (the frame names it, and the ref, by number only: a `From`'s ref is of its pid's
   * node and incarnation).
   */
  private speaksCalls(target: Pid, from: From): boolean {
    const version = this.peerVersions.get(target.node);
    return version !== undefined && version >= CALL_FRAMES_VERSION && from.pid.node === this.self.node;
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
    // The answer to a `Call` ends its monitor here, and says so (a `CallReply`): no demonitor follows.
    const ends = this.node.remoteCallEnded(ref) && ref.node === to.node && ref.creation === to.creation;
    let bytes: Uint8Array;
    try {
      bytes = this.codec.encode(
        ends ? [FrameTag.CallReply, to.id, to.creation, ref.id, value] : [FrameTag.Reply, to, ref, value],
        "reply",
      );
    } catch (e) {
      this.counters.unserialisable++;
      const me = new Pid(this.node.name, 0, this.node.creation);
      this.signal(to.node, [FrameTag.Down, to, ref, me, e], [FrameTag.Down, to, ref, me, formatReason(e)]);
      return;
    }
    this.outbox.push(to.node, bytes);
  }

  /** @internal */
  lookup(from: Pid, node: string, target: Pid | string, ref: Ref): void {
    this.signal(node, [FrameTag.Lookup, from, ref, target]);
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
    frame: (from, bytes) => {
      if (!this.closed) this.intake.receive(from, bytes);
    },
    peerUp: (peer) => {
      if (!this.closed) this.sessions.up(peer);
    },
    peerDown: (peer, reason) => {
      if (!this.closed) this.sessions.down(peer, reason);
    },
  };
}
