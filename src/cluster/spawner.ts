/**
 * Remote spawn: the node's registry of spawnable behaviours (a name and a start function that
 * gets serialisable arguments and returns a pid), the requests this node made to others, and the
 * answers it gives. Functions never travel: a remote spawn names a behaviour registered on the
 * target, and its arguments must encode. Imports the root `errors`, `process` (node, pid), its
 * own `errors` and `frames`.
 */
import { show } from "../errors.js";
import type { Node } from "../process/node.js";
import { Pid } from "../process/pid.js";
import type { TimerEntry } from "../process/timer-wheel.js";
import {
  BehaviourTakenError,
  NoConnectionError,
  RemoteSpawnError,
  SpawnTimeoutError,
  UnknownBehaviourError,
} from "./errors.js";
import { type Frame, FrameTag } from "./frames.js";

/**
 * Starts one process of a spawnable behaviour on this node, from serialisable arguments.
 * @category cluster
 */
export type StartFunction = (args: unknown[]) => Pid | Promise<Pid>;

/** What the spawner needs from the cluster. */
export interface SpawnerHost {
  readonly node: Node;
  isConnected(node: string): boolean;
  /** Encodes and queues a frame; throws `UnserialisableError` / `FrameTooLargeError`. */
  sendFrame(to: string, frame: Frame, what: string): void;
  /** Checks that a value encodes, as it would on the wire. */
  checkSerialisable(value: unknown, what: string): void;
}

interface PendingSpawn {
  node: string;
  behaviour: string;
  resolve: (pid: Pid) => void;
  reject: (e: unknown) => void;
  timer: TimerEntry;
}

export class Spawner {
  private readonly behaviours = new Map<string, StartFunction>();
  private readonly pending = new Map<number, PendingSpawn>();
  private nextId = 1;

  constructor(private readonly host: SpawnerHost) {}

  register(name: string, start: StartFunction): void {
    if (this.behaviours.has(name)) throw new BehaviourTakenError(name);
    this.behaviours.set(name, start);
  }

  unregister(name: string): boolean {
    return this.behaviours.delete(name);
  }

  registered(): string[] {
    return [...this.behaviours.keys()].sort();
  }

  spawnOn(node: string, behaviour: string, args: unknown[], timeoutMs: number): Promise<Pid> {
    const { host } = this;
    try {
      host.checkSerialisable(args, `arguments of ${show(behaviour)}`);
    } catch (e) {
      return Promise.reject(e);
    }
    if (node === host.node.name) return this.startLocal(behaviour, args);
    if (!host.isConnected(node)) return Promise.reject(new NoConnectionError(node));
    const id = this.nextId++;
    return new Promise<Pid>((resolve, reject) => {
      const timer = host.node.wheel.add(timeoutMs, () => {
        if (this.pending.delete(id)) reject(new SpawnTimeoutError(behaviour, node, timeoutMs));
      });
      this.pending.set(id, { node, behaviour, resolve, reject, timer });
      try {
        host.sendFrame(node, [FrameTag.SpawnRequest, id, behaviour, args], `arguments of ${show(behaviour)}`);
      } catch (e) {
        this.settle(id, e, false);
      }
    });
  }

  /** A peer asks this node to start `behaviour`; answers it with the pid or the error. */
  async handleRequest(from: string, id: number, behaviour: string, args: unknown[]): Promise<void> {
    let reply: Frame;
    try {
      const pid = await this.startLocal(behaviour, args);
      reply = [FrameTag.SpawnReply, id, true, pid];
    } catch (e) {
      reply = [FrameTag.SpawnReply, id, false, e];
    }
    try {
      this.host.sendFrame(from, reply, "spawn reply");
    } catch {
      // The error (or its cause) does not encode: answer with a plain one.
      const plain = new RemoteSpawnError(behaviour, this.host.node.name, { cause: String(reply[3]) });
      this.host.sendFrame(from, [FrameTag.SpawnReply, id, false, plain], "spawn reply");
    }
  }

  handleReply(from: string, id: number, ok: boolean, payload: unknown): boolean {
    const p = this.pending.get(id);
    if (p === undefined) return true;
    if (p.node !== from) return false;
    this.settle(id, payload, ok);
    return true;
  }

  /** Fails the requests made to a node that went down. */
  nodeDown(node: string): void {
    for (const [id, p] of this.pending)
      if (p.node === node) this.settle(id, new NoConnectionError(node), false);
  }

  private settle(id: number, value: unknown, ok: boolean): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    this.host.node.wheel.cancel(p.timer);
    if (ok) p.resolve(value as Pid);
    else p.reject(value);
  }

  private async startLocal(behaviour: string, args: unknown[]): Promise<Pid> {
    const start = this.behaviours.get(behaviour);
    if (start === undefined) throw new UnknownBehaviourError(behaviour, this.host.node.name);
    let pid: unknown;
    try {
      pid = await start(args);
    } catch (e) {
      throw new RemoteSpawnError(behaviour, this.host.node.name, { cause: e });
    }
    if (!(pid instanceof Pid)) {
      throw new RemoteSpawnError(behaviour, this.host.node.name, {
        cause: `start returned ${show(pid)}, not a pid`,
      });
    }
    return pid;
  }
}
