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
 * The network is the API and the path of a frame (send: dropped or delayed per the link conditions;
 * delivery: to a live endpoint on the same side of any partition). Who sees whom is `sessions.ts`,
 * the injected conditions `conditions.ts`, an endpoint and its helpers `endpoint.ts`, the FIFO
 * channels and their courier `channel.ts`.
 *
 * Imports the cluster's `transport` types, its own `channel`, `conditions`, `endpoint`, `options`,
 * `sessions`, `transport`.
 */
import type { NodeIdentity, TransportHandlers } from "../../cluster/transport.js";
import { type Channel, Courier, FRAME, type Item, UP } from "./channel.js";
import { LinkConditions } from "./conditions.js";
import { channelOf, type Endpoint, type MemoryHost, item, newEndpoint, safely } from "./endpoint.js";
import {
  type MemoryNetworkOptions,
  parseMemoryNetworkOptions,
  type ResolvedMemoryNetworkOptions,
} from "./options.js";
import { Sessions } from "./sessions.js";
import { MemoryTransport } from "./transport.js";

export type { Endpoint, MemoryHost } from "./endpoint.js";

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
  detectedBy?: "connection_lost" | "timeout" | undefined;
}

/**
 * An in-program network of nodes. Get one transport per node with `transport()`.
 * @category transports
 */
export class MemoryNetwork {
  /** Counters (live object). */
  readonly stats: MemoryNetworkStats = { sent: 0, delivered: 0, dropped: 0 };
  private readonly options: ResolvedMemoryNetworkOptions;
  private readonly conditions = new LinkConditions();
  private readonly courier: Courier<Endpoint>;
  private readonly sessions: Sessions;

  constructor(options: MemoryNetworkOptions = {}) {
    this.options = parseMemoryNetworkOptions(options);
    this.courier = new Courier<Endpoint>({
      blocked: (ch, item) => ch.to.state === "paused" || (item.kind === FRAME && ch.from.state === "paused"),
      deliver: (ch, item) => this.deliver(ch, item),
    });
    this.sessions = new Sessions(this.courier, this.conditions, this.stats, this.options.timeoutMs);
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
    return this.sessions.keys().sort();
  }

  // ---------------------------------------------------------------- fault injection

  /**
   * Splits the network: nodes (by name) in different groups cannot reach each other; nodes not
   * listed form one more group together. Peers across the cut are declared down after `timeoutMs`.
   */
  partition(...groups: string[][]): void {
    this.conditions.partition(groups);
    this.sessions.reconcile();
  }

  /** Removes every partition; separated nodes see each other up again. */
  heal(): void {
    this.conditions.heal();
    this.sessions.reconcile();
  }

  /** Clears every partition, delay and drop rate. */
  clearFaults(): void {
    this.conditions.clearLinks();
    this.heal();
  }

  /** Delays every frame by `ms` (or only between nodes `a` and `b`, both ways, overriding the global delay). */
  setDelay(ms: number, a?: string, b?: string): void {
    this.conditions.setDelay(ms, a, b);
  }

  /** Drops this fraction (0..1) of frames (or only between `a` and `b`, overriding the global rate). Notices are never dropped. */
  setDropRate(rate: number, a?: string, b?: string): void {
    this.conditions.setDropRate(rate, a, b);
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
    for (const ep of this.sessions.named(node))
      this.sessions.kill(ep, options.detectedBy ?? "connection_lost", true);
  }

  /**
   * Freezes a node, as SIGSTOP would: it neither sends nor receives (frames wait), and peers
   * declare it down after `timeoutMs` while their own failure detection runs on. With a host
   * (`transport(node)`), the node itself freezes too (`Node.pause`): its processes do not run
   * (mail accumulates) and its receive and call timeouts do not fire.
   */
  pause(node: string): void {
    for (const ep of this.sessions.named(node)) {
      if (ep.thawing) ep.thawing = false;
      else if (ep.state !== "live") continue;
      ep.state = "paused";
      ep.host?.pause();
    }
    this.sessions.reconcile();
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
    for (const ep of this.sessions.named(node)) {
      if (ep.state !== "paused" || ep.thawing) continue;
      ep.thawing = true;
      thawing.push(ep);
      ep.host?.resume();
    }
    if (thawing.length > 0) setImmediate(() => this.sessions.thaw(thawing));
  }

  /**
   * Hands raw bytes to `node` as if `from` had sent them (garbage, truncated or forged frames for
   * tests). Goes through the `from` → `node` channel when `from` is attached, keeping its order.
   */
  inject(node: string, bytes: Uint8Array, from = "intruder"): void {
    for (const ep of this.sessions.named(node)) {
      const sender = this.sessions.get(ep.identity.cluster, from);
      if (sender !== undefined) {
        this.courier.enqueue(channelOf(sender, ep), item(FRAME, bytes, null, null), 0);
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
    const ep = newEndpoint(identity, handlers, host);
    this.sessions.attach(ep);
    return ep;
  }

  /** @internal Graceful leave: frames already sent are delivered, then peers see `leave`. */
  leave(ep: Endpoint): void {
    if (ep.state === "closed" || ep.state === "killed") return;
    ep.state = "closed";
    this.sessions.leave(ep);
  }

  /** @internal */
  send(ep: Endpoint, to: string, bytes: Uint8Array): void {
    const target = this.sessions.get(ep.identity.cluster, to);
    if (target === undefined || target === ep || (ep.state !== "live" && ep.state !== "paused")) {
      this.stats.dropped++;
      return;
    }
    this.push(ep, target, bytes);
  }

  /** @internal */
  broadcast(ep: Endpoint, bytes: Uint8Array): void {
    if (ep.state !== "live" && ep.state !== "paused") return;
    for (const target of this.sessions.all()) {
      if (target !== ep && target.identity.cluster === ep.identity.cluster) this.push(ep, target, bytes);
    }
  }

  // ---------------------------------------------------------------- internals

  private push(from: Endpoint, to: Endpoint, bytes: Uint8Array): void {
    this.stats.sent++;
    if (!this.sessions.sameGroup(from, to)) {
      this.stats.dropped++;
      return;
    }
    const a = from.identity.node;
    const b = to.identity.node;
    const drop = this.conditions.dropFor(a, b);
    if (drop > 0 && this.options.random() < drop) {
      this.stats.dropped++;
      return;
    }
    this.courier.enqueue(channelOf(from, to), item(FRAME, bytes, null, null), this.conditions.delayFor(a, b));
  }

  private deliver(ch: Channel<Endpoint>, it: Item): void {
    const to = ch.to;
    if (to.state !== "live") {
      if (it.kind === FRAME) this.stats.dropped++;
      return;
    }
    if (it.kind === FRAME) {
      if (ch.from.state === "killed" || !this.sessions.sameGroup(ch.from, to)) {
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
}
