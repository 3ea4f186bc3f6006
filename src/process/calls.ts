/**
 * `From` and the table of calls waiting for a reply. A call is its own `From` (one object per
 * call, not two), so a local reply finds its call without a lookup; only calls to other nodes are
 * indexed by ref id, and the `Ref` of a local call is only built if someone asks for it. Waiting calls are kept in
 * one insertion-ordered list per distinct timeout value (and one for calls without timeout):
 * insertion order is deadline order, so one Node timer per value serves every call. The lists are
 * intrusive (each call holds its neighbours), so opening and settling a call allocates nothing
 * beyond the call itself — a `Set` per queue re-allocated its table as it went 0 → 1 → 0 entries
 * on every call. A frozen table (its node paused) arms no timer until thawed; an abandoned one
 * (its node killed) forgets its calls without settling them.
 * Imports `pid`, `proc`, `errors`.
 */
import { CallExitError, CallTimeoutError } from "./errors.js";
import { IdTable } from "./id-table.js";
import { type Pid, Ref } from "./pid.js";
import type { Proc } from "./proc.js";

/** The caller of a `call`: where the reply goes. Serialisable. */
export class From {
  #ref: Ref | undefined;
  #refId: number;

  constructor(
    readonly pid: Pid,
    /** The call's tag; a number is a ref of the caller's node, built when first read. */
    ref: Ref | number,
  ) {
    if (typeof ref === "number") {
      this.#ref = undefined;
      this.#refId = ref;
    } else {
      this.#ref = ref;
      this.#refId = ref.id;
    }
  }

  /** The tag of the call, unique on the caller's node. */
  get ref(): Ref {
    return (this.#ref ??= new Ref(this.pid.node, this.#refId, this.pid.creation));
  }

  /** `{ pid, ref }`: what a `From` is, whatever call it carries. */
  toJSON(): { pid: Pid; ref: Ref } {
    return { pid: this.pid, ref: this.ref };
  }

  /** The waiting call, when the caller is on this node: lets a reply skip any lookup. @internal */
  get call(): PendingCall | undefined {
    return undefined;
  }

  /** `ref.id`, without building the ref. @internal */
  get refId(): number {
    return this.#refId;
  }
}

/** One call waiting for its reply; it is also the `From` its request carries. */
export class PendingCall extends From {
  /**
   * The request of a local tagged call (`Node.callTagged`): the call itself is the message its
   * target receives, instead of a `[tag, from, name, arg]` array (two objects fewer per call).
   */
  tag: string | undefined = undefined;
  name: string | undefined = undefined;
  arg: unknown = undefined;
  /** A local call whose `From` was sent to another node: indexed by ref, as remote calls are. */
  exposed = false;
  /**
   * A call to another node whose monitor that node ended (its reply said so, or the monitor
   * fired, or the node is gone): settling it owes the target no `demonitor`.
   */
  monitorEnded = false;
  /** The list holding this call while it waits. */
  queue: CallList | null = null;
  prev: PendingCall | null = null;
  next: PendingCall | null = null;
  constructor(
    caller: Pid,
    ref: Ref | number,
    readonly resolve: (v: unknown) => void,
    readonly reject: (e: unknown) => void,
    /** What the caller asked for (a pid, or a name on a node), for error messages. */
    readonly dest: unknown,
    /** The target pid; for a remote name, a placeholder naming only its node. */
    readonly target: Pid,
    readonly targetProc: Proc | null,
    readonly deadline: number,
  ) {
    super(caller, ref);
  }

  override get call(): PendingCall {
    return this;
  }

  /** Settled (or dropped): out of its list for good. */
  get done(): boolean {
    return this.queue === null;
  }

  /**
   * Its `From` is leaving this node inside a message (a server handing the caller to a process
   * elsewhere, which will answer with `reply`): that reply comes back by ref, so the call must be
   * findable by ref from now on.
   */
  expose(): void {
    // Its list knows the table (one reference per list, not per call); a call out of its list is done.
    const q = this.queue;
    if (q !== null && !this.exposed && this.targetProc !== null) q.table.expose(this);
  }
}

/** An insertion-ordered list of waiting calls. */
class CallList {
  head: PendingCall | null = null;
  tail: PendingCall | null = null;
  size = 0;
  timer: NodeJS.Timeout | null = null;
  /** Whether the timer currently keeps the program alive. */
  refed = true;

  constructor(
    readonly timeoutMs: number,
    readonly table: CallTable,
  ) {}

  add(c: PendingCall): void {
    c.queue = this;
    c.prev = this.tail;
    c.next = null;
    if (this.tail === null) this.head = c;
    else this.tail.next = c;
    this.tail = c;
    this.size++;
  }

  remove(c: PendingCall): void {
    if (c.prev === null) this.head = c.next;
    else c.prev.next = c.next;
    if (c.next === null) this.tail = c.prev;
    else c.next.prev = c.prev;
    c.prev = c.next = null;
    c.queue = null;
    this.size--;
  }
}

export class CallTable {
  /** Calls to other nodes, by ref id: their replies and DOWNs arrive by ref. */
  /** An `IdTable`: ref numbers come in sequence and calls settle roughly in order, which churns a `Map`. */
  private readonly remote = new IdTable<PendingCall>((c) => c.refId);
  private readonly queues = new Map<number, CallList>();
  private readonly untimed = new CallList(Number.POSITIVE_INFINITY, this);
  private idleCheckScheduled = false;
  private frozen = false;

  constructor(private readonly onSettled: (call: PendingCall) => void) {}

  get size(): number {
    let n = this.untimed.size;
    for (const q of this.queues.values()) n += q.size;
    return n;
  }

  /** Opens a call from `caller`; a call to another node (`targetProc` null) needs its `Ref`. */
  open(
    caller: Pid,
    ref: Ref | number,
    resolve: (v: unknown) => void,
    reject: (e: unknown) => void,
    dest: unknown,
    target: Pid,
    targetProc: Proc | null,
    timeoutMs: number,
  ): PendingCall {
    const finite = Number.isFinite(timeoutMs);
    const deadline = finite ? performance.now() + timeoutMs : Number.POSITIVE_INFINITY;
    const call = new PendingCall(caller, ref, resolve, reject, dest, target, targetProc, deadline);
    if (targetProc === null) this.remote.set(call.refId, call);
    else targetProc.callersWaiting++;
    if (!finite) {
      this.untimed.add(call);
      return call;
    }
    let q = this.queues.get(timeoutMs);
    if (q === undefined) {
      q = new CallList(timeoutMs, this);
      this.queues.set(timeoutMs, q);
    }
    q.add(call);
    if (q.timer === null) this.arm(q, timeoutMs);
    else if (!q.refed) {
      q.timer.ref();
      q.refed = true;
    }
    return call;
  }

  /** Indexes a local call by ref (see `PendingCall.expose`). */
  expose(call: PendingCall): void {
    call.exposed = true;
    this.remote.set(call.refId, call);
  }

  /** The pending call to another node (or exposed to one) with this ref id. */
  byRemoteRef(id: number): PendingCall | undefined {
    return this.remote.get(id);
  }

  settle(call: PendingCall, value: unknown, failed: boolean): void {
    if (call.queue === null) return;
    this.detach(call);
    if (failed) call.reject(value);
    else call.resolve(value);
  }

  /** Forgets a call that never went out (its request could not be built); it never settles. */
  drop(call: PendingCall): void {
    if (call.queue !== null) this.detach(call);
  }

  private detach(call: PendingCall): void {
    // Leaving its list (queue null) is what marks a call done.
    const q = call.queue!;
    q.remove(call);
    // The timer stays armed (cheaper than clearing and re-arming per call) but must not keep
    // the program alive once no call waits on it. Toggling its ref is a native call, so an
    // emptied queue is unref'd after the current macrotask, not on every settle.
    if (q.size === 0 && q.timer !== null && !this.idleCheckScheduled) {
      this.idleCheckScheduled = true;
      setImmediate(this.unrefIdle);
    }
    if (call.targetProc !== null) {
      call.targetProc.callersWaiting--;
      if (call.exposed) this.remote.delete(call.refId);
    } else this.remote.delete(call.refId);
    this.onSettled(call);
  }

  /** Every pending call matching `pred` (a snapshot, safe to settle while iterating). */
  select(pred: (call: PendingCall) => boolean): PendingCall[] {
    const out: PendingCall[] = [];
    for (let c = this.untimed.head; c !== null; c = c.next) if (pred(c)) out.push(c);
    for (const q of this.queues.values())
      for (let c = q.head; c !== null; c = c.next) if (pred(c)) out.push(c);
    return out;
  }

  /** Fails every call to `targetProc` with its exit reason. */
  failTarget(targetProc: Proc, reason: unknown): void {
    for (const c of this.select((c) => c.targetProc === targetProc)) {
      this.settle(c, new CallExitError(reason, c.dest), true);
    }
  }

  private readonly unrefIdle = (): void => {
    this.idleCheckScheduled = false;
    for (const q of this.queues.values()) {
      if (q.size === 0 && q.refed && q.timer !== null) {
        q.timer.unref();
        q.refed = false;
      }
    }
  };

  /** No call times out until `thaw`. */
  freeze(): void {
    this.frozen = true;
    for (const q of this.queues.values()) {
      if (q.timer !== null) clearTimeout(q.timer);
      q.timer = null;
    }
  }

  /**
   * Ends a freeze: returns the calls whose deadline passed, in deadline order, for the caller to
   * time out (`timeOut`) in one sequence with its other overdue timers; re-arms the rest.
   */
  thaw(): PendingCall[] {
    if (!this.frozen) return [];
    this.frozen = false;
    const now = performance.now();
    const due: PendingCall[] = [];
    for (const q of this.queues.values()) {
      let c = q.head;
      for (; c !== null && c.deadline <= now; c = c.next) due.push(c);
      if (c !== null) this.arm(q, c.deadline - now);
    }
    // Each list is in deadline order, but lists of different timeouts interleave.
    due.sort((a, b) => a.deadline - b.deadline);
    return due;
  }

  /** Fails a call returned by `thaw` with its timeout, unless it was settled since. */
  timeOut(call: PendingCall): void {
    const q = call.queue;
    if (q === null) return;
    this.settle(call, new CallTimeoutError(call.dest, q.timeoutMs), true);
    // `thaw` arms no timer for a list whose calls were all due: once they are out, drop it, as
    // `expire` drops an idle list.
    if (q.size === 0 && q.timer === null && this.queues.get(q.timeoutMs) === q)
      this.queues.delete(q.timeoutMs);
  }

  /** Forgets every call without settling it: their callers are gone with their node. */
  abandon(): void {
    this.freeze();
    for (const q of [this.untimed, ...this.queues.values()]) {
      for (let c = q.head; c !== null; ) {
        const next = c.next;
        c.prev = c.next = null;
        c.queue = null;
        c = next;
      }
      q.head = q.tail = null;
      q.size = 0;
    }
    this.queues.clear();
    this.remote.clear();
  }

  private arm(q: CallList, delayMs: number): void {
    if (this.frozen) return;
    q.timer = setTimeout(() => this.expire(q), Math.max(0, delayMs));
    q.refed = true;
  }

  private expire(q: CallList): void {
    q.timer = null;
    const now = performance.now();
    const expired: PendingCall[] = [];
    for (let c = q.head; c !== null; c = c.next) {
      if (c.deadline > now) break;
      expired.push(c);
    }
    for (const c of expired) this.settle(c, new CallTimeoutError(c.dest, q.timeoutMs), true);
    const head = q.head;
    if (head !== null) this.arm(q, head.deadline - now);
    // An idle queue is dropped so that many distinct timeout values do not pile up.
    else if (this.queues.get(q.timeoutMs) === q) this.queues.delete(q.timeoutMs);
  }
}
