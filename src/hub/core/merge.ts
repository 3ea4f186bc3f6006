/**
 * `Duplicates`: the epoch rule, and the heal merge. When a registry change shows another
 * placement of an id running here, the local copy is checked on the next turn: if the other
 * placement wins (`wins`, pure), the local copy asks the winner (`merge`) whether it still runs
 * that placement — under hot swap with a behaviour that hands over, giving its data to the
 * winner's copy — and stops once the winner said so (`merged`). A winner that no longer runs it
 * and did not stop it on request (`gone`: it moved the id away, to this very node perhaps, while
 * this node still read its stale registration) leaves the local copy running: stopping it would
 * leave the id running nowhere. Without an answer (`retentionMs` under hot swap, the handover
 * timeout otherwise) the copy stops if the winner is still registered. Owns the ids to check and
 * the merges under way. Imports the handover strategy, the migration and ensure parts, the context.
 */
import type { Pid } from "../../process/pid.js";
import { giveHandoverState, supportsHandover, takeHandoverState } from "../strategies/handover.js";
import { type HubContext, timeouts } from "./context.js";
import type { Ensurer } from "./ensure.js";
import type { Migration } from "./migration.js";
import type { RedundancySignals } from "./signals.js";

/** One placement of an id: its node and epoch. */
export interface Placement {
  node: string;
  epoch: number;
}

/**
 * The epoch rule: whether `theirs` beats `mine` (this node's copy). Under singularity the higher
 * epoch wins, and on equal epochs the smaller node name (both nodes decide the same way). Under
 * replication (`replicas` longer than one) a copy outside the replicas loses to a replica whose
 * epoch is at least as high; replicas never stop each other (the caller skips those).
 */
export function wins(mine: Placement, theirs: Placement, replicas: readonly string[]): boolean {
  if (replicas.length > 1) return replicas.includes(theirs.node) && theirs.epoch >= mine.epoch;
  return theirs.epoch > mine.epoch || (theirs.epoch === mine.epoch && theirs.node < mine.node);
}

interface Merge {
  winner: string;
  epoch: number;
  stoppedEpoch: number;
  /** The copy's data goes to the winner (hot swap): ensures of it are refused meanwhile. */
  handover: boolean;
  timer: ReturnType<typeof setTimeout>;
}

/** How a merge ended for the losing copy. */
type MergeEnd = "taken" | "refused" | "gone" | "timeout";

export class Duplicates {
  /** Local children that may be duplicates of a newer placement, checked on the next turn. */
  private pending: Set<string> | null = null;
  /** Losing copies waiting for the winner's answer before they stop. */
  private readonly merging = new Map<string, Merge>();

  constructor(
    private readonly ctx: HubContext,
    private readonly migration: Migration,
    private readonly ensurer: Ensurer,
    private readonly signals: RedundancySignals,
  ) {}

  /**
   * Whether the local copy of `id` is handing its data to a winner (and stops after). A copy that
   * only asks whether the winner still runs is not: an ensure of it (the winner moving the id
   * here) is absorbed, which raises its epoch and ends the merge without a stop.
   */
  isMerging(id: string): boolean {
    return this.merging.get(id)?.handover === true;
  }

  /** Another placement of `id`, which runs here, was registered: check it on the next turn. */
  suspect(id: string): void {
    if (this.pending === null) {
      this.pending = new Set();
      this.ctx.post({ t: "$conflicts" });
    }
    this.pending.add(id);
  }

  /** Applies the epoch rule to every suspected local child. */
  resolve(): void {
    const ids = this.pending;
    this.pending = null;
    if (ids === null || this.ctx.mode === "partitioned") return;
    let stopped = false;
    for (const id of ids) if (this.resolveOne(id)) stopped = true;
    if (stopped) this.ctx.repl.flush();
  }

  /** Whether the local copy of `id` stopped at once. */
  private resolveOne(id: string): boolean {
    const { children, view, registry, self } = this.ctx;
    const mine = children.byId.get(id);
    if (mine === undefined || this.migration.isHandingOver(id) || this.merging.has(id)) return false;
    const replicas = view.replicasOf(id, mine.spec.behaviour);
    // Replicas never stop each other; a guided child's replicas are the nodes it was pinned to.
    if (replicas.length > 1 && (replicas.includes(self) || mine.pinned)) return false;
    for (const np of registry.lookup(id)?.nodes ?? []) {
      if (np.node === self || !view.isPeer(np.node)) continue;
      const e = registry.sliceOf(np.node).get(id);
      if (e === undefined) continue;
      if (!wins({ node: self, epoch: mine.epoch }, { node: np.node, epoch: e.epoch }, replicas)) continue;
      const handover = replicas.length === 1 && this.canMerge(mine.spec.behaviour);
      void this.mergeInto(id, mine.pid, np.node, e.epoch, mine.epoch, handover);
      return false;
    }
    return false;
  }

  /** The sending side of a heal merge had no answer in time. */
  timedOut(id: string): void {
    this.finish(id, "timeout");
  }

  /** The winner (or the node it passed the merge on to) answered. */
  merged(id: string, ok: boolean, gone: boolean): void {
    this.finish(id, ok ? "taken" : gone ? "gone" : "refused");
  }

  /**
   * The winner's side of a heal merge: whether the local copy of placement `epoch` (or a newer
   * one) runs, and under hot swap the loser's data given to it.
   */
  onMerge(from: string, id: string, epoch: number, handover: boolean, data: unknown): void {
    const ctx = this.ctx;
    // Three or more copies: this winner loses to another one itself; the merge goes on there.
    const g = this.merging.get(id);
    if (g !== undefined) {
      ctx.send(g.winner, { t: "merge", from, id, epoch: g.epoch, handover, data });
      return;
    }
    const c = ctx.children.byId.get(id);
    if (c === undefined || c.epoch < epoch) {
      // Not running it and not stopped by request: it went elsewhere, and the loser's copy may be
      // the only one left.
      const gone = c === undefined && !this.ensurer.stoppedSince(id, epoch) && !this.ensurer.stopHeard(id);
      ctx.send(from, { t: "merged", from: ctx.self, id, ok: false, gone });
      return;
    }
    if (!handover) {
      ctx.send(from, { t: "merged", from: ctx.self, id, ok: true, gone: false });
      return;
    }
    // Not awaited: the hub keeps reading its mailbox while the child takes the data.
    const timeout = timeouts.handoverMs(ctx.strategies);
    void giveHandoverState(ctx.node, c.pid, data, timeout, { reason: "heal", from }).then((ok) => {
      ctx.hooks.dispatch("handoverReceived", { id, pid: c.pid, ok });
      ctx.send(from, { t: "merged", from: ctx.self, id, ok, gone: false });
    });
  }

  /** Under hot swap, a losing duplicate hands its data to the winner before it stops. */
  private canMerge(behaviour: string): boolean {
    return (
      this.ctx.strategies.migration.type === "hotSwap" && supportsHandover(this.ctx.behaviours.get(behaviour))
    );
  }

  /**
   * Asks the winner whether it runs placement `epoch` (`merge`) — under hot swap (`handover`)
   * handing it the losing copy's data — and stops the local copy once it said so (`merged`).
   * Until then the id stays out of the epoch rule; a handing-over copy also stays out of
   * rebalancing, and ensures of it here are refused (see `placement.ts`).
   */
  private async mergeInto(
    id: string,
    pid: Pid,
    winner: string,
    epoch: number,
    stoppedEpoch: number,
    handover: boolean,
  ) {
    const ctx = this.ctx;
    const m = ctx.strategies.migration;
    const hot = handover && m.type === "hotSwap";
    if (hot) this.migration.markHandingOver(id);
    const wait = hot ? m.retentionMs : timeouts.handoverMs(ctx.strategies);
    const timer = setTimeout(() => ctx.post({ t: "$merge_timeout", id }), wait);
    timer.unref?.();
    this.merging.set(id, { winner, epoch, stoppedEpoch, handover: hot, timer });
    if (!hot) {
      ctx.send(winner, { t: "merge", from: ctx.self, id, epoch, handover: false, data: null });
      return;
    }
    const s = await takeHandoverState(ctx.node, pid, m.handoverTimeoutMs);
    if (this.merging.get(id)?.timer !== timer) return;
    if (s === undefined) {
      ctx.logger.warn({ hub: ctx.hubId, id }, "hub duplicate's handover state not prepared");
      return this.finish(id, "refused");
    }
    ctx.send(winner, { t: "merge", from: ctx.self, id, epoch, handover: true, data: s.data });
  }

  private finish(id: string, end: MergeEnd): void {
    const ctx = this.ctx;
    const g = this.merging.get(id);
    if (g === undefined) return;
    clearTimeout(g.timer);
    this.merging.delete(id);
    if (g.handover) this.migration.clearHandingOver(id);
    const mine = ctx.children.byId.get(id);
    // Moved, stopped or absorbed an ensure (a new epoch) meanwhile: the question is moot.
    if (mine === undefined || mine.epoch !== g.stoppedEpoch) return;
    if (end === "gone") {
      ctx.logger.info(
        { hub: ctx.hubId, id, winner: g.winner },
        "hub duplicate kept: the winner no longer runs it",
      );
      return;
    }
    // No answer: the winner's registration decides, as without the question.
    if (end === "timeout") {
      const e = ctx.registry.sliceOf(g.winner).get(id);
      if (!ctx.view.isPeer(g.winner) || e === undefined || e.epoch < g.epoch) return;
    }
    const handedOver = g.handover && end === "taken";
    if (g.handover && !handedOver)
      ctx.logger.warn({ hub: ctx.hubId, id, winner: g.winner }, "hub duplicate stopped without handover");
    this.stopDuplicate(id, g.winner, g.epoch, g.stoppedEpoch, handedOver);
    ctx.repl.flush();
  }

  private stopDuplicate(
    id: string,
    winner: string,
    epoch: number,
    stoppedEpoch: number,
    handedOver: boolean,
  ) {
    void this.ctx.children.stop(id);
    this.ctx.repl.remove(id);
    this.signals.forget(id);
    this.ctx.hooks.dispatch("duplicateStopped", { id, winner, epoch, stoppedEpoch, handedOver });
  }
}
