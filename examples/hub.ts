/**
 * A ProcessHub over three in-memory nodes: start children cluster-wide (awaited), look them up
 * on any node without a network call, watch hooks, then stop a node and see its children move
 * to the survivors. Run it with `npx tsx examples/hub.ts`.
 */
import {
  Cluster,
  defineServer,
  GenServer,
  MemoryNetwork,
  Node,
  ok,
  ProcessHub,
  reply,
  silentLogger,
} from "hubvisor";

interface RoomProtocol {
  calls: { hello(): string };
}
// A hub behaviour is an ordinary GenServer behaviour; `args` of the child spec go to init.
const Room = defineServer<RoomProtocol>()({
  name: "Room",
  init: (topic: string) => ok(topic),
  handleCall: { hello: (_a, topic, ctx) => reply(`${topic} on ${ctx.node.name}`, topic) },
});

const network = new MemoryNetwork();
async function startHub(name: string): Promise<ProcessHub> {
  const node = new Node({ name, logger: silentLogger });
  const cluster = await Cluster.join({
    node,
    cluster: "example",
    transport: network.transport(),
    logger: silentLogger,
  });
  // Every node runs the hub with the same id and registers the same behaviour names.
  return ProcessHub.start({
    hubId: "rooms",
    node,
    cluster,
    behaviours: { room: Room },
    logger: silentLogger,
  });
}
const hubs = await Promise.all(["a", "b", "c"].map(startHub));
const [a, b, c] = hubs as [ProcessHub, ProcessHub, ProcessHub];
const until = async (cond: () => boolean) => {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
};
await until(() => hubs.every((h) => h.nodes().length === 2));
console.log(`hub nodes seen from a: ${a.nodes({ includeLocal: true }).join(", ")}`);

b.registerHook("postNodeLeave", ({ node }) => console.log(`  hook on b: postNodeLeave ${node}`));

// An awaited start resolves once every owner node has answered, with per-child errors if any.
const ids = Array.from({ length: 9 }, (_, i) => `room-${i}`);
const result = await a
  .startChildren(
    ids.map((id) => ({ id, behaviour: "room", args: `topic ${id}`, metadata: { tag: "room" } })),
    { awaitable: true, timeoutMs: 5000 },
  )
  .await(10_000);
console.log(`started: ${result.status}, ${result.started.length} children`);
// Starting an id again is refused (checkExisting) instead of running it twice.
const again = await a
  .startChild({ id: "room-0", behaviour: "room", args: "x" }, { awaitable: true })
  .await(5000);
console.log(`start room-0 again: ${again.status} (${again.errors[0]?.reason})`);

// Every node holds the whole registry: lookups are local reads.
await until(() =>
  hubs.every((h) => h.registryDigest() === a.registryDigest() && h.processList("global").length === 9),
);
const where = (h: ProcessHub) => ids.map((id) => `${id}@${h.childLookup(id)?.nodes[0]?.node}`).join(" ");
console.log(`placement (from c): ${where(c)}`);
console.log(`children tagged "room" (from b): ${b.tagQuery("room").length}`);
const pid = c.getPid("room-4")!;
console.log(`call room-4 from c: ${await GenServer.callOn(c.node, pid, "hello", undefined)}`);

// Node c leaves for good: its hub stops gracefully (peers adopt its children), then the node
// drops off the network. The survivors restart each child once, on its new ring owner.
const onC = ids.filter((id) => a.childLookup(id)?.nodes[0]?.node === "c");
console.log(`\n>>> node c stops gracefully; it ran ${onC.join(", ") || "nothing"}`);
await c.stop();
network.kill("c");
await until(
  () =>
    a.nodes().length === 1 &&
    ids.every((id) => {
      const n = a.childLookup(id)?.nodes[0]?.node;
      return n !== undefined && n !== "c" && b.childLookup(id)?.nodes[0]?.node === n;
    }),
);
console.log(`placement now (from a): ${where(a)}`);
const moved = onC[0];
if (moved !== undefined) {
  console.log(
    `call ${moved} after the move: ${await GenServer.callOn(a.node, a.getPid(moved)!, "hello", undefined)}`,
  );
}

// Stopping by id works from any node, wherever the child runs.
const stopped = await b.stopChild("room-1", { awaitable: true }).await(5000);
await until(() => a.getPid("room-1") === undefined);
console.log(`stop room-1 from b: ${stopped.status}; a no longer finds it`);

for (const h of [a, b]) await h.stop();
console.log("hub example: done");
