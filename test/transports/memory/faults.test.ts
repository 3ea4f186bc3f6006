/**
 * The memory network's `kill` (SIGKILL) and `pause` / `resume` (SIGSTOP / SIGCONT) reaching the
 * nodes themselves, over the real cluster layer (`startMemoryCluster`, transports made for their
 * nodes). Proving that a dead or frozen node did nothing waits for an event that comes after it
 * would have acted (a peer's failure detector firing, a later timer).
 */
import { afterEach, describe, expect, it } from "vitest";
import { Cluster } from "../../../src/cluster/index.js";
import {
  CallExitError,
  CallTimeoutError,
  DownMessage,
  ExitMessage,
  type Node,
  type Pid,
} from "../../../src/process/index.js";
import { defineServer, GenServer, noreply, ok, reply } from "../../../src/server/index.js";
import { startMemoryCluster } from "../../../src/testing.js";
import { MemoryNetwork, TransportStateError } from "../../../src/transports/memory/index.js";
import { Node as RuntimeNode } from "../../../src/process/node.js";

let open: Cluster[] = [];
afterEach(async () => {
  for (const c of open) await c.leave().catch(() => {});
  open = [];
});

async function cluster(names: string[], timeoutMs: number) {
  const r = await startMemoryCluster(names, { network: { timeoutMs } });
  open = r.clusters;
  await expect.poll(() => r.clusters.every((c) => c.nodes().length === names.length - 1)).toBe(true);
  const node = (n: string) => r.nodes[names.indexOf(n)]!;
  const of = (n: string) => r.clusters[names.indexOf(n)]!;
  return { ...r, node, of };
}

/** A process recording every message it gets. */
function recorder(node: Node, got: unknown[], options: { trapExit?: boolean } = {}): Pid {
  return node.spawn(
    async (ctx) => {
      for (;;) got.push(await ctx.receive());
    },
    { trapExit: options.trapExit },
  );
}

const Counter = defineServer<{ calls: { count(): number }; casts: { add(n: number): void } }>()({
  name: "fault-counter",
  init: (log: string[]) => ok({ log, n: 0 }),
  handleCall: { count: (_a, s) => reply(s.n, s) },
  handleCast: { add: (k, s) => noreply({ ...s, n: s.n + k }) },
  handleInfo: (_m, s) => noreply({ ...s, n: s.n + 1 }),
  terminate: (_reason, s) => void s.log.push("terminate"),
});

async function counter(node: Node, log: string[]): Promise<Pid> {
  const r = await GenServer.start(Counter, log, { node, trapExit: true, name: "counter" });
  if (!r.ok) throw new Error("counter did not start");
  return r.pid;
}

describe("MemoryNetwork.kill reaches the node", () => {
  it("the node's processes die unrun; peers see it down and their links and monitors fire noconnection", async () => {
    const c = await cluster(["a", "b"], 50);
    const a = c.node("a");
    const b = c.node("b");
    const log: string[] = [];
    const server = await counter(b, log);
    b.onExit(server, () => log.push("exit hook"));
    const got: unknown[] = [];
    const watcher = recorder(a, got, { trapExit: true });
    a.runAs(watcher, () => {
      a.monitor(server);
      a.link(server);
    });
    // A process of b that keeps talking to a on a timer.
    const ticks: unknown[] = [];
    const sink = recorder(a, ticks);
    b.spawn(async (ctx) => {
      for (;;) {
        await ctx.receive(() => false, 2);
        ctx.send(sink, "tick");
      }
    });
    await expect.poll(() => ticks.length).toBeGreaterThan(2);
    const downs: string[] = [];
    c.of("a").on("nodedown", (e) => downs.push(`${e.node} ${e.reason}`));

    c.network.kill("b");

    expect(b.state).toBe("killed");
    expect(b.processCount).toBe(0);
    expect(b.isAlive(server)).toBe(false);
    await expect.poll(() => downs).toEqual(["b connection_lost"]);
    await expect.poll(() => got.length).toBe(2);
    expect(got.find((m) => m instanceof DownMessage)).toMatchObject({ reason: "noconnection" });
    expect(got.find((m) => m instanceof ExitMessage)).toMatchObject({ reason: "noconnection" });
    const ticksAtDown = ticks.length;
    // Past several of b's tick periods and its peer's detection: b neither ran nor sent.
    await new Promise((r) => setTimeout(r, 30));
    expect(ticks.length).toBe(ticksAtDown);
    expect(log).toEqual([]);
    expect(b.pendingCalls).toBe(0);
  });

  it("with detectedBy timeout, peers see it go after timeoutMs; it is dead from the start", async () => {
    const c = await cluster(["a", "b", "c"], 40);
    const b = c.node("b");
    const pid = await counter(b, []);
    const downs: string[] = [];
    c.of("a").on("nodedown", (e) => downs.push(`${e.node} ${e.reason}`));
    const call = GenServer.callOn(c.node("a"), pid, "count", undefined, 5000).catch((e: unknown) => e);
    c.network.kill("b", { detectedBy: "timeout" });
    expect(b.isAlive(pid)).toBe(false);
    await expect.poll(() => downs).toEqual(["b timeout"]);
    const err = await call;
    expect(err).toBeInstanceOf(CallExitError);
    expect((err as CallExitError).reason).toBe("noconnection");
  });

  it("a new connection under the same name replaces the old one without killing its node", async () => {
    const network = new MemoryNetwork();
    const old = new RuntimeNode({ name: "x" });
    await network.transport(old).connect({ cluster: "k", node: "x", incarnation: 1 }, handlers());
    await network.transport().connect({ cluster: "k", node: "x", incarnation: 2 }, handlers());
    expect(old.state).toBe("running");
  });

  it("refuses to connect a transport made for another node", async () => {
    const network = new MemoryNetwork();
    const t = network.transport(new RuntimeNode({ name: "x" }));
    await expect(t.connect({ cluster: "k", node: "y", incarnation: 1 }, handlers())).rejects.toBeInstanceOf(
      TransportStateError,
    );
  });
});

describe("MemoryNetwork.pause reaches the node", () => {
  it("a paused node runs no process; its held mail is handled after resume", async () => {
    const c = await cluster(["a", "b"], 1000);
    const b = c.node("b");
    const server = await counter(b, []);
    c.network.pause("b");
    expect(b.state).toBe("paused");
    // Mail from a peer waits in the network; mail from b's own program timers in its mailbox.
    for (let i = 0; i < 3; i++) GenServer.castOn(c.node("a"), server, "add", 10);
    b.send(server, "tick");
    await new Promise((r) => setTimeout(r, 40));
    expect(b.processInfo(server)?.mailboxLength).toBe(1);
    c.network.resume("b");
    await expect.poll(() => GenServer.callOn(b, server, "count", undefined)).toBe(31);
  });

  it("a call timeout of the paused node fires at resume, before it hears its peers dropped it, and before their frames", async () => {
    const c = await cluster(["a", "b"], 250);
    const a = c.node("a");
    const b = c.node("b");
    const silent = a.spawn(async (ctx) => {
      await ctx.receive(() => false);
    });
    const events: string[] = [];
    c.of("b").on("nodedown", (e) => events.push(`nodedown ${e.node} ${e.reason}`));
    c.of("b").on("nodeup", (e) => events.push(`nodeup ${e.node}`));
    const inbox = b.spawn(async (ctx) => {
      for (;;) events.push(`got ${String(await ctx.receive())}`);
    });
    let settled = false;
    b.spawn(async (ctx) => {
      try {
        await ctx.call(silent, () => "never answered", 100);
        events.push("answered");
      } catch (e) {
        events.push(e instanceof CallTimeoutError ? "call timed out" : `call failed ${String(e)}`);
      }
      settled = true;
    });
    await expect.poll(() => a.processInfo(silent)?.mailboxLength, { interval: 1 }).toBe(1);
    c.network.pause("b");
    const aSees: string[] = [];
    c.of("a").on("nodedown", (e) => aSees.push(`${e.node} ${e.reason}`));
    c.of("a").on("nodeup", () => a.send(inbox, "hello from a"));
    // a's detector gives up on b after 250 ms, well past b's 100 ms call timeout.
    await expect.poll(() => aSees).toEqual(["b timeout"]);
    expect(settled).toBe(false);
    expect(events).toEqual([]);
    c.network.resume("b");
    await expect
      .poll(() => events)
      .toEqual(["call timed out", "nodedown a timeout", "nodeup a", "got hello from a"]);
  });
});

function handlers() {
  return { frame: () => {}, peerUp: () => {}, peerDown: () => {} };
}

describe("a node joined with a transport made without it", () => {
  it("is still killed for good: Cluster.join hands the node to the transport", async () => {
    const network = new MemoryNetwork({ timeoutMs: 50 });
    const a = new RuntimeNode({ name: "ha" });
    const b = new RuntimeNode({ name: "hb" });
    const ca = await Cluster.join({ node: a, cluster: "hosted", transport: network.transport() });
    const cb = await Cluster.join({ node: b, cluster: "hosted", transport: network.transport() });
    open.push(ca, cb);
    await expect.poll(() => ca.nodes()).toEqual(["hb"]);
    const victim = b.spawn(async (ctx) => {
      await ctx.receive();
    });
    network.kill("hb");
    expect(b.isAlive(victim)).toBe(false);
    expect(b.processCount).toBe(0);
    await expect.poll(() => ca.nodes()).toEqual([]);
  });
});
