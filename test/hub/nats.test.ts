/**
 * The shared hub scenarios (`scenarios.ts`) over a real `nats-server`: three (up to five) nodes
 * in this process, each with its own NATS connection and cluster, every scenario ending with the
 * invariant check (each child once, on its owner, identical registries).
 */
import { afterAll } from "vitest";
import { type NatsServer, startNatsServer, stopAllNatsServers } from "../support/nats-server.js";
import { NatsHubCluster } from "./nats-cluster.js";
import { hubScenarios } from "./scenarios.js";

let server: Promise<NatsServer> | undefined;
const url = async () => (await (server ??= startNatsServer("hub-scenarios"))).url;
afterAll(stopAllNatsServers);

hubScenarios("NATS (one nats-server, nodes in one process)", () => new NatsHubCluster(url));
