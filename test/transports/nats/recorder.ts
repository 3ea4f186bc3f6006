/**
 * Test helper: `TransportHandlers` that record every frame and membership event, plus a factory
 * for NATS transports with short test timings. Imports the transport types and the NATS transport.
 */
import type { NodeIdentity, PeerDownReason, TransportHandlers } from "../../../src/cluster/transport.js";
import { silentLogger } from "../../../src/logger.js";
import { NatsTransport, type NatsTransportOptions } from "../../../src/transports/nats/index.js";

/** One recorded membership event. */
export interface MembershipEvent {
  type: "up" | "down";
  peer: NodeIdentity;
  reason?: PeerDownReason;
  at: number;
}

/** Records what a transport reports. */
export class Recorder implements TransportHandlers {
  readonly events: MembershipEvent[] = [];
  readonly frames: { from: string; text: string }[] = [];
  private readonly view = new Map<string, NodeIdentity>();

  frame(from: string, bytes: Uint8Array): void {
    this.frames.push({ from, text: Buffer.from(bytes).toString("utf8") });
  }
  peerUp(peer: NodeIdentity): void {
    this.view.set(peer.node, peer);
    this.events.push({ type: "up", peer, at: performance.now() });
  }
  peerDown(peer: NodeIdentity, reason: PeerDownReason): void {
    this.view.delete(peer.node);
    this.events.push({ type: "down", peer, reason, at: performance.now() });
  }

  /** Whether `node` is up in the recorded view (optionally with that incarnation). */
  isUp(node: string, incarnation?: number): boolean {
    const p = this.view.get(node);
    return p !== undefined && (incarnation === undefined || p.incarnation === incarnation);
  }
  /** Reasons of every `down` reported for `node`, in order. */
  downs(node: string): PeerDownReason[] {
    return this.events.filter((e) => e.type === "down" && e.peer.node === node).map((e) => e.reason!);
  }
  /** Texts of the frames received from `from`. */
  textsFrom(from: string): string[] {
    return this.frames.filter((f) => f.from === from).map((f) => f.text);
  }
}

/** Short timings so tests finish quickly; still tolerant of a loaded 2-core machine. */
export const TEST_TIMINGS = {
  heartbeatIntervalMs: 100,
  heartbeatTimeoutMs: 1500,
  probeIntervalMs: 50,
  probeTimeoutMs: 500,
} as const;

/** A NATS transport on `servers` with test timings, silent logs and quick reconnects. */
export function testTransport(servers: string | string[], extra: NatsTransportOptions = {}): NatsTransport {
  return new NatsTransport({
    ...TEST_TIMINGS,
    logger: silentLogger,
    ...extra,
    connection: { servers, reconnectTimeWait: 100, ...(extra.connection as object) },
  });
}

/** Encodes a text frame. */
export function text(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** A fresh identity. */
export function ident(node: string, incarnation = 1, cluster = "t"): NodeIdentity {
  return { cluster, node, incarnation };
}
