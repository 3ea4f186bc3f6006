/**
 * The fence of a hub on its node: what `Fence` is told about the hub (which children run here,
 * how to stop them all at once, which claims it may give up) and where the hub consults it (the
 * hub core's `fence`, the node's run guard). Imports the hub core's type, the durability replica
 * and the fence.
 */
import type { HubCore } from "../hub-core.js";
import type { Durability } from "./durability.js";
import { Fence, type FenceHost } from "./fencing.js";
import type { ParsedFencing } from "./fencing-options.js";
import type { DurableStore } from "./store.js";

/** Creates the fence of `core`, installs it as the hub's and as a run guard of its node. */
export function fenceHub(
  core: HubCore,
  store: DurableStore,
  durable: () => Durability | null,
  options: ParsedFencing,
): { fence: Fence; remove: () => void } {
  const host: FenceHost = {
    hubId: core.hubId,
    self: core.self,
    logger: core.logger,
    hooks: core.hooks,
    alive: () => core.node.isAlive(core.pid),
    holds: (id) => core.children.byId.has(id) || core.children.whenStarted([id]) !== null,
    stopAll: () => stopEverything(core),
    releasable(id) {
      if (core.mode !== "running" || core.locked) return false;
      const d = durable()?.declared.get(id);
      if (d === undefined || d.desired !== "running" || d.spec === null) return true;
      // Its owner keeps the claim: reconcile starts it there again.
      return core.view.replicasOf(id, d.spec.behaviour)[0] !== core.self;
    },
  };
  const fence = new Fence(host, store, options);
  core.fence = fence;
  const unguard = core.node.addRunGuard(fence.check);
  return {
    fence,
    remove: () => {
      unguard();
      fence.close();
    },
  };
}

/**
 * The lease is being lost: every local child is told to stop now (synchronously: one that does
 * not trap exits is dead when this returns) and leaves the registry; `kill` finishes those that
 * linger in `terminate`. Called outside the hub process (a timer, the run guard): it must not
 * wait for anything.
 */
function stopEverything(core: HubCore): { count: number; kill: () => void } {
  const children = core.children;
  if (children === undefined) return { count: 0, kill: () => {} };
  const pids = [...children.byId.values()].map((c) => c.pid);
  const ids = [...children.byId.keys()];
  for (const id of ids) void children.stop(id);
  for (const id of ids) core.repl.remove(id);
  if (ids.length > 0) core.repl.flush();
  return {
    count: ids.length,
    kill: () => {
      for (const pid of pids) if (core.node.isAlive(pid)) core.node.exit(pid, "kill");
    },
  };
}
