/**
 * The shared cluster scenarios over the memory transport.
 */
import { MemoryNetwork } from "../../src/transports/memory/index.js";
import { clusterScenarios } from "./scenarios.js";

clusterScenarios({
  name: "memory",
  features: { kill: true, partition: true, inject: true },
  downWithinMs: 2000,
  create() {
    const network = new MemoryNetwork({ timeoutMs: 50 });
    return {
      transport: () => network.transport(),
      kill: (node) => network.kill(node),
      partition: (groups) => network.partition(...groups),
      heal: () => network.heal(),
      inject: (node, bytes, from) => network.inject(node, bytes, from),
    };
  },
});
