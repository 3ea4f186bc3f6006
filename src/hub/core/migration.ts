/**
 * `Migration`: moving local children to the nodes that should run them, by the migration
 * strategy — after every topology change and sync tick (`rebalance`), and for a graceful stop
 * under hot swap (`handOverAll`). Cold swap stops the local copy, then ensures the new one; hot
 * swap starts the new copy first with the old one's handed-over state and stops the old one once
 * the start is confirmed. Owns the set of local children being handed over, which the epoch rule
 * and rebalancing leave alone. Imports the hash ring, the handover and redundancy strategies,
 * the requests, ensure and signals parts, and the context.
 */
import type { StartItem } from "../messages.js";
import type { StartResult } from "../results.js";
import { supportsHandover, takeHandoverState } from "../strategies/handover.js";
import { addTo, type HubContext } from "./context.js";
import type { Ensurer } from "./ensure.js";
import type { Requests } from "./requests.js";
import type { RedundancySignals } from "./signals.js";

export class Migration {
  /** Local children being handed over (hot swap out, or a heal merge's losing copy). */
  private readonly handingOver = new Set<string>();

  constructor(
    private readonly ctx: HubContext,
    private readonly requests: Requests,
    private readonly ensurer: Ensurer,
    private readonly signals: RedundancySignals,
  ) {}

  isHandingOver(id: string): boolean {
    return this.handingOver.has(id);
  }

  markHandingOver(id: string): void {
    this.handingOver.add(id);
  }

  clearHandingOver(id: string): void {
    this.handingOver.delete(id);
  }

  /**
   * Moves local children that are not on one of their replicas to them, by the migration
   * strategy, and asks missing replicas of children that stay here to start; returns how many
   * children left this node.
   */
  async rebalance(): Promise<number> {
    const ctx = this.ctx;
    if (ctx.mode !== "running") return 0;
    const { moving, missing, leaving, more } = this.plan(ctx.tuning.maxMovesPerRound);
    if (missing.size > 0) this.ensurer.ensure(missing);
    // Throttled: the next round moves the next ones.
    if (more) {
      const t = setTimeout(() => ctx.post({ t: "$rebalance" }), ctx.tuning.rebalancePauseMs);
      t.unref?.();
    }
    if (leaving.length === 0) return 0;
    if (ctx.strategies.migration.type === "hotSwap") {
      // Not awaited: the start answers it waits for arrive through this process's mailbox.
      void this.hotSwap(leaving, moving);
      return leaving.length;
    }
    await Promise.all(leaving.map((id) => ctx.children.stop(id)));
    await this.handOverClaims(moving);
    for (const id of leaving) {
      ctx.repl.remove(id);
      this.signals.forget(id);
    }
    for (const [to, items] of moving)
      ctx.hooks.dispatch("childrenMigrated", { to, ids: items.map((i) => i.spec.id) });
    ctx.repl.flush();
    this.ensurer.ensure(moving);
    return leaving.length;
  }

  /**
   * What a rebalance moves (to its replicas, a new epoch: at most `limit` children, `more` when
   * others wait) and which replicas miss a child that stays.
   */
  private plan(limit: number) {
    const { children, view, registry, self } = this.ctx;
    const moving = new Map<string, StartItem[]>();
    const missing = new Map<string, StartItem[]>();
    const leaving: string[] = [];
    let more = false;
    for (const [id, c] of children.byId) {
      if (c.pinned || this.handingOver.has(id)) continue;
      const replicas = view.replicasOf(id, c.spec.behaviour);
      if (replicas.includes(self)) {
        if (replicas.length === 1) continue;
        const holders = new Set((registry.lookup(id)?.nodes ?? []).map((np) => np.node));
        for (const n of replicas)
          if (n !== self && !holders.has(n) && view.members.has(n))
            addTo(missing, n, { spec: c.spec, epoch: c.epoch, pinned: false });
        continue;
      }
      const targets = replicas.filter((n) => view.members.has(n));
      if (targets.length === 0) continue;
      if (leaving.length >= limit) {
        more = true;
        continue;
      }
      leaving.push(id);
      for (const n of targets) addTo(moving, n, { spec: c.spec, epoch: c.epoch + 1, pinned: false });
    }
    return { moving, missing, leaving, more };
  }

  /** Graceful stop with hot swap: every local child goes to its owner on the ring without this node. */
  async handOverAll(): Promise<void> {
    const { ids, groups } = this.leavingGroups();
    if (ids.length > 0) await this.hotSwap(ids, groups);
  }

  /**
   * `hub.migrate`: moves local child `id` to member `to`, pinned there (rebalancing leaves it),
   * by the migration strategy. A child not here, being handed over, or a target that is not a
   * member or did not register its behaviour: nothing happens (the caller's wait times out).
   */
  async migrateOne(id: string, to: string): Promise<void> {
    const ctx = this.ctx;
    const c = ctx.children.byId.get(id);
    if (ctx.mode !== "running" || c === undefined || this.handingOver.has(id) || to === ctx.self) return;
    if (!ctx.view.members.has(to) || !ctx.view.has(to, c.spec.behaviour)) return;
    const groups = new Map([[to, [{ spec: c.spec, epoch: c.epoch + 1, pinned: true }]]]);
    if (ctx.strategies.migration.type === "hotSwap") {
      void this.hotSwap([id], groups);
      return;
    }
    await ctx.children.stop(id);
    await this.handOverClaims(groups);
    ctx.repl.remove(id);
    this.signals.forget(id);
    ctx.hooks.dispatch("childrenMigrated", { to, ids: [id] });
    ctx.repl.flush();
    this.ensurer.ensure(groups);
  }

  /**
   * A drain (`hub.drain`): every local child goes to its owner on the ring without this node, by
   * the migration strategy, within `deadlineMs`; resolves with how many of them a new owner
   * confirmed. Cold swap stops each local copy first and leaves its registry entry in place until
   * the hub's `bye`, so that what no new owner confirmed is adopted then, like any orphan.
   */
  async drainAll(deadlineMs: number): Promise<number> {
    const ctx = this.ctx;
    const { ids, groups } = this.leavingGroups();
    if (ids.length === 0) return 0;
    if (ctx.strategies.migration.type === "hotSwap") return this.hotSwap(ids, groups, deadlineMs);
    await Promise.all(ids.map((id) => ctx.children.stop(id)));
    await this.handOverClaims(groups);
    for (const id of ids) this.signals.forget(id);
    for (const [to, items] of groups)
      ctx.hooks.dispatch("childrenMigrated", { to, ids: items.map((i) => i.spec.id) });
    const r = await new Promise<StartResult>((resolve) =>
      this.requests.start(groups, { timeoutMs: deadlineMs, ensure: true, noForward: true, onDone: resolve }),
    );
    return new Set(r.started.map((s) => s.id)).size;
  }

  /** The local children and, by node, where each goes on the ring without this node (per behaviour). */
  private leavingGroups(): { ids: string[]; groups: Map<string, StartItem[]> } {
    const { children, view } = this.ctx;
    const groups = new Map<string, StartItem[]>();
    const ids: string[] = [];
    for (const [id, c] of children.byId) {
      const to = view.replicasWithoutSelf(id, c.spec.behaviour);
      if (to.length === 0) continue;
      ids.push(id);
      for (const n of to) addTo(groups, n, { spec: c.spec, epoch: c.epoch + 1, pinned: false });
    }
    return { ids, groups };
  }

  /**
   * Hot swap: the new instances start first, receiving the old ones' handover state inside
   * their start; each old instance stops once its id started somewhere (confirmed by the start
   * answer, which comes after the state was given to the new child). An id whose start failed
   * or was not confirmed within `retentionMs` keeps running here (the next rebalance retries).
   * Resolves when every id is settled, with how many moved.
   */
  private async hotSwap(
    ids: string[],
    groups: Map<string, StartItem[]>,
    timeoutMs?: number,
  ): Promise<number> {
    const ctx = this.ctx;
    const m = ctx.strategies.migration;
    if (m.type !== "hotSwap") return 0;
    for (const id of ids) this.handingOver.add(id);
    const states = await this.takeStates(ids, m.handoverTimeoutMs);
    if (states.unprepared.size > 0) {
      // No state to hand over (prepare threw or timed out): the child is not moved now, so its
      // state is not lost; the next rebalance tries again.
      ctx.logger.warn({ hub: ctx.hubId, ids: [...states.unprepared] }, "hub handover state not prepared");
      for (const [n, items] of groups)
        groups.set(
          n,
          items.filter((i) => !states.unprepared.has(i.spec.id)),
        );
    }
    if (ctx.fence !== null) return this.fencedSwap(ids, groups, states.data, timeoutMs ?? m.retentionMs);
    const pids = new Map(ids.map((id) => [id, ctx.children.byId.get(id)?.pid]));
    return new Promise<number>((resolve) =>
      this.requests.start(groups, {
        timeoutMs: timeoutMs ?? m.retentionMs,
        ensure: true,
        states: states.data,
        noForward: true,
        onDone: (r) => resolve(this.swapped(ids, groups, pids, r)),
      }),
    );
  }

  /**
   * Fenced, the claims of moving children go to their new nodes once the local copies stopped
   * (a start there would otherwise wait for this node's lease, which is live).
   */
  private async handOverClaims(groups: ReadonlyMap<string, readonly StartItem[]>): Promise<void> {
    const fence = this.ctx.fence;
    if (fence === null) return;
    const writes: Array<Promise<void>> = [];
    for (const [to, items] of groups) for (const it of items) writes.push(fence.handOver(it.spec.id, to));
    await Promise.all(writes);
  }

  /**
   * Hot swap in a fenced hub: two copies never run at once, so the old copies stop as soon as
   * their state is taken and parked in the store, their claims go to the new nodes, and then the
   * new copies start with the state. A new copy that fails to start is not taken back here (the
   * old one is gone): reconcile starts it again at its owner, and that start takes the parked
   * state (`durable/parked-handover.ts`). A child whose state could not be parked stays here,
   * running, like one whose state was not prepared (the next rebalance tries again).
   */
  private async fencedSwap(
    ids: readonly string[],
    groups: Map<string, StartItem[]>,
    states: ReadonlyMap<string, unknown>,
    timeoutMs: number,
  ): Promise<number> {
    const ctx = this.ctx;
    const parked = await this.park(ids, states, timeoutMs);
    const going = new Set<string>();
    for (const [n, items] of groups) {
      const moving = items.filter((it) => parked.has(it.spec.id));
      groups.set(n, moving);
      for (const it of moving) going.add(it.spec.id);
    }
    // Those without prepared state stay (and keep their claims): the next rebalance tries again.
    for (const id of ids) if (!going.has(id)) this.handingOver.delete(id);
    const leaving = ids.filter((id) => going.has(id));
    await Promise.all(leaving.map((id) => ctx.children.stop(id)));
    for (const id of leaving) {
      ctx.repl.remove(id);
      this.signals.forget(id);
    }
    ctx.repl.flush();
    await this.handOverClaims(groups);
    const r = await new Promise<StartResult>((resolve) =>
      this.requests.start(groups, {
        timeoutMs,
        ensure: true,
        states,
        noForward: true,
        onDone: resolve,
      }),
    );
    for (const id of leaving) this.handingOver.delete(id);
    const ok = new Set(r.started.map((s) => s.id));
    for (const [to, items] of groups) {
      const here = items.map((i) => i.spec.id).filter((id) => ok.has(id));
      if (here.length > 0) ctx.hooks.dispatch("childrenMigrated", { to, ids: here });
    }
    return ok.size;
  }

  /**
   * Parks each handed-over state in the store; resolves the ids that may move: those parked, and
   * those without a state (no handover behaviour: nothing to lose).
   */
  private async park(
    ids: readonly string[],
    states: ReadonlyMap<string, unknown>,
    timeoutMs: number,
  ): Promise<Set<string>> {
    const ctx = this.ctx;
    const ok = new Set(ids.filter((id) => !states.has(id)));
    const store = ctx.handovers;
    const failed: string[] = [];
    await Promise.all(
      [...states].map(async ([id, data]) => {
        if (store !== null && (await store.park(id, data, timeoutMs))) ok.add(id);
        else failed.push(id);
      }),
    );
    if (failed.length > 0)
      ctx.logger.warn({ hub: ctx.hubId, ids: failed }, "hub handover state not parked: the children stay");
    return ok;
  }

  private async takeStates(ids: readonly string[], timeoutMs: number) {
    const ctx = this.ctx;
    const data = new Map<string, unknown>();
    const unprepared = new Set<string>();
    await Promise.all(
      ids.map(async (id) => {
        const c = ctx.children.byId.get(id);
        if (c === undefined || !supportsHandover(ctx.behaviours.get(c.spec.behaviour))) return;
        const s = await takeHandoverState(ctx.node, c.pid, timeoutMs);
        if (s !== undefined) data.set(id, s.data);
        else unprepared.add(id);
      }),
    );
    return { data, unprepared };
  }

  /** A hot swap's starts answered: the old copies of the confirmed ids stop. */
  private swapped(
    ids: readonly string[],
    groups: ReadonlyMap<string, StartItem[]>,
    pids: ReadonlyMap<string, unknown>,
    r: StartResult,
  ): number {
    const ctx = this.ctx;
    const ok = new Set(r.started.map((s) => s.id));
    const moved = new Set<string>();
    // A receiver still settling its own membership keeps nothing: try again once it has.
    if (r.errors.some((e) => e.reason === "topology_pending")) ctx.postLater({ t: "$rebalance" });
    for (const id of ids) {
      this.handingOver.delete(id);
      const c = ctx.children.byId.get(id);
      if (
        !ok.has(id) ||
        c === undefined ||
        !c.pid.equals((pids.get(id) as typeof c.pid | undefined) ?? c.pid)
      )
        continue;
      void ctx.children.stop(id);
      ctx.repl.remove(id);
      this.signals.forget(id);
      moved.add(id);
    }
    ctx.repl.flush();
    for (const [to, items] of groups) {
      const here = items.map((i) => i.spec.id).filter((id) => moved.has(id));
      if (here.length > 0) ctx.hooks.dispatch("childrenMigrated", { to, ids: here });
    }
    return moved.size;
  }
}
