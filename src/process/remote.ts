/**
 * The seam between the local runtime and the cluster layer. A `Node` hands every operation on a
 * pid of another node to its `RemoteRouter`; the cluster layer implements it and calls the node's
 * `remote*` inbound methods when frames arrive. Imports `pid`.
 */
import type { From } from "./calls.js";
import type { Pid, Ref } from "./pid.js";

/** Outbound operations on processes of other nodes. Each is fire-and-forget, like OTP signals. */
export interface RemoteRouter {
  send(to: Pid, msg: unknown): void;
  sendNamed(node: string, name: string, msg: unknown): void;
  link(from: Pid, to: Pid): void;
  unlink(from: Pid, to: Pid): void;
  monitor(watcher: Pid, target: Pid, ref: Ref): void;
  /** Monitors a process by name on another node; `DOWN` carries `noproc` if the name is free. */
  monitorName(watcher: Pid, node: string, name: string, ref: Ref): void;
  demonitor(watcher: Pid, target: Pid, ref: Ref): void;
  /** An exit signal; `viaLink` tells a link propagation from an explicit `exit(pid, reason)`. */
  exit(from: Pid, to: Pid, reason: unknown, viaLink: boolean): void;
  /** A monitor fired for a remote watcher. */
  down(watcher: Pid, ref: Ref, pid: Pid, reason: unknown): void;
  /**
   * A call: its caller (`from.pid`, a local process or the system pid) monitors `target` under
   * the call's ref (`from.refId`, a ref of this node) and sends it `msg` — `monitor` then `send`,
   * in one frame where the peer speaks it. Optional: without it a call is those two.
   */
  call?(target: Pid, from: From, msg: unknown): void;
  /** A call whose request is `[tag, from, name, arg]` (`Node.callTagged`), the same way. Optional. */
  callTagged?(target: Pid, from: From, tag: string, name: string, arg: unknown): void;
  /** A reply to a call made from the remote node. */
  reply(to: Pid, ref: Ref, value: unknown): void;
  /**
   * Asks `node` whether `target` (a pid of that node, or a name there) is a live process; the
   * answer comes back as a reply to `from` by `ref` (`Node.remoteReply`): the live pid, or `null`.
   * Optional: a node whose router lacks it cannot `lookup` other nodes' processes.
   */
  lookup?(from: Pid, node: string, target: Pid | string, ref: Ref): void;
  /** Whether `node` is currently a connected member. */
  isConnected(node: string): boolean;
}
