/**
 * Per-destination batching. Frames queued for one node during the same tick are concatenated
 * into one wire message, flushed on a microtask: a lone frame leaves at the end of the current
 * job, never after a timer, while a burst (a process sending in a loop, a run-queue drain) goes
 * out as a few large messages. A batch never exceeds the maximum frame size; order per
 * destination is preserved. Imports its own `transport` and `stats`.
 */
import type { ClusterStats } from "./stats.js";
import type { Transport } from "./transport.js";

interface Queue {
  chunks: Uint8Array[];
  size: number;
}

export class Outbox {
  private readonly queues = new Map<string, Queue>();
  private readonly dirty: Queue[] = [];
  private readonly dirtyNames: string[] = [];
  private scheduled = false;

  constructor(
    private readonly transport: Transport,
    private readonly maxBytes: number,
    private readonly stats: ClusterStats,
    private readonly batching: boolean,
  ) {}

  /** Queues one encoded frame for `to`. */
  push(to: string, bytes: Uint8Array): void {
    this.stats.framesOut++;
    if (!this.batching) {
      this.emit(to, bytes);
      return;
    }
    let q = this.queues.get(to);
    if (q === undefined) {
      q = { chunks: [], size: 0 };
      this.queues.set(to, q);
    }
    if (q.size + bytes.length > this.maxBytes && q.chunks.length > 0) this.flushQueue(to, q);
    if (q.chunks.length === 0) {
      this.dirty.push(q);
      this.dirtyNames.push(to);
    }
    q.chunks.push(bytes);
    q.size += bytes.length;
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.flush);
    }
  }

  /** Sends everything queued now. */
  readonly flush = (): void => {
    this.scheduled = false;
    const dirty = this.dirty;
    const names = this.dirtyNames;
    for (let i = 0; i < dirty.length; i++) {
      const q = dirty[i]!;
      if (q.chunks.length > 0) this.flushQueue(names[i]!, q);
    }
    dirty.length = 0;
    names.length = 0;
  };

  /** Drops what is queued for a node that went away, and its queue. */
  forget(node: string): void {
    const q = this.queues.get(node);
    if (q === undefined) return;
    q.chunks.length = 0;
    q.size = 0;
    this.queues.delete(node);
  }

  private flushQueue(to: string, q: Queue): void {
    const chunks = q.chunks;
    const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, q.size);
    chunks.length = 0;
    q.size = 0;
    this.emit(to, bytes);
  }

  private emit(to: string, bytes: Uint8Array): void {
    this.stats.messagesOut++;
    this.stats.bytesOut += bytes.length;
    this.transport.send(to, bytes);
  }
}
