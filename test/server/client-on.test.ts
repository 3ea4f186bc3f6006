/**
 * Client functions that act on a pid or a name work from any node without `setDefaultNode`:
 * every GenServer client function has an `…On(node, …)` form (`callOn`, `castOn`, `stopOn`,
 * `whereisOn`), and `isAliveOn(node, pid)` / `node.lookup` answer for a pid of any node, asking
 * that node over the cluster (OTP's `is_process_alive` is local only, as `isAlive` stays).
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  CallExitError,
  CallTimeoutError,
  Cluster,
  defineServer,
  GenServer,
  isAlive,
  isAliveOn,
  MemoryNetwork,
  Node,
  NotDistributedError,
  noreply,
  ok,
  Pid,
  reply,
  silentLogger,
} from "../../src/index.js";

interface Counter {
  calls: { get(): number; add(n: number): number };
  casts: { reset(to: number): void };
}

const CounterServer = defineServer<Counter>()({
  init: (n: number) => ok(n),
  handleCall: { get: (_a, s) => reply(s, s), add: (n, s) => reply(s + n, s + n) },
  handleCast: { reset: (to) => noreply(to) },
  terminate: (reason, _s, ctx) => {
    stops.push(`${ctx.self} ${String(reason)}`);
  },
});
const stops: string[] = [];

let seq = 0;
const newNode = (name = `on${++seq}`) => new Node({ name, logger: silentLogger });

const clusters: Cluster[] = [];
afterEach(async () => {
  for (const c of clusters.splice(0)) await c.leave();
});

/** Two nodes of one memory cluster, each given to its transport (so `pause` reaches it). */
async function twoNodes(): Promise<{ network: MemoryNetwork; a: Node; b: Node }> {
  const network = new MemoryNetwork({ timeoutMs: 200 });
  const cluster = `on-${++seq}`;
  const a = newNode("a");
  const b = newNode("b");
  for (const node of [a, b]) {
    clusters.push(
      await Cluster.join({ node, cluster, transport: network.transport(node), logger: silentLogger }),
    );
  }
  await expect.poll(() => clusters.at(-2)!.nodes()).toEqual(["b"]);
  return { network, a, b };
}

describe("GenServer …On(node, …) forms, with the default node elsewhere", () => {
  it("call, cast, stop and whereis a server of another Node object in this program", async () => {
    const b = newNode();
    const r = await GenServer.start(CounterServer, 1, { node: b, name: "counter" });
    if (!r.ok) throw new Error("did not start");
    // The plain forms go through the current node (here the default one), which knows nothing of b.
    await expect(GenServer.call("counter", "get")).rejects.toBeInstanceOf(CallExitError);
    expect(GenServer.whereis("counter")).toBeUndefined();

    expect(await GenServer.callOn(b, "counter", "add", 2)).toBe(3);
    GenServer.castOn(b, r.pid, "reset", 10);
    expect(await GenServer.callOn(b, r.pid, "get")).toBe(10);
    expect(GenServer.whereisOn(b, "counter")).toEqual(r.pid);
    expect(GenServer.whereisOn(b, { name: "counter", node: b.name })).toEqual(r.pid);
    await GenServer.stopOn(b, "counter", "shutdown");
    expect(stops).toContain(`${r.pid} shutdown`);
    expect(b.isAlive(r.pid)).toBe(false);
    expect(GenServer.whereisOn(b, "counter")).toBeUndefined();
    await expect(GenServer.stopOn(b, r.pid)).rejects.toMatchObject({ reason: "noproc" });
  });

  it("stops a server on another node of the cluster, from outside any process", async () => {
    const { a, b } = await twoNodes();
    const r = await GenServer.start(CounterServer, 5, { node: b });
    if (!r.ok) throw new Error("did not start");
    expect(await GenServer.callOn(a, r.pid, "add", 1)).toBe(6);
    await GenServer.stopOn(a, r.pid, "normal", 5000);
    expect(b.isAlive(r.pid)).toBe(false);
  });
});

describe("isAliveOn / node.lookup", () => {
  it("answers for a pid of the node itself at once, as isAlive does", async () => {
    const node = newNode();
    const pid = node.spawn((ctx) => ctx.receive());
    expect(await isAliveOn(node, pid)).toBe(true);
    node.exit(pid, "kill");
    expect(await isAliveOn(node, pid)).toBe(false);
    // An old incarnation's pid of the same name is not alive.
    expect(await isAliveOn(node, new Pid(node.name, pid.id, node.creation + 1))).toBe(false);
  });

  it("asks the pid's node over the cluster: alive, dead, and names there", async () => {
    const { a, b } = await twoNodes();
    const pid = b.spawn((ctx) => ctx.receive(), { name: "worker" });
    // The local, synchronous form is OTP's: it knows only its own node.
    expect(a.isAlive(pid)).toBe(false);
    expect(isAlive(pid)).toBe(false);
    expect(await isAliveOn(a, pid)).toBe(true);
    expect((await a.lookup({ name: "worker", node: "b" }))?.equals(pid)).toBe(true);
    expect(await a.lookup({ name: "nobody", node: "b" })).toBeUndefined();
    b.exit(pid, "kill");
    expect(await isAliveOn(a, pid)).toBe(false);
    expect(await a.lookup({ name: "worker", node: "b" })).toBeUndefined();
    expect(a.pendingCalls).toBe(0);
  });

  it("is false for a node that is not connected, or that is lost while asked", async () => {
    const { network, a, b } = await twoNodes();
    const pid = b.spawn((ctx) => ctx.receive());
    expect(await isAliveOn(a, new Pid("elsewhere", 1, 1))).toBe(false);
    network.pause("b");
    const asked = isAliveOn(a, pid, 60_000);
    network.kill("b");
    expect(await asked).toBe(false);
  });

  it("rejects CallTimeoutError when the node does not answer in time", async () => {
    const { network, a, b } = await twoNodes();
    const pid = b.spawn((ctx) => ctx.receive());
    network.pause("b");
    await expect(isAliveOn(a, pid, 50)).rejects.toBeInstanceOf(CallTimeoutError);
    network.resume("b");
  });

  it("rejects NotDistributedError for another node's pid when the node is in no cluster", async () => {
    const node = newNode();
    await expect(isAliveOn(node, new Pid("elsewhere", 1, 1))).rejects.toBeInstanceOf(NotDistributedError);
  });
});
