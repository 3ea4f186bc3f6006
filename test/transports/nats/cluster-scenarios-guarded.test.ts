/**
 * The shared cluster scenarios (`test/cluster/scenarios.ts`) over NATS the way issue 20 says to
 * run a cluster on a shared NATS: on a nats-server with the least-privilege configuration (a
 * user per node, limited to its own subjects, from `nodePermissions`, the pieces of
 * `natsServerConfig`) and with the cluster authenticated (`auth`). Every scenario but raw-byte
 * injection runs: there is no publisher left that could inject (`attack.test.ts` covers that).
 * The permissions name clusters, so the harness hands each test one of a fixed set of names.
 */
import { afterAll } from "vitest";
import { silentLogger } from "../../../src/logger.js";
import {
  NatsTransport,
  nodePermissions,
  usernamePasswordAuthenticator,
} from "../../../src/transports/nats/index.js";
import { clusterScenarios } from "../../cluster/scenarios.js";
import { type NatsServer, startNatsServer, stopAllNatsServers } from "../../support/nats-server.js";
import { TEST_TIMINGS } from "./recorder.js";

const NODES = ["a", "b", "c", "x"];
const CLUSTERS = Array.from({ length: 80 }, (_, i) => `acl${process.pid}x${i}`);
let next = 0;

/** One user per node, allowed its own subjects in each of the test clusters. */
function config(): string {
  const users = NODES.map((node) => {
    const per = CLUSTERS.map((c) => nodePermissions("hv", c, node));
    return {
      user: node,
      password: `pw-${node}`,
      permissions: {
        publish: { allow: per.flatMap((p) => p.publish.allow) },
        subscribe: { allow: [...new Set(per.flatMap((p) => p.subscribe.allow))] },
        allow_responses: true,
      },
    };
  });
  return JSON.stringify({ accounts: { HUBVISOR: { users } } });
}

let server: Promise<NatsServer> | undefined;
const shared = () =>
  (server ??= startNatsServer("scenarios-guarded", { maxPayload: 4 * 1024 * 1024, config: config() }));
afterAll(stopAllNatsServers);

clusterScenarios({
  name: "nats with least-privilege permissions and auth",
  features: { kill: true, partition: false, inject: false },
  downWithinMs: 5000,
  async create() {
    const url = (await shared()).url;
    const clusterName = CLUSTERS[next++ % CLUSTERS.length]!;
    const transports: NatsTransport[] = [];
    const byNode = (node: string) => {
      const found = transports.filter((t) => t.identity?.node === node).at(-1);
      if (!found) throw new Error(`no NATS transport for node ${node}`);
      return found;
    };
    return {
      clusterName,
      transport() {
        const t: NatsTransport = new NatsTransport({
          ...TEST_TIMINGS,
          logger: silentLogger,
          auth: { secret: "scenario secret, sixteen+ bytes", joinCheckMs: 50 },
          connection: {
            servers: url,
            reconnectTimeWait: 100,
            // The node's name is known once it connects: its NATS user is that name.
            authenticator: usernamePasswordAuthenticator(
              () => t.identity!.node,
              () => `pw-${t.identity!.node}`,
            ),
          },
        });
        transports.push(t);
        return t;
      },
      async kill(node) {
        await byNode(node).connection!.close();
      },
      async close() {
        await Promise.all(transports.map((t) => t.close()));
      },
    };
  },
});
