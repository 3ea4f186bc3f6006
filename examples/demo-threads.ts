/**
 * `npm start -- --threads` (or `HUBVISOR_TRANSPORT=threads`): the demo of `demo.ts` with a node
 * per worker thread of this one process (`startNodeThreads`), so the hub uses every core. Three
 * node threads run thousands of counters; this thread joins as a client-only hub node (it places
 * nothing, it reaches every counter by id); node-2's thread is terminated as a crash would end it;
 * node-d joins in this thread. It prints what moved and how long each step took.
 */
import { Node, type ProcessHub, silentLogger, startNodeThreads } from "hubvisor";
import { counter, startHub } from "./demo-threads-node.js";

const CHILDREN = Number(process.env.DEMO_CHILDREN ?? 5000);
const ms = (t0: number) => `${(performance.now() - t0).toFixed(0)} ms`;

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

/** As far as this node can tell: settled, and every id registered once, on its owner. */
async function converged(hub: ProcessHub, ids: string[], members: number): Promise<void> {
  for (;;) {
    await hub.awaitSettled({ timeoutMs: 30_000 });
    const where = placement(hub);
    if (hub.nodes().length === members && ids.every((id) => where.get(id) === hub.ownerOf(id, "counter")))
      return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

const names = ["node-0", "node-1", "node-2"];
console.log(
  `hubvisor demo: a ProcessHub over ${names.length} node threads of one process, ${CHILDREN.toLocaleString("en-US")} stateful counters\n`,
);
let t0 = performance.now();
const threads = await startNodeThreads({
  module: new URL("./demo-threads-node.ts", import.meta.url),
  names,
  cluster: "demo-threads",
  quiet: true,
});
const main = startHub(
  await threads.join(new Node({ name: "main", logger: silentLogger }), { logger: silentLogger }),
  {},
);
while (main.nodes().length < names.length) await new Promise((r) => setTimeout(r, 10));
console.log(`${names.length} node threads up and joined, this thread a client-only member: ${ms(t0)}`);

const ids = Array.from({ length: CHILDREN }, (_, i) => `room-${i}`);
t0 = performance.now();
const started = await main
  .startChildren(
    ids.map((id) => ({ id, behaviour: "counter" })),
    { awaitable: true },
  )
  .await(60_000);
console.log(
  `started ${started.started.length} children on the threads in one awaited call from this thread: ${ms(t0)}  [${spread(main)}]`,
);

// Give counters some state, by id, from a node that runs none of them.
const visited = ids.slice(0, 1000);
t0 = performance.now();
await Promise.all(visited.map((id) => main.ref<typeof counter>(id).call("visit", undefined)));
console.log(`${visited.length} calls by id to counters on the threads, from this thread: ${ms(t0)}`);

const before = placement(main);
t0 = performance.now();
threads.kill("node-2");
await converged(main, ids, names.length - 1);
const afterKill = placement(main);
const restarted = [...before].filter(([id, n]) => n === "node-2" && afterKill.get(id) !== n).length;
console.log(
  `terminated node-2's thread: ${restarted} children restarted on their new owners: ${ms(t0)}  [${spread(main)}]`,
);

t0 = performance.now();
const d = startHub(
  await threads.join(new Node({ name: "node-d", logger: silentLogger }), { logger: silentLogger }),
  {
    counter,
  },
);
await converged(main, ids, names.length);
const afterJoin = placement(main);
const toD = [...afterJoin.values()].filter((n) => n === "node-d").length;
console.log(`node-d joined in this thread: ${toD} children moved to it: ${ms(t0)}  [${spread(main)}]`);

const again = await Promise.all(visited.map((id) => d.ref<typeof counter>(id).call("visit", undefined)));
console.log(
  `of the ${visited.length} counters visited before, ${again.filter((n) => n === 2).length} kept their count (cold swap restarts moved ones from their args)`,
);
await d.stop();
await main.stop();
await threads.stop();
console.log("demo-threads: done");
process.exit(0);
