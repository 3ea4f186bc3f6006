/**
 * `Duplicates`: the epoch rule, and the heal merge under hot swap. When a registry change shows
 * another placement of an id running here, the local copy is checked on the next turn: if the
 * other placement wins (`wins`, pure), the local copy stops — or, under hot swap with a
 * behaviour that hands over, first gives its data to the winner's running copy (`merge`) and
 * stops once the winner answered (`merged`) or after `retentionMs`. Owns the ids to check and
 * the merges under way. Imports the handover strategy, the migration part and the context.
 */
import type { Pid } from "../../process/pid.js";
import { giveHandoverState, supportsHandover, takeHandoverState } from "../strategies/handover.js";
import { type HubContext, timeouts } from "./context.js";
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
  timer: ReturnType<typeof setTimeout>;
}

export class Duplicates {
  /** Local children that may be duplicates of a newer placement, checked on the next turn. */
  private pending: Set<string> | null = null;
  /** Losing copies waiting for the winner to take their data before they stop. */
  private readonly merging = new Map<string, Merge>();

  constructor(
    private readonly ctx: HubContext,
    private readonly migration: Migration,
    private readonly signals: RedundancySignals,
  ) {}

  /** Whether the local copy of `id` is handing its data to a winner (and stops after). */
  isMerging(id: string): boolean {
    return this.merging.has(id);
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
    if (mine === undefined || this.migration.isHandingOver(id)) return false;
    const replicas = view.replicas(id);
    // Replicas never stop each other; a guided child's replicas are the nodes it was pinned to.
    if (replicas.length > 1 && (replicas.includes(self) || mine.pinned)) return false;
    for (const np of registry.lookup(id)?.nodes ?? []) {
      if (np.node === self || !view.isPeer(np.node)) continue;
      const e = registry.sliceOf(np.node).get(id);
      if (e === undefined) continue;
      if (!wins({ node: self, epoch: mine.epoch }, { node: np.node, epoch: e.epoch }, replicas)) continue;
      if (replicas.length === 1 && this.canMerge(mine.spec.behaviour)) {
        void this.mergeInto(id, mine.pid, np.node, e.epoch, mine.epoch);
        return false;
      }
      this.stopDuplicate(id, np.node, e.epoch, mine.epoch, false);
      return true;
    }
    return false;
  }

  /** The sending side of a heal merge timed out (`retentionMs`). */
  timedOut(id: string): void {
    this.finish(id, false);
  }

  /** The winner (or the node it passed the data on to) answered a merge. */
  merged(id: string, ok: boolean): void {
    this.finish(id, ok);
  }

  /** The winner's side of a heal merge: gives the loser's data to the local copy of `epoch`. */
  onMerge(from: string, id: string, epoch: number, data: unknown): void {
    const ctx = this.ctx;
    // Three or more copies: this winner loses to another one itself; the data goes on there.
    const g = this.merging.get(id);
    if (g !== undefined) {
      ctx.send(g.winner, { t: "merge", from, id, epoch: g.epoch, data });
      return;
    }
    const c = ctx.children.byId.get(id);
    if (c === undefined || c.epoch < epoch) {
      ctx.send(from, { t: "merged", from: ctx.self, id, ok: false });
      return;
    }
    // Not awaited: the hub keeps reading its mailbox while the child takes the data.
    const timeout = timeouts.handoverMs(ctx.strategies);
    void giveHandoverState(ctx.node, c.pid, data, timeout, { reason: "heal", from }).then((ok) => {
      ctx.hooks.dispatch("handoverReceived", { id, pid: c.pid, ok });
      ctx.send(from, { t: "merged", from: ctx.self, id, ok });
    });
  }

  /** Under hot swap, a losing duplicate hands its data to the winner before it stops. */
  private canMerge(behaviour: string): boolean {
    return (
      this.ctx.strategies.migration.type === "hotSwap" && supportsHandover(this.ctx.behaviours.get(behaviour))
    );
  }

  /**
   * Hands the losing copy's data to the winner's running copy (`merge`), then stops it once the
   * winner answered (`merged`) or after `retentionMs`. Until then the id stays out of the epoch
   * rule and of rebalancing, and ensures of it here are refused (see `placement.ts`).
   */
  private async mergeInto(id: string, pid: Pid, winner: string, epoch: number, stoppedEpoch: number) {
    const ctx = this.ctx;
    const m = ctx.strategies.migration;
    if (m.type !== "hotSwap") return;
    this.migration.markHandingOver(id);
    const timer = setTimeout(() => ctx.post({ t: "$merge_timeout", id }), m.retentionMs);
    timer.unref?.();
    this.merging.set(id, { winner, epoch, stoppedEpoch, timer });
    const s = await takeHandoverState(ctx.node, pid, m.handoverTimeoutMs);
    if (this.merging.get(id)?.timer !== timer) return;
    if (s === undefined) {
      ctx.logger.warn({ hub: ctx.hubId, id }, "hub duplicate's handover state not prepared");
      return this.finish(id, false);
    }
    ctx.send(winner, { t: "merge", from: ctx.self, id, epoch, data: s.data });
  }

  private finish(id: string, handedOver: boolean): void {
    const g = this.merging.get(id);
    if (g === undefined) return;
    clearTimeout(g.timer);
    this.merging.delete(id);
    this.migration.clearHandingOver(id);
    const mine = this.ctx.children.byId.get(id);
    if (mine === undefined || mine.epoch !== g.stoppedEpoch) return;
    if (!handedOver)
      this.ctx.logger.warn(
        { hub: this.ctx.hubId, id, winner: g.winner },
        "hub duplicate stopped without handover",
      );
    this.stopDuplicate(id, g.winner, g.epoch, g.stoppedEpoch, handedOver);
    this.ctx.repl.flush();
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
