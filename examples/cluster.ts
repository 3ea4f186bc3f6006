/**
 * Two nodes in one program over the memory transport: remote spawn, a remote call, a named send,
 * a link and a monitor across nodes, and what happens when a node dies (`noconnection`).
 * Run it with `npx tsx examples/cluster.ts`.
 */
import {
  CallExitError,
  Cluster,
  defineServer,
  GenServer,
  isDownMessage,
  isExitMessage,
  MemoryNetwork,
  Node,
  ok,
  type Pid,
  reply,
  silentLogger,
  UnserialisableError,
} from "hubvisor";

interface CounterProtocol {
  calls: { add(n: number): number; hang(): never };
}
const Counter = defineServer<CounterProtocol>()({
  name: "Counter",
  init: (n: number) => ok(n),
  handleCall: {
    add: (k, n) => reply(n + k, n + k),
    // Never answers: shows a pending call failing when the node goes away.
    hang: (_a, n) => ({ noreply: true, state: n }),
  },
});

// Each node has its own name and runtime; the network stands in for the real wire.
const network = new MemoryNetwork();
const join = (name: string) =>
  Cluster.join({
    node: new Node({ name, logger: silentLogger }),
    cluster: "example",
    transport: network.transport(),
    logger: silentLogger,
  });
const a = await join("a");
const b = await join("b");
while (!a.isMember("b") || !b.isMember("a")) await new Promise((r) => setTimeout(r, 2));
console.log(`a sees ${a.nodes()}, b sees ${b.nodes()}`);
a.on("nodedown", (e) => console.log(`a: nodedown ${e.node} (${e.reason})`));

// Remote spawn runs a named start function on the target node: functions never cross the wire.
b.registerBehaviour("counter", async ([start]) => {
  const r = await GenServer.start(Counter, start as number, { node: b.node, name: "counter" });
  if (!r.ok) throw new Error("counter did not start");
  return r.pid;
});
const pid: Pid = await a.spawnOn("b", "counter", [100]);
console.log(`spawned ${pid} on node ${pid.node}`);

// Pids are location-transparent: the same call works for a local or a remote server.
console.log(`remote call add(1) -> ${await GenServer.callOn(a.node, pid, "add", 1)}`);
console.log(
  `call by { name, node } -> ${await GenServer.callOn(a.node, { name: "counter", node: "b" }, "add", 1)}`,
);

// Values that cannot be encoded are refused at the sender, not lost on the way.
try {
  a.node.send(pid, { fn: () => 1 });
} catch (e) {
  if (e instanceof UnserialisableError) console.log(`send a function -> ${e.code}`);
}

// A partition: each side sees the other down (timeout) then, once healed, up again. A process
// can watch membership as messages, like net_kernel:monitor_nodes.
const watcher = a.node.spawn(async (ctx) => {
  for (;;) {
    const m = (await ctx.receive()) as { type: string; node: string; reason?: string };
    console.log(`  watcher on a: ${m.type} ${m.node}${m.reason ? ` (${m.reason})` : ""}`);
  }
});
a.monitorNodes(watcher);
network.partition(["a"], ["b"]);
while (a.isMember("b")) await new Promise((r) => setTimeout(r, 5));
network.heal();
while (!a.isMember("b")) await new Promise((r) => setTimeout(r, 5));
a.demonitorNodes(watcher);
console.log(
  `healed: a sees ${a.nodes()}; the counter survived: ${await GenServer.callOn(a.node, pid, "add", 0)}`,
);

// A process on a links to the remote server (trapping exits) and another monitors it.
const seen: string[] = [];
a.node.spawn(async (ctx) => {
  ctx.trapExit(true);
  ctx.link(pid);
  const m = await ctx.receive(isExitMessage);
  if (isExitMessage(m)) seen.push(`linked process got EXIT ${String(m.reason)}`);
});
a.node.spawn(async (ctx) => {
  ctx.monitor(pid);
  const m = await ctx.receive(isDownMessage);
  if (isDownMessage(m)) seen.push(`monitoring process got DOWN ${String(m.reason)}`);
});
const pending = GenServer.callOn(a.node, pid, "hang", undefined, 10_000).catch((e: unknown) => e);
// Let the link and monitor frames reach b before it dies.
await GenServer.callOn(a.node, pid, "add", 0);

console.log("\n>>> killing node b");
network.kill("b");
const failed = await pending;
if (failed instanceof CallExitError)
  console.log(`pending call failed: ${failed.code} (${String(failed.reason)})`);
while (seen.length < 2) await new Promise((r) => setTimeout(r, 2));
for (const line of seen.sort()) console.log(line);
console.log(`a sees ${JSON.stringify(a.nodes())}`);

await a.leave();
console.log("cluster example: done");
