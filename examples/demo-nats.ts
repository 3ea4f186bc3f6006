/**
 * `npm start -- --nats` (or `HUBVISOR_TRANSPORT=nats npm start`): the demo of `demo.ts` with every
 * hub node a separate OS process (`hub-node.ts`) talking over NATS. Uses the server given by
 * `--nats-url <url>` (or `NATS_URL`), else starts a private `nats-server` on a free loopback port.
 * Three nodes start thousands of counters; node-c is SIGKILLed; node-d joins. It prints what moved
 * and how long each step took. Imports the controller of `hub-node.ts` and the nats-server harness
 * of the tests.
 *
 * The Observer: every node process runs the observer agent, and this program joins the cluster
 * over NATS as a node of its own that runs no hub (as `hubvisor observe` does) and serves the page,
 * so the page stays up while node-c is killed. It prints the address and keeps the page and the
 * nodes up after the story until Ctrl-C; `--exit` (or `DEMO_EXIT=1`) ends with the story.
 * `OBSERVER_PORT` picks the port (default 4100; a free one if it is taken).
 */
import { Cluster, Node, silentLogger } from "hubvisor";
import { NatsTransport } from "hubvisor/nats";
import { type Observer, observe } from "hubvisor/observe";
import { type NatsServer, startNatsServer } from "../test/support/nats-server.js";
import { HubNodeProcess } from "./hub-node-process.js";

const CHILDREN = Number(process.env.DEMO_CHILDREN ?? 5000);
const argUrl = process.argv.indexOf("--nats-url");
let url = argUrl >= 0 ? process.argv[argUrl + 1] : process.env.NATS_URL;
let server: NatsServer | undefined;
if (url === undefined) {
  server = await startNatsServer("hubvisor-demo");
  url = server.url;
}
const cluster = `demo${process.pid}`;
const EXIT_AT_END = process.argv.includes("--exit") || process.env.DEMO_EXIT === "1";
const nodes = new Map<string, HubNodeProcess>();
const ms = (t0: number) => `${(performance.now() - t0).toFixed(0)} ms`;

async function until(cond: () => Promise<boolean>): Promise<void> {
  while (!(await cond())) await new Promise((r) => setTimeout(r, 10));
}

function spawnNode(name: string): HubNodeProcess {
  const p = new HubNodeProcess({ nats: url!, node: name, cluster, observe: true });
  nodes.set(name, p);
  return p;
}

/** Every node sees the same hub members, and together they run each child exactly once. */
async function converged(n: number): Promise<boolean> {
  const names = [...nodes.keys()].sort().join();
  const views = await Promise.all([...nodes.values()].map((p) => p.request("status")));
  let local = 0;
  for (const v of views) {
    if ((v.members as string[]).join() !== names || v.size !== n || v.dupes !== 0 || v.misplaced !== 0)
      return false;
    local += v.local as number;
  }
  return local === n;
}

async function placement(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const p of nodes.values()) {
    const r = await p.request("locals");
    for (const id of r.ids as string[]) out.set(id, p.name);
  }
  return out;
}

function spread(pl: Map<string, string>): string {
  const counts = new Map<string, number>();
  for (const n of pl.values()) counts.set(n, (counts.get(n) ?? 0) + 1);
  return [...counts]
    .sort()
    .map(([n, c]) => `${n}=${c}`)
    .join(" ");
}

console.log(
  `hubvisor demo over NATS (${server ? `private nats-server at ${url}` : url}): a ProcessHub over 3 OS processes, ${CHILDREN.toLocaleString("en-US")} stateful counters\n`,
);
/** Joins the cluster as a node without a hub and serves the Observer there. */
async function serveObserver(): Promise<{ observer: Observer; cluster: Cluster }> {
  const node = new Node({ name: "observer", logger: silentLogger });
  const transport = new NatsTransport({ connection: { servers: url! }, logger: silentLogger });
  const joined = await Cluster.join({ node, cluster, transport, logger: silentLogger });
  const port = Number(process.env.OBSERVER_PORT ?? 4100);
  const observer = await observe({ cluster: joined, port }).catch(() =>
    observe({ cluster: joined, port: 0 }),
  );
  console.log(`Observer: ${observer.url}\n`);
  return { observer, cluster: joined };
}

let watching: { observer: Observer; cluster: Cluster } | undefined;
try {
  watching = await serveObserver();
  let t0 = performance.now();
  for (const n of ["node-a", "node-b", "node-c"]) spawnNode(n);
  await Promise.all([...nodes.values()].map((p) => p.ready));
  await until(() => converged(0));
  console.log(`3 node processes up and formed one hub: ${ms(t0)}`);

  const a = nodes.get("node-a")!;
  const started = await a.request("start", { n: CHILDREN, prefix: "room-" });
  await until(() => converged(CHILDREN));
  const before = await placement();
  console.log(
    `started ${started.started} children in one awaited call from node-a: ${(started.ms as number).toFixed(0)} ms  [${spread(before)}]`,
  );

  const c = nodes.get("node-c")!;
  nodes.delete("node-c");
  const killedAt = performance.timeOrigin + performance.now();
  t0 = performance.now();
  await c.kill("SIGKILL");
  const placed = await a.request("placed", { n: CHILDREN, exclude: "node-c" });
  const failover = (placed.at as number) - killedAt;
  await until(() => converged(CHILDREN));
  const afterKill = await placement();
  const restarted = [...before].filter(([id, n]) => n === "node-c" && afterKill.get(id) !== n).length;
  const untouched = [...before].filter(([id, n]) => n !== "node-c" && afterKill.get(id) === n).length;
  console.log(
    `SIGKILLed node-c: ${restarted} children restarted on their new owners, ${untouched} untouched: all running again ${failover.toFixed(0)} ms after the kill  [${spread(afterKill)}]`,
  );

  const d = spawnNode("node-d");
  await d.ready;
  t0 = performance.now();
  await until(() => converged(CHILDREN));
  const afterJoin = await placement();
  const moved = [...afterKill].filter(([id, n]) => afterJoin.get(id) !== n);
  const toD = moved.filter(([id]) => afterJoin.get(id) === "node-d").length;
  console.log(
    `added node-d: ${moved.length} children moved (${((moved.length / CHILDREN) * 100).toFixed(1)} %, ideal ${(100 / 3).toFixed(1)} %), ${toD} of them to node-d: ${ms(t0)} after its process joined  [${spread(afterJoin)}]`,
  );
  const digests = await Promise.all([...nodes.values()].map((p) => p.request("status", { digest: true })));
  const same = digests.every((v) => v.digest === digests[0]!.digest);
  console.log(`every registry identical across the 3 processes: ${same}`);
  if (!EXIT_AT_END) {
    console.log(`\nthe Observer stays up at ${watching.observer.url} (Ctrl-C to quit; --exit to end here)`);
    await new Promise<void>((resolve) => process.once("SIGINT", () => resolve()));
  }
} finally {
  await watching?.observer.close();
  await watching?.cluster.leave().catch(() => {});
  await Promise.all([...nodes.values()].map((p) => p.exit()));
  await server?.stop();
}
process.exit(0);
