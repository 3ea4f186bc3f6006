/**
 * `QuorumTracker`: the partition-tolerance decision of one node. The hub feeds it every topology
 * change (its member count, who left, who joined) and asks whether it still has quorum:
 * - divergence: always.
 * - static: members (itself included) >= `quorumSize`.
 * - dynamic: the nodes that left within `windowMs` are "down"; quorum while
 *   `100 - down / (members + down) * 100 >= quorumPercent`. Nodes that left longer ago count
 *   as an intended scale-down. Leaves and joins both re-evaluate (a join removes the node from
 *   the down log).
 * - majority: tracks the largest hub size seen (at least `initialClusterSize`); quorum while
 *   members >= floor(max / 2) + 1. `reset(size)` forgets the maximum after an intended downsize.
 * Imports `strategies/options`.
 */
import type { HubStrategies } from "./options.js";

/** Decides, from membership changes, whether this node has its partition-tolerance quorum. */
export class QuorumTracker {
  private maxSeen: number;
  private readonly downLog = new Map<string, number>();

  constructor(
    private readonly strategy: HubStrategies["partition"],
    private readonly now: () => number = Date.now,
  ) {
    this.maxSeen = strategy.type === "majority" ? strategy.initialClusterSize : 1;
  }

  get enabled(): boolean {
    return this.strategy.type !== "divergence";
  }

  /** Largest hub size seen (majority quorum). */
  get largestSeen(): number {
    return this.maxSeen;
  }

  /** Records a topology change; returns whether the node has quorum now. */
  update(members: number, left: readonly string[], joined: readonly string[]): boolean {
    const t = this.now();
    for (const n of left) this.downLog.set(n, t);
    for (const n of joined) this.downLog.delete(n);
    return this.check(members);
  }

  /** Whether `members` hub nodes (self included) make a quorum now. */
  check(members: number): boolean {
    const s = this.strategy;
    switch (s.type) {
      case "divergence":
        return true;
      case "static":
        return members >= s.quorumSize;
      case "dynamic": {
        const cutoff = this.now() - s.windowMs;
        for (const [n, at] of this.downLog) if (at < cutoff) this.downLog.delete(n);
        const down = this.downLog.size;
        return 100 - (down / (members + down)) * 100 >= s.quorumPercent;
      }
      case "majority":
        if (members > this.maxSeen) this.maxSeen = members;
        return members >= Math.floor(this.maxSeen / 2) + 1;
    }
  }

  /** Forgets the largest size seen (majority) and the down log (dynamic); the new baseline is `size`. */
  reset(size: number): void {
    this.maxSeen = size;
    this.downLog.clear();
  }
}
