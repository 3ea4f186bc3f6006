/**
 * The heartbeat thread: a worker thread with its own NATS connection that publishes this node's
 * heartbeat every `heartbeatIntervalMs`, so that a node whose event loop is busy (a huge start,
 * a long synchronous computation) stays up in its peers' views. It tells busy from frozen and
 * from hung through one shared clock record (`Float64Array` over a `SharedArrayBuffer`):
 *
 * - `MAIN_TICK`: when the node's event loop last ran its maintenance (written by the session).
 *   A loop silent longer than `maxBusyMs` is taken as hung: the thread stops vouching for it, and
 *   the peers declare it down `heartbeatTimeoutMs` later.
 * - `BEAT_SINCE` / `LAST_BEAT`: since when the thread has beaten without a gap longer than the
 *   heartbeat timeout (the silence after which a peer gives up), and when it last did. A stretch of the event loop covered by them was
 *   heard by every peer: busy, not down (the session then keeps its view).
 * - `OFFLINE`: 1 while the session's own connection is down: the node is cut off, whatever this
 *   thread's connection says, so it does not beat then.
 * - `FROZE`: when the last freeze of the whole process began, as the thread saw it (its own
 *   timer fired later than the heartbeat timeout). The session rejoins if it has not since.
 *
 * A SIGSTOP stops every thread of the process, this one too: its own timer then fires late, the
 * beats show a gap, and the session rejoins under a new session as it did before there was a
 * thread (see `NatsSession.checkStall`). After such a freeze the thread holds its heartbeats
 * until the session has rejoined, so the peers never hear the session they declared down again.
 *
 * The thread runs plain JavaScript given as source (no module of ours to load, so it works the
 * same from the TypeScript sources and from the package) and loads the NATS client by the path
 * resolved here. It needs connection options it can be handed (no functions: an `authenticator`
 * function, or an existing connection, cannot cross threads): otherwise the session runs without
 * it. With `auth` it seals each heartbeat itself (an HMAC, as `WireAuth.seal` does) with what the
 * session hands it (`ThreadSealing`: key id, MAC key, context, session), numbered in a sequence
 * stream of its own (stream 1 of `wire-auth.ts`), so the receivers' replay windows take the
 * thread's heartbeats and the event loop's messages apart. Imports `node:worker_threads`,
 * `node:module`, the logger, the cluster `Transport` types and the wire layout of `./wire-auth.ts`.
 */
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type { NodeConnectionOptions } from "@nats-io/transport-node";
import type { Logger } from "../../logger.js";
import { HEADER_BYTES, SealKind, STREAM, TAG_BYTES, type ThreadSealing, WIRE_VERSION } from "./wire-auth.js";

export const MAIN_TICK = 0;
export const BEAT_SINCE = 1;
export const LAST_BEAT = 2;
export const FROZE = 3;
export const OFFLINE = 4;

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across threads. */
export function clock(): number {
  return performance.timeOrigin + performance.now();
}

const SOURCE = `
const { workerData: d, parentPort } = require("node:worker_threads");
const { connect } = require(d.client);
const { createHmac } = require("node:crypto");
const shared = new Float64Array(d.shared);
const clock = () => performance.timeOrigin + performance.now();
let bytes;
let busyBytes;
// With auth: what WireAuth.forThread gave, and this thread's own sequence (stream 1).
let sealing;
let seq = 0;
// The layout of WireAuth.seal for a heartbeat: header, payload, truncated HMAC-SHA256 tag over the
// context and everything before the tag.
const seal = (payload) => {
  if (sealing === undefined) return payload;
  const tagAt = ${HEADER_BYTES} + payload.length;
  const out = Buffer.allocUnsafe(tagAt + ${TAG_BYTES});
  out[0] = ${WIRE_VERSION};
  out[1] = ${SealKind.Heartbeat};
  out.writeUInt32BE(sealing.keyId, 2);
  out.writeDoubleBE(sealing.incarnation, 6);
  out.writeUInt32BE(sealing.session >>> 0, 14);
  out.writeDoubleBE(${STREAM} + seq++, 18);
  out.writeDoubleBE(Date.now(), 26);
  out.writeDoubleBE(0, 34);
  out.set(payload, ${HEADER_BYTES});
  const mac = createHmac("sha256", sealing.macKey).update(sealing.context).update(out.subarray(0, tagAt)).digest();
  mac.copy(out, tagAt, 0, ${TAG_BYTES});
  return out;
};
let bytesAt = -Infinity;
let last = clock();
let holdFrom = -1;
(async () => {
  const nc = await connect(d.connection);
  const beat = () => {
    const now = clock();
    const gap = now - last;
    last = now;
    // Frozen with the whole process past the timeout: the peers gave this session up. Hold
    // until the session has taken a new one after the freeze began.
    if (gap > d.timeoutMs) { holdFrom = now - gap; shared[${FROZE}] = holdFrom; }
    if (holdFrom >= 0) {
      if (bytesAt < holdFrom) { shared[${BEAT_SINCE}] = Infinity; return; }
      holdFrom = -1;
    }
    const silent = now - shared[${MAIN_TICK}];
    // A loop silent this long is hung, not busy: stop vouching for it.
    if (silent > d.maxBusyMs || shared[${OFFLINE}] === 1 || nc.isClosed()) { shared[${BEAT_SINCE}] = Infinity; return; }
    try { nc.publish(d.subject, seal(silent > d.busyAfterMs ? busyBytes : bytes)); } catch { shared[${BEAT_SINCE}] = Infinity; return; }
    if (!(shared[${BEAT_SINCE}] <= now)) shared[${BEAT_SINCE}] = now;
    shared[${LAST_BEAT}] = now;
  };
  parentPort.on("message", (m) => {
    if (m.t === "sealing") sealing = m.sealing;
    else if (m.t === "bytes") {
      const first = bytes === undefined;
      bytes = m.bytes; busyBytes = m.busy; bytesAt = m.at;
      if (m.sealing !== undefined) sealing = m.sealing;
      // Beats only once the session has joined: a heartbeat before its subscriptions exist
      // would bring it up for peers whose probes then find nobody.
      if (first) { last = clock(); setInterval(beat, d.intervalMs); beat(); }
    }
    else if (m.t === "stop") nc.close().finally(() => process.exit(0));
  });
  parentPort.postMessage({ t: "ready" });
})().catch((err) => {
  parentPort.postMessage({ t: "failed", reason: String(err && err.message || err) });
});
`;

/** What the thread needs from its session. */
export interface HeartbeatThreadConfig {
  /** The thread's connection options: the session's own, so both fail over alike. */
  connection: NodeConnectionOptions;
  subject: string;
  intervalMs: number;
  /** How long the event loop may go without a tick before the heartbeats say busy. */
  busyAfterMs: number;
  timeoutMs: number;
  maxBusyMs: number;
  logger: Logger;
}

/** The session's handle on its heartbeat thread. */
export class HeartbeatThread {
  readonly shared = new Float64Array(new SharedArrayBuffer(5 * 8));
  private readonly worker: Worker;
  private readonly timeoutMs: number;
  private stopped = false;

  private constructor(config: HeartbeatThreadConfig) {
    this.timeoutMs = config.timeoutMs;
    this.shared[MAIN_TICK] = clock();
    this.shared[BEAT_SINCE] = Number.POSITIVE_INFINITY;
    this.shared[FROZE] = Number.NEGATIVE_INFINITY;
    this.worker = new Worker(SOURCE, {
      eval: true,
      workerData: {
        client: createRequire(import.meta.url).resolve("@nats-io/transport-node"),
        connection: config.connection,
        subject: config.subject,
        intervalMs: config.intervalMs,
        busyAfterMs: config.busyAfterMs,
        timeoutMs: config.timeoutMs,
        maxBusyMs: config.maxBusyMs,
        shared: this.shared.buffer,
      },
      // Its own heap is small: a connection and a timer.
      resourceLimits: { maxOldGenerationSizeMb: 32 },
    });
    this.worker.unref();
    this.worker.on("error", (err) => config.logger.warn({ err }, "nats heartbeat thread failed"));
  }

  /**
   * Starts a heartbeat thread and resolves once its connection is open, or resolves `undefined`
   * (logged) when it cannot run: options that cannot be handed to a thread, or a thread that
   * fails to connect. It beats only from the first `beat` on.
   */
  static async start(config: HeartbeatThreadConfig): Promise<HeartbeatThread | undefined> {
    let t: HeartbeatThread;
    try {
      structuredClone(config.connection);
      t = new HeartbeatThread(config);
    } catch (err) {
      config.logger.info(
        { err },
        "nats heartbeat thread not started: connection options cannot cross threads",
      );
      return undefined;
    }
    const outcome = await new Promise<string>((resolve) => {
      t.worker.once("message", (m: { t: string; reason?: string }) =>
        resolve(m.t === "ready" ? "" : m.reason!),
      );
      t.worker.once("exit", (code) => resolve(`exited with code ${code}`));
    });
    if (outcome === "") return t;
    config.logger.warn({ reason: outcome }, "nats heartbeat thread not started");
    await t.stop();
    return undefined;
  }

  /** The node's event loop ran at `at` (wall clock, now by default). */
  tick(at = clock()): void {
    this.shared[MAIN_TICK] = at;
  }

  /**
   * Whether the peers heard this node all along since `from`, the wall-clock time at which its
   * event loop last ran (and heartbeated, at most an interval before): the thread beat from
   * within half a heartbeat timeout of it until now, without a gap as long as the timeout. Then
   * the stretch since `from` was busy, not a freeze.
   */
  covered(from: number): boolean {
    const s = this.shared;
    return s[BEAT_SINCE]! <= from + this.timeoutMs / 2 && clock() - s[LAST_BEAT]! <= this.timeoutMs;
  }

  /** Whether the session's own connection is down (the thread then does not beat). */
  set offline(value: boolean) {
    this.shared[OFFLINE] = value ? 1 : 0;
  }

  /** When the last freeze of the whole process began (-Infinity: none seen). */
  get frozeAt(): number {
    return this.shared[FROZE]!;
  }

  /**
   * Beat `heartbeat` from now on (`busy` while the event loop has not ticked for `busyAfterMs`):
   * the session joined, or rejoined under a new session at `at` (wall clock). With `auth`,
   * `sealing` is what seals them (for that session).
   */
  beat(heartbeat: Uint8Array, busy: Uint8Array, at: number, sealing?: ThreadSealing): void {
    this.worker.postMessage({ t: "bytes", bytes: heartbeat, busy, at, sealing });
  }

  /** Seal the heartbeats with `sealing` from now on: the secrets changed (`rotateSecrets`). */
  reseal(sealing: ThreadSealing): void {
    this.worker.postMessage({ t: "sealing", sealing });
  }

  /** Closes the thread's connection and ends it. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.worker.postMessage({ t: "stop" });
    const timer = setTimeout(() => void this.worker.terminate(), 1000);
    await new Promise((resolve) => this.worker.once("exit", resolve));
    clearTimeout(timer);
  }
}
