/**
 * One hub node of the entity tests as its own OS process over NATS (so that a kill is a real
 * SIGKILL), driven through JSON lines: commands on stdin (`{ cmd, id, ... }`), answers on stdout
 * (`{ ev: "reply", id, ... }`). Commands: `ensure { ids }` (the pids as strings), `drive`
 * (`driveCalls`' options; its stats), `settled { timeoutMs }` ("ok" or the problem), `crash { ids }`
 * (kills the local instances of `ids`; how many), `drain { deadlineMs }` (`hub.drain`'s result),
 * `stopDrive` (ends the drives started with `untilStopped`), `census`, `members`. With
 * `"clientOnly": true` in its config the node's hub registers no behaviour (it runs no child).
 * Prints `{ "ev": "ready" }` once its hub runs.
 *
 *   node --import tsx test/hub/entities/entity-node.ts '{"nats":"nats://127.0.0.1:4333","node":"a","cluster":"x"}'
 */
import { createInterface } from "node:readline";
import { Cluster } from "../../../src/cluster/index.js";
import { clusterMembership } from "../../../src/hub/membership.js";
import { ProcessHub } from "../../../src/hub/process-hub.js";
import { silentLogger } from "../../../src/logger.js";
import { Node } from "../../../src/process/node.js";
import { NatsTransport } from "../../../src/transports/nats/index.js";
import { HUB_NATS_TIMINGS } from "../nats-cluster.js";
import { type DriveOptions, driveCalls, room } from "./room.js";

const cfg = JSON.parse(process.argv[2] ?? "{}") as {
  nats: string;
  node: string;
  cluster: string;
  clientOnly?: boolean;
};
const out = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);

const node = new Node({ name: cfg.node, logger: silentLogger });
const transport = new NatsTransport({
  ...HUB_NATS_TIMINGS,
  logger: silentLogger,
  connection: { servers: cfg.nats, reconnectTimeWait: 100 },
});
const cluster = await Cluster.join({ node, cluster: cfg.cluster, transport, logger: silentLogger });
const hub = ProcessHub.start({
  hubId: "entities",
  node,
  membership: clusterMembership(cluster),
  behaviours: cfg.clientOnly === true ? {} : { room },
  clusterEventDebounceMs: 10,
  syncIntervalMs: 500,
  discoverIntervalMs: 200,
  logger: silentLogger,
});

let stopDrives: () => void = () => {};
let drivesStopped = new Promise<void>((r) => (stopDrives = r));

async function handle(c: Record<string, unknown>): Promise<Record<string, unknown>> {
  switch (c.cmd) {
    case "stopDrive":
      stopDrives();
      drivesStopped = new Promise<void>((r) => (stopDrives = r));
      return {};
    case "drain":
      return { result: await hub.drain({ deadlineMs: Number(c.deadlineMs) }) };
    case "ensure": {
      const ids = c.ids as string[];
      const pids = await Promise.all(
        ids.map((id) => hub.ensure({ id, behaviour: "room" }, { timeoutMs: 20_000 })),
      );
      return { pids: pids.map(String) };
    }
    case "drive":
      return {
        stats: await driveCalls(
          hub,
          c as unknown as DriveOptions,
          c.untilStopped === true ? drivesStopped : undefined,
        ),
      };
    case "settled":
      try {
        await hub.awaitSettled({ timeoutMs: Number(c.timeoutMs) });
        return { problem: "ok" };
      } catch (e) {
        return { problem: String(e) };
      }
    case "census": {
      let placements = 0;
      const dump = hub.registryDump();
      for (const l of dump.values()) placements += l.nodes.length;
      return { local: hub.localChildren().size, placements, size: dump.size };
    }
    case "crash": {
      let killed = 0;
      for (const id of c.ids as string[]) {
        const pid = hub.localPid(id);
        if (pid === undefined) continue;
        node.exit(pid, "kill");
        killed++;
      }
      return { killed };
    }
    case "members":
      return { members: hub.nodes({ includeLocal: true }) };
    default:
      return { error: `unknown command ${String(c.cmd)}` };
  }
}

createInterface({ input: process.stdin }).on("line", (line) => {
  let c: Record<string, unknown>;
  try {
    c = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return;
  }
  handle(c).then(
    (r) => out({ ev: "reply", id: c.id, ...r }),
    (e: unknown) => out({ ev: "reply", id: c.id, error: String(e) }),
  );
});
out({ ev: "ready", node: cfg.node });
