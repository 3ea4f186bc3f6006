/**
 * `hub.awaitSettled`: whether a hub has settled after a change, as far as one node can tell —
 * no membership change pending or being handled, none of this node's starts, stops, moves or
 * adoptions waiting for answers, every placement its registry shows on one of the id's replicas
 * (consistent hashing) or on the node it is pinned to (a guided start's `childMapping`,
 * `hub.migrate`: the registry entry of a pinned child says so, on every node), no registry
 * placement on a node that is not a member, and no id placed on more nodes than its redundancy
 * allows. Polled, with a growing interval, because "nothing pending" is the absence of events.
 * Imports the hub core type and the hub's errors.
 */
import { HubStoppedError } from "../errors.js";
import type { HubCore } from "../hub-core.js";
import { HubSettleTimeoutError } from "./errors.js";

/** What keeps the hub from being settled on this node now, or null when it is settled. */
export function settleProblem(core: HubCore): string | null {
  const view = core.view;
  if (core.mode === "stopping" || core.mode === "stopped") return "the hub is stopping";
  // `ProcessHub.start` returns before its process ran `init`: nothing is wired yet.
  if ((core.children as HubCore["children"] | undefined) === undefined) return "the hub is starting";
  if (core.locked || view.scheduled) return "a membership change is being handled";
  if (view.pendingJoin.size > 0) return `joins pending: ${[...view.pendingJoin.keys()].join(", ")}`;
  if (view.pendingLeave.size > 0) return `departures pending: ${[...view.pendingLeave].join(", ")}`;
  if (core.requests.pending > 0) return `${core.requests.pending} start or stop request(s) awaiting answers`;
  const ring = core.strategies.distribution.type === "consistentHashing";
  // Owners on the ring of the nodes that run the child's behaviour: a client-only node (or one
  // lacking a behaviour) is never an owner of it.
  for (const [id, child] of core.children.byId) {
    if (!ring || child.pinned) continue;
    const owners = view.replicasOf(id, child.spec.behaviour);
    if (!owners.includes(core.self)) return `${id} runs here but belongs on ${owners.join(", ")}`;
  }
  const f = core.strategies.redundancy.factor;
  const factor = f === "cluster" ? view.members.size + 1 : f;
  for (const node of core.registry.nodes())
    if (!view.isMember(node) && core.registry.sliceOf(node).size > 0)
      return `the registry still lists children of ${node}, not a member`;
  const reg = core.registry;
  for (const id of reg.ids()) {
    const only = reg.onlyPid(id);
    const pids = only !== undefined ? [only] : reg.getPids(id);
    if (pids.length > factor) return `${id} runs on ${pids.length} nodes, redundancy allows ${factor}`;
    if (!ring) continue;
    for (const p of pids) {
      // A pinned child (guided start, `hub.migrate`) is placed where it was pinned: its node's
      // registry entry says so.
      const entry = reg.sliceOf(p.node).get(id);
      if (entry === undefined || entry.pinned === true) continue;
      const replicas = view.replicasOf(id, entry.spec.behaviour);
      if (!replicas.includes(p.node)) return `${id} runs on ${p.node}, not one of ${replicas.join(", ")}`;
    }
  }
  return null;
}

/** Resolves once `settleProblem` finds nothing; `HubSettleTimeoutError` after `timeoutMs`. */
export async function awaitSettled(core: HubCore, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let interval = 2;
  for (;;) {
    if (!core.alive) throw new HubStoppedError(core.hubId);
    const problem = settleProblem(core);
    if (problem === null) return;
    const left = deadline - performance.now();
    if (left <= 0) throw new HubSettleTimeoutError(core.hubId, timeoutMs, problem);
    await new Promise((r) => setTimeout(r, Math.min(interval, left)));
    interval = Math.min(interval * 2, 50);
  }
}
