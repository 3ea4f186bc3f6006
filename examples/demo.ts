/**
 * `npm start`: a 3-node hub over the in-memory transport running thousands of stateful
 * processes (counters). It kills one node, then adds a new one, and prints what moved and how
 * long each step took. Everything runs in this one program; the nodes talk through the cluster
 * layer exactly as they would across machines. With `--nats` (or `HUBVISOR_TRANSPORT=nats`) it
 * runs `demo-nats.ts` instead: the same story with each node a separate OS process over NATS; with
 * `--threads` (or `HUBVISOR_TRANSPORT=threads`) `demo-threads.ts`: each node a worker thread.
 *
 * node-a serves the Observer (`hubvisor/observe`) and the demo prints its address; the page stays
 * up after the story until Ctrl-C. `--exit` (or `DEMO_EXIT=1`) exits at the end instead (CI, the
 * examples test); `--step` waits for Enter before each kill or join, to watch it on the page.
 * `OBSERVER_PORT` picks the port (default 4100; a free one if it is taken).
 */
import {
  Cluster,
  defineServer,
  GenServer,
  MemoryNetwork,
  Node,
  noreply,
  ok,
  ProcessHub,
  reply,
  silentLogger,
} from "hubvisor";
import { type Observer, observe, startObserverAgent } from "hubvisor/observe";

// `npm start -- --nats` (or HUBVISOR_TRANSPORT=nats): the same demo as OS processes over NATS.
if (process.argv.includes("--nats") || process.env.HUBVISOR_TRANSPORT === "nats") {
  await import("./demo-nats.js");
  process.exit(0);
}
// `npm start -- --threads` (or HUBVISOR_TRANSPORT=threads): a node per worker thread of this process.
if (process.argv.includes("--threads") || process.env.HUBVISOR_TRANSPORT === "threads") {
  await import("./demo-threads.js");
  process.exit(0);
}

const CHILDREN = Number(process.env.DEMO_CHILDREN ?? 5000);

/** A stateful process: a counter that remembers its visits. */
const counter = defineServer<{ calls: { visit(): number } }>()({
  name: "counter",
  init: (start: number | null) => ok(start ?? 0),
  handleCall: { visit: (_a, n) => reply(n + 1, n + 1) },
  handleInfo: (_m, n) => noreply(n),
});

const network = new MemoryNetwork();
const hubs = new Map<string, ProcessHub>();

async function startNode(name: string): Promise<ProcessHub> {
  const node = new Node({ name, logger: silentLogger });
  const cluster = await Cluster.join({
    node,
    cluster: "demo",
    transport: network.transport(),
    logger: silentLogger,
  });
  const hub = ProcessHub.start({
    hubId: "rooms",
    cluster,
    behaviours: { counter },
    clusterEventDebounceMs: 10,
    logger: silentLogger,
  });
  hubs.set(name, hub);
  await startObserverAgent({ node, cluster });
  if (observer === undefined) observer = await serveObserver(cluster);
  return hub;
}

let observer: Observer | undefined;
const EXIT_AT_END = process.argv.includes("--exit") || process.env.DEMO_EXIT === "1";
const STEP = process.argv.includes("--step");

async function serveObserver(cluster: Cluster): Promise<Observer> {
  const port = Number(process.env.OBSERVER_PORT ?? 4100);
  const o = await observe({ cluster, port }).catch(() => observe({ cluster, port: 0 }));
  console.log(`Observer: ${o.url}\n`);
  return o;
}

/** With `--step`, waits for a line on stdin before the next act. */
async function step(what: string): Promise<void> {
  if (!STEP) return;
  console.log(`press Enter to ${what}`);
  await new Promise<void>((resolve) => process.stdin.once("data", () => resolve()));
}

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 2));
}

function placement(hub: ProcessHub): Map<string, string> {
  return new Map(hub.processList("global").map((e) => [e.id, e.nodes.map((n) => n.node).join(",")]));
}

function spread(hub: ProcessHub): string {
  const counts = new Map<string, number>();
  for (const node of placement(hub).values()) counts.set(node, (counts.get(node) ?? 0) + 1);
  return [...counts]
    .sort()
    .map(([n, c]) => `${n}=${c}`)
    .join(" ");
}

function converged(ids: string[]): boolean {
  const all = [...hubs.values()];
  const digest = all[0]!.registryDigest();
  if (!all.every((h) => h.registryDigest() === digest)) return false;
  const running = all.reduce((n, h) => n + h.localChildren().size, 0);
  return (
    running === ids.length &&
    ids.every((id) => all[0]!.childLookup(id)?.nodes[0]?.node === all[0]!.ownerOf(id))
  );
}

const ms = (t0: number) => `${(performance.now() - t0).toFixed(0)} ms`;

console.log(
  `hubvisor demo: a ProcessHub over 3 in-memory nodes, ${CHILDREN.toLocaleString("en-US")} stateful counters\n`,
);
for (const n of ["node-a", "node-b", "node-c"]) await startNode(n);
await until(() => [...hubs.values()].every((h) => h.nodes().length === 2));
const a = hubs.get("node-a")!;

const ids = Array.from({ length: CHILDREN }, (_, i) => `room-${i}`);
let t0 = performance.now();
const started = await a
  .startChildren(
    ids.map((id) => ({ id, behaviour: "counter", metadata: { tag: "room" } })),
    { awaitable: true },
  )
  .await(30_000);
console.log(`started ${started.started.length} children in one awaited call: ${ms(t0)}  [${spread(a)}]`);

// Give counters some state, through location-transparent calls from node-a.
const visited = ids.slice(0, 1000);
t0 = performance.now();
await Promise.all(visited.map((id) => GenServer.callOn(a.node, a.getPid(id)!, "visit", undefined)));
console.log(`${visited.length} calls to counters anywhere in the cluster, from node-a: ${ms(t0)}`);

const before = placement(a);
await step("kill node-c");
t0 = performance.now();
network.kill("node-c");
hubs.delete("node-c");
await until(() => converged(ids));
const afterKill = placement(a);
const restarted = [...before].filter(([id, n]) => n === "node-c" && afterKill.get(id) !== n).length;
const untouched = [...before].filter(([id, n]) => n !== "node-c" && afterKill.get(id) === n).length;
console.log(
  `killed node-c: ${restarted} children restarted on their new owners, ${untouched} untouched: ${ms(t0)}  [${spread(a)}]`,
);

await step("add node-d");
t0 = performance.now();
await startNode("node-d");
await until(() => [...hubs.values()].every((h) => h.nodes().length === 2) && converged(ids));
const afterJoin = placement(a);
const moved = [...afterKill].filter(([id, n]) => afterJoin.get(id) !== n);
const toD = moved.filter(([id]) => afterJoin.get(id) === "node-d").length;
console.log(
  `added node-d: ${moved.length} children moved (${((moved.length / ids.length) * 100).toFixed(1)} %, ideal ${(100 / 3).toFixed(1)} %), ${toD} of them to node-d: ${ms(t0)}  [${spread(a)}]`,
);

// What the moves did to the counters' state: a counter visited once answers 2 if it kept it.
const d = hubs.get("node-d")!;
const again = await Promise.all(
  visited.map((id) => GenServer.callOn(d.node, d.getPid(id)!, "visit", undefined)),
);
const kept = again.filter((n) => n === 2).length;
console.log(
  `of the ${visited.length} counters visited before, ${kept} kept their count and ${visited.length - kept} start again from 0:`,
);
console.log(
  "  a killed node hands nothing over, and this hub moves children by cold swap (the default: restarted from their args);",
);
console.log(
  '  with migration: { type: "hotSwap" } and withHandover a moved child keeps its state (docs/guides/hub-node.md)',
);

const tagged = d.tagQuery("room").length;
console.log(`every registry identical; node-d sees ${tagged} children tagged "room" without a network call`);
if (!EXIT_AT_END && observer !== undefined) {
  console.log(`\nthe Observer stays up at ${observer.url} (Ctrl-C to quit; --exit to end here)`);
  process.stdin.pause();
  await new Promise(() => {});
}
for (const h of hubs.values()) await h.stop();
await observer?.close();
process.exit(0);
