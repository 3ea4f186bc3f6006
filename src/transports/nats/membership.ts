/**
 * The membership view of one node: which peers are up, when each was last heard from, and how
 * many probes in a row found nobody listening. Pure state over an injected clock value, so its
 * rules are testable without NATS; the transport feeds it heartbeats, leaves, probe outcomes and
 * timer ticks, and it calls `peerUp` / `peerDown` exactly on transitions.
 *
 * Rules: a heartbeat or probe answer from an unknown peer brings it up; from a known peer under a
 * new incarnation or a new session reports the old one down (`connection_lost`: it stopped
 * existing) then the new one up; a leave reports `leave`. An incarnation or session that left or
 * was replaced is retired: late messages from it are ignored. A session is the transport's own
 * generation within one incarnation: a node that finds it was frozen past the heartbeat timeout
 * takes a new one, so its peers can never mistake it for the member they declared down.
 *
 * Hostile or broken publishers: a name that is not a valid NATS subject token (or is longer than
 * `MAX_NAME_LENGTH`) is refused, and at most `maxPeers` peers are tracked; anything beyond is
 * ignored and counted. Imports the transport types only.
 */
import type { NodeIdentity, PeerDownReason } from "../../cluster/transport.js";

/** Transitions the view reports. */
export interface MembershipEvents {
  up(peer: NodeIdentity): void;
  down(peer: NodeIdentity, reason: PeerDownReason): void;
}

interface PeerState {
  identity: NodeIdentity;
  session: number;
  lastSeen: number;
  misses: number;
  /** Since when its heartbeats say its event loop is busy (see `probeMiss`); undefined: not busy. */
  busySince: number | undefined;
}

/** Result of feeding a liveness message. */
export type SeenOutcome =
  | "up"
  | "alive"
  | "restarted"
  | "ignored"
  | "self"
  | "duplicate_self"
  /** The name cannot be a node name (not a subject token, too long). */
  | "invalid"
  /** A new name while `maxPeers` peers are tracked already. */
  | "full";

const RETIRED_PER_NAME = 16;
/** Longest node name accepted from the wire (the transport refuses longer ones for itself too). */
export const MAX_NAME_LENGTH = 255;
const BAD_NAME = /[.*>\s]/;

/** Whether `name` can be a node name: one NATS subject token of at most `MAX_NAME_LENGTH` characters. */
export function isNodeName(name: string): boolean {
  return name.length > 0 && name.length <= MAX_NAME_LENGTH && !BAD_NAME.test(name);
}

const retiredKey = (incarnation: number, session: number) => `${incarnation}/${session}`;

/** Membership view of the node `self`. */
export class Membership {
  private readonly peers = new Map<string, PeerState>();
  private readonly retired = new Map<string, string[]>();
  /** This node's own session (see the header); `seen` tells its own echoes from a namesake's. */
  session = 0;

  constructor(
    private readonly self: NodeIdentity,
    private readonly events: MembershipEvents,
    private readonly maxPeers = 1024,
  ) {}

  /**
   * `peer` (in `session`) proved alive at `now` (heartbeat or probe answer); `busy` when the
   * heartbeat came from its heartbeat thread while its event loop was not running.
   */
  seen(peer: NodeIdentity, now: number, session = 0, busy = false): SeenOutcome {
    if (peer.node === this.self.node) {
      if (peer.incarnation !== this.self.incarnation) return "duplicate_self";
      // Our own earlier session (a heartbeat sent before a stall, delivered late) is not a namesake.
      return "self";
    }
    if (!isNodeName(peer.node)) return "invalid";
    const key = retiredKey(peer.incarnation, session);
    if (this.retired.get(peer.node)?.includes(key)) return "ignored";
    const known = this.peers.get(peer.node);
    if (known && known.identity.incarnation === peer.incarnation && known.session === session) {
      known.lastSeen = now;
      known.misses = 0;
      known.busySince = busy ? (known.busySince ?? now) : undefined;
      return "alive";
    }
    let outcome: SeenOutcome = "up";
    if (known) {
      this.retire(known.identity, known.session);
      this.peers.delete(peer.node);
      // Its old connection is gone (as the cluster layer and the memory transport say).
      this.events.down(known.identity, "connection_lost");
      outcome = "restarted";
    } else if (this.peers.size >= this.maxPeers) return "full";
    const identity = { cluster: peer.cluster, node: peer.node, incarnation: peer.incarnation };
    this.peers.set(peer.node, {
      identity,
      session,
      lastSeen: now,
      misses: 0,
      busySince: busy ? now : undefined,
    });
    this.events.up(identity);
    return outcome;
  }

  /** `peer` announced a graceful leave (of `session`). */
  left(peer: NodeIdentity, session = 0): void {
    if (!isNodeName(peer.node)) return;
    this.retire(peer, session);
    const known = this.peers.get(peer.node);
    if (known && known.identity.incarnation === peer.incarnation && known.session === session) {
      this.peers.delete(peer.node);
      this.events.down(known.identity, "leave");
    }
  }

  /**
   * A probe of `node` found no responders at `now`; true when that made it down. Not counted
   * while its heartbeats say it is busy, for up to `maxBusyMs`: its thread still beats, so the
   * process lives, and a connection the server dropped while the loop did not read comes back
   * when it does. A node killed while busy is caught by the heartbeat timeout instead.
   */
  probeMiss(node: string, incarnation: number, maxMisses: number, now = 0, maxBusyMs = 0): boolean {
    const known = this.peers.get(node);
    if (!known || known.identity.incarnation !== incarnation) return false;
    if (known.busySince !== undefined && now - known.busySince <= maxBusyMs) return false;
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

  /** The session `node` is up in, if it is up. */
  sessionOf(node: string): number | undefined {
    return this.peers.get(node)?.session;
  }

  private retire(peer: NodeIdentity, session: number): void {
    const key = retiredKey(peer.incarnation, session);
    const list = this.retired.get(peer.node) ?? [];
    if (!list.includes(key)) list.push(key);
    if (list.length > RETIRED_PER_NAME) list.shift();
    // Bounded by `maxPeers` names as well: a flood of made-up names must not grow this map.
    if (!this.retired.has(peer.node) && this.retired.size >= this.maxPeers * 2) {
      const oldest = this.retired.keys().next().value;
      if (oldest !== undefined) this.retired.delete(oldest);
    }
    this.retired.set(peer.node, list);
  }
}
