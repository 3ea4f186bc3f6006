/**
 * What the durable store's tests share: a child spec and its running entry as records carry
 * them, msgpack packing as the store's codec does it (to lay values out by hand), and a durable
 * hub of one node on a `MemoryDurableStore` with fast reconcile timings.
 */
import { Packr } from "msgpackr";
import { Cluster } from "../../../src/cluster/index.js";
import type { MemoryDurableStore } from "../../../src/hub/durable/memory-store.js";
import type { DurabilityOptions } from "../../../src/hub/durable/options.js";
import type { PageEntry } from "../../../src/hub/durable/pages.js";
import { ProcessHub } from "../../../src/hub/process-hub.js";
import { type Logger, silentLogger } from "../../../src/logger.js";
import { Node } from "../../../src/process/node.js";
import { defineServer, ok } from "../../../src/server/index.js";
import { MemoryNetwork } from "../../../src/transports/memory/index.js";

export const spec = (id: string) => ({
  id,
  behaviour: "w",
  args: 1,
  restart: "permanent" as const,
  shutdown: 5000,
  metadata: {},
});

/** `id` declared running with `spec(id)`. */
export const running = (id: string): PageEntry => ({ desired: "running", spec: spec(id), by: "n1", at: 1 });

/** `v` packed as stored records are (plain maps, no msgpackr extensions). */
export const packed = (v: unknown) => new Packr({ useRecords: false, moreTypes: false }).pack(v);

const W = defineServer<{}>()({ name: "w", init: () => ok({}) });

let nodes = 0;

/** A durable hub `hubId` of one node (behaviour `w`) on `store`, ready; `stop` stops it and leaves its cluster. */
export async function oneNodeHub(
  store: MemoryDurableStore,
  hubId: string,
  extra: Partial<DurabilityOptions> = {},
  logger: Logger = silentLogger,
): Promise<{ hub: ProcessHub; stop: () => Promise<void> }> {
  const node = new Node({ name: `durable${++nodes}`, logger: silentLogger });
  const cluster = await Cluster.join({
    node,
    cluster: hubId,
    transport: new MemoryNetwork().transport(node),
    logger: silentLogger,
  });
  const hub = ProcessHub.start({
    hubId,
    node,
    cluster,
    behaviours: { w: W },
    logger,
    durability: { store, reconcileIntervalMs: 50, settleMs: 0, graceMs: 100, ...extra },
  });
  await hub.durable!.ready;
  return {
    hub,
    stop: async () => {
      await hub.stop();
      await cluster.leave();
    },
  };
}
