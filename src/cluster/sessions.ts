/**
 * Sessions with peers: what the cluster does when its transport reports a peer up or down, and
 * when a peer says `hello`. A peer seen up is added to the membership and sent one `hello`; a
 * peer seen again with a new incarnation is first taken down (its old pids are dead). A second
 * `hello` from the same incarnation means the peer dropped this node and took it back while this
 * node never saw it go: the session is reset here too (down, then up), so a break is never seen
 * by one side only. A peer gone takes with it its queued frames, its protocol version, the
 * monitors it made here by name or by calls, and its pending spawns; then the node fires every link and
 * monitor to it (`node.nodeDown`) and listeners hear `nodedown`.
 *
 * It owns the incarnation whose `hello` opened each session. It asks of the cluster (`SessionHost`)
 * the things a session touches: the node, the membership, the outbox, the spawner, the tables of
 * peer versions and name monitors, and a way to send a `hello`.
 *
 * Imports `process` (node, pid types), its own `frames`, `membership`, `outbox`, `spawner`,
 * `transport` (types).
 */
import { clusterChannel } from "../diagnostics.js";
import type { Node } from "../process/node.js";
import type { Pid } from "../process/pid.js";
import { type Frame, FrameTag, PROTOCOL_VERSION } from "./frames.js";
import type { Member, Membership } from "./membership.js";
import type { Outbox } from "./outbox.js";
import type { Spawner } from "./spawner.js";
import type { NodeIdentity, PeerDownReason } from "./transport.js";

/** What a session asks of its cluster. */
export interface SessionHost {
  node: Node;
  /** This node as peers see it. */
  self: NodeIdentity;
  membership: Membership;
  outbox: Outbox;
  spawner: Spawner;
  /** Protocol version each peer announced. */
  peerVersions: Map<string, number>;
  /** Monitors made by name from other nodes: ref key → watcher and the pid the name resolved to. */
  nameMonitors: Map<string, { watcher: Pid; pid: Pid }>;
  /** Queues a system frame to a peer. */
  signal(to: string, frame: Frame): void;
}

export class PeerSessions {
  /** Incarnation whose `hello` opened the current session with each peer. */
  private readonly helloSeen = new Map<string, number>();

  constructor(private readonly host: SessionHost) {}

  /** The transport saw `peer` come up (`answer`: a reset answering the peer's second `hello`). */
  up(peer: NodeIdentity, answer = false): void {
    const h = this.host;
    if (peer.cluster !== h.self.cluster || peer.node === h.self.node) return;
    const known = h.membership.get(peer.node);
    if (known !== undefined) {
      if (known.incarnation === peer.incarnation) return;
      // Restarted under the same name before we saw it go: the old incarnation is gone.
      this.gone(known, "connection_lost");
    }
    h.membership.add(peer);
    if (clusterChannel.hasSubscribers)
      clusterChannel.publish({ type: "cluster:nodeup", node: h.self.node, peer: peer.node });
    h.signal(peer.node, [FrameTag.Hello, PROTOCOL_VERSION, h.self.incarnation, answer]);
  }

  /**
   * A peer's `hello`, once per session when it sees this node come up. A second one from the
   * same incarnation means the peer dropped this node and took it back (its event loop stalled
   * past the timeout, or it lost its connection) while this node never saw the peer go: the
   * session is reset here too, so that links and monitors fire on both sides, not only on one.
   * False (and nothing done) for a hello naming another incarnation than the member's.
   */
  hello(from: string, incarnation: number, answer: boolean): boolean {
    const known = this.host.membership.get(from);
    // A hello for another incarnation than the one up: a forgery, or a frame of a dead life.
    if (known !== undefined && known.incarnation !== incarnation) return false;
    if (
      !answer &&
      known !== undefined &&
      known.incarnation === incarnation &&
      this.helloSeen.get(from) === incarnation
    ) {
      this.gone(known, "connection_lost");
      this.up({ cluster: this.host.self.cluster, node: from, incarnation }, true);
    }
    this.helloSeen.set(from, incarnation);
    return true;
  }

  /** The transport saw `peer` go down; a report about another incarnation is stale. */
  down(peer: NodeIdentity, reason: PeerDownReason): void {
    const known = this.host.membership.get(peer.node);
    if (known === undefined || known.incarnation !== peer.incarnation) return;
    this.gone(known, reason);
  }

  /** Ends the session with `member`: everything tied to it goes, then `nodedown` is heard. */
  gone(member: Member, reason: PeerDownReason): void {
    const h = this.host;
    const name = member.node;
    h.outbox.forget(name);
    h.peerVersions.delete(name);
    if (this.helloSeen.get(name) === member.incarnation) this.helloSeen.delete(name);
    h.membership.remove(member);
    if (h.nameMonitors.size > 0) {
      for (const [k, m] of h.nameMonitors) if (m.watcher.node === name) h.nameMonitors.delete(k);
    }
    h.spawner.nodeDown(name);
    h.node.nodeDown(name);
    if (clusterChannel.hasSubscribers)
      clusterChannel.publish({ type: "cluster:nodedown", node: h.self.node, peer: name, reason });
    h.membership.announceDown(member, reason);
  }
}
