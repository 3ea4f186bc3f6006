/**
 * Collectors: the origin-side bookkeeping of one awaited start or stop. A collector knows which
 * ids it still waits for on which node, follows forwards from node to node, and settles each
 * node's share when the node answers, leaves (`node_down`) or stays silent past the per-node
 * timeout (`node_receive_timeout`), so a collector always finishes. Imports `process/pid`,
 * `results`.
 */
import { Pid } from "../process/pid.js";
import { type ChildError, type HubErrorReason, type NodePid, StartResult, StopResult } from "./results.js";

/** Ids awaited per node, with one timer per node. */
abstract class Collector<R> {
  protected readonly pending = new Map<string, Set<string>>();
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private done = false;
  /** False while a paced call is still adding what it waits for (see `open`). */
  private sealed = true;
  /** When the collector began, and when each node last answered it (`Date.now()`). */
  readonly since = Date.now();
  private readonly heardAt = new Map<string, number>();
  /** When the last message of the request went out (null: still being sent). */
  private sentAt: number | null = null;
  /** When what a silent node still owes was last sent to it again (see `quiet`). */
  private readonly resentAt = new Map<string, number>();

  constructor(
    private readonly timeoutMs: number,
    private readonly onDone: (result: R) => void,
  ) {}

  get settled(): boolean {
    return this.done;
  }

  /** Nodes the collector still waits on. */
  waitingOn(): string[] {
    return [...this.pending.keys()];
  }

  /**
   * What the collector still waits for, per node: how many ids, and for how long the node has
   * not answered (since its last answer, or since the collector began).
   */
  waiting(now = Date.now()): Array<{ node: string; ids: number; silentMs: number }> {
    return [...this.pending].map(([node, set]) => ({
      node,
      ids: set.size,
      silentMs: now - (this.heardAt.get(node) ?? this.since),
    }));
  }

  /** Every message of the request went out: from now on a node's silence counts (see `quiet`). */
  sentAll(): void {
    this.sentAt = Date.now();
  }

  /**
   * The nodes silent for `ms` or more since the request's last message went out, their last
   * answer and the last time their ids were sent again, with the ids they still owe: a message
   * lost on the way (a frame in flight across a reconnect of the node's NATS connection, which
   * its peers do not see as a node down) is otherwise never answered. Each is counted as sent
   * again now. Nothing while the request is still being sent; silence counts from `notBefore`
   * at the earliest (when the caller last had a backlog, see `Requests.checkQuiet`).
   */
  quiet(
    ms: number,
    now = Date.now(),
    notBefore = 0,
  ): Array<{ node: string; ids: string[]; silentMs: number }> {
    if (this.sentAt === null || this.done) return [];
    const out: Array<{ node: string; ids: string[]; silentMs: number }> = [];
    for (const [node, set] of this.pending) {
      if (set.size === 0) continue;
      const heard = this.heardAt.get(node) ?? 0;
      const last = Math.max(notBefore, this.sentAt, heard, this.resentAt.get(node) ?? 0);
      if (now - last < ms) continue;
      this.resentAt.set(node, now);
      out.push({ node, ids: [...set], silentMs: now - Math.max(this.sentAt, this.heardAt.get(node) ?? 0) });
    }
    return out;
  }

  /** `node` answered (part of) what it was asked. */
  protected heard(node: string): void {
    this.heardAt.set(node, Date.now());
  }

  /** Starts waiting for `ids` on `node`. */
  expect(node: string, ids: Iterable<string>): void {
    let set = this.pending.get(node);
    if (set === undefined) this.pending.set(node, (set = new Set()));
    for (const id of ids) set.add(id);
    if (!this.timers.has(node)) {
      const t = setTimeout(() => this.fail(node, "node_receive_timeout"), this.timeoutMs);
      t.unref?.();
      this.timers.set(node, t);
    }
  }

  /** Ids of `node` moved on to `to`. */
  forwarded(node: string, to: string, ids: readonly string[]): void {
    const set = this.pending.get(node);
    if (set === undefined) return;
    this.heard(node);
    const moved: string[] = [];
    for (const id of ids) if (set.delete(id)) moved.push(id);
    if (moved.length > 0) this.expect(to, moved);
    this.settleNode(node);
  }

  /** Everything still pending on `node` fails with `reason`. */
  fail(node: string, reason: HubErrorReason): void {
    const set = this.pending.get(node);
    if (set === undefined) return;
    for (const id of set) this.error({ id, node, reason });
    set.clear();
    this.settleNode(node);
  }

  /** Fails every node (the hub is stopping). */
  failAll(reason: HubErrorReason): void {
    for (const node of [...this.pending.keys()]) this.fail(node, reason);
  }

  /** Marks `id` answered by `node`; returns whether it was pending there. */
  protected answered(node: string, id: string): boolean {
    return this.pending.get(node)?.delete(id) ?? false;
  }

  protected settleNode(node: string): void {
    const set = this.pending.get(node);
    if (set !== undefined && set.size === 0) {
      this.pending.delete(node);
      const t = this.timers.get(node);
      if (t !== undefined) clearTimeout(t);
      this.timers.delete(node);
    }
    this.maybeFinish();
  }

  /**
   * A paced call adds its ids over several turns: until `seal`, answers and failures are
   * recorded but the collector does not finish (it would, between two nodes' ids, with nothing
   * pending).
   */
  open(): void {
    this.sealed = false;
  }

  /** Everything expected is added: finishes now if nothing is pending. */
  seal(): void {
    this.sealed = true;
    this.maybeFinish();
  }

  /** Finishes when nothing is pending (also right after construction with no work). */
  maybeFinish(): void {
    if (this.done || !this.sealed || this.pending.size > 0) return;
    this.done = true;
    this.onDone(this.result());
  }

  protected abstract error(e: ChildError): void;
  protected abstract result(): R;
}

/** Collects the answers of a start. */
export class StartCollector extends Collector<StartResult> {
  private readonly ok = new Map<string, NodePid[]>();
  private readonly errors: ChildError[] = [];
  /** Ids whose start was sent again (see `quiet`). */
  readonly resent = new Set<string>();

  constructor(timeoutMs: number, onDone: (r: StartResult) => void, preErrors: ChildError[] = []) {
    super(timeoutMs, onDone);
    this.errors.push(...preErrors);
  }

  started(
    node: string,
    ok: ReadonlyArray<readonly [string, Pid]>,
    failed: ReadonlyArray<readonly [string, HubErrorReason, string | undefined, unknown?]>,
  ): void {
    this.heard(node);
    for (const [id, pid] of ok) {
      if (!this.answered(node, id)) continue;
      const list = this.ok.get(id);
      if (list === undefined) this.ok.set(id, [{ node, pid }]);
      else list.push({ node, pid });
    }
    for (const [id, reason, detail, value] of failed) {
      // A start sent again goes as an ensure, which a node refuses while its own membership
      // change is pending: not an answer to the call (it is sent again after the next quiet spell).
      if (reason === "topology_pending" && this.resent.has(id)) continue;
      if (!this.answered(node, id)) continue;
      const e: ChildError = { id, node, reason };
      if (detail !== undefined) e.detail = detail;
      if (value !== undefined) {
        if (reason === "already_started" && value instanceof Pid) e.pid = value;
        else e.error = value;
      }
      this.errors.push(e);
    }
    this.settleNode(node);
  }

  protected error(e: ChildError): void {
    this.errors.push(e);
  }

  protected result(): StartResult {
    return new StartResult(
      [...this.ok].map(([id, nodes]) => ({ id, nodes })),
      this.errors,
    );
  }
}

/** Collects the answers of a stop. An id no node ran is `not_found`. */
export class StopCollector extends Collector<StopResult> {
  private readonly stopped = new Map<string, string[]>();
  private readonly failures = new Map<string, ChildError[]>();
  private readonly order: string[];

  constructor(ids: readonly string[], timeoutMs: number, onDone: (r: StopResult) => void) {
    super(timeoutMs, onDone);
    this.order = [...ids];
  }

  answeredStop(node: string, ok: readonly string[], missing: readonly string[]): void {
    this.heard(node);
    for (const id of ok) {
      if (!this.answered(node, id)) continue;
      const list = this.stopped.get(id);
      if (list === undefined) this.stopped.set(id, [node]);
      else list.push(node);
    }
    for (const id of missing) this.answered(node, id);
    this.settleNode(node);
  }

  protected error(e: ChildError): void {
    const list = this.failures.get(e.id);
    if (list === undefined) this.failures.set(e.id, [e]);
    else list.push(e);
  }

  protected result(): StopResult {
    const stopped: Array<{ id: string; nodes: string[] }> = [];
    const errors: ChildError[] = [];
    for (const id of this.order) {
      const nodes = this.stopped.get(id);
      if (nodes !== undefined) stopped.push({ id, nodes: nodes.sort() });
      const fails = this.failures.get(id);
      if (fails !== undefined) errors.push(...fails);
      else if (nodes === undefined) errors.push({ id, node: undefined, reason: "not_found" });
    }
    return new StopResult(stopped, errors);
  }
}
