/**
 * One node of the `scale` benchmark (`bench/scale.ts`), the same code in a worker thread (as a
 * `startNodeThreads` module) and in a process over NATS (`bench/scale-process.ts`): `servers`
 * echo GenServers, and a process named `bench` that answers `pids` (its servers' pids) and `run`
 * (spawns `callers` processes making `calls` sequential calls each, to a random server of this
 * node or, with probability `cross`, of the other nodes; answers the elapsed milliseconds once
 * all are done).
 */
import type { Cluster } from "../src/cluster/index.js";
import type { From, Node, Pid } from "../src/process/index.js";
import { defineServer, GenServer, ok, reply } from "../src/server/index.js";

interface EchoProtocol {
  calls: { ping(n: number): number };
  casts: Record<string, never>;
}

const Echo = defineServer<EchoProtocol>()({
  init: () => ok(0),
  handleCall: { ping: (n, s) => reply(n, s) },
});

export type BenchRequest =
  | { op: "pids"; from: From }
  | { op: "run"; from: From; callers: number; calls: number; cross: number; local: Pid[]; remote: Pid[] }
  | { op: "done" };

/** Starts the servers and the `bench` process of this node. */
export async function startBenchNode(node: Node, servers: number): Promise<void> {
  const pids: Pid[] = [];
  for (let i = 0; i < servers; i++) {
    const r = await GenServer.start(Echo, undefined, { node });
    if (!r.ok) throw new Error("echo server did not start");
    pids.push(r.pid);
  }
  node.spawn(
    async (ctx) => {
      for (;;) {
        const m = (await ctx.receive()) as BenchRequest;
        if (m.op === "pids") node.reply(m.from, pids);
        else if (m.op === "run") run(node, m);
      }
    },
    { name: "bench" },
  );
}

function run(node: Node, m: Extract<BenchRequest, { op: "run" }>): void {
  const { callers, calls, cross, local, remote } = m;
  let left = callers;
  const t0 = performance.now();
  for (let c = 0; c < callers; c++) {
    node.spawn(async () => {
      // A fixed stream per caller: the same mix in every run.
      let seed = c * 2654435761 + 1;
      const rand = () => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed / 0x7fffffff;
      };
      for (let i = 0; i < calls; i++) {
        const far = remote.length > 0 && rand() < cross;
        const to = far
          ? remote[Math.floor(rand() * remote.length)]!
          : local[Math.floor(rand() * local.length)]!;
        await GenServer.callOn(node, to, "ping", i, 60_000);
      }
      if (--left === 0) node.reply(m.from, performance.now() - t0);
    });
  }
}

/** As a `startNodeThreads` module. */
export default async function start({ node }: { node: Node; cluster: Cluster }): Promise<void> {
  await startBenchNode(node, Number(process.env.HV_SCALE_SERVERS ?? 50));
}
