/**
 * The shared cluster scenarios (`test/cluster/scenarios.ts`) over the thread transport, every
 * node in this thread with its own transport and `MessagePort`s: the same ports, switchboard and
 * failure detection as nodes in worker threads (`node-threads.test.ts` runs those).
 */
import { ThreadNetwork } from "../../../src/transports/threads/index.js";
import { clusterScenarios } from "../../cluster/scenarios.js";

clusterScenarios({
  name: "threads",
  features: { kill: true, partition: true, inject: true },
  downWithinMs: 2000,
  create() {
    const network = new ThreadNetwork();
    return {
      transport: () => network.transport(),
      kill: (node) => network.kill(node),
      partition: (groups) => network.partition(...groups),
      heal: () => network.heal(),
      inject: (node, bytes, from) => network.inject(node, bytes, from),
    };
  },
});
