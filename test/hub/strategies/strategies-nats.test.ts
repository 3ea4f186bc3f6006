/**
 * The shared strategy scenarios (`strategy-scenarios.ts`) over a real `nats-server` (one server
 * from the test harness, nodes in this process, `nats-bed.ts`); a kill closes a node's NATS
 * connection without a leave. The partition strategies over NATS need routed servers and are in
 * `nats-partition.test.ts`.
 */
import { afterAll } from "vitest";
import { type NatsServer, startNatsServer, stopAllNatsServers } from "../../support/nats-server.js";
import { NatsStrategyBed } from "./nats-bed.js";
import { strategyScenarios } from "./strategy-scenarios.js";

let server: Promise<NatsServer> | undefined;
const url = async () => (await (server ??= startNatsServer("hub-strategies"))).url;
afterAll(stopAllNatsServers);

strategyScenarios({
  label: "NATS (one nats-server, nodes in one process)",
  bed: (options) => new NatsStrategyBed(url, options),
});
