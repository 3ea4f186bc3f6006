/**
 * `Requests`: starts and stops as the node that sends them sees them — numbering, the collectors
 * waiting for answers, the items of pending starts (a redirect re-sends them), and the dispatch
 * of messages grouped by target node. The only part the hub handle (`ProcessHub`) calls from
 * outside the hub process: it runs on the caller's stack, which is safe because it only adds a
 * collector and sends messages — every answer comes back through the hub process's mailbox.
 * The handle's calls (`startCall`, `stopCall`) run in paced steps, in call order (`StepQueue`):
 * grouping a million ids by owner is seconds of work, which must not hold the node's event loop
 * (the hub's own requests, a few ids at a time, run at once). Imports the collectors, the hub
 * messages, the results, `steps` and the context.
 */
import type { Pid } from "../../process/pid.js";
import { StartCollector, StopCollector } from "../collector.js";
import { CHUNK, chunks, idChunks, itemOut, type StartItem, type StartMsg, startChunks } from "../messages.js";
import { type HubErrorReason, StartResult, StopResult } from "../results.js";
import { runAll, STEP, StepQueue, type Steps } from "../steps.js";
import type { HubContext } from "./context.js";
import { addTo } from "./context.js";

/** Options of `Requests.start`. */
export interface DispatchStartOptions {
  /** How long the collector waits for every answer. */
  timeoutMs: number;
  /** Called once with the result; without it nobody waits (no collector, `req: null`). */
  onDone?: (r: StartResult) => void;
  /** A move or an adoption: a child already running at the target is a success. */
  ensure?: boolean;
  /** Hot swap: the handed-over state of each child, sent along with it. */
  states?: ReadonlyMap<string, unknown>;
  /** Start where sent, without forwarding to another owner (the sender computed the owners). */
  noForward?: boolean;
}

/** Options of `Requests.stop`. */
export interface DispatchStopOptions {
  timeoutMs: number;
  onDone?: (r: StopResult) => void;
  /** More nodes to ask per id (a rollback names the nodes a start went to). */
  also?: ReadonlyMap<string, Iterable<string>>;
  /** `ids` may repeat one: each is stopped (and reported) once, in its first place. */
  dedupe?: boolean;
}

/** Whether a paced call may go on (false once the hub stopped: nothing more goes out). */
type Live = () => boolean;
const ALWAYS: Live = () => true;

/**
 * Ids or items cut into messages at a time: one message's worth (`CHUNK`), so that windows split
 * a call into the same messages as the whole list would, unless large specs split them further.
 */
const CHUNK_WINDOW = CHUNK;

/**
 * How long a start or stop may wait on a node that answers nothing, once all of it was sent,
 * before what the node still owes is sent to it again and a warning names it (ms).
 */
export const QUIET_MS = 15_000;

type Failures = ReadonlyArray<readonly [string, HubErrorReason, string | undefined, unknown?]>;

export class Requests {
  private readonly collectors = new Map<number, StartCollector | StopCollector>();
  /** Items of pending start requests, so a redirect can re-send them. */
  private readonly items = new Map<number, Map<string, StartItem>>();
  /**
   * Requests whose unanswered part is sent again to a silent node (see `checkQuiet`), with the
   * hops their starts went with: the handle's plain starts and stops (moves and adoptions, which
   * carry states or ensure, have their own retries).
   */
  private readonly resendable = new Map<number, { hops: number }>();
  private next = 1;
  /** The handle's calls whose caller-side steps are not done. */
  private readonly calls: StepQueue;
  /**
   * A request waiting this long on a node that answered none of it (or nothing more) since it
   * was all sent is sent again there and named in a warning (see `checkQuiet`). Mutable for tests.
   */
  quietMs = QUIET_MS;
  /** Ids sent again to a silent node so far (see `checkQuiet`). */
  resentIds = 0;
  private quietTimer: ReturnType<typeof setTimeout> | null = null;
  /** When `checkQuiet` last saw a backlog (silence counts from then on). */
  private busyAt = 0;

  /**
   * `due`: whether the current macrotask ran the pacer's bound (see `steps.ts`); `backlog`: the
   * messages this hub has still to send or to handle (its pacer's outbox, its mailbox), while
   * which a node's silence proves nothing: our messages may not have left, its answers may wait
   * in our mailbox (a 1M start's own 338 start messages hold up every answer for seconds).
   */
  constructor(
    private readonly ctx: HubContext,
    due: () => boolean = () => false,
    private readonly backlog: () => number = () => 0,
  ) {
    this.calls = new StepQueue(due, (err) =>
      ctx.logger.error({ hub: ctx.hubId, err }, "hub start or stop failed on the calling node"),
    );
  }

  /** Starts and stops of this node still waiting for answers (moves and adoptions among them). */
  get pending(): number {
    return this.collectors.size + this.calls.length;
  }

  /** Calls of the handle whose caller-side steps (grouping, sending) are not done. */
  get queuedCalls(): number {
    return this.calls.length;
  }

  /**
   * What each start or stop of this node waits for: per node, how many ids and for how long
   * the node has said nothing (diagnostics: a `status` answer, a hang's post-mortem).
   */
  describe(): Array<{
    req: number;
    kind: "start" | "stop";
    ageMs: number;
    waiting: ReturnType<StartCollector["waiting"]>;
  }> {
    const now = Date.now();
    return [...this.collectors].map(([req, col]) => ({
      req,
      kind: col instanceof StartCollector ? "start" : "stop",
      ageMs: now - col.since,
      waiting: col.waiting(now),
    }));
  }

  /** Keeps `checkQuiet` running while a collector waits. */
  private watchQuiet(): void {
    if (this.quietTimer !== null) return;
    this.quietTimer = setTimeout(this.checkQuiet, Math.min(1000, this.quietMs / 4));
    this.quietTimer.unref?.();
  }

  /**
   * A request all sent that waits on a node silent for `quietMs` sends the node what it still
   * owes again (a start as an ensure: a child already running there counts as started, one
   * stopped since is not started again; a stop as is), and names it in a warning. NATS core
   * delivers at most once: frames in flight when a node's connection drops (its client's ping
   * after a long stall, the server's write deadline) are lost, and a reconnect within the
   * heartbeat timeout is no node down, so without this the call would wait for its timeout
   * (issue 21: a 1M start with 205,268 ids of node c never answered).
   */
  private readonly checkQuiet = (): void => {
    this.quietTimer = null;
    const now = Date.now();
    if (this.backlog() > 0) this.busyAt = now;
    else
      for (const [req, col] of [...this.collectors]) {
        const again = this.resendable.get(req);
        for (const q of col.quiet(this.quietMs, now, this.busyAt)) {
          const call = col instanceof StartCollector ? "start" : "stop";
          this.ctx.logger.warn(
            {
              hub: this.ctx.hubId,
              req,
              call,
              node: q.node,
              ids: q.ids.length,
              silentMs: q.silentMs,
              ageMs: now - col.since,
              resent: again !== undefined && q.node !== this.ctx.self,
            },
            "hub request waits on a node that has not answered: sending its part again",
          );
          // This node's own part went through its mailbox, which loses nothing.
          if (again !== undefined && q.node !== this.ctx.self)
            this.resend(req, col, q.node, q.ids, again.hops);
        }
      }
    if (this.collectors.size > 0) this.watchQuiet();
  };

  private resend(
    req: number,
    col: StartCollector | StopCollector,
    node: string,
    ids: string[],
    hops: number,
  ): void {
    const self = this.ctx.self;
    this.resentIds += ids.length;
    if (col instanceof StopCollector) {
      for (const part of idChunks(ids)) this.ctx.send(node, { t: "stop", req, origin: self, ids: part });
      return;
    }
    const items = this.items.get(req);
    if (items === undefined) return;
    const list: StartItem[] = [];
    for (const id of ids) {
      const it = items.get(id);
      if (it === undefined) continue;
      col.resent.add(id);
      list.push(it);
    }
    for (const part of startChunks(list))
      this.ctx.send(node, { t: "start", req, origin: self, items: part.map(itemOut), hops, ensure: true });
  }

  /** A request number for a request that is not a start or stop (a claim). */
  number(): number {
    return this.next++;
  }

  /** Sends starts grouped by target node; with `onDone`, collects the answers. */
  start(groups: ReadonlyMap<string, StartItem[]>, o: DispatchStartOptions): void {
    runAll(this.startSteps(groups, o, ALWAYS));
  }

  /**
   * The handle's start, in paced steps after the calls before it: `group` fills the groups by
   * target node, then the start goes out as `start` sends it. Once the hub stopped, the ids not
   * sent yet fail with `hub_stopped`.
   */
  startCall(group: (into: Map<string, StartItem[]>) => Steps, o: DispatchStartOptions): void {
    const live = () => this.ctx.mode !== "stopped";
    const self = this;
    this.calls.run(
      (function* () {
        const groups = new Map<string, StartItem[]>();
        yield* group(groups);
        if (live()) return yield* self.startSteps(groups, o, live);
        const errors = [...groups.values()].flatMap((l) =>
          l.map((it) => ({ id: it.spec.id, node: undefined, reason: "hub_stopped" as const })),
        );
        o.onDone?.(new StartResult([], errors));
      })(),
    );
  }

  private *startSteps(groups: ReadonlyMap<string, StartItem[]>, o: DispatchStartOptions, live: Live): Steps {
    const ctx = this.ctx;
    let req: number | null = null;
    const onDone = o.onDone;
    if (onDone !== undefined) {
      const r = (req = this.next++);
      const items = new Map<string, StartItem>();
      this.items.set(r, items);
      const col = new StartCollector(o.timeoutMs, (res) => {
        this.collectors.delete(r);
        this.items.delete(r);
        this.resendable.delete(r);
        onDone(res);
      });
      this.collectors.set(r, col);
      this.watchQuiet();
      col.open();
      for (const [node, list] of groups)
        for (let i = 0; i < list.length; i += STEP) {
          const part = list.slice(i, i + STEP);
          for (const it of part) items.set(it.spec.id, it);
          col.expect(
            node,
            part.map((it) => it.spec.id),
          );
          yield;
        }
      this.failGone(col, groups.keys());
      // The hub stopped while the ids were being added: it failed only those added by then.
      if (!live()) col.failAll("hub_stopped");
      col.seal();
    }
    const hops = o.noForward ? ctx.tuning.maxForwards : 0;
    if (req !== null && !o.ensure && o.states === undefined) this.resendable.set(req, { hops });
    for (const [node, list] of groups) {
      for (let i = 0; i < list.length; i += CHUNK_WINDOW) {
        for (const items of startChunks(list.slice(i, i + CHUNK_WINDOW), o.states)) {
          if (!live()) return;
          const msg: StartMsg = {
            t: "start",
            req,
            origin: ctx.self,
            items: items.map(itemOut),
            hops,
            ensure: !!o.ensure,
          };
          const st = statesOf(items, o.states);
          if (st !== undefined) msg.states = st;
          ctx.send(node, msg);
          yield;
        }
      }
    }
    if (req !== null) this.collectors.get(req)?.sentAll();
  }

  /**
   * Sends stops to every node that may run each id: its replicas on the current ring, the
   * members this registry lists it on, and the nodes of `also`; with `onDone`, collects the answers.
   */
  stop(ids: readonly string[], o: DispatchStopOptions): void {
    runAll(this.stopSteps(ids, o, ALWAYS));
  }

  /** The handle's stop, in paced steps after the calls before it (see `startCall`). */
  stopCall(ids: readonly string[], o: DispatchStopOptions): void {
    this.calls.run(this.stopSteps(ids, o, () => this.ctx.mode !== "stopped"));
  }

  private *stopSteps(given: readonly string[], o: DispatchStopOptions, live: Live): Steps {
    const ctx = this.ctx;
    const groups = new Map<string, string[]>();
    const seen = o.dedupe === true ? new Set<string>() : null;
    const ids: string[] = seen === null ? (given as string[]) : [];
    for (let i = 0; i < given.length; i++) {
      const id = given[i]!;
      if (seen !== null) {
        if (seen.has(id)) continue;
        seen.add(id);
        ids.push(id);
      }
      const targets = new Set<string>(ctx.view.replicas(id));
      for (const np of ctx.registry.lookup(id)?.nodes ?? [])
        if (ctx.view.isMember(np.node)) targets.add(np.node);
      for (const n of o.also?.get(id) ?? []) targets.add(n);
      for (const n of targets) addTo(groups, n, id);
      if (i % STEP === STEP - 1) yield;
    }
    if (!live()) {
      o.onDone?.(
        new StopResult(
          [],
          ids.map((id) => ({ id, node: undefined, reason: "hub_stopped" })),
        ),
      );
      return;
    }
    let req: number | null = null;
    const onDone = o.onDone;
    if (onDone !== undefined) {
      const r = (req = this.next++);
      const col = new StopCollector(ids, o.timeoutMs, (res) => {
        this.collectors.delete(r);
        this.resendable.delete(r);
        onDone(res);
      });
      this.resendable.set(r, { hops: 0 });
      this.collectors.set(r, col);
      this.watchQuiet();
      col.open();
      for (const [node, list] of groups)
        for (let i = 0; i < list.length; i += STEP) {
          col.expect(node, list.slice(i, i + STEP));
          yield;
        }
      this.failGone(col, groups.keys());
      // The hub stopped while the ids were being added: it failed only those added by then.
      if (!live()) col.failAll("hub_stopped");
      col.seal();
    }
    for (const [node, list] of groups)
      for (let i = 0; i < list.length; i += CHUNK_WINDOW)
        for (const part of idChunks(list.slice(i, i + CHUNK_WINDOW))) {
          if (!live()) return;
          ctx.send(node, { t: "stop", req, origin: ctx.self, ids: part });
          yield;
        }
    if (req !== null) this.collectors.get(req)?.sentAll();
    // Every other member hears the stop too, unanswered: this node's registry may not show a
    // copy another member runs (its slice not yet here after a rejoin), and a copy the stop
    // missed would live on, and be moved and replicated, after a stop that reported success.
    for (const node of ctx.view.members.keys()) {
      const mine = groups.get(node);
      const skip = mine === undefined || mine.length === 0 ? null : new Set(mine);
      for (let i = 0; i < ids.length; i += CHUNK_WINDOW) {
        const window = ids.slice(i, i + CHUNK_WINDOW);
        const rest = skip === null ? window : window.filter((id) => !skip.has(id));
        for (const part of idChunks(rest)) {
          if (!live()) return;
          ctx.send(node, { t: "stop", req: null, origin: ctx.self, ids: part });
          yield;
        }
      }
    }
  }

  /** A `started` answer from `node`. */
  started(req: number, node: string, ok: ReadonlyArray<readonly [string, Pid]>, failed: Failures): void {
    const col = this.collectors.get(req);
    if (col instanceof StartCollector) col.started(node, ok, failed);
  }

  /** A `stopped` answer from `node`. */
  stopped(req: number, node: string, ok: string[], missing: string[]): void {
    const col = this.collectors.get(req);
    if (col instanceof StopCollector) col.answeredStop(node, ok, missing);
  }

  /** `node` forwarded ids of request `req` to their owner `to`: the start goes there now. */
  forwarded(req: number, node: string, to: string, ids: string[]): void {
    const col = this.collectors.get(req);
    const items = this.items.get(req);
    if (!(col instanceof StartCollector) || items === undefined) return;
    col.forwarded(node, to, ids);
    this.failGone(col, [to]);
    const list = ids.map((id) => items.get(id)).filter((i): i is StartItem => i !== undefined);
    const self = this.ctx.self;
    for (const part of chunks(list))
      this.ctx.send(to, { t: "start", req, origin: self, items: part.map(itemOut), hops: 1, ensure: false });
  }

  /** `node` is gone: every request waiting on it fails there with `node_down`. */
  nodeDown(node: string): void {
    // A snapshot: failing a collector can start a retry, which adds a collector. Requests may
    // wait on a node that never became a member here (a start forwarded to it by a peer).
    for (const col of [...this.collectors.values()]) col.fail(node, "node_down");
  }

  /** A start of ours to `node` could not be sent (too large): its ids fail now, not by timeout. */
  unsent(req: number, node: string, failed: Failures): void {
    const col = this.collectors.get(req);
    if (col instanceof StartCollector) col.started(node, [], failed);
  }

  /** The hub stops: every request fails with `reason`. */
  failAll(reason: HubErrorReason): void {
    for (const col of [...this.collectors.values()]) col.failAll(reason);
  }

  /**
   * A request to a node already seen gone (its leave not yet handled, or a start forwarded to a
   * node not, or no longer, in this hub) fails at once: its `node_down` was signalled before this
   * request existed, so waiting would end only by timeout.
   */
  private failGone(col: StartCollector | StopCollector, nodes: Iterable<string>): void {
    const view = this.ctx.view;
    for (const node of nodes) {
      if (!view.knows(node) || view.pendingLeave.has(node)) col.fail(node, "node_down");
    }
  }
}

function statesOf(
  items: readonly StartItem[],
  states?: ReadonlyMap<string, unknown>,
): Array<[string, unknown]> | undefined {
  if (states === undefined || states.size === 0) return undefined;
  const st: Array<[string, unknown]> = [];
  for (const it of items) if (states.has(it.spec.id)) st.push([it.spec.id, states.get(it.spec.id)]);
  return st.length > 0 ? st : undefined;
}
