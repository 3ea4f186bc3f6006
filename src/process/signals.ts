/**
 * Links, monitors, exit signals and death: what happens between processes when one of them exits.
 *
 * Exit signals are applied when sent (JavaScript runs one thing at a time, so the target is never
 * mid-instruction): a non-trapping target dies at once, a trapping one gets an `ExitMessage`.
 * Death propagates through an explicit work list (`dying`), not recursion, so a chain of a
 * million links cannot overflow the stack. A dying process runs its exit hooks, then signals its
 * links, sends `DOWN` to its watchers, drops the monitors it holds, and fails the calls waiting on
 * it. Operations on pids of other nodes go to the node's router.
 *
 * It owns the death work list and the monitors held from outside any process (the system pid).
 * It removes a dead process from the node's tables (the node adds to them) and asks of the node:
 * `deliver` (EXIT and DOWN messages), `proc` / `isLocal` / `self` / `makeRef`, the router, the
 * logger (a throwing exit hook), and of the call table: the calls to fail.
 *
 * Imports `calls`, `errors`, `id-table`, `messages`, `pid`, `proc`, `scheduler`, `thenable`; the
 * `Node` type.
 */
import { exitChannel } from "../diagnostics.js";
import type { CallWatches } from "./call-watches.js";
import type { CallTable } from "./calls.js";
import { CallExitError, NotDistributedError, NotInProcessError } from "./errors.js";
import type { IdTable } from "./id-table.js";
import { DownMessage, ExitMessage } from "./messages.js";
import type { NodeCore } from "./node-core.js";
import { Pid, type Ref } from "./pid.js";
import { type ExitHook, type Proc, Status } from "./proc.js";
import { runningNode, runningProc } from "./scheduler.js";
import { isThenable } from "./thenable.js";

export class Signals {
  private readonly dying: Proc[] = [];
  private propagating = false;
  /** Monitors held from outside any process (the system pid), by ref key → target. */
  private readonly systemMonitors = new Map<string, Pid>();

  constructor(
    private readonly node: NodeCore,
    private readonly procs: IdTable<Proc>,
    private readonly names: Map<string, Proc>,
    private readonly calls: CallTable,
    private readonly callWatches: CallWatches,
  ) {}

  /** The pid of the process running now on this node; `NotInProcessError` outside any. */
  actorPid(op: string): Pid {
    const p = runningProc();
    if (p === null || runningNode() !== this.node) throw new NotInProcessError(op);
    return p.pid;
  }

  // ---------------------------------------------------------------- links

  /** See `Node.link`. */
  link(pid: Pid, actor?: Pid): void {
    const self = this.node.proc(actor ?? this.actorPid("link"));
    if (self === undefined || self.status === Status.Dead) return;
    this.linkPair(self, pid);
  }

  /** Links `self` with `pid` both ways; a dead or unreachable `pid` signals `self` at once. */
  linkPair(self: Proc, pid: Pid): void {
    if (pid.equals(self.pid)) return;
    const node = this.node;
    if (node.isLocal(pid)) {
      const other = this.procs.get(pid.id);
      if (other === undefined || other.status === Status.Dead) {
        this.signalExit(self, pid, "noproc", true);
        return;
      }
      other.addLink(self.pid);
    } else if (pid.node === node.name) {
      this.signalExit(self, pid, "noproc", true);
      return;
    } else {
      const router = node.router;
      if (router === null) throw new NotDistributedError(pid);
      if (!router.isConnected(pid.node)) {
        this.signalExit(self, pid, "noconnection", true);
        return;
      }
      router.link(self.pid, pid);
    }
    self.addLink(pid);
  }

  /** See `Node.unlink`. */
  unlink(pid: Pid, actor?: Pid): void {
    const node = this.node;
    const self = node.proc(actor ?? this.actorPid("unlink"));
    if (self === undefined) return;
    self.removeLink(pid);
    if (node.isLocal(pid)) this.procs.get(pid.id)?.removeLink(self.pid);
    else if (pid.node !== node.name && node.router !== null) node.router.unlink(self.pid, pid);
  }

  // ---------------------------------------------------------------- monitors

  /** See `Node.monitor`. */
  monitor(target: Pid | string | { name: string; node: string }, watcher?: Pid): Ref {
    const node = this.node;
    const w = watcher ?? node.self();
    const ref = node.makeRef();
    let pid: Pid | undefined;
    if (target instanceof Pid) pid = target;
    else if (typeof target === "string" || target.node === node.name) {
      pid = node.whereis(typeof target === "string" ? target : target.name);
    } else {
      if (node.router === null) throw new NotDistributedError(new Pid(target.node, 0, 0));
      const placeholder = new Pid(target.node, 0, 0);
      const wp = node.proc(w);
      if (wp !== undefined) (wp.monitoring ??= new Map()).set(ref.key, { ref, target: placeholder });
      node.router.monitorName(w, target.node, target.name, ref);
      return ref;
    }
    if (pid === undefined) {
      this.deliverDown(w, ref, new Pid(node.name, 0, node.creation), "noproc");
      return ref;
    }
    this.addMonitor(w, pid, ref);
    return ref;
  }

  private addMonitor(watcher: Pid, pid: Pid, ref: Ref): void {
    const node = this.node;
    const wp = node.proc(watcher);
    if (node.isLocal(pid)) {
      const tp = this.procs.get(pid.id);
      if (tp === undefined || tp.status === Status.Dead) {
        this.deliverDown(watcher, ref, pid, "noproc");
        return;
      }
      (tp.watchers ??= new Map()).set(ref.key, { ref, watcher });
    } else if (pid.node === node.name) {
      this.deliverDown(watcher, ref, pid, "noproc");
      return;
    } else {
      const router = node.router;
      if (router === null) throw new NotDistributedError(pid);
      if (!router.isConnected(pid.node)) {
        this.deliverDown(watcher, ref, pid, "noconnection");
        return;
      }
      router.monitor(watcher, pid, ref);
    }
    if (wp !== undefined) (wp.monitoring ??= new Map()).set(ref.key, { ref, target: pid });
    else if (watcher.equals(node.systemPid)) this.systemMonitors.set(ref.key, pid);
  }

  /** See `Node.demonitor`. */
  demonitor(ref: Ref, options: { flush?: boolean } = {}, watcher?: Pid): boolean {
    const node = this.node;
    const wpid = watcher ?? node.self();
    const w = node.proc(wpid);
    let target: Pid | undefined;
    if (w !== undefined) {
      target = w.monitoring?.get(ref.key)?.target;
      if (target !== undefined) w.monitoring!.delete(ref.key);
    } else if (wpid.equals(node.systemPid)) {
      target = this.systemMonitors.get(ref.key);
      if (target !== undefined) this.systemMonitors.delete(ref.key);
    }
    if (target !== undefined) {
      if (node.isLocal(target)) this.procs.get(target.id)?.watchers?.delete(ref.key);
      else if (node.router !== null) node.router.demonitor(wpid, target, ref);
    }
    if (w !== undefined && options.flush) w.drop((m) => m instanceof DownMessage && m.ref.equals(ref));
    return target !== undefined;
  }

  /** A monitor fired: the watcher gets its `DOWN` (or its waiting call fails, for a call's ref). */
  deliverDown(watcher: Pid, ref: Ref, pid: Pid, reason: unknown): void {
    const node = this.node;
    if (node.isLocal(watcher)) {
      const call = ref.node === node.name ? this.calls.byRemoteRef(ref.id) : undefined;
      if (call !== undefined) {
        // The call's monitor fired: the target's node dropped it.
        if (pid.equals(call.target)) call.monitorEnded = true;
        this.calls.settle(call, new CallExitError(reason, call.dest), true);
        return;
      }
      const wp = this.procs.get(watcher.id);
      if (wp === undefined) {
        if (watcher.id === 0) this.systemMonitors.delete(ref.key);
        return;
      }
      wp.monitoring?.delete(ref.key);
      node.deliver(wp, new DownMessage(ref, pid, reason));
    } else if (watcher.node !== node.name && node.router !== null) {
      node.router.down(watcher, ref, pid, reason);
    }
  }

  // ---------------------------------------------------------------- exit signals

  /** See `Node.exit`. */
  exit(pid: Pid, reason: unknown, from?: Pid): void {
    const node = this.node;
    const sender = from ?? node.self();
    if (node.isLocal(pid)) {
      const p = this.procs.get(pid.id);
      if (p !== undefined) this.signalExit(p, sender, reason, false);
    } else if (pid.node !== node.name && node.router !== null) {
      node.router.exit(sender, pid, reason, false);
    }
  }

  /** An exit signal reaching a live local process: it dies, traps it, or ignores it. */
  signalExit(target: Proc, from: Pid, reason: unknown, viaLink: boolean): void {
    if (target.status === Status.Dead) return;
    if (reason === "kill" && !viaLink) return this.terminate(target, "killed");
    if (target.trapExit) return this.node.deliver(target, new ExitMessage(from, reason));
    if (reason === "normal") {
      if (!viaLink && from.equals(target.pid)) this.terminate(target, "normal");
      return;
    }
    this.terminate(target, reason);
  }

  /** See `Node.trapExit`. */
  trapExit(flag: boolean, actor?: Pid): boolean {
    const p = this.node.proc(actor ?? this.actorPid("trapExit"));
    if (p === undefined) return false;
    const old = p.trapExit;
    p.trapExit = flag;
    return old;
  }

  /** See `Node.onExit`. */
  onExit(pid: Pid, hook: ExitHook): boolean {
    const p = this.node.proc(pid);
    if (p === undefined || p.status === Status.Dead) return false;
    this.addExitHook(p, hook);
    return true;
  }

  /** Adds an exit hook to a live process; they run in the order added. */
  addExitHook(p: Proc, hook: ExitHook): void {
    const hooks = p.exitHooks;
    if (hooks === null) p.exitHooks = hook;
    else if (typeof hooks === "function") p.exitHooks = [hooks, hook];
    else hooks.push(hook);
  }

  /** Removes one registration of `hook` (a no-op once the process is dead: its hooks ran). */
  removeExitHook(p: Proc, hook: ExitHook): void {
    const hooks = p.exitHooks;
    if (hooks === hook) p.exitHooks = null;
    else if (Array.isArray(hooks)) {
      const i = hooks.indexOf(hook);
      if (i >= 0) hooks.splice(i, 1);
    }
  }

  // ---------------------------------------------------------------- death

  /** See `Node.terminate`. */
  terminate(p: Proc, reason: unknown): void {
    if (p.status === Status.Dead) return;
    p.status = Status.Dead;
    p.exitReason = reason;
    if (exitChannel.hasSubscribers) this.exited(p, reason);
    this.procs.delete(p.pid.id);
    if (p.name !== undefined) {
      if (this.names.get(p.name) === p) this.names.delete(p.name);
    }
    if (p.receiver !== null) {
      if (p.receiver.timer !== null) this.node.wheel.cancel(p.receiver.timer);
      p.receiver = null;
    }
    p.mq = null;
    p.pendingInit = null;
    this.dying.push(p);
    if (!this.propagating) this.propagate();
  }

  // Out of line, so that `terminate` stays small enough to inline.
  private exited(p: Proc, reason: unknown): void {
    exitChannel.publish({
      type: "process:exit",
      node: this.node.name,
      pid: p.pid,
      reason,
      name: p.name,
      behaviour: p.behaviour,
    });
  }

  private propagate(): void {
    this.propagating = true;
    try {
      for (let i = 0; i < this.dying.length; i++) this.notifyDeath(this.dying[i]!);
    } finally {
      this.dying.length = 0;
      this.propagating = false;
    }
  }

  /**
   * Runs one exit hook. A hook that throws, or returns a promise that rejects, is logged (the
   * process is `process`, never `pid`: pino's field) and harms nothing else.
   */
  runExitHook(hook: ExitHook, pid: Pid, reason: unknown): void {
    let r: unknown;
    try {
      r = hook(pid, reason);
    } catch (e) {
      this.hookFailed(pid, e);
      return;
    }
    if (isThenable(r)) r.then(undefined, (e: unknown) => this.hookFailed(pid, e));
  }

  private hookFailed(pid: Pid, e: unknown): void {
    this.node.logger.error({ process: String(pid), err: e }, "exit hook failed");
  }

  private notifyDeath(p: Proc): void {
    const reason = p.exitReason;
    const pid = p.pid;
    const hooks = p.exitHooks;
    if (hooks !== null) {
      p.exitHooks = null;
      if (typeof hooks === "function") this.runExitHook(hooks, pid, reason);
      else for (const hook of hooks) this.runExitHook(hook, pid, reason);
    }
    if (p.linkCount > 0) this.signalLinks(p, pid, reason);
    if (p.watchers !== null) {
      for (const w of p.watchers.values()) this.deliverDown(w.watcher, w.ref, pid, reason);
      p.watchers = null;
    }
    if (p.remoteCallers > 0) {
      for (const from of this.callWatches.takeTarget(p)) this.deliverDown(from.pid, from.ref, pid, reason);
    }
    if (p.monitoring !== null) {
      const node = this.node;
      for (const [refKey, { ref, target }] of p.monitoring) {
        if (node.isLocal(target)) this.procs.get(target.id)?.watchers?.delete(refKey);
        else if (node.router !== null && target.node !== node.name) node.router.demonitor(pid, target, ref);
      }
      p.monitoring = null;
    }
    if (p.callersWaiting > 0) this.calls.failTarget(p, reason);
  }

  private signalLinks(p: Proc, pid: Pid, reason: unknown): void {
    const node = this.node;
    for (const other of p.takeLinks()) {
      if (node.isLocal(other)) {
        const op = this.procs.get(other.id);
        if (op !== undefined) {
          op.removeLink(pid);
          this.signalExit(op, pid, reason, true);
        }
      } else if (other.node !== node.name && node.router !== null) {
        node.router.exit(pid, other, reason, true);
      }
    }
  }

  /** `Node.kill`: no death is propagated, no system monitor kept. */
  stop(): void {
    this.dying.length = 0;
    this.systemMonitors.clear();
  }
}
