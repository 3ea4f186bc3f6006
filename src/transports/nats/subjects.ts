/**
 * The NATS subjects of one cluster. Everything lives under `<prefix>.<cluster>.` so clusters
 * sharing a NATS deployment never see each other's traffic. The sender's name travels as the last
 * subject token, which lets a receiver learn who sent a frame without copying or parsing the
 * payload. Imports `./errors.ts`.
 */
import { NatsInvalidNameError } from "./errors.js";

const BAD_TOKEN = /[.*>\s]/;

/** Throws unless `value` can be used as one NATS subject token. */
export function checkToken(field: string, value: string): void {
  if (typeof value !== "string" || value.length === 0 || BAD_TOKEN.test(value)) {
    throw new NatsInvalidNameError(field, String(value));
  }
}

/** Subject builders for one cluster. */
export class Subjects {
  /** `<prefix>.<cluster>` */
  readonly root: string;
  /** What every node subscribes to for heartbeats, announcements and leaves (control messages). */
  readonly heartbeatInbox: string;

  constructor(prefix: string, cluster: string) {
    this.root = `${prefix}.${cluster}`;
    this.heartbeatInbox = `${this.root}.hb.*`;
  }

  /**
   * Control messages of `from`. The sender is a subject token, as for frames, so that NATS
   * permissions can let each node publish only its own (see `nats-config.ts`).
   */
  heartbeat(from: string): string {
    return `${this.root}.hb.${from}`;
  }

  /** Direct frame from `from` to `to`. */
  direct(to: string, from: string): string {
    return `${this.root}.node.${to}.${from}`;
  }

  /** What node `me` subscribes to for its direct frames. */
  directInbox(me: string): string {
    return `${this.root}.node.${me}.*`;
  }

  /** Broadcast frame sent by `from`. */
  broadcast(from: string): string {
    return `${this.root}.all.${from}`;
  }

  /** What every node subscribes to for broadcast frames. */
  broadcastInbox(): string {
    return `${this.root}.all.*`;
  }

  /** Liveness probe of node `name`: answered by the node while its connection lives. */
  probe(name: string): string {
    return `${this.root}.probe.${name}`;
  }
}

/** The last token of a subject: the sender of a frame. */
export function lastToken(subject: string): string {
  return subject.slice(subject.lastIndexOf(".") + 1);
}
