/**
 * A node of the `scale` benchmark in its own OS process over NATS. Argument: a JSON object
 * `{ url, cluster, name, servers }`. Prints `ready` once joined and serving; exits on SIGTERM.
 */
import { Cluster } from "../src/cluster/index.js";
import { silentLogger } from "../src/logger.js";
import { Node } from "../src/process/index.js";
import { NatsTransport } from "../src/transports/nats/index.js";
import { startBenchNode } from "./scale-node.js";

const cfg = JSON.parse(process.argv[2]!) as { url: string; cluster: string; name: string; servers: number };
const node = new Node({ name: cfg.name, logger: silentLogger });
const cluster = await Cluster.join({
  node,
  cluster: cfg.cluster,
  transport: new NatsTransport({ connection: { servers: cfg.url }, logger: silentLogger }),
  logger: silentLogger,
});
await startBenchNode(node, cfg.servers);
process.stdout.write("ready\n");
process.once("SIGTERM", () => void cluster.leave().then(() => process.exit(0)));
