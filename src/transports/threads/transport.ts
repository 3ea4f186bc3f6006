/**
 * `ThreadTransport`: one node's `Transport` over `MessagePort`s, for nodes in the threads of one
 * OS process (and nodes sharing a thread, as tests run them). The node talks to the switchboard
 * (`ThreadNetwork`) over a control port only to join, leave and take fault injection; frames go
 * straight to each peer over the session port the switchboard made for the pair, as transferred
 * `ArrayBuffer`s: one copy out of the codec's buffer, none by the structured clone.
 *
 * Failure detection needs no heartbeat: a session port closes when the thread at its other end
 * ends (terminated, crashed, `process.exit` in a worker) or its node is killed, and Node reports
 * that close to this end at once. A thread that is only busy (a long synchronous stretch, a
 * blocked event loop) keeps its ports open, so it is never taken for dead: its frames wait in the
 * port until it reads them. Imports the cluster's `transport` types and its own `protocol`.
 */
import type { MessagePort } from "node:worker_threads";
import type {
  NodeIdentity,
  PeerDownReason,
  Transport,
  TransportHandlers,
  TransportHost,
} from "../../cluster/transport.js";
import { TransportStateError } from "../memory/errors.js";
import { BYE, type ToEndpoint, type ToNetwork } from "./protocol.js";

/** Counters of one thread transport. */
export interface ThreadTransportStats {
  /** Frames posted to a peer. */
  framesSent: number;
  /** Frames handed to the node. */
  framesReceived: number;
  /** Frames not sent: no session with the destination (unknown, gone, or not yet up). */
  framesDropped: number;
  /** Bytes of the frames posted. */
  bytesSent: number;
}

/** A live session with one peer: its port and what waits while this node is paused. */
class Session {
  open = true;
  /** What arrived while this node was paused (frames, a `BYE`), in order, until delivered. */
  held: Array<ArrayBuffer | string> | null = null;
  /** Frames this node sent while paused, in order. */
  outHeld: ArrayBuffer[] | null = null;
  constructor(
    readonly peer: NodeIdentity,
    readonly port: MessagePort,
  ) {}
}

type State = "idle" | "connecting" | "open" | "closed";

/**
 * A node's attachment to a `ThreadNetwork`: `network.transport()` for a node in the network's
 * thread, or `new ThreadTransport(port)` in a worker with a port from `network.workerPort()`.
 * Connect it once.
 * @category transports
 */
export class ThreadTransport implements Transport {
  readonly kind = "threads";
  /** Counters (live object). */
  readonly stats: ThreadTransportStats = { framesSent: 0, framesReceived: 0, framesDropped: 0, bytesSent: 0 };
  private state: State = "idle";
  private self: NodeIdentity | null = null;
  private handlers: TransportHandlers | null = null;
  private node: TransportHost | null = null;
  private readonly sessions = new Map<string, Session>();
  private paused = false;
  private attached: (() => void) | null = null;

  /**
   * `control` is this node's control port to the switchboard. `local`: the node runs in the
   * switchboard's thread, which must then never block it (a pause freezes the node, not the thread).
   */
  constructor(
    private readonly control: MessagePort,
    private readonly local = false,
  ) {}

  /** The identity this transport connected with, or null before `connect`. */
  get identity(): NodeIdentity | null {
    return this.self;
  }

  /** Names of the peers with a session now, sorted. */
  peers(): string[] {
    return [...this.sessions.keys()].sort();
  }

  async connect(self: NodeIdentity, handlers: TransportHandlers, host?: TransportHost): Promise<void> {
    if (this.state === "closed")
      throw new TransportStateError("this thread transport was closed; create another one");
    if (this.state !== "idle") throw new TransportStateError("this thread transport is connected already");
    if (host !== undefined && host.name !== self.node) {
      throw new TransportStateError(
        `host ${JSON.stringify(host.name)} is not node ${JSON.stringify(self.node)}`,
      );
    }
    this.state = "connecting";
    this.self = { cluster: self.cluster, node: self.node, incarnation: self.incarnation };
    this.handlers = handlers;
    this.node = host ?? null;
    const ready = new Promise<void>((resolve) => {
      this.attached = resolve;
    });
    this.control.on("message", (m: ToEndpoint) => this.onControl(m));
    this.post({ t: "attach", identity: this.self, local: this.local });
    await ready;
    // Joined: the ports no longer keep the thread alive (a node's program decides when it ends).
    this.control.unref();
    if (this.state === "connecting") this.state = "open";
  }

  send(to: string, bytes: Uint8Array): void {
    const s = this.sessions.get(to);
    // A session can come up while `connect` is still finishing: the cluster's `hello` to that
    // peer goes out then, or the peer never learns this node's protocol version.
    if (s === undefined || this.state === "closed") {
      this.stats.framesDropped++;
      return;
    }
    this.stats.framesSent++;
    this.stats.bytesSent += bytes.byteLength;
    // The codec's bytes are a view into a buffer it reuses; the clone of a view would copy that
    // whole buffer, and transferring it would take it from the codec: copy once, transfer the copy.
    const buf = new ArrayBuffer(bytes.byteLength);
    new Uint8Array(buf).set(bytes);
    if (s.outHeld !== null) s.outHeld.push(buf);
    else s.port.postMessage(buf, [buf]);
  }

  broadcast(bytes: Uint8Array): void {
    for (const name of this.sessions.keys()) this.send(name, bytes);
  }

  async close(): Promise<void> {
    if (this.state === "closed") return;
    const wasOpen = this.state !== "idle";
    this.state = "closed";
    for (const s of this.sessions.values()) {
      s.open = false;
      if (s.outHeld !== null) for (const buf of s.outHeld) s.port.postMessage(buf, [buf]);
      s.port.postMessage(BYE);
      s.port.close();
    }
    this.sessions.clear();
    if (wasOpen) this.post({ t: "leave" });
    this.control.close();
  }

  // ---------------------------------------------------------------- control

  private onControl(m: ToEndpoint): void {
    switch (m.t) {
      case "attached": {
        const done = this.attached;
        this.attached = null;
        done?.();
        return;
      }
      case "up":
        return this.up(m.peer, m.port);
      case "cut": {
        const s = this.sessions.get(m.peer);
        if (s !== undefined) this.end(s, m.reason);
        return;
      }
      case "kill":
        return this.kill(m.host);
      case "pause":
        return this.pause(m.flag);
      case "resume":
        return this.resume();
      case "inject":
        if (this.state === "open" && !this.paused) this.safely(() => this.handlers!.frame(m.from, m.bytes));
        return;
    }
  }

  private up(peer: NodeIdentity, port: MessagePort): void {
    if (this.state === "closed") {
      port.close();
      return;
    }
    const old = this.sessions.get(peer.node);
    // A new incarnation before the old one's port closed: the old one is dead.
    if (old !== undefined) this.end(old, "connection_lost");
    const s = new Session(peer, port);
    if (this.paused) s.outHeld = [];
    this.sessions.set(peer.node, s);
    port.on("message", (m: ArrayBuffer | string) => this.onSession(s, m));
    port.on("close", () => this.end(s, "connection_lost"));
    port.unref();
    this.safely(() => this.handlers!.peerUp(peer));
  }

  private onSession(s: Session, m: ArrayBuffer | string): void {
    if (!s.open) return;
    // Behind held traffic, even once resumed: order per peer is kept.
    if (this.paused || s.held !== null) (s.held ??= []).push(m);
    else this.deliver(s, m);
  }

  private deliver(s: Session, m: ArrayBuffer | string): void {
    if (m === BYE) {
      this.end(s, "leave");
      return;
    }
    if (!(m instanceof ArrayBuffer)) return;
    this.stats.framesReceived++;
    this.safely(() => this.handlers!.frame(s.peer.node, new Uint8Array(m)));
  }

  /** Delivers what a session held during a pause, until it is empty or the node is paused again. */
  private deliverHeld(s: Session): void {
    const held = s.held;
    if (held === null) return;
    let i = 0;
    while (i < held.length && s.open && !this.paused) this.deliver(s, held[i++]!);
    s.held = i < held.length && s.open ? held.slice(i) : null;
  }

  /** The session with a peer ends: its port closes and the node hears `reason` (once). */
  private end(s: Session, reason: PeerDownReason): void {
    if (!s.open) return;
    s.open = false;
    if (this.sessions.get(s.peer.node) === s) this.sessions.delete(s.peer.node);
    s.port.close();
    if (this.state !== "closed") this.safely(() => this.handlers!.peerDown(s.peer, reason));
  }

  private kill(host: boolean): void {
    if (this.state === "closed") return;
    const peers = [...this.sessions.values()];
    this.state = "closed";
    for (const s of peers) {
      s.open = false;
      s.port.close();
    }
    this.sessions.clear();
    this.control.close();
    if (host && this.node !== null) {
      // A dead program hears nothing more.
      this.node.kill();
      return;
    }
    // Only the connection died: the node runs on and sees every peer lost.
    for (const s of peers) this.safely(() => this.handlers!.peerDown(s.peer, "connection_lost"));
  }

  private pause(flag: Int32Array | null): void {
    if (flag !== null && !this.local) {
      // The whole thread stops here, as SIGSTOP would stop it, until the switchboard clears the flag.
      while (Atomics.load(flag, 0) === 1) Atomics.wait(flag, 0, 1);
      return;
    }
    if (this.paused) return;
    this.paused = true;
    for (const s of this.sessions.values()) s.outHeld ??= [];
    this.node?.pause();
  }

  private resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.node?.resume();
    // Held traffic follows after a macrotask, as socket reads follow timers in an event loop.
    setImmediate(() => {
      for (const s of this.sessions.values()) {
        const out = s.outHeld;
        s.outHeld = null;
        if (out !== null) for (const buf of out) s.port.postMessage(buf, [buf]);
        this.deliverHeld(s);
      }
    });
  }

  private post(m: ToNetwork): void {
    this.control.postMessage(m);
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch {
      // Handlers must not throw; a faulty one must not stop the transport.
    }
  }
}
