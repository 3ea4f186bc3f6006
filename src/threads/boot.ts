/**
 * What a node thread runs first (the worker's entry, started by `startNodeThreads`): it makes the
 * thread's `Node`, joins the cluster over the thread transport with the control port it was
 * handed (or over NATS, with `nats`), imports the user's module and runs its main, and tells the starter over its boot port
 * that it is ready (or why not). Asked to stop, it leaves the cluster and ends the thread.
 * Imports the cluster and process layers, the thread transport and its own `protocol`.
 */
import { type MessagePort, workerData } from "node:worker_threads";
import { Cluster } from "../cluster/index.js";
import { silentLogger } from "../logger.js";
import { Node } from "../process/node.js";
import type { Transport } from "../cluster/transport.js";
import { ThreadTransport } from "../transports/threads/transport.js";
import type { BootData, FromThread, NodeThreadMain, ToThread } from "./protocol.js";

const data = workerData as BootData;
const boot: MessagePort = data.boot;

function tell(m: FromThread): void {
  boot.postMessage(m);
}

let stop: (() => void) | null = null;
// Listening from the start keeps the thread alive until it is told to stop.
boot.on("message", (m: ToThread) => {
  if (m.t === "stop") {
    if (stop !== null) stop();
    else process.exit(0);
  } else if (m.t === "pause") {
    const flag = new Int32Array(m.flag);
    while (Atomics.load(flag, 0) === 1) Atomics.wait(flag, 0, 1);
  }
});

async function transport(): Promise<Transport> {
  if (data.nats === undefined) return new ThreadTransport(data.control);
  // Loaded only here: the NATS client is an optional peer dependency.
  const { NatsTransport } = await import("../transports/nats/nats-transport.js");
  return new NatsTransport({ ...data.nats, ...(data.quiet ? { logger: silentLogger } : {}) });
}

async function main(): Promise<void> {
  const node = new Node({ name: data.name, ...(data.quiet ? { logger: silentLogger } : {}) });
  const cluster = await Cluster.join({
    node,
    cluster: data.cluster,
    transport: await transport(),
    ...(data.quiet ? { logger: silentLogger } : {}),
  });
  stop = () => {
    void cluster.leave().finally(() => {
      tell({ t: "stopped" });
      boot.close();
      process.exit(0);
    });
  };
  const mod = (await import(data.module)) as { default?: unknown; start?: unknown };
  const start = (typeof mod.default === "function" ? mod.default : mod.start) as NodeThreadMain | undefined;
  if (typeof start !== "function") throw new Error(`${data.module} exports no default or start function`);
  await start({ node, cluster, index: data.index, names: data.names, data: data.data });
  tell({ t: "ready" });
}

main().catch((err: unknown) => {
  tell({ t: "failed", reason: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exit(1);
});
