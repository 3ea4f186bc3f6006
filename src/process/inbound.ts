/**
 * Inbound remote operations: what other nodes do to this node's processes. The cluster layer
 * decodes each frame and calls the node's `remote*` methods, which land here (`remoteSend` and
 * `remoteReply` go straight to the node's send and to the caller); `nodeDown` is the loss of a
 * whole node: every link and monitor to its processes fires `noconnection` and every call to it
 * fails at once.
 *
 * It owns no state. It reads the node's process and name tables, and asks of the node: `proc`, `isLocal`,
 * `deliver`, the router (to answer a link or monitor of a dead process); of the signals: an exit
 * signal to apply, a `DOWN` to deliver; of the call table: the calls a DOWN or a lost node fails.
 *
 * Imports `calls`, `errors`, `id-table`, `messages`, `pid`, `proc`, `signals`; the `Node` type.
 */
import type { CallWatches } from "./call-watches.js";
import type { CallTable, From } from "./calls.js";
import { CallExitError } from "./errors.js";
import type { IdTable } from "./id-table.js";
import { DownMessage } from "./messages.js";
import type { NodeCore } from "./node-core.js";
import { Pid, type Ref } from "./pid.js";
import { type Proc, Status } from "./proc.js";
import type { Signals } from "./signals.js";

export class Inbound {
  constructor(
    private readonly node: NodeCore,
    private readonly procs: IdTable<Proc>,
    private readonly names: Map<string, Proc>,
    private readonly signals: Signals,
    private readonly calls: CallTable,
    private readonly callWatches: CallWatches,
  ) {}

  /** See `Node.remoteCall`. */
  call(target: Pid, from: From, msg: unknown): boolean {
    const node = this.node;
    const p = node.proc(target);
    if (p === undefined || p.status === Status.Dead) {
      node.router?.down(from.pid, from.ref, target, "noproc");
      return false;
    }
    this.callWatches.add(from, p);
    node.deliver(p, msg);
    return true;
  }

  /** See `Node.remoteSendNamed`. */
  sendNamed(name: string, msg: unknown): void {
    const p = this.names.get(name);
    if (p !== undefined) this.node.deliver(p, msg);
  }

  /** See `Node.remoteLink`. */
  link(from: Pid, to: Pid): void {
    const p = this.node.proc(to);
    if (p === undefined || p.status === Status.Dead) {
      this.node.router?.exit(to, from, "noproc", true);
      return;
    }
    p.addLink(from);
  }

  /** See `Node.remoteMonitor`. */
  monitor(watcher: Pid, target: Pid | string, ref: Ref): boolean {
    const node = this.node;
    const p = typeof target === "string" ? this.names.get(target) : node.proc(target);
    const pid = typeof target === "string" ? (p?.pid ?? new Pid(node.name, 0, node.creation)) : target;
    if (p === undefined || p.status === Status.Dead) {
      node.router?.down(watcher, ref, pid, "noproc");
      return false;
    }
    (p.watchers ??= new Map()).set(ref.key, { ref, watcher });
    return true;
  }

  /** See `Node.remoteDemonitor`. */
  demonitor(target: Pid | string, ref: Ref): void {
    const p = typeof target === "string" ? this.names.get(target) : this.node.proc(target);
    p?.watchers?.delete(ref.key);
  }

  /** See `Node.remoteLookup`: the live pid behind `target`, or `null`, as a reply. */
  lookup(from: Pid, ref: Ref, target: Pid | string): void {
    const p = typeof target === "string" ? this.names.get(target) : this.node.proc(target);
    const alive = p !== undefined && p.status !== Status.Dead ? p.pid : null;
    this.node.router?.reply(from, ref, alive);
  }

  /** See `Node.remoteExit`. */
  exit(from: Pid, to: Pid, reason: unknown, viaLink: boolean): void {
    const p = this.node.proc(to);
    if (p === undefined) return;
    if (viaLink) {
      if (!p.removeLink(from)) return;
    }
    this.signals.signalExit(p, from, reason, viaLink);
  }

  /** See `Node.remoteDown`. */
  down(watcher: Pid, ref: Ref, pid: Pid, reason: unknown): void {
    const node = this.node;
    // A DOWN for a monitor the watcher dropped meanwhile (demonitor crossed it on the wire) is stale.
    if (
      node.isLocal(watcher) &&
      watcher.id !== 0 &&
      !(ref.node === node.name && this.calls.byRemoteRef(ref.id))
    ) {
      const wp = node.proc(watcher);
      if (wp === undefined || wp.monitoring === null || !wp.monitoring.has(ref.key)) return;
    }
    this.signals.deliverDown(watcher, ref, pid, reason);
  }

  /** See `Node.nodeDown`. */
  nodeDown(node: string): void {
    this.callWatches.forget(node);
    for (const p of this.procs.unordered()) {
      if (p.status === Status.Dead) continue;
      if (p.watchers !== null) {
        for (const [k, w] of p.watchers) if (w.watcher.node === node) p.watchers.delete(k);
      }
      if (p.monitoring !== null) {
        for (const [k, { ref, target }] of [...p.monitoring]) {
          if (target.node !== node) continue;
          p.monitoring.delete(k);
          this.node.deliver(p, new DownMessage(ref, target, "noconnection"));
        }
      }
      if (p.linkCount > 0) {
        for (const other of p.links()) {
          if (other.node !== node) continue;
          p.removeLink(other);
          this.signals.signalExit(p, other, "noconnection", true);
        }
      }
    }
    for (const call of this.calls.select((c) => c.target.node === node)) {
      call.monitorEnded = true;
      this.calls.settle(call, new CallExitError("noconnection", call.dest), true);
    }
  }
}
