/**
 * The shared cluster scenarios (`test/cluster/scenarios.ts`) over the NATS transport on a real
 * nats-server. `kill` drops a node's NATS connection without a leave (what a crash looks like to
 * the others: its subscriptions vanish); `inject` publishes raw bytes on the node's direct subject.
 * Partitions are not modelled over NATS (the memory transport covers them).
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll } from "vitest";
import { silentLogger } from "../../../src/logger.js";
import { NatsTransport } from "../../../src/transports/nats/index.js";
import { type NatsServer, startNatsServer, stopAllNatsServers } from "../../support/nats-server.js";
import { clusterScenarios } from "../../cluster/scenarios.js";
import { TEST_TIMINGS } from "./recorder.js";

let server: Promise<NatsServer> | undefined;
// 4 MiB so that the scenario's 2 MiB frame reaches the cluster layer, which must reject it itself.
const shared = () => (server ??= startNatsServer("scenarios", { maxPayload: 4 * 1024 * 1024 }));
afterAll(stopAllNatsServers);

clusterScenarios({
  name: "nats",
  features: { kill: true, partition: false, inject: true },
  downWithinMs: 5000,
  async create() {
    const url = (await shared()).url;
    const transports: NatsTransport[] = [];
    let raw: NatsConnection | undefined;
    const byNode = (node: string) => {
      const found = transports.filter((t) => t.identity?.node === node).at(-1);
      if (!found) throw new Error(`no NATS transport for node ${node}`);
      return found;
    };
    return {
      transport() {
        const t = new NatsTransport({
          ...TEST_TIMINGS,
          logger: silentLogger,
          connection: { servers: url, reconnectTimeWait: 100 },
        });
        transports.push(t);
        return t;
      },
      async kill(node) {
        await byNode(node).connection!.close();
      },
      async inject(node, bytes, from) {
        raw ??= await connect({ servers: url });
        const cluster = byNode(node).identity!.cluster;
        raw.publish(`hv.${cluster}.node.${node}.${from}`, bytes);
        await raw.flush();
      },
      async close() {
        await raw?.close();
        await Promise.all(transports.map((t) => t.close()));
      },
    };
  },
});
