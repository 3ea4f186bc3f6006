/**
 * The entity scenarios (`entity-scenarios.ts`) over NATS: each hub node its own OS process on a
 * `nats-server` of the test harness, a kill a real SIGKILL (`nats-bed.ts`).
 */
import { afterAll } from "vitest";
import { type NatsServer, startNatsServer, stopAllNatsServers } from "../../support/nats-server.js";
import { entityScenarios } from "./entity-scenarios.js";
import { NatsEntityBed } from "./nats-bed.js";

let server: Promise<NatsServer> | undefined;
const url = async () => (await (server ??= startNatsServer("hub-entities"))).url;
afterAll(stopAllNatsServers);

entityScenarios({
  label: "NATS (one OS process per node, SIGKILL)",
  bed: () => new NatsEntityBed(url),
  callTimeoutMs: 5000,
  testTimeoutMs: 150_000,
});
