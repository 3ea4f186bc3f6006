/**
 * `Placement`: starts and stops as the node that receives them sees them. `classifyStart` (pure)
 * decides for each child of a start what this node does with it — refuse, forward to its owner,
 * absorb into the copy running here, answer that it runs already, refuse a stale placement, or
 * start it — and `Placement` carries that out: starts in batches (giving hot-swapped children
 * their handed-over state before answering), absorbs, answers in as many messages as needed;
 * stops children on request (leaving a tombstone); restarts a crashed child in place. Imports
 * the local children, the handover strategy, the ensure, migration, merge and signals parts.
 */
import type { ExitMessage } from "../../process/messages.js";
import type { Pid } from "../../process/pid.js";
import {
  type Failure,
  itemIn,
  itemOut,
  type StartItem,
  type StartMsg,
  type StopMsg,
  startedMsgs,
} from "../messages.js";
import type { ParkedState } from "../durable/parked-handover.js";
import type { LocalChild, StartOutcome } from "../local-children.js";
import type { HubErrorReason } from "../results.js";
import { giveHandoverState, supportsHandover } from "../strategies/handover.js";
import { addTo, type HubContext, timeouts } from "./context.js";
import type { Ensurer } from "./ensure.js";
import type { Duplicates } from "./merge.js";
import type { Migration } from "./migration.js";
import type { Partition } from "./partition.js";
import type { RedundancySignals } from "./signals.js";

/** What this node knows about one child of a start, for `classifyStart`. */
export interface StartFacts {
  /** Why this node refuses every start of the message now (partitioned, stopping, settling), or null. */
  refuse: HubErrorReason | null;
  /** A move or an adoption: a copy running here is a success. */
  ensure: boolean;
  /** Who should run it (pinned: this node), owner first. */
  owners: readonly string[];
  self: string;
  /** Whether the owner is a member (a start can be forwarded to it). */
  ownerIsMember: boolean;
  /** Whether the message may still be forwarded (`hops < maxForwards`). */
  mayForward: boolean;
  /** The copy running here, if any. */
  running: Pid | undefined;
  /** The copy here is a heal merge's loser, handing its data to the winner. */
  merging: boolean;
  /** The copy here is being hot-swapped out. */
  handingOver: boolean;
  /** A stop request stopped this placement (or a newer one) here. */
  stoppedSince: boolean;
}

export type StartDecision =
  | { kind: "refuse"; reason: HubErrorReason; detail?: string; value?: unknown }
  | { kind: "forward"; to: string }
  | { kind: "absorb" }
  | { kind: "start" };

/** What to do with one child of a start (see the module header). */
export function classifyStart(f: StartFacts): StartDecision {
  if (f.refuse !== null) return { kind: "refuse", reason: f.refuse };
  const owner = f.owners[0] ?? f.self;
  // Replicated children are started where asked (rebalance moves a misplaced copy).
  if (f.owners.length === 1 && owner !== f.self && f.mayForward && f.ownerIsMember)
    return { kind: "forward", to: owner };
  if (f.running !== undefined) {
    if (!f.ensure)
      return { kind: "refuse", reason: "already_started", detail: String(f.running), value: f.running };
    // Our copy hands its data to a winner and stops: answering with its pid would make the
    // sender stop the winner too. The sender keeps its copy and retries later.
    if (f.merging)
      return { kind: "refuse", reason: "start_failed", detail: "a duplicate here is handing over" };
    // Our copy is being hot-swapped out: its state was taken already and it stops once the new
    // owner confirms, so data the sender hands it now would be lost.
    if (f.handingOver)
      return { kind: "refuse", reason: "start_failed", detail: "a copy here is handing over" };
    return { kind: "absorb" };
  }
  if (f.ensure && f.stoppedSince) return { kind: "refuse", reason: "not_found", detail: "stopped since" };
  return { kind: "start" };
}

export class Placement {
  constructor(
    private readonly ctx: HubContext,
    private readonly ensurer: Ensurer,
    private readonly migration: Migration,
    private readonly duplicates: Duplicates,
    private readonly partition: Pick<Partition, "park">,
    private readonly signals: RedundancySignals,
  ) {}

  /** Why every start of `m` is refused now, or null. */
  private refusal(m: StartMsg): HubErrorReason | null {
    const mode = this.ctx.mode;
    if (mode === "partitioned") return "partitioned";
    if (mode === "stopping" || mode === "stopped") return "hub_stopped";
    // A move or adoption someone waits for (and retries) is not taken while this node's own
    // membership change is pending; static starts (nobody waits) are.
    if (m.ensure && m.req !== null && this.ctx.view.changePending()) return "topology_pending";
    return null;
  }

  /**
   * A start. What runs here already is absorbed and what must start here starts without the hub
   * process waiting for it (a hanging `init` must not stop it from reading its mailbox); the
   * answer goes once both are done. A start or stop of an id whose start is under way here
   * waits for that start, then is handled as if it arrived then.
   */
  onStart(m: StartMsg): void {
    const ctx = this.ctx;
    if (
      this.deferred(
        m,
        m.items.map((w) => w[0]),
      )
    )
      return;
    const local: StartItem[] = [];
    const absorb: StartItem[] = [];
    const forward = new Map<string, StartItem[]>();
    const ok: Array<[string, Pid]> = [];
    const failed: Failure[] = [];
    const refuse = this.refusal(m);
    for (const w of m.items) {
      const it = itemIn(w);
      const d = classifyStart(this.facts(it, m, refuse));
      if (d.kind === "refuse")
        failed.push(
          d.value === undefined
            ? [it.spec.id, d.reason, d.detail]
            : [it.spec.id, d.reason, d.detail, d.value],
        );
      else if (d.kind === "forward") addTo(forward, d.to, it);
      else if (d.kind === "absorb") absorb.push(it);
      else local.push(it);
    }
    for (const [to, items] of forward) {
      const ids = items.map((i) => i.spec.id);
      ctx.hooks.dispatch("startForwarded", { to, ids });
      if (m.req === null)
        ctx.send(to, { ...m, items: items.map(itemOut), hops: m.hops + 1, states: m.states });
      else ctx.send(m.origin, { t: "forwarded", req: m.req, node: ctx.self, to, ids });
    }
    const ids = [...absorb, ...local].map((it) => it.spec.id);
    // Answers what ended since the last answer (the collector takes a node's answer in parts).
    const answer = () => {
      if (m.req === null || ok.length + failed.length === 0) return;
      for (const msg of startedMsgs(m.req, ctx.self, ok.splice(0), failed.splice(0))) ctx.send(m.origin, msg);
    };
    if (ids.length === 0) return answer();
    void ctx.children
      .whileStarting(ids, async () => {
        if (absorb.length > 0) await this.absorb(absorb, m, ok, failed);
        if (local.length > 0) await this.startHere(local, m.states, ok, failed, answer);
      })
      .then(answer, (e: unknown) => {
        ctx.logger.error({ hub: ctx.hubId, err: e }, "hub start failed unexpectedly");
        for (const id of ids) if (!ok.some(([i]) => i === id)) failed.push([id, "start_failed", String(e)]);
        answer();
      });
  }

  /** Whether `m` waits for starts under way of some of `ids` (it is handled again after them). */
  private deferred(m: StartMsg | StopMsg, ids: Iterable<string>): boolean {
    const wait = this.ctx.children.whenStarted(ids);
    if (wait === null) return false;
    void wait.then(() => this.ctx.send(this.ctx.self, m));
    return true;
  }

  private facts(it: StartItem, m: StartMsg, refuse: HubErrorReason | null): StartFacts {
    const { view, children, self, tuning } = this.ctx;
    const id = it.spec.id;
    const owners = it.pinned ? [self] : view.replicasOf(id, it.spec.behaviour);
    return {
      refuse,
      ensure: m.ensure,
      owners,
      self,
      ownerIsMember: view.members.has(owners[0] ?? self),
      mayForward: m.hops < tuning.maxForwards,
      running: children.byId.get(id)?.pid,
      merging: this.duplicates.isMerging(id),
      handingOver: this.migration.isHandingOver(id),
      stoppedSince: this.ensurer.stoppedSince(id, it.epoch),
    };
  }

  /**
   * Starts children here in batches, each settled as soon as its own start ends (a hot-swapped
   * one once it took its state): registered, and answered with the others that ended in the same
   * turn (`answer`, after the registry's delta went out), so that one slow `init` holds up no
   * other child's answer.
   */
  private async startHere(
    local: readonly StartItem[],
    states: Array<[string, unknown]> | undefined,
    ok: Array<[string, Pid]>,
    failed: Failure[],
    answer: () => void,
  ): Promise<void> {
    const ctx = this.ctx;
    ctx.hooks.dispatch("preChildrenStart", { ids: local.map((i) => i.spec.id) });
    const started: Array<{ id: string; node: string; pid: Pid }> = [];
    const failedIds: string[] = [];
    const given = states === undefined ? undefined : new Map(states);
    const timeout = timeouts.handoverMs(ctx.strategies);
    let flushing = false;
    const flushSoon = () => {
      if (flushing) return;
      flushing = true;
      setImmediate(() => {
        flushing = false;
        ctx.repl.flush();
        answer();
      });
    };
    const startOne = async (it: StartItem) => {
      // Fenced: the child's claim must name this node before it starts (src/hub/durable/fencing.ts).
      const fenced = ctx.fence === null ? null : await ctx.fence.acquire(it.spec.id);
      if (fenced !== null) {
        failed.push([it.spec.id, "fenced", fenced]);
        failedIds.push(it.spec.id);
        return flushSoon();
      }
      // Fenced, a hot swap's state waits in the store until a copy took it (`parked-handover.ts`).
      const id = it.spec.id;
      const store = supportsHandover(ctx.behaviours.get(it.spec.behaviour)) ? ctx.handovers : null;
      let parked: ParkedState | undefined;
      if (store !== null && !given?.has(id)) {
        try {
          parked = await store.find(id, timeout);
        } catch (err) {
          ctx.fence?.settled(id);
          failed.push([id, "store_failed", "parked handover state not read", err]);
          failedIds.push(id);
          return flushSoon();
        }
      }
      const o = await ctx.children.startRecorded(it);
      let refused: string | null = null;
      let cleared = false;
      const data = given?.has(id) ? { data: given.get(id) } : parked;
      if ("pid" in o && data !== undefined) {
        const took = await giveHandoverState(ctx.node, o.pid, data.data, timeout);
        ctx.hooks.dispatch("handoverReceived", { id: o.id, pid: o.pid, ok: took });
        if (!took) refused = "handover state not received";
        // Taken once: a start counts only once the parked state is gone from the store.
        else if (store !== null && !(await store.taken(id, parked?.revision, timeout)))
          refused = "parked handover state not cleared";
        else cleared = store !== null;
      }
      const f = this.settleStart(it, o, refused, ok, started);
      // The copy that took the state goes after all (its lease lapsed meanwhile): park it again.
      if (f !== null && cleared && data !== undefined) void store?.park(id, data.data, timeout);
      ctx.fence?.settled(it.spec.id);
      if (f !== null) {
        failed.push(f);
        failedIds.push(f[0]);
      }
      flushSoon();
    };
    // At most `startBatchSize` starts under way at once, and the event loop turns whenever the
    // hub has run for its bound (a thousand `init`s in a row can take a second on a busy node).
    let batch: Promise<void>[] = [];
    for (const it of local) {
      batch.push(startOne(it));
      if (batch.length >= ctx.tuning.startBatchSize) {
        await Promise.all(batch);
        batch = [];
      }
      const turn = ctx.yieldIfDue();
      if (turn !== null) await turn;
    }
    await Promise.all(batch);
    ctx.repl.flush();
    ctx.hooks.dispatch("postChildrenStart", { started, failed: failedIds });
  }

  /** One child's start ended: registered (and null), or the failure to answer. */
  private settleStart(
    it: StartItem,
    o: StartOutcome,
    /** Why the new copy must go although it started (its handed-over state), else null. */
    refused: string | null,
    ok: Array<[string, Pid]>,
    started: Array<{ id: string; node: string; pid: Pid }>,
  ): Failure | null {
    const ctx = this.ctx;
    if (!("pid" in o))
      return o.error === undefined ? [o.id, o.reason, o.detail] : [o.id, o.reason, o.detail, o.error];
    const mine = ctx.children.byId.get(o.id)?.pid.equals(o.pid) === true;
    // The hub went on while it started: it may have lost quorum or begun to stop since.
    // Fenced: the lease may have been lost while it started.
    const gone: HubErrorReason | null =
      ctx.mode === "partitioned"
        ? "partitioned"
        : ctx.mode !== "running"
          ? "hub_stopped"
          : ctx.fence !== null && !ctx.fence.valid()
            ? "fenced"
            : null;
    if (gone !== null || refused !== null) {
      // Refused: the state was not taken, so the new copy goes and the old one (with it) stays.
      if (mine) void ctx.children.stop(o.id);
      if (gone === "fenced") return [o.id, gone, "no_lease"];
      return gone !== null ? [o.id, gone, undefined] : [o.id, "start_failed", refused ?? undefined];
    }
    // Exited (not restarted: its start was not answered yet), or was moved or stopped meanwhile.
    if (!mine) return [o.id, "start_failed", "exited during the start"];
    ctx.children.confirm(o.id);
    ctx.repl.put(o.id, { spec: it.spec, pid: o.pid, epoch: it.epoch, pinned: it.pinned });
    ok.push([o.id, o.pid]);
    started.push({ id: o.id, node: ctx.self, pid: o.pid });
    this.signals.signal(o.id, o.pid, true);
    return null;
  }

  /**
   * An ensure (a move or an adoption) of ids already running here. The sender gives us each id
   * at `it.epoch` and has stopped its copy, or stops it once we answer (hot swap). Ours takes
   * that epoch: a copy we have not yet seen stopped (the sender's own, after a heal) must lose
   * to ours under the epoch rule, not stop it and leave the id running nowhere. A hot-swap
   * sender's state is a second copy's data: our copy gets it as after a heal, and only if it
   * took it do we answer success (otherwise the sender keeps its copy and its state). Under
   * replication the state is not given (a running replica is not a diverged copy): the epoch
   * is raised and the answer is success.
   */
  private async absorb(
    items: StartItem[],
    m: StartMsg,
    ok: Array<[string, Pid]>,
    failed: Failure[],
  ): Promise<void> {
    const ctx = this.ctx;
    const states = m.states === undefined ? undefined : new Map(m.states);
    const timeout = timeouts.handoverMs(ctx.strategies);
    const taken = await Promise.all(
      items.map(async (it) => {
        const c = ctx.children.byId.get(it.spec.id);
        if (c === undefined || states === undefined || !states.has(it.spec.id)) return true;
        // Replicated: the sender hands its state to every replica, for the ones starting fresh;
        // a replica already running has its own copy of the data, and taking it would count it twice.
        if (ctx.view.replicasOf(it.spec.id, it.spec.behaviour).length !== 1) return true;
        const info = { reason: "heal", from: m.origin } as const;
        const took = await giveHandoverState(ctx.node, c.pid, states.get(it.spec.id), timeout, info);
        ctx.hooks.dispatch("handoverReceived", { id: it.spec.id, pid: c.pid, ok: took });
        return took;
      }),
    );
    let bumped = false;
    items.forEach((it, i) => {
      const c = ctx.children.byId.get(it.spec.id);
      if (c === undefined) failed.push([it.spec.id, "start_failed", "stopped meanwhile"]);
      else if (!taken[i]) failed.push([it.spec.id, "start_failed", "handover state not received"]);
      else {
        if (it.epoch > c.epoch) {
          c.epoch = it.epoch;
          ctx.repl.put(it.spec.id, { spec: c.spec, pid: c.pid, epoch: it.epoch, pinned: c.pinned });
          bumped = true;
        }
        ok.push([it.spec.id, c.pid]);
      }
    });
    if (bumped) ctx.repl.flush();
  }

  /** A stop request: the children stop here, each leaving a tombstone. */
  async onStop(m: StopMsg): Promise<void> {
    const ctx = this.ctx;
    if (this.deferred(m, m.ids)) return;
    const ok: string[] = [];
    const missing: string[] = [];
    const now = Date.now();
    const stopOne = async (id: string) => {
      const child = ctx.children.byId.get(id);
      const epoch = child?.epoch;
      if (await ctx.children.stop(id)) {
        ok.push(id);
        if (child !== undefined) {
          ctx.children.stoppedForGood(child.spec);
          if (supportsHandover(ctx.behaviours.get(child.spec.behaviour))) ctx.handovers?.dropped(id);
        }
        if (epoch !== undefined) this.ensurer.tombstone(id, epoch, now);
      } else {
        missing.push(id);
        this.ensurer.stopRequested(id);
      }
    };
    // The event loop turns whenever the hub has run for its bound (see `pacing.ts`).
    const stopping: Promise<void>[] = [];
    for (const id of m.ids) {
      stopping.push(stopOne(id));
      const turn = ctx.yieldIfDue();
      if (turn !== null) await turn;
    }
    await Promise.all(stopping);
    for (const id of ok) ctx.repl.remove(id);
    ctx.repl.flush();
    if (m.req !== null) ctx.send(m.origin, { t: "stopped", req: m.req, node: ctx.self, ok, missing });
  }

  /** A local child exited: removed, or restarted in place with the same placement. */
  onExit(msg: ExitMessage): void {
    const ctx = this.ctx;
    const d = ctx.children.onExit(msg.from, msg.reason);
    if (d.kind === "ignore") return;
    const child = d.child;
    this.signals.forget(child.spec.id);
    if (d.kind === "remove") {
      ctx.repl.remove(child.spec.id);
      ctx.repl.flush();
      return;
    }
    // Not awaited, as any start: a restart whose `init` hangs must not hold up the hub.
    void ctx.children.whileStarting([child.spec.id], () => this.restart(child));
  }

  private async restart(child: LocalChild): Promise<void> {
    const ctx = this.ctx;
    // Fenced: the claim is this node's already (no write) unless its lease was lost meanwhile.
    const fenced = ctx.fence === null ? null : await ctx.fence.acquire(child.spec.id);
    if (fenced !== null) {
      ctx.logger.warn({ hub: ctx.hubId, id: child.spec.id, fenced }, "hub child not restarted: fenced");
      ctx.repl.remove(child.spec.id);
      ctx.repl.flush();
      return;
    }
    await ctx.children.startOne(child.spec).then((o) => {
      if (ctx.mode !== "running" || (ctx.fence !== null && !ctx.fence.valid())) {
        // Quorum or the lease lost, or the hub stopping meanwhile: this copy must not run. Without quorum it is
        // parked with the others that stopped then (their registrations went then too).
        if ("pid" in o) {
          ctx.children.record(child.spec, o.pid, child.epoch, child.pinned, child.restarts);
          void ctx.children.stop(child.spec.id);
        }
        if (ctx.mode === "partitioned")
          this.partition.park(child.spec.id, { spec: child.spec, epoch: child.epoch, pinned: child.pinned });
        ctx.repl.remove(child.spec.id);
        ctx.repl.flush();
        return;
      }
      if ("pid" in o) {
        ctx.children.record(child.spec, o.pid, child.epoch, child.pinned, child.restarts);
        ctx.repl.put(child.spec.id, {
          spec: child.spec,
          pid: o.pid,
          epoch: child.epoch,
          pinned: child.pinned,
        });
        this.signals.signal(child.spec.id, o.pid, true);
      } else {
        ctx.logger.error(
          { hub: ctx.hubId, id: child.spec.id, reason: o.reason, detail: o.detail },
          "hub child restart failed",
        );
        ctx.repl.remove(child.spec.id);
      }
      ctx.repl.flush();
    });
    ctx.fence?.settled(child.spec.id);
  }
}
