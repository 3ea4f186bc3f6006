/**
 * Load-aware distribution: measuring a node's load and placing new children on the least
 * loaded nodes.
 *
 * Rules:
 * 1. Every hub node measures, every `reportIntervalMs`: `children` (hub children it runs),
 *    `lagMs` (event-loop delay, mean over the interval, from `perf_hooks`), and `memory`
 *    (V8 heap used / heap limit, 0..1), and sends them to every hub node.
 * 2. A node's score is the weighted sum of its figures, each divided by the largest value of
 *    that figure over the candidate nodes (so each term is in 0..1; a figure that is 0
 *    everywhere adds 0): `score = wChildren·children/max + wLag·lag/max + wMemory·memory/max`
 *    (default weights 0.5, 0.3, 0.2).
 * 3. A batch of new children is placed one at a time on the node with the lowest score,
 *    counting the children already placed in the batch on each node (scores are recomputed);
 *    ties go to the smallest node name, so a batch spreads instead of piling on one node.
 * 4. A node with no report yet counts as the least loaded (children 0, lag 0, memory 0).
 * 5. Placed children stay put (no rebalancing on joins); when their node leaves they are
 *    adopted at their ring owner.
 * Imports `perf_hooks`, `strategies/options`.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";
import { getHeapStatistics } from "node:v8";
import type { HubStrategies } from "./options.js";

/** One node's measured load. */
export interface NodeLoad {
  children: number;
  lagMs: number;
  memory: number;
}

let histogram: IntervalHistogram | undefined;

/** Measures this process's event-loop lag and memory; the child count comes from the hub. */
export function measureLoad(children: number): NodeLoad {
  if (histogram === undefined) {
    histogram = monitorEventLoopDelay({ resolution: 20 });
    histogram.enable();
  }
  const lagMs = Number.isFinite(histogram.mean) ? histogram.mean / 1e6 : 0;
  histogram.reset();
  // Against the heap limit, not the current heap size: V8 grows the heap lazily, so a node with a
  // small heap would otherwise look full.
  const { used_heap_size: used, heap_size_limit: limit } = getHeapStatistics();
  return { children, lagMs, memory: limit > 0 ? Math.min(1, used / limit) : 0 };
}

type Weights = Extract<HubStrategies["distribution"], { type: "loadAware" }>["weights"];

/** Places `count` new children over `loads` (node → load) by the rules above; returns one node per child. */
export function placeByLoad(loads: ReadonlyMap<string, NodeLoad>, count: number, weights: Weights): string[] {
  const nodes = [...loads.keys()].sort();
  if (nodes.length === 0) return [];
  const extra = new Map<string, number>(nodes.map((n) => [n, 0]));
  const maxLag = Math.max(...nodes.map((n) => loads.get(n)!.lagMs));
  const maxMem = Math.max(...nodes.map((n) => loads.get(n)!.memory));
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const maxChildren = Math.max(...nodes.map((n) => loads.get(n)!.children + extra.get(n)!));
    let best = nodes[0]!;
    let bestScore = Number.POSITIVE_INFINITY;
    for (const n of nodes) {
      const l = loads.get(n)!;
      const c = l.children + extra.get(n)!;
      const score =
        weights.children * (maxChildren > 0 ? c / maxChildren : 0) +
        weights.lag * (maxLag > 0 ? l.lagMs / maxLag : 0) +
        weights.memory * (maxMem > 0 ? l.memory / maxMem : 0);
      if (score < bestScore) {
        bestScore = score;
        best = n;
      }
    }
    extra.set(best, extra.get(best)! + 1);
    out.push(best);
  }
  return out;
}
