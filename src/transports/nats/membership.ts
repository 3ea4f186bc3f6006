/**
 * The membership view of one node: which peers are up, when each was last heard from, and how
 * many probes in a row found nobody listening. Pure state over an injected clock value, so its
 * rules are testable without NATS; the transport feeds it heartbeats, leaves, probe outcomes and
 * timer ticks, and it calls `peerUp` / `peerDown` exactly on transitions.
 *
 * Rules: a heartbeat or probe answer from an unknown peer brings it up; from a known peer under a
 * new incarnation reports the old one down (`timeout`: it stopped existing) then the new one up; a
 * leave reports `leave`. An incarnation that left or was replaced is retired: late messages from
 * it are ignored. Imports the transport types only.
 */
import type { NodeIdentity, PeerDownReason } from "../../cluster/transport.js";

/** Transitions the view reports. */
export interface MembershipEvents {
  up(peer: NodeIdentity): void;
  down(peer: NodeIdentity, reason: PeerDownReason): void;
}

interface PeerState {
  identity: NodeIdentity;
  lastSeen: number;
  misses: number;
}

/** Result of feeding a liveness message. */
export type SeenOutcome = "up" | "alive" | "restarted" | "ignored" | "self" | "duplicate_self";

const RETIRED_PER_NAME = 16;

/** Membership view of the node `self`. */
export class Membership {
  private readonly peers = new Map<string, PeerState>();
  private readonly retired = new Map<string, number[]>();

  constructor(
    private readonly self: NodeIdentity,
    private readonly events: MembershipEvents,
  ) {}

  /** `peer` proved alive at `now` (heartbeat or probe answer). */
  seen(peer: NodeIdentity, now: number): SeenOutcome {
    if (peer.node === this.self.node) {
      return peer.incarnation === this.self.incarnation ? "self" : "duplicate_self";
    }
    if (this.retired.get(peer.node)?.includes(peer.incarnation)) return "ignored";
    const known = this.peers.get(peer.node);
    if (known && known.identity.incarnation === peer.incarnation) {
      known.lastSeen = now;
      known.misses = 0;
      return "alive";
    }
    let outcome: SeenOutcome = "up";
    if (known) {
      this.retire(known.identity);
      this.peers.delete(peer.node);
      // Its old connection is gone (as the cluster layer and the memory transport say).
      this.events.down(known.identity, "connection_lost");
      outcome = "restarted";
    }
    const identity = { cluster: peer.cluster, node: peer.node, incarnation: peer.incarnation };
    this.peers.set(peer.node, { identity, lastSeen: now, misses: 0 });
    this.events.up(identity);
    return outcome;
  }

  /** `peer` announced a graceful leave. */
  left(peer: NodeIdentity): void {
    this.retire(peer);
    const known = this.peers.get(peer.node);
    if (known && known.identity.incarnation === peer.incarnation) {
      this.peers.delete(peer.node);
      this.events.down(known.identity, "leave");
    }
  }

  /** A probe of `node` found no responders; true when that made it down. */
  probeMiss(node: string, incarnation: number, maxMisses: number): boolean {
    const known = this.peers.get(node);
    if (!known || known.identity.incarnation !== incarnation) return false;
    known.misses += 1;
    if (known.misses < maxMisses) return false;
    this.peers.delete(node);
    // "No responders" means the server holds no connection for it: lost, not merely silent.
    this.events.down(known.identity, "connection_lost");
    return true;
  }

  /** Reports `timeout` for every peer silent for longer than `timeoutMs`. */
  expire(now: number, timeoutMs: number): void {
    for (const [node, state] of [...this.peers]) {
      if (now - state.lastSeen > timeoutMs && this.peers.get(node) === state) {
        this.peers.delete(node);
        this.events.down(state.identity, "timeout");
      }
    }
  }

  /** Reports every peer down with `reason` and empties the view (this node lost the cluster). */
  dropAll(reason: PeerDownReason): void {
    const all = [...this.peers.values()];
    this.peers.clear();
    for (const state of all) this.events.down(state.identity, reason);
  }

  /** Treats every peer as heard from at `now` (after a short outage that heard nobody). */
  refresh(now: number): void {
    for (const state of this.peers.values()) {
      state.lastSeen = now;
      state.misses = 0;
    }
  }

  /** The identity of `node` if it is up. */
  get(node: string): NodeIdentity | undefined {
    return this.peers.get(node)?.identity;
  }

  /** Whether `node` is up. */
  has(node: string): boolean {
    return this.peers.has(node);
  }

  /** Every peer that is up. */
  list(): NodeIdentity[] {
    return [...this.peers.values()].map((s) => s.identity);
  }

  private retire(peer: NodeIdentity): void {
    const list = this.retired.get(peer.node) ?? [];
    if (!list.includes(peer.incarnation)) list.push(peer.incarnation);
    if (list.length > RETIRED_PER_NAME) list.shift();
    this.retired.set(peer.node, list);
  }
}
