/**
 * `ThreadNetwork`: the switchboard of the thread transport. It lives in one thread (the one that
 * starts the node threads, usually the main thread), knows every node attached to it by
 * `cluster/node`, and makes one `MessageChannel` per pair of nodes of a cluster — a session —
 * handing one port to each. Frames never pass through it: it is on the path of joins, leaves and
 * fault injection only, so it is no bottleneck however many cores talk.
 *
 * Fault injection, with the memory transport's vocabulary (`kill`, `pause`, `resume`,
 * `partition`, `heal`, `inject`) and what each means for threads:
 * - `kill(node)`: SIGKILL. A node in a worker bound with `bind` is terminated with its thread;
 *   otherwise the node is killed (`Node.kill`) and its ports closed. Peers see `connection_lost`
 *   as soon as Node reports its session ports closed.
 * - `pause(node)` / `resume(node)`: SIGSTOP / SIGCONT. A node in a worker blocks its whole
 *   thread (`Atomics.wait`), exactly what a long synchronous stretch does; a node in this thread
 *   is paused (`Node.pause`) and its traffic held. Either way nobody declares it down: a thread
 *   that is alive but busy is not dead (there is no heartbeat to miss), and its traffic waits.
 * - `partition(...groups)` / `heal()`: sessions across groups end at once (`timeout`); healing
 *   makes new ones.
 * - `inject(node, bytes, from)`: raw bytes handed to `node` as if `from` had sent them.
 *
 * Imports the cluster's `transport` types, its own `protocol`, `transport`, `errors` and the
 * memory transport's errors.
 */
import { MessageChannel, type MessagePort, type Worker } from "node:worker_threads";
import type { NodeIdentity } from "../../cluster/transport.js";
import { UnknownNodeError } from "../memory/errors.js";
import type { ToEndpoint, ToNetwork } from "./protocol.js";
import { ThreadTransport } from "./transport.js";

/** One attached node, as the switchboard sees it. */
interface Entry {
  identity: NodeIdentity;
  /** The switchboard's end of the node's control port. */
  control: MessagePort;
  /** In this thread (must never be blocked) or in another. */
  local: boolean;
  /** The worker it runs in, when bound: `kill` terminates it. */
  worker: Worker | null;
  /** Set while the node's thread is frozen (`pause` of a node in a worker). */
  flag: Int32Array | null;
}

/** Counters of a thread network. */
export interface ThreadNetworkStats {
  /** Sessions made (one per pair of nodes that met, and again after a heal or a restart). */
  sessions: number;
  /** Nodes attached so far. */
  attached: number;
}

/**
 * The switchboard of nodes in the threads of one process. Give each node a transport:
 * `network.transport()` in this thread, or `network.workerPort()` to hand to a worker, which
 * makes its transport with `new ThreadTransport(port)`.
 * @category transports
 */
export class ThreadNetwork {
  /** Counters (live object). */
  readonly stats: ThreadNetworkStats = { sessions: 0, attached: 0 };
  private readonly entries = new Map<string, Entry>();
  /** Workers bound to a control port before its node attached (`bind`). */
  private readonly workers = new Map<MessagePort, Worker>();
  private groups: Map<string, number> | null = null;

  /** A transport for a node in this thread; `kill` and `pause` reach the node `Cluster.join` hands it. */
  transport(): ThreadTransport {
    const { port1, port2 } = new MessageChannel();
    this.listen(port1);
    return new ThreadTransport(port2, true);
  }

  /**
   * A control port to transfer to a worker (`transferList`), where `new ThreadTransport(port)`
   * joins through it. `bind(worker)` lets `kill` terminate that worker.
   */
  workerPort(): { port: MessagePort; bind(worker: Worker): void } {
    const { port1, port2 } = new MessageChannel();
    this.listen(port1);
    return {
      port: port2,
      bind: (worker) => {
        this.workers.set(port1, worker);
        for (const e of this.entries.values()) if (e.control === port1) e.worker = worker;
      },
    };
  }

  /** Names of the attached nodes, per cluster: `cluster/node`, sorted. */
  get nodes(): string[] {
    return [...this.entries.keys()].sort();
  }

  // ---------------------------------------------------------------- fault injection

  /** Kills `node` as SIGKILL would (see the module doc); peers see it `connection_lost`. */
  kill(node: string): void {
    for (const e of this.named(node)) {
      this.detach(e);
      if (e.worker !== null) void e.worker.terminate();
      else this.tell(e, { t: "kill", host: true });
    }
  }

  /** Freezes `node` (its thread, for a node in a worker); nobody declares it down. */
  pause(node: string): void {
    for (const e of this.named(node)) {
      if (e.local) this.tell(e, { t: "pause", flag: null });
      else if (e.flag === null) {
        e.flag = new Int32Array(new SharedArrayBuffer(4));
        Atomics.store(e.flag, 0, 1);
        this.tell(e, { t: "pause", flag: e.flag });
      }
    }
  }

  /** Thaws a paused node: it handles what waited, in order. */
  resume(node: string): void {
    for (const e of this.named(node)) {
      if (e.local) this.tell(e, { t: "resume" });
      else if (e.flag !== null) {
        Atomics.store(e.flag, 0, 0);
        Atomics.notify(e.flag, 0);
        e.flag = null;
      }
    }
  }

  /** Splits the nodes (by name) into groups; nodes not listed form one more group. Sessions across end now. */
  partition(...groups: string[][]): void {
    const map = new Map<string, number>();
    groups.forEach((g, i) => {
      for (const name of g) map.set(name, i + 1);
    });
    this.groups = map;
    const all = [...this.entries.values()];
    for (const a of all) {
      for (const b of all) {
        if (a !== b && a.identity.cluster === b.identity.cluster && !this.sameGroup(a, b)) {
          this.tell(a, { t: "cut", peer: b.identity.node, reason: "timeout" });
        }
      }
    }
  }

  /** Removes every partition: nodes that were apart meet again in new sessions. */
  heal(): void {
    const before = this.groups;
    this.groups = null;
    if (before === null) return;
    const all = [...this.entries.values()];
    for (let i = 0; i < all.length; i++) {
      for (let j = i + 1; j < all.length; j++) {
        const a = all[i]!;
        const b = all[j]!;
        if (a.identity.cluster !== b.identity.cluster) continue;
        if ((before.get(a.identity.node) ?? 0) !== (before.get(b.identity.node) ?? 0)) this.meet(a, b);
      }
    }
  }

  /** Hands raw bytes to `node` as if `from` had sent them (garbage or forged frames for tests). */
  inject(node: string, bytes: Uint8Array, from = "intruder"): void {
    for (const e of this.named(node)) this.tell(e, { t: "inject", from, bytes });
  }

  // ---------------------------------------------------------------- internals

  private listen(control: MessagePort): void {
    control.on("message", (m: ToNetwork) => this.onControl(control, m));
    // Its node's thread ended (or it closed): nothing more to tell it. Its peers learn it from
    // their session ports, which close with the thread.
    control.on("close", () => {
      for (const e of this.entries.values()) if (e.control === control) this.detach(e);
      this.workers.delete(control);
    });
    control.unref();
  }

  private onControl(control: MessagePort, m: ToNetwork): void {
    if (m.t === "leave") {
      for (const e of this.entries.values()) if (e.control === control) this.detach(e);
      return;
    }
    const identity = m.identity;
    const key = `${identity.cluster}/${identity.node}`;
    const old = this.entries.get(key);
    if (old !== undefined) {
      // The name is taken over: the old attachment's connection dies (not its program).
      this.detach(old);
      this.tell(old, { t: "kill", host: false });
    }
    const e: Entry = {
      identity,
      control,
      local: m.local,
      worker: this.workers.get(control) ?? null,
      flag: null,
    };
    this.entries.set(key, e);
    this.stats.attached++;
    for (const other of this.entries.values()) {
      if (other !== e && other.identity.cluster === identity.cluster && this.sameGroup(e, other)) {
        this.meet(e, other);
      }
    }
    this.tell(e, { t: "attached" });
  }

  /** Starts a session between two nodes: a channel, one port to each. */
  private meet(a: Entry, b: Entry): void {
    const { port1, port2 } = new MessageChannel();
    this.stats.sessions++;
    this.tell(a, { t: "up", peer: b.identity, port: port1 }, [port1]);
    this.tell(b, { t: "up", peer: a.identity, port: port2 }, [port2]);
  }

  private detach(e: Entry): void {
    const key = `${e.identity.cluster}/${e.identity.node}`;
    if (this.entries.get(key) === e) this.entries.delete(key);
    if (e.flag !== null) {
      Atomics.store(e.flag, 0, 0);
      Atomics.notify(e.flag, 0);
      e.flag = null;
    }
  }

  private sameGroup(a: Entry, b: Entry): boolean {
    const g = this.groups;
    return g === null || (g.get(a.identity.node) ?? 0) === (g.get(b.identity.node) ?? 0);
  }

  private named(node: string): Entry[] {
    const found = [...this.entries.values()].filter((e) => e.identity.node === node);
    if (found.length === 0) throw new UnknownNodeError(node);
    return found;
  }

  private tell(e: Entry, m: ToEndpoint, transfer: MessagePort[] = []): void {
    try {
      e.control.postMessage(m, transfer);
    } catch {
      // Its thread is gone: the close of its control port is on its way.
    }
  }
}
