/**
 * The membership view of one node: which nodes of the cluster are connected now, with which
 * incarnation and since when; nodeup / nodedown events to listeners (`cluster.on`) and to
 * processes that asked for them (`cluster.monitorNodes`, OTP's `net_kernel:monitor_nodes`).
 * Imports the root `logger`, `process` (node, pid), its own `transport`.
 */
import type { Logger } from "../logger.js";
import type { Node } from "../process/node.js";
import type { Pid } from "../process/pid.js";
import type { NodeIdentity, PeerDownReason } from "./transport.js";

/** A connected member of the cluster as this node sees it. */
export interface Member {
  /** Node name. */
  node: string;
  /** Incarnation (boot id) of that node; its pids carry it as `creation`. */
  incarnation: number;
  /** True for this node itself. */
  self: boolean;
  /** `Date.now()` when this node saw it come up. */
  since: number;
}

/** A node came up. */
export interface NodeUpEvent {
  node: string;
  incarnation: number;
}

/** A node went down: it left (`leave`), stopped answering (`timeout`) or the link broke (`connection_lost`). */
export interface NodeDownEvent {
  node: string;
  incarnation: number;
  reason: PeerDownReason;
}

/** `{nodeup, Node}`: sent to processes that called `cluster.monitorNodes`. */
export class NodeUpMessage {
  readonly type = "nodeup" as const;
  constructor(
    readonly node: string,
    readonly incarnation: number,
  ) {}
}

/** `{nodedown, Node}`, with the reason. */
export class NodeDownMessage {
  readonly type = "nodedown" as const;
  constructor(
    readonly node: string,
    readonly incarnation: number,
    readonly reason: PeerDownReason,
  ) {}
}

/** The membership events and their payloads. */
export interface MembershipEvents {
  nodeup: NodeUpEvent;
  nodedown: NodeDownEvent;
}

type Listener<E> = (event: E) => void;

export class Membership {
  private readonly peers = new Map<string, Member>();
  private readonly listeners: { [K in keyof MembershipEvents]: Set<Listener<MembershipEvents[K]>> } = {
    nodeup: new Set(),
    nodedown: new Set(),
  };
  private readonly watchers = new Map<string, Pid>();
  private readonly selfMember: Member;

  constructor(
    private readonly node: Node,
    self: NodeIdentity,
    private readonly logger: Logger,
  ) {
    this.selfMember = { node: self.node, incarnation: self.incarnation, self: true, since: Date.now() };
  }

  has(node: string): boolean {
    return this.peers.has(node);
  }

  get(node: string): Member | undefined {
    return this.peers.get(node);
  }

  /** Connected peers' names, sorted. */
  names(): string[] {
    return [...this.peers.keys()].sort();
  }

  /** This node and its connected peers, sorted by name. */
  members(): Member[] {
    return [this.selfMember, ...this.peers.values()]
      .map((m) => ({ ...m }))
      .sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  }

  add(peer: NodeIdentity): void {
    this.peers.set(peer.node, {
      node: peer.node,
      incarnation: peer.incarnation,
      self: false,
      since: Date.now(),
    });
    this.logger.info(
      { node: this.selfMember.node, peer: peer.node, incarnation: peer.incarnation },
      "nodeup",
    );
    this.emit("nodeup", { node: peer.node, incarnation: peer.incarnation });
    for (const pid of this.watchers.values())
      this.node.send(pid, new NodeUpMessage(peer.node, peer.incarnation));
  }

  /** Forgets `peer`; `announceDown` tells listeners afterwards (once links have fired). */
  remove(peer: Member): void {
    this.peers.delete(peer.node);
  }

  announceDown(peer: Member, reason: PeerDownReason): void {
    this.logger.info({ node: this.selfMember.node, peer: peer.node, reason }, "nodedown");
    this.emit("nodedown", { node: peer.node, incarnation: peer.incarnation, reason });
    for (const pid of this.watchers.values()) {
      this.node.send(pid, new NodeDownMessage(peer.node, peer.incarnation, reason));
    }
  }

  on<K extends keyof MembershipEvents>(event: K, listener: Listener<MembershipEvents[K]>): () => void {
    const set = this.listeners[event] as Set<Listener<MembershipEvents[K]>>;
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  /** Sends nodeup / nodedown messages to `pid` (a local process) until it exits or `unwatch`. */
  watch(pid: Pid): void {
    if (this.watchers.has(pid.key)) return;
    if (!this.node.onExit(pid, () => this.watchers.delete(pid.key))) return;
    this.watchers.set(pid.key, pid);
  }

  unwatch(pid: Pid): void {
    this.watchers.delete(pid.key);
  }

  private emit<K extends keyof MembershipEvents>(event: K, payload: MembershipEvents[K]): void {
    for (const listener of this.listeners[event] as Set<Listener<MembershipEvents[K]>>) {
      try {
        listener(payload);
      } catch (e) {
        this.logger.error({ event, err: e }, "cluster event listener failed");
      }
    }
  }
}
