/**
 * Inbound dispatch: hands a validated frame to the node's `remote*` methods (or to the spawner),
 * after checking its addressing: a pid said to be of this node must name this node, and the
 * acting pid of a link or monitor must be on the sending node. Imports the root `logger`,
 * `process` (node, pid), its own `frames` and `spawner`.
 */
import type { Logger } from "../logger.js";
import type { Node } from "../process/node.js";
import type { Pid } from "../process/pid.js";
import { type Frame, FrameTag, PROTOCOL_VERSION } from "./frames.js";
import type { Spawner } from "./spawner.js";

/** What dispatch needs from the cluster. */
export interface InboundContext {
  node: Node;
  logger: Logger;
  /** Monitors made by name from other nodes: ref key → watcher and the pid the name resolved to. */
  nameMonitors: Map<string, { watcher: Pid; pid: Pid }>;
  /** Protocol version each peer announced. */
  peerVersions: Map<string, number>;
  spawner: Spawner;
  /** A peer's `hello`: the start of its session with this node. */
  hello(from: string, incarnation: number, answer: boolean): void;
}

/** Hands a valid frame to the node. Returns null, or what is wrong with its addressing. */
export function dispatchFrame(ctx: InboundContext, from: string, f: Frame): string | null {
  const node = ctx.node;
  const me = node.name;
  switch (f[0]) {
    case FrameTag.Send:
      if (f[1].node !== me) return "send to a pid of another node";
      node.remoteSend(f[1], f[2]);
      return null;
    case FrameTag.SendNamed:
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
    case FrameTag.MonitorName: {
      if (f[1].node !== from) return "monitor from a pid of another node";
      const pid = node.whereis(f[2]);
      if (pid !== undefined) ctx.nameMonitors.set(f[3].key, { watcher: f[1], pid });
      node.remoteMonitor(f[1], f[2], f[3]);
      return null;
    }
    case FrameTag.Demonitor: {
      if (f[2].node !== me) return "demonitor of a pid of another node";
      let target = f[2];
      if (target.id === 0 && target.creation === 0) {
        const byName = ctx.nameMonitors.get(f[3].key);
        if (byName === undefined) return null;
        ctx.nameMonitors.delete(f[3].key);
        target = byName.pid;
      }
      node.remoteDemonitor(f[1], target, f[3]);
      return null;
    }
    case FrameTag.Exit:
      if (f[2].node !== me) return "exit signal to a pid of another node";
      node.remoteExit(f[1], f[2], f[3], f[4]);
      return null;
    case FrameTag.Down:
      if (f[1].node !== me) return "DOWN for a watcher on another node";
      node.remoteDown(f[1], f[2], f[3], f[4]);
      return null;
    case FrameTag.Reply:
      if (f[1].node !== me) return "reply to a pid of another node";
      node.remoteReply(f[1], f[2], f[3]);
      return null;
    case FrameTag.SpawnRequest:
      void ctx.spawner.handleRequest(from, f[1], f[2], f[3]).catch((e: unknown) => {
        ctx.logger.error({ node: me, from, err: e }, "answering a spawn request failed");
      });
      return null;
    case FrameTag.SpawnReply:
      return ctx.spawner.handleReply(from, f[1], f[2], f[3]) ? null : "spawn reply from the wrong node";
    case FrameTag.Hello:
      ctx.hello(from, f[2], f[3]);
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
