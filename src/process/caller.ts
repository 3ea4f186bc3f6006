/**
 * Making calls and settling them: the request/reply plumbing behind `GenServer.call`, over the
 * call table of `calls.ts`.
 *
 * A call resolves its target, opens a `PendingCall` in the table (which is also the call's
 * `From`), builds its request and delivers it. `GenServer.call` (`callTagged`) takes its promise's
 * resolvers from one shared executor (no closure per call) and, for a target on this node,
 * delivers the pending call itself as the request (it carries `tag`, `name` and `arg`); only a
 * request that travels to another node is the `[tag, from, name, arg]` array. A call to another
 * node also monitors its target, so the target's death or its node's loss fails it at once. A
 * reply to a local call settles it without a lookup; one from another node finds it by ref.
 *
 * It owns the call table and the node's ref numbers (`RefNumbers`, shared with `Node.makeRef`).
 * It asks of the node: `resolve`, `isLocal`, `makeRef`, `deliver`, the router.
 *
 * Imports `calls`, `errors`, `id-table`, `pid`, `proc`, `types`; the `Node` type.
 */
import { CallTable, From, type PendingCall } from "./calls.js";
import { CallExitError, NotDistributedError } from "./errors.js";
import type { IdTable } from "./id-table.js";
import type { NodeCore } from "./node-core.js";
import { Pid, type Ref } from "./pid.js";
import { type Proc, Status } from "./proc.js";
import type { Dest } from "./types.js";

/** The next ref number of a node: local calls take one without building a `Ref`. */
export class RefNumbers {
  next = 1;
}

let capturedResolve: ((v: unknown) => void) | undefined;
let capturedReject: ((e: unknown) => void) | undefined;
/** A Promise executor that only hands its resolvers out (read at once by the caller). */
function CAPTURE_RESOLVERS(resolve: (v: unknown) => void, reject: (e: unknown) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

/** The tag that marks a `lookup` in the call table. */
const LOOKUP = "$lookup";
const asPid = (v: unknown): Pid | undefined => (v instanceof Pid ? v : undefined);
const lostNode = (e: unknown): undefined => {
  if (e instanceof CallExitError && e.reason === "noconnection") return undefined;
  throw e;
};

/** What a call made on a killed node waits for: its caller is gone, so nothing ever answers it. */
const NEVER: Promise<never> = new Promise<never>(() => {});

export class Caller {
  readonly table: CallTable;
  private killed = false;

  constructor(
    private readonly node: NodeCore,
    private readonly procs: IdTable<Proc>,
    private readonly refs: RefNumbers,
  ) {
    this.table = new CallTable((call) => {
      // A call to another node monitored its target; a lookup monitored nothing.
      if (call.targetProc === null && node.router !== null && call.tag !== LOOKUP && !call.monitorEnded)
        node.router.demonitor(node.systemPid, call.target, call.ref);
    });
  }

  /**
   * Opens a call from `caller` to `dest` and sends its request: `make` builds it, or is the tag
   * of a `[tag, from, name, arg]` request (`Node.callTagged`).
   */
  call(
    dest: Dest,
    make: ((from: From) => unknown) | string,
    name: string | undefined,
    arg: unknown,
    timeoutMs: number,
    caller: Pid,
  ): Promise<unknown> {
    if (this.killed) return NEVER;
    const pid = this.node.resolve(dest);
    if (pid === undefined) return this.callUnresolved(dest, make, name, arg, timeoutMs, caller);
    const target = this.targetOf(pid, dest, caller);
    if (target instanceof CallExitError) return Promise.reject(target);
    // A shared executor hands out resolve/reject: no closure (and its context) per call.
    const promise = new Promise<unknown>(CAPTURE_RESOLVERS);
    const resolve = capturedResolve!;
    const reject = capturedReject!;
    capturedResolve = capturedReject = undefined;
    this.open(dest, make, name, arg, timeoutMs, caller, pid, target, resolve, reject);
    return promise;
  }

  /**
   * `call` of a `[tag, from, name, arg]` request that settles the caller's own `resolve` /
   * `reject` instead of returning a promise (`Node.callTaggedInto`): a layer that keeps its own
   * promise per call (a hub reference) would otherwise chain one more promise, and one more
   * microtask, onto every call. Returns the call's deadline (`performance.now()` ms: the caller
   * need not read the clock again), or the `CallExitError` of a call that cannot go out at all
   * (`noproc`, `noconnection`, `calling_self`), without calling `reject`.
   */
  callInto(
    dest: Pid,
    tag: string,
    name: string,
    arg: unknown,
    timeoutMs: number,
    caller: Pid,
    resolve: (v: unknown) => void,
    reject: (e: unknown) => void,
  ): number | CallExitError {
    // A killed node's callers are gone: nothing settles, as `call` returns `NEVER`.
    if (this.killed) return Number.POSITIVE_INFINITY;
    const target = this.targetOf(dest, dest, caller);
    if (target instanceof CallExitError) return target;
    return this.open(dest, tag, name, arg, timeoutMs, caller, dest, target, resolve, reject).deadline;
  }

  /** The local process a call to `pid` goes to, null for another node, or why it cannot go. */
  private targetOf(pid: Pid, dest: Dest, caller: Pid): Proc | null | CallExitError {
    const node = this.node;
    if (node.isLocal(pid)) {
      const p = this.procs.get(pid.id);
      if (p === undefined || p.status === Status.Dead) return new CallExitError("noproc", pid);
      // A process cannot answer while it waits on itself: fail at once, as OTP's `calling_self`.
      if (p.pid.equals(caller)) return new CallExitError("calling_self", dest);
      return p;
    }
    if (pid.node === node.name) return new CallExitError("noproc", pid);
    if (node.router === null || !node.router.isConnected(pid.node))
      return new CallExitError(node.router === null ? "noproc" : "noconnection", pid);
    return null;
  }

  /** Opens the call in the table and sends its request; returns the call. */
  private open(
    dest: Dest,
    make: ((from: From) => unknown) | string,
    name: string | undefined,
    arg: unknown,
    timeoutMs: number,
    caller: Pid,
    pid: Pid,
    targetProc: Proc | null,
    resolve: (v: unknown) => void,
    reject: (e: unknown) => void,
  ): PendingCall {
    const node = this.node;
    // A call's ref is only a number until someone reads it (a remote call's frame carries the number).
    const ref = this.refs.next++;
    const call = this.table.open(caller, ref, resolve, reject, dest, pid, targetProc, timeoutMs);
    if (targetProc !== null && typeof make === "string") {
      // A local target gets the call itself as the request (see `PendingCall.tag`). Written out
      // here, not in `request`: inlining `request` would leave `schedule` out of this function.
      call.tag = make;
      call.name = name;
      call.arg = arg;
      node.deliver(targetProc, call);
      return call;
    }
    if (targetProc === null && typeof make === "string" && name !== undefined) {
      this.sendTagged(call, pid, make, name, arg);
      return call;
    }
    const msg = this.request(call, make, name, arg);
    if (targetProc !== null) node.deliver(targetProc, msg);
    else this.sendRemote(call, pid, msg);
    return call;
  }

  /** The request of a call that travels, or built by `make`; a throwing `make` leaves no call behind. */
  private request(
    call: PendingCall,
    make: ((from: From) => unknown) | string,
    name: string | undefined,
    arg: unknown,
  ): unknown {
    if (typeof make === "string") return [make, call, name, arg];
    try {
      return make(call);
    } catch (e) {
      // The caller gets the throw, as before any call existed: nothing may wait or time out.
      this.table.drop(call);
      throw e;
    }
  }

  private sendRemote(call: PendingCall, pid: Pid, msg: unknown): void {
    const router = this.node.router!;
    try {
      if (router.call !== undefined) router.call(pid, call, msg);
      else {
        router.monitor(call.pid, pid, call.ref);
        router.send(pid, msg);
      }
    } catch (e) {
      // An unserialisable request must not leave the call waiting for its timeout.
      this.table.settle(call, e, true);
    }
  }

  /** A `[tag, from, name, arg]` call to another node: the router builds the request it sends. */
  private sendTagged(call: PendingCall, pid: Pid, tag: string, name: string, arg: unknown): void {
    const router = this.node.router!;
    if (router.callTagged === undefined) {
      this.sendRemote(call, pid, [tag, call, name, arg]);
      return;
    }
    try {
      router.callTagged(pid, call, tag, name, arg);
    } catch (e) {
      this.table.settle(call, e, true);
    }
  }

  /** A destination that resolved to no pid: a name on another node, or `noproc`. */
  private callUnresolved(
    dest: Dest,
    make: ((from: From) => unknown) | string,
    name: string | undefined,
    arg: unknown,
    timeoutMs: number,
    caller: Pid,
  ): Promise<unknown> {
    if (typeof dest === "object" && !(dest instanceof Pid) && dest.node !== this.node.name) {
      const build = typeof make === "string" ? (from: From) => [make, from, name, arg] : make;
      return this.callRemoteName(dest, build, timeoutMs, caller);
    }
    return Promise.reject(new CallExitError("noproc", dest));
  }

  private callRemoteName(
    dest: { name: string; node: string },
    makeRequest: (from: From) => unknown,
    timeoutMs: number,
    caller: Pid,
  ): Promise<unknown> {
    const router = this.node.router;
    if (router === null || !router.isConnected(dest.node)) {
      return Promise.reject(new CallExitError(router === null ? "noproc" : "noconnection", dest));
    }
    const ref = this.node.makeRef();
    const target = new Pid(dest.node, 0, 0);
    const msg = makeRequest(new From(caller, ref));
    return new Promise((resolve, reject) => {
      const call = this.table.open(caller, ref, resolve, reject, dest, target, null, timeoutMs);
      try {
        router.monitorName(caller, dest.node, dest.name, ref);
        router.sendNamed(dest.node, dest.name, msg);
      } catch (e) {
        this.table.settle(call, e, true);
      }
    });
  }

  /**
   * See `Node.lookup`. A question to another node is a call from the system pid in the call
   * table: its answer comes back as a reply by ref, and its timeout, the loss of the node
   * (`noconnection`: nobody there, as far as this node can tell) and a pause are the table's.
   */
  lookup(target: Pid | { name: string; node: string }, timeoutMs: number): Promise<Pid | undefined> {
    if (this.killed) return NEVER;
    const node = this.node;
    const where = target.node;
    if (where === node.name) {
      const pid = target instanceof Pid ? target : node.whereis(target.name);
      const p = pid === undefined ? undefined : node.proc(pid);
      return Promise.resolve(p !== undefined && p.status !== Status.Dead ? p.pid : undefined);
    }
    const router = node.router;
    if (router === null || router.lookup === undefined)
      return Promise.reject(new NotDistributedError(target instanceof Pid ? target : new Pid(where, 0, 0)));
    if (!router.isConnected(where)) return Promise.resolve(undefined);
    const ask = router.lookup;
    const ref = node.makeRef();
    const from = node.systemPid;
    return new Promise<unknown>((resolve, reject) => {
      const call = this.table.open(from, ref, resolve, reject, target, new Pid(where, 0, 0), null, timeoutMs);
      call.tag = LOOKUP;
      try {
        ask.call(router, from, where, target instanceof Pid ? target : target.name, ref);
      } catch (e) {
        this.table.settle(call, e, true);
      }
    }).then(asPid, lostNode);
  }

  /** See `Node.reply`. */
  reply(from: From, value: unknown): void {
    const call = from.call;
    if (call !== undefined) {
      this.table.settle(call, value, false);
      return;
    }
    const node = this.node;
    const to = from.pid;
    if (node.isLocal(to)) this.remoteReply(to, from.ref, value);
    else if (to.node !== node.name && node.router !== null) node.router.reply(to, from.ref, value);
  }

  /** A reply by ref: from another node, or to a local call whose `From` was sent away. */
  remoteReply(to: Pid, ref: Ref, value: unknown): void {
    if (!this.node.isLocal(to) || ref.node !== this.node.name) return;
    const call = this.table.byRemoteRef(ref.id);
    if (call !== undefined) this.table.settle(call, value, false);
  }

  /**
   * The answer to the call `refId` of this node's process number `toId` (this incarnation:
   * `creation`), from node `from`, which ended the call's monitor when it sent it. Only the
   * target's node can end that monitor: from another node it is an ordinary reply.
   */
  callReply(from: string, toId: number, creation: number, refId: number, value: unknown): void {
    if (creation !== this.node.creation) return;
    const call = this.table.byRemoteRef(refId);
    if (call === undefined || call.pid.id !== toId) return;
    if (call.target.node === from) call.monitorEnded = true;
    this.table.settle(call, value, false);
  }

  /** `Node.kill`: calls made from now on never settle; waiting ones are forgotten. */
  stop(): void {
    this.killed = true;
    this.table.abandon();
  }
}
