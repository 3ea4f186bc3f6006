/**
 * The event stream as a subscriber sees it: each layer's events arrive on
 * `node:diagnostics_channel` with their documented payloads, filtered by node when asked, and
 * nothing arrives once unsubscribed.
 */
import { subscribe as dcSubscribe, unsubscribe as dcUnsubscribe } from "node:diagnostics_channel";
import { afterEach, describe, expect, it } from "vitest";
import {
  defineServer,
  GenServer,
  InvalidOptionError,
  Node,
  ok,
  type Pid,
  ProcessHub,
  reply,
  setDefaultNode,
  silentLogger,
  Supervisor,
} from "../../src/index.js";
import {
  EVENT_CHANNELS,
  type HubvisorEvent,
  sampleCalls,
  subscribe,
  watchMailboxes,
} from "../../src/observe.js";
import { startMemoryCluster } from "../../src/testing.js";

const Echo = defineServer<{ calls: { echo(x: number): number }; casts: { crash(r: string): void } }>()({
  name: "Echo",
  init: () => ok(null),
  handleCall: { echo: (x, s) => reply(x, s) },
  handleCast: { crash: (r, s) => ({ stop: r, state: s }) },
});

let serial = 0;
const fresh = () => new Node({ name: `ev-${++serial}`, logger: silentLogger });

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

let stops: Array<() => void> = [];
function record(node?: string): HubvisorEvent[] {
  const seen: HubvisorEvent[] = [];
  stops.push(subscribe((e) => seen.push(e), node === undefined ? {} : { node }));
  return seen;
}
afterEach(() => {
  for (const s of stops) s();
  stops = [];
  sampleCalls(0);
  watchMailboxes(1000);
});

describe("subscribe", () => {
  it("process:spawn and process:exit carry the pid, parent, name, behaviour and reason", async () => {
    const node = fresh();
    const seen = record(node.name);
    const parent = node.spawn(async (ctx) => {
      await ctx.receive(() => true);
    });
    const child = node.spawn(
      async (ctx) => {
        await ctx.receive(() => true);
      },
      { link: parent, name: "kid", behaviour: "Kid" },
    );
    node.exit(child, "boom");
    expect(seen.filter((e) => e.type === "process:spawn" && e.pid.equals(child))).toEqual([
      { type: "process:spawn", node: node.name, pid: child, parent, name: "kid", behaviour: "Kid" },
    ]);
    const exits = seen.filter((e) => e.type === "process:exit");
    expect(exits.find((e) => e.pid.equals(child))).toEqual({
      type: "process:exit",
      node: node.name,
      pid: child,
      reason: "boom",
      name: "kid",
      behaviour: "Kid",
    });
    // The linked parent died of the same reason.
    expect(exits.find((e) => e.pid.equals(parent))?.reason).toBe("boom");
  });

  it("filters by node, and hears nothing once unsubscribed", () => {
    const a = fresh();
    const b = fresh();
    const seen: HubvisorEvent[] = [];
    const stop = subscribe((e) => seen.push(e), { node: a.name });
    a.spawn(() => {});
    b.spawn(() => {});
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((e) => e.node === a.name)).toBe(true);
    stop();
    const n = seen.length;
    a.spawn(() => {});
    expect(seen.length).toBe(n);
  });

  it("supervisor reports: a crash, its restart, then too many restarts", async () => {
    const node = fresh();
    setDefaultNode(node);
    const seen = record(node.name);
    const sup = await Supervisor.start([{ id: "echo", start: () => GenServer.startLink(Echo, null) }], {
      strategy: "one_for_one",
      maxRestarts: 1,
      maxSeconds: 60,
    });
    if (!sup.ok) throw new Error("supervisor did not start");
    const first = (await Supervisor.whichChildren(sup.pid))[0]!.pid as Pid;
    GenServer.castOn(node, first, "crash", "bad");
    await until(() => seen.some((e) => e.type === "supervisor:restarted"), "a restart");
    const terminated = seen.find((e) => e.type === "supervisor:child_terminated");
    expect(terminated).toMatchObject({
      node: node.name,
      supervisor: sup.pid,
      id: "echo",
      child: first,
      reason: "bad",
    });
    const restarted = seen.find((e) => e.type === "supervisor:restarted");
    expect(restarted).toMatchObject({ supervisor: sup.pid, id: "echo" });
    const second = (await Supervisor.whichChildren(sup.pid))[0]!.pid as Pid;
    GenServer.castOn(node, second, "crash", "bad again");
    await until(() => seen.some((e) => e.type === "supervisor:max_intensity"), "the escalation");
    expect(seen.find((e) => e.type === "supervisor:max_intensity")).toMatchObject({
      supervisor: sup.pid,
      reason: "bad again",
    });
  });

  it("process:mailbox fires once when a mailbox reaches the threshold", () => {
    const node = fresh();
    const seen = record(node.name);
    watchMailboxes(5);
    const pid = node.spawn(async (ctx) => {
      await ctx.receive((m) => m === "never");
    });
    for (let i = 0; i < 20; i++) node.send(pid, i);
    const crossings = seen.filter((e) => e.type === "process:mailbox");
    expect(crossings).toEqual([
      { type: "process:mailbox", node: node.name, pid, length: 5, behaviour: undefined },
    ]);
  });

  it("server:call times one call in `every` and only while sampling is on", async () => {
    const node = fresh();
    const seen = record(node.name);
    setDefaultNode(node);
    const started = await GenServer.start(Echo, null);
    if (!started.ok) throw new Error("no server");
    const pid = started.pid;
    for (let i = 0; i < 4; i++) await GenServer.callOn(node, pid, "echo", i);
    expect(seen.filter((e) => e.type === "server:call")).toEqual([]);
    sampleCalls(2);
    for (let i = 0; i < 4; i++) await GenServer.callOn(node, pid, "echo", i);
    await until(() => seen.filter((e) => e.type === "server:call").length === 2, "two samples");
    const call = seen.find((e) => e.type === "server:call");
    expect(call).toMatchObject({ node: node.name, target: pid, name: "echo", ok: true });
    expect(call?.type === "server:call" && call.durationMs >= 0).toBe(true);
  });

  it("cluster and hub events: nodeup, nodedown, hub hooks with their data", async () => {
    const seen = record();
    const { network, clusters } = await startMemoryCluster(["oa", "ob"]);
    expect(
      seen
        .filter((e) => e.type === "cluster:nodeup" && e.node === "oa")
        .map((e) => e.type === "cluster:nodeup" && e.peer),
    ).toEqual(["ob"]);
    const hubs = clusters.map((cluster) =>
      ProcessHub.start({
        hubId: "ev",
        cluster,
        behaviours: { Echo },
        logger: silentLogger,
        clusterEventDebounceMs: 5,
      }),
    );
    await until(() => hubs.every((h) => h.nodes().length === 1), "hub membership");
    await hubs[0]!.startChildren([{ id: "x", behaviour: "Echo" }], { awaitable: true }).await(5000);
    await until(
      () => seen.some((e) => e.type === "hub:hook" && e.hook === "childRegistered" && e.data.id === "x"),
      "childRegistered",
    );
    const reg = seen.find((e) => e.type === "hub:hook" && e.hook === "childRegistered");
    expect(reg).toMatchObject({ hub: "ev", hook: "childRegistered", data: { id: "x" } });
    network.kill("ob");
    await until(() => seen.some((e) => e.type === "cluster:nodedown" && e.node === "oa"), "nodedown");
    expect(seen.find((e) => e.type === "cluster:nodedown" && e.node === "oa")).toMatchObject({ peer: "ob" });
    await hubs[0]!.stop();
  });

  it("every channel is a hubvisor:<layer>:<event> name a plain diagnostics_channel subscriber can use", () => {
    expect(EVENT_CHANNELS.every((n) => /^hubvisor:[a-z]+:[a-z_]+$/.test(n))).toBe(true);
    const node = fresh();
    const raw: unknown[] = [];
    const fn = (m: unknown) => raw.push(m);
    dcSubscribe("hubvisor:process:spawn", fn);
    node.spawn(() => {});
    dcUnsubscribe("hubvisor:process:spawn", fn);
    expect(raw).toHaveLength(1);
  });

  it("rejects a bad threshold or sampling rate with InvalidOptionError", () => {
    expect(() => watchMailboxes(1)).toThrow(InvalidOptionError);
    expect(() => sampleCalls(-1)).toThrow(InvalidOptionError);
  });
});
