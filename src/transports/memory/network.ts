/**
 * `MemoryNetwork`: many nodes in one program, with the semantics a real network transport gives
 * (frames are bytes, delivered asynchronously, FIFO per ordered pair of nodes, peers announced up
 * before their first frame and down after their last) and fault injection for tests: partitions
 * and healing, delay, dropped frames, killed nodes, paused nodes, raw bytes injected into a node.
 *
 * A peer that stops answering (other side of a partition, paused, killed with `detectedBy:
 * "timeout"`) is declared down after `timeoutMs`, as a heartbeat timeout would. When a session
 * between two nodes breaks (one declared the other down), frames still queued between them are
 * dropped; a paused node that resumes after its peers gave up on it sees them down (`timeout`)
 * and then up again, while a pause shorter than `timeoutMs` is invisible apart from the delay.
 *
 * A transport made for a host (`transport(node)`) lets `kill` and `pause` reach the node itself,
 * as SIGKILL and SIGSTOP reach an OS process, not only its connection (see `MemoryHost`).
 *
 * Imports the cluster's `transport` types, its own `channel`, `options`, `errors`, `transport`.
 */
import type { NodeIdentity, PeerDownReason, TransportHandlers } from "../../cluster/transport.js";
import { Channel, Courier, DOWN, FRAME, type Item, UP } from "./channel.js";
import { UnknownNodeError } from "./errors.js";
import {
  type MemoryNetworkOptions,
  parseMemoryNetworkOptions,
  type ResolvedMemoryNetworkOptions,
} from "./options.js";
import { MemoryTransport } from "./transport.js";

/**
 * The node behind a memory transport, which `kill` and `pause` reach: a `Node` is one.
 *
 * The transport layer may not import the process layer, so the network knows the node by this
 * shape. With a host, `kill` and `pause` / `resume` act on the node itself; without one, only on
 * its connection (the node runs on, cut off or stalled on the network only).
 */
export interface MemoryHost {
  /** Must be the node name the transport connects with. */
  readonly name: string;
  /** Ends every process at once without running any of its code, for good. */
  kill(): void;
  /** Stops running processes and timers until `resume`. */
  pause(): void;
  /** Fires the timeouts that fell due, then runs processes again. */
  resume(): void;
}

/** @internal One node's attachment to the network. */
export interface Endpoint {
  readonly identity: NodeIdentity;
  readonly handlers: TransportHandlers;
  readonly host: MemoryHost | null;
  state: "live" | "paused" | "closed" | "killed";
  /** Resumed, with its traffic to follow after a macrotask (see `resume`). */
  thawing: boolean;
  /** Peers this endpoint has been told are up (or the notice is on its way). */
  readonly view: Set<Endpoint>;
  readonly out: Map<Endpoint, Channel<Endpoint>>;
  readonly downTimers: Map<Endpoint, NodeJS.Timeout>;
}

/** Counters of a memory network. */
export interface MemoryNetworkStats {
  /** Frames accepted by `send` / `broadcast`. */
  sent: number;
  /** Frames handed to a receiving node. */
  delivered: number;
  /** Frames lost: dropped by `setDropRate`, across a partition, to or from a dead node, or in a broken session. */
  dropped: number;
}

/** How peers of a killed node learn about it. */
export interface KillOptions {
  /** `connection_lost` at once (its connection closed), or `timeout` after `timeoutMs`. @default "connection_lost" */
  detectedBy?: "connection_lost" | "timeout";
}

/**
 * An in-program network of nodes. Get one transport per node with `transport()`.
 * @category transports
 */
export class MemoryNetwork {
  /** Counters (live object). */
  readonly stats: MemoryNetworkStats = { sent: 0, delivered: 0, dropped: 0 };
  private readonly options: ResolvedMemoryNetworkOptions;
  private readonly endpoints = new Map<string, Endpoint>();
  private groups: Map<string, number> | null = null;
  private delayMs = 0;
  private dropRate = 0;
  private readonly pairDelay = new Map<string, number>();
  private readonly pairDrop = new Map<string, number>();
  private readonly courier: Courier<Endpoint>;

  constructor(options: MemoryNetworkOptions = {}) {
    this.options = parseMemoryNetworkOptions(options);
    this.courier = new Courier<Endpoint>({
      blocked: (ch, item) => ch.to.state === "paused" || (item.kind === FRAME && ch.from.state === "paused"),
      deliver: (ch, item) => this.deliver(ch, item),
    });
  }

  /**
   * A new transport for one node of this network. `kill` and `pause` reach the node itself, not
   * only its connection, when the network knows it: `Cluster.join` hands it to the transport;
   * outside `Cluster.join`, pass the `Node` that will connect with it here.
   */
  transport(host?: MemoryHost): MemoryTransport {
    return new MemoryTransport(this, host ?? null);
  }

  /** Names of the nodes attached now (live or paused), per cluster: `cluster/node`, sorted. */
  get nodes(): string[] {
    return [...this.endpoints.keys()].sort();
  }

  // ---------------------------------------------------------------- fault injection

  /**
   * Splits the network: nodes (by name) in different groups cannot reach each other; nodes not
   * listed form one more group together. Peers across the cut are declared down after `timeoutMs`.
   */
  partition(...groups: string[][]): void {
    const map = new Map<string, number>();
    groups.forEach((g, i) => {
      for (const name of g) map.set(name, i + 1);
    });
    this.groups = map;
    this.reconcile();
  }

  /** Removes every partition; separated nodes see each other up again. */
  heal(): void {
    this.groups = null;
    this.reconcile();
  }

  /** Clears every partition, delay and drop rate. */
  clearFaults(): void {
    this.pairDelay.clear();
    this.pairDrop.clear();
    this.delayMs = 0;
    this.dropRate = 0;
    this.heal();
  }

  /** Delays every frame by `ms` (or only between nodes `a` and `b`, both ways, overriding the global delay). */
  setDelay(ms: number, a?: string, b?: string): void {
    if (a !== undefined && b !== undefined) setPair(this.pairDelay, a, b, ms);
    else this.delayMs = ms;
  }

  /** Drops this fraction (0..1) of frames (or only between `a` and `b`, overriding the global rate). Notices are never dropped. */
  setDropRate(rate: number, a?: string, b?: string): void {
    if (a !== undefined && b !== undefined) setPair(this.pairDrop, a, b, rate);
    else this.dropRate = rate;
  }

  /**
   * Kills a node outright, as SIGKILL would: it neither sends nor receives again, frames from it
   * still in flight are lost, and its name is free for a restarted incarnation. Peers see it down
   * with `connection_lost` at once (or `timeout` after `timeoutMs`), so their links and monitors
   * to it fire `noconnection`. With a host (`transport(node)`), the node itself dies
   * (`Node.kill`): its processes end without running exit hooks or `terminate`, its timers stop,
   * and it is told nothing more. Without one, only its connection dies: the node runs on and sees
   * every peer `connection_lost`.
   */
  kill(node: string, options: KillOptions = {}): void {
    for (const ep of this.named(node)) this.killEndpoint(ep, options.detectedBy ?? "connection_lost", true);
  }

  /**
   * Freezes a node, as SIGSTOP would: it neither sends nor receives (frames wait), and peers
   * declare it down after `timeoutMs` while their own failure detection runs on. With a host
   * (`transport(node)`), the node itself freezes too (`Node.pause`): its processes do not run
   * (mail accumulates) and its receive and call timeouts do not fire.
   */
  pause(node: string): void {
    for (const ep of this.named(node)) {
      if (ep.thawing) ep.thawing = false;
      else if (ep.state !== "live") continue;
      ep.state = "paused";
      ep.host?.pause();
    }
    this.reconcile();
  }

  /**
   * Thaws a paused node with its old state, in the order a process resumed by SIGCONT sees
   * things. At once, its host (if any) fires the timeouts that fell due during the pause, then
   * runs its processes on the held mail. Its traffic follows after a macrotask, as socket reads
   * follow timers in an event loop: if peers gave up on it meanwhile, it sees them down
   * (`timeout`) before anything else from them, the frames held between them (those it sent while
   * handling its held mail too) are dropped with the broken session, and both sides then see each
   * other up; what it sends from then on reaches such a peer after its `up` notice.
   */
  resume(node: string): void {
    const thawing: Endpoint[] = [];
    for (const ep of this.named(node)) {
      if (ep.state !== "paused" || ep.thawing) continue;
      ep.thawing = true;
      thawing.push(ep);
      ep.host?.resume();
    }
    if (thawing.length > 0) setImmediate(() => this.thaw(thawing));
  }

  /**
   * Hands raw bytes to `node` as if `from` had sent them (garbage, truncated or forged frames for
   * tests). Goes through the `from` → `node` channel when `from` is attached, keeping its order.
   */
  inject(node: string, bytes: Uint8Array, from = "intruder"): void {
    for (const ep of this.named(node)) {
      const sender = this.endpoints.get(key(ep.identity.cluster, from));
      if (sender !== undefined) {
        this.courier.enqueue(this.channel(sender, ep), item(FRAME, bytes, null, null), 0);
      } else {
        queueMicrotask(() => {
          if (ep.state === "live") safely(() => ep.handlers.frame(from, bytes));
        });
      }
    }
  }

  // ---------------------------------------------------------------- used by MemoryTransport

  /** @internal */
  attach(identity: NodeIdentity, handlers: TransportHandlers, host: MemoryHost | null): Endpoint {
    const k = key(identity.cluster, identity.node);
    const old = this.endpoints.get(k);
    if (old !== undefined) this.killEndpoint(old, "connection_lost");
    const ep: Endpoint = {
      identity,
      handlers,
      host,
      state: "live",
      thawing: false,
      view: new Set(),
      out: new Map(),
      downTimers: new Map(),
    };
    this.endpoints.set(k, ep);
    this.reconcile();
    return ep;
  }

  /** @internal Graceful leave: frames already sent are delivered, then peers see `leave`. */
  leave(ep: Endpoint): void {
    if (ep.state === "closed" || ep.state === "killed") return;
    ep.state = "closed";
    this.detach(ep);
    for (const q of this.endpoints.values()) {
      if (!q.view.has(ep)) continue;
      this.cancelDownTimer(q, ep);
      q.view.delete(ep);
      this.courier.enqueue(this.channel(ep, q), item(DOWN, null, ep.identity, "leave"), 0);
    }
    ep.view.clear();
  }

  /** @internal */
  send(ep: Endpoint, to: string, bytes: Uint8Array): void {
    const target = this.endpoints.get(key(ep.identity.cluster, to));
    if (target === undefined || target === ep || (ep.state !== "live" && ep.state !== "paused")) {
      this.stats.dropped++;
      return;
    }
    this.push(ep, target, bytes);
  }

  /** @internal */
  broadcast(ep: Endpoint, bytes: Uint8Array): void {
    if (ep.state !== "live" && ep.state !== "paused") return;
    for (const target of this.endpoints.values()) {
      if (target !== ep && target.identity.cluster === ep.identity.cluster) this.push(ep, target, bytes);
    }
  }

  // ---------------------------------------------------------------- internals

  private push(from: Endpoint, to: Endpoint, bytes: Uint8Array): void {
    this.stats.sent++;
    if (!this.sameGroup(from, to)) {
      this.stats.dropped++;
      return;
    }
    const a = from.identity.node;
    const b = to.identity.node;
    const drop = this.pairDrop.size > 0 ? (this.pairDrop.get(pairKey(a, b)) ?? this.dropRate) : this.dropRate;
    if (drop > 0 && this.options.random() < drop) {
      this.stats.dropped++;
      return;
    }
    const delay =
      this.pairDelay.size > 0 ? (this.pairDelay.get(pairKey(a, b)) ?? this.delayMs) : this.delayMs;
    this.courier.enqueue(this.channel(from, to), item(FRAME, bytes, null, null), delay);
  }

  private deliver(ch: Channel<Endpoint>, it: Item): void {
    const to = ch.to;
    if (to.state !== "live") {
      if (it.kind === FRAME) this.stats.dropped++;
      return;
    }
    if (it.kind === FRAME) {
      if (ch.from.state === "killed" || !this.sameGroup(ch.from, to)) {
        this.stats.dropped++;
        return;
      }
      this.stats.delivered++;
      safely(() => to.handlers.frame(ch.from.identity.node, it.bytes!));
    } else if (it.kind === UP) {
      safely(() => to.handlers.peerUp(it.peer!));
    } else {
      safely(() => to.handlers.peerDown(it.peer!, it.reason!));
    }
  }

  private channel(from: Endpoint, to: Endpoint): Channel<Endpoint> {
    let ch = from.out.get(to);
    if (ch === undefined) {
      ch = new Channel(from, to);
      from.out.set(to, ch);
    }
    return ch;
  }

  private sameGroup(a: Endpoint, b: Endpoint): boolean {
    const g = this.groups;
    if (g === null) return true;
    return (g.get(a.identity.node) ?? 0) === (g.get(b.identity.node) ?? 0);
  }

  private reachable(a: Endpoint, b: Endpoint): boolean {
    return a.state === "live" && b.state === "live" && this.sameGroup(a, b);
  }

  /** Brings every endpoint's view in line with reachability: notices up now, down after the timeout. */
  private reconcile(): void {
    for (const a of this.endpoints.values()) {
      for (const b of this.endpoints.values()) {
        if (a === b || a.identity.cluster !== b.identity.cluster) continue;
        if (this.reachable(a, b)) {
          this.cancelDownTimer(a, b);
          if (!a.view.has(b)) {
            a.view.add(b);
            this.courier.enqueue(this.channel(b, a), item(UP, null, b.identity, null), 0);
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
    }, this.options.timeoutMs);
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
    this.courier.enqueue(this.channel(b, a), item(DOWN, null, b.identity, reason), 0);
  }

  private thaw(eps: Endpoint[]): void {
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
   * `kill`, and a name reused by a new connection. Only an explicit `kill` reaches the host: a
   * replaced connection is a network fact, not a dead program.
   */
  private killEndpoint(ep: Endpoint, detectedBy: "connection_lost" | "timeout", killHost = false): void {
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
    const k = key(ep.identity.cluster, ep.identity.node);
    if (this.endpoints.get(k) === ep) this.endpoints.delete(k);
    for (const t of ep.downTimers.values()) clearTimeout(t);
    ep.downTimers.clear();
  }

  private wakeAll(ep: Endpoint): void {
    for (const ch of ep.out.values()) this.courier.wake(ch);
    for (const q of this.endpoints.values()) {
      const ch = q.out.get(ep);
      if (ch !== undefined) this.courier.wake(ch);
    }
  }

  private named(node: string): Endpoint[] {
    const found = [...this.endpoints.values()].filter((ep) => ep.identity.node === node);
    if (found.length === 0) throw new UnknownNodeError(node);
    return found;
  }
}

function key(cluster: string, node: string): string {
  return `${cluster}/${node}`;
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

function setPair(map: Map<string, number>, a: string, b: string, value: number): void {
  map.set(pairKey(a, b), value);
}

function item(
  kind: Item["kind"],
  bytes: Uint8Array | null,
  peer: NodeIdentity | null,
  reason: PeerDownReason | null,
): Item {
  return { kind, due: 0, bytes, peer, reason };
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // Handlers must not throw; a faulty one must not stop delivery to others.
  }
}
