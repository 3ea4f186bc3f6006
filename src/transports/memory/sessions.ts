/**
 * Who is attached to a `MemoryNetwork` and who sees whom: the endpoints by `cluster/node`, and
 * each endpoint's view of its peers kept in line with reachability, as a real transport's
 * membership would be. A peer that becomes reachable is announced up at once; one that stops
 * answering (other side of a partition, paused, killed with `detectedBy: "timeout"`) is declared
 * down after `timeoutMs`, as a heartbeat timeout would. Declaring a peer down breaks the session
 * between the two: frames still queued between them, both ways, are dropped. A node resumed after
 * its peers gave up on it sees them down (`timeout`) before anything else from them, then both
 * sides see each other up.
 *
 * It owns the endpoint table, the views and the down timers. It asks the courier to carry notices
 * and to re-examine channels, the link conditions whether two nodes are on the same side of a
 * partition, and counts the frames a broken session drops.
 *
 * Imports the cluster's `transport` types, its own `channel`, `conditions`, `endpoint`, `errors`.
 */
import type { PeerDownReason } from "../../cluster/transport.js";
import { type Courier, DOWN, UP } from "./channel.js";
import type { LinkConditions } from "./conditions.js";
import { channelOf, type Endpoint, endpointKey, item, safely } from "./endpoint.js";
import { UnknownNodeError } from "./errors.js";

export class Sessions {
  private readonly endpoints = new Map<string, Endpoint>();

  constructor(
    private readonly courier: Courier<Endpoint>,
    private readonly conditions: LinkConditions,
    private readonly stats: { dropped: number },
    private readonly timeoutMs: number,
  ) {}

  /** The endpoint attached as `node` of `cluster`, if any. */
  get(cluster: string, node: string): Endpoint | undefined {
    return this.endpoints.get(endpointKey(cluster, node));
  }

  /** Every attached endpoint. */
  all(): IterableIterator<Endpoint> {
    return this.endpoints.values();
  }

  /** Keys of the attached endpoints (`cluster/node`). */
  keys(): string[] {
    return [...this.endpoints.keys()];
  }

  /** The endpoints attached as `node`, in any cluster; `UnknownNodeError` if none. */
  named(node: string): Endpoint[] {
    const found = [...this.endpoints.values()].filter((ep) => ep.identity.node === node);
    if (found.length === 0) throw new UnknownNodeError(node);
    return found;
  }

  /** Attaches `ep`, replacing (as killed, `connection_lost`) an endpoint of the same name. */
  attach(ep: Endpoint): void {
    const k = endpointKey(ep.identity.cluster, ep.identity.node);
    const old = this.endpoints.get(k);
    if (old !== undefined) this.kill(old, "connection_lost");
    this.endpoints.set(k, ep);
    this.reconcile();
  }

  /** Whether `a` and `b` can exchange frames now. */
  reachable(a: Endpoint, b: Endpoint): boolean {
    return a.state === "live" && b.state === "live" && this.sameGroup(a, b);
  }

  sameGroup(a: Endpoint, b: Endpoint): boolean {
    return this.conditions.sameGroup(a.identity.node, b.identity.node);
  }

  /** Brings every endpoint's view in line with reachability: notices up now, down after the timeout. */
  reconcile(): void {
    for (const a of this.endpoints.values()) {
      for (const b of this.endpoints.values()) {
        if (a === b || a.identity.cluster !== b.identity.cluster) continue;
        if (this.reachable(a, b)) {
          this.cancelDownTimer(a, b);
          if (!a.view.has(b)) {
            a.view.add(b);
            this.courier.enqueue(channelOf(b, a), item(UP, null, b.identity, null), 0);
          }
        } else if (a.view.has(b) && a.state === "live") {
          this.startDownTimer(a, b);
        }
      }
    }
  }

  private startDownTimer(a: Endpoint, b: Endpoint): void {
    if (a.downTimers.has(b)) return;
    const t = setTimeout(() => {
      a.downTimers.delete(b);
      if (a.state === "live" && a.view.has(b) && !this.reachable(a, b)) this.declareDown(a, b, "timeout");
    }, this.timeoutMs);
    a.downTimers.set(b, t);
  }

  private cancelDownTimer(a: Endpoint, b: Endpoint): void {
    const t = a.downTimers.get(b);
    if (t !== undefined) {
      clearTimeout(t);
      a.downTimers.delete(b);
    }
  }

  /** `a` gives up on `b`: the session between them breaks and `a` is told. */
  private declareDown(a: Endpoint, b: Endpoint, reason: PeerDownReason): void {
    this.cancelDownTimer(a, b);
    a.view.delete(b);
    const ab = a.out.get(b);
    const ba = b.out.get(a);
    if (ab !== undefined) this.stats.dropped += ab.purgeFrames();
    if (ba !== undefined) this.stats.dropped += ba.purgeFrames();
    this.courier.enqueue(channelOf(b, a), item(DOWN, null, b.identity, reason), 0);
  }

  /** Graceful leave: frames already sent are delivered, then peers see `leave`. */
  leave(ep: Endpoint): void {
    this.detach(ep);
    for (const q of this.endpoints.values()) {
      if (!q.view.has(ep)) continue;
      this.cancelDownTimer(q, ep);
      q.view.delete(ep);
      this.courier.enqueue(channelOf(ep, q), item(DOWN, null, ep.identity, "leave"), 0);
    }
    ep.view.clear();
  }

  /** The traffic of endpoints resumed a macrotask ago (see `MemoryNetwork.resume`). */
  thaw(eps: Endpoint[]): void {
    const thawed: Endpoint[] = [];
    for (const ep of eps) {
      // Paused again, killed or closed since `resume`.
      if (!ep.thawing || ep.state !== "paused") continue;
      ep.thawing = false;
      ep.state = "live";
      thawed.push(ep);
      for (const b of [...ep.view]) {
        if (b.state === "live" || b.state === "paused") {
          if (!b.view.has(ep)) this.declareDown(ep, b, "timeout");
        }
      }
    }
    if (thawed.length === 0) return;
    this.reconcile();
    for (const ep of thawed) this.wakeAll(ep);
  }

  /**
   * `MemoryNetwork.kill`, and a name reused by a new connection. Only an explicit `kill` reaches
   * the host: a replaced connection is a network fact, not a dead program.
   */
  kill(ep: Endpoint, detectedBy: "connection_lost" | "timeout", killHost = false): void {
    ep.state = "killed";
    ep.thawing = false;
    this.detach(ep);
    for (const q of this.endpoints.values()) {
      if (!q.view.has(ep)) continue;
      if (detectedBy === "timeout") this.startDownTimer(q, ep);
      else this.declareDown(q, ep, "connection_lost");
    }
    const peers = [...ep.view].map((p) => p.identity);
    ep.view.clear();
    if (killHost && ep.host !== null) {
      // A dead program hears nothing. (Its frames still in flight are dropped on delivery.)
      ep.host.kill();
      return;
    }
    queueMicrotask(() => {
      for (const p of peers) safely(() => ep.handlers.peerDown(p, "connection_lost"));
    });
  }

  private detach(ep: Endpoint): void {
    const k = endpointKey(ep.identity.cluster, ep.identity.node);
    if (this.endpoints.get(k) === ep) this.endpoints.delete(k);
    for (const t of ep.downTimers.values()) clearTimeout(t);
    ep.downTimers.clear();
  }

  /** Re-examines every channel from and to `ep` (it can send and receive again). */
  private wakeAll(ep: Endpoint): void {
    for (const ch of ep.out.values()) this.courier.wake(ch);
    for (const q of this.endpoints.values()) {
      const ch = q.out.get(ep);
      if (ch !== undefined) this.courier.wake(ch);
    }
  }
}
