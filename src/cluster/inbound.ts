/**
 * Inbound frames: a wire message from a peer is counted, decoded (never throws) and each of its
 * frames validated against its declared shape (`receiveFrames`), then handed to the node's
 * `remote*` methods or to the spawner (`dispatchFrame`) after checking its addressing: a pid said
 * to be of this node must name this node; the acting pid of a link, monitor or exit signal, and
 * the process a DOWN is about, must be on the sending node; a `hello` must name the incarnation
 * the transport reported; an exit signal not sent through a link is refused by a process that
 * takes them only through links (`Proc.linkedRemoteExitsOnly`), and a message whose sender field
 * names another node by a process that checks it (`Proc.senderField`) — both a hub. Anything wrong is counted in `stats.rejected` and logged at most once a second;
 * valid frames before a damaged tail of a batch are still handled.
 *
 * Imports the root `logger`, `process` (node, pid), its own `codec`, `frames`, `spawner`, `stats`.
 */
import type { Logger } from "../logger.js";
import { From, type Node } from "../process/node.js";
import { Pid } from "../process/pid.js";
import type { Proc } from "../process/proc.js";
import type { Codec } from "./codec.js";
import {
  type CallFrame,
  type DemonitorFrame,
  type Frame,
  FrameTag,
  type GenCallFrame,
  type HelloFrame,
  type MonitorNameFrame,
  PROTOCOL_VERSION,
  type SpawnReplyFrame,
  type SpawnRequestFrame,
  validateFrame,
} from "./frames.js";
import type { Spawner } from "./spawner.js";
import type { ClusterStats, RejectKind } from "./stats.js";

/** What dispatch needs from the cluster. */
export interface InboundContext {
  node: Node;
  logger: Logger;
  /** Monitors made by name from other nodes: ref key → watcher and the pid the name resolved to. */
  nameMonitors: Map<string, { watcher: Pid; pid: Pid }>;
  /** Protocol version each peer announced. */
  peerVersions: Map<string, number>;
  spawner: Spawner;
  /**
   * A peer's `hello`: the start of its session with this node. False when it names another
   * incarnation than the transport reported for `from` (refused, not acted on).
   */
  hello(from: string, incarnation: number, answer: boolean): boolean;
}

/** Decodes a wire message, validates and dispatches its frames, counts and reports the rejects. */
export class FrameIntake {
  private lastRejectLog = 0;

  constructor(
    private readonly ctx: InboundContext,
    private readonly codec: Codec,
    private readonly counters: ClusterStats,
  ) {}

  /** A wire message (one frame or a batch) from `from`. */
  receive(from: string, bytes: Uint8Array): void {
    const c = this.counters;
    c.messagesIn++;
    c.bytesIn += bytes.length;
    const { values, problem, detail } = this.codec.decode(bytes);
    for (let i = 0; i < values.length; i++) {
      const frame = validateFrame(values[i]);
      if (typeof frame === "string") {
        this.reject("invalid", from, frame);
        continue;
      }
      try {
        const fault = dispatchFrame(this.ctx, from, frame);
        if (fault !== null) this.reject("misaddressed", from, fault);
        else c.framesIn++;
      } catch (e) {
        this.ctx.logger.error({ node: this.ctx.node.name, from, err: e }, "handling a frame failed");
      }
    }
    if (problem !== null) this.reject(problem, from, detail ?? "");
  }

  private reject(kind: RejectKind, from: string, detail: string): void {
    this.counters.rejected[kind]++;
    const now = Date.now();
    if (now - this.lastRejectLog < 1000) return;
    this.lastRejectLog = now;
    this.ctx.logger.warn(
      { node: this.ctx.node.name, from, kind, detail, rejected: this.counters.rejected[kind] },
      "rejected an incoming frame",
    );
  }
}

/**
 * Hands a valid frame to the node. Returns null, or what is wrong with its addressing. The frames
 * of process operations are switched here; the cluster's own (`hello`, spawns) in `dispatchControl`.
 */
export function dispatchFrame(ctx: InboundContext, from: string, f: Frame): string | null {
  const node = ctx.node;
  const me = node.name;
  switch (f[0]) {
    case FrameTag.Send:
      if (f[1].node !== me) return "send to a pid of another node";
      if (!saysSender(node.proc(f[1]), from, f[2])) return SENDER_MISMATCH;
      node.remoteSend(f[1], f[2]);
      return null;
    case FrameTag.SendNamed:
      if (!saysSender(namedProc(node, f[1]), from, f[2])) return SENDER_MISMATCH;
      node.remoteSendNamed(f[1], f[2]);
      return null;
    case FrameTag.Link:
      if (f[1].node !== from || f[2].node !== me) return "link between the wrong nodes";
      node.remoteLink(f[1], f[2]);
      return null;
    case FrameTag.Unlink:
      if (f[1].node !== from || f[2].node !== me) return "unlink between the wrong nodes";
      node.remoteUnlink(f[1], f[2]);
      return null;
    case FrameTag.Monitor:
      if (f[1].node !== from || f[2].node !== me) return "monitor between the wrong nodes";
      node.remoteMonitor(f[1], f[2], f[3]);
      return null;
    case FrameTag.MonitorName:
      if (f[1].node !== from) return "monitor from a pid of another node";
      return monitorName(ctx, f);
    case FrameTag.Demonitor:
      if (f[2].node !== me) return "demonitor of a pid of another node";
      return demonitor(ctx, from, f);
    case FrameTag.Exit:
      if (f[2].node !== me) return "exit signal to a pid of another node";
      if (f[1].node !== from) return "exit signal from a pid of another node";
      if (!f[4] && node.proc(f[2])?.linkedRemoteExitsOnly === true)
        return "exit signal, not through a link, to a process that takes them only through links";
      node.remoteExit(f[1], f[2], f[3], f[4]);
      return null;
    case FrameTag.Down:
      if (f[1].node !== me) return "DOWN for a watcher on another node";
      if (f[3].node !== from) return "DOWN about a process of another node";
      node.remoteDown(f[1], f[2], f[3], f[4]);
      return null;
    case FrameTag.Reply:
      if (f[1].node !== me) return "reply to a pid of another node";
      node.remoteReply(f[1], f[2], f[3]);
      return null;
    case FrameTag.Call:
    case FrameTag.GenCall:
      return call(ctx, from, f);
    case FrameTag.CallReply:
      node.remoteCallReply(from, f[1], f[2], f[3], f[4]);
      return null;
    case FrameTag.Lookup:
      if (f[1].node !== from) return "lookup from a pid of another node";
      if (typeof f[3] !== "string" && f[3].node !== me) return "lookup of a pid of another node";
      node.remoteLookup(f[1], f[2], f[3]);
      return null;
    default:
      return dispatchControl(ctx, from, f);
  }
}

const SENDER_MISMATCH = "message naming another sender than its node, to a process that checks";

/**
 * Whether `msg` may go to `p` from node `from`: true unless `p` checks a sender field
 * (`Proc.senderField`) and `msg` has that field as a string naming another node.
 */
function saysSender(p: Proc | undefined, from: string, msg: unknown): boolean {
  const field = p?.senderField;
  if (field === undefined || typeof msg !== "object" || msg === null) return true;
  const said = (msg as Record<string, unknown>)[field];
  return typeof said !== "string" || said === from;
}

function namedProc(node: Node, name: string): Proc | undefined {
  const pid = node.whereis(name);
  return pid === undefined ? undefined : node.proc(pid);
}

/**
 * A call from `from`: its caller and ref are of `from`, its target of this node, by
 * construction (the frame carries numbers, not pids). Monitors the target for the caller, as a
 * `monitor` frame would (a dead target answers `DOWN noproc` and gets no message), remembers the
 * monitor for the reply that will end it, and delivers the request.
 */
function call(ctx: InboundContext, from: string, f: CallFrame | GenCallFrame): string | null {
  const node = ctx.node;
  const target = new Pid(node.name, f[3], f[4]);
  // The ref is a number of the caller's node and incarnation: built only if someone reads it.
  const caller = new From(new Pid(from, f[1], f[2]), f[5]);
  const msg = f[0] === FrameTag.Call ? f[6] : [f[6], caller, f[7], f[8]];
  if (!saysSender(node.proc(target), from, msg)) return SENDER_MISMATCH;
  node.remoteCall(target, caller, msg);
  return null;
}

function monitorName(ctx: InboundContext, f: MonitorNameFrame): null {
  const pid = ctx.node.whereis(f[2]);
  if (pid !== undefined) ctx.nameMonitors.set(f[3].key, { watcher: f[1], pid });
  ctx.node.remoteMonitor(f[1], f[2], f[3]);
  return null;
}

function demonitor(ctx: InboundContext, from: string, f: DemonitorFrame): null {
  let target = f[2];
  // A call that timed out, or was answered from elsewhere: its monitor goes (only `from`'s own).
  if (f[3].node === from && ctx.node.remoteCallEnded(f[3])) return null;
  if (target.id === 0 && target.creation === 0) {
    // A monitor made by name: the target is the pid the name resolved to then.
    const byName = ctx.nameMonitors.get(f[3].key);
    if (byName === undefined) return null;
    ctx.nameMonitors.delete(f[3].key);
    target = byName.pid;
  }
  ctx.node.remoteDemonitor(f[1], target, f[3]);
  return null;
}

/** The cluster's own frames: a peer's `hello`, spawn requests and their replies. */
function dispatchControl(
  ctx: InboundContext,
  from: string,
  f: HelloFrame | SpawnRequestFrame | SpawnReplyFrame,
): string | null {
  const me = ctx.node.name;
  switch (f[0]) {
    case FrameTag.SpawnRequest:
      void ctx.spawner.handleRequest(from, f[1], f[2], f[3]).catch((e: unknown) => {
        ctx.logger.error({ node: me, from, err: e }, "answering a spawn request failed");
      });
      return null;
    case FrameTag.SpawnReply:
      return ctx.spawner.handleReply(from, f[1], f[2], f[3]) ? null : "spawn reply from the wrong node";
    case FrameTag.Hello:
      if (!ctx.hello(from, f[2], f[3])) return "hello from another incarnation than the transport reported";
      ctx.peerVersions.set(from, f[1]);
      if (f[1] !== PROTOCOL_VERSION) {
        ctx.logger.warn(
          { node: me, peer: from, version: f[1], ours: PROTOCOL_VERSION },
          "peer speaks another protocol version",
        );
      }
      return null;
  }
}
