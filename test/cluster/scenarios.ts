/**
 * The cluster scenarios, written once and run over every transport: `clusterScenarios(factory)`
 * registers the describe blocks; `memory.test.ts` runs them over the memory transport and the
 * NATS tests run them over NATS. Scenarios that need fault injection are registered only when the
 * factory declares the feature.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type Cluster,
  NoConnectionError,
  NodeDownMessage,
  NodeUpMessage,
  RemoteError,
  RemoteSpawnError,
  UnknownBehaviourError,
  UnserialisableError,
} from "../../src/cluster/index.js";
import { HubvisorError } from "../../src/errors.js";
import {
  CallExitError,
  CallTimeoutError,
  DownMessage,
  ExitMessage,
  type From,
  isAliveOn,
  NoProcError,
  Pid,
  Ref,
} from "../../src/process/index.js";
import { defineServer, GenServer, ok, reply } from "../../src/server/index.js";
import {
  collector,
  echo,
  echoServer,
  type HarnessFactory,
  meshed,
  TestCluster,
  uniqueClusterName,
} from "./helpers.js";

/** A GenServer for the call scenarios: `double(n)` answers `2n`. */
const Doubler = defineServer<{ calls: { double(n: number): number }; casts: Record<string, never> }>()({
  init: () => ok(0),
  handleCall: { double: (n, s) => reply(2 * n, s) },
});

export function clusterScenarios(factory: HarnessFactory): void {
  const downWithin = factory.downWithinMs ?? 3000;

  describe(`cluster scenarios over ${factory.name}`, () => {
    let t: TestCluster;
    beforeEach(async () => {
      const harness = await factory.create();
      t = new TestCluster(harness, harness.clusterName ?? uniqueClusterName());
    });
    afterEach(async () => {
      await t.stop();
    });

    describe("membership", () => {
      it("shows every node with its incarnation and fires nodeup", async () => {
        const a = await t.start("a");
        const ups: string[] = [];
        a.on("nodeup", (e) => ups.push(e.node));
        const watcher = collector(a.node);
        a.monitorNodes(watcher.pid);
        const b = await t.start("b");
        await meshed([a, b]);
        expect(a.members().map((m) => [m.node, m.incarnation, m.self])).toEqual([
          ["a", a.node.creation, true],
          ["b", b.node.creation, false],
        ]);
        expect(ups).toEqual(["b"]);
        await expect.poll(() => watcher.got).toEqual([new NodeUpMessage("b", b.node.creation)]);
      });

      it("a graceful leave is a nodedown with reason leave on both sides", async () => {
        const [a, b] = await t.startAll("a", "b");
        const downs: string[] = [];
        a!.on("nodedown", (e) => downs.push(`${e.node}:${e.reason}`));
        const watcher = collector(a!.node);
        a!.monitorNodes(watcher.pid);
        const bDowns: string[] = [];
        b!.on("nodedown", (e) => bDowns.push(`${e.node}:${e.reason}`));
        await b!.leave();
        await expect.poll(() => downs).toEqual(["b:leave"]);
        expect(bDowns).toEqual(["a:leave"]);
        expect(a!.nodes()).toEqual([]);
        expect(b!.node.router).toBe(null);
        await expect.poll(() => watcher.got).toEqual([new NodeDownMessage("b", b!.node.creation, "leave")]);
      });
    });

    describe("remote send", () => {
      it("delivers messages to a pid and to a name on another node, with pids, refs and errors intact", async () => {
        const [a, b] = await t.startAll("a", "b");
        const box = collector(b!.node, { name: "box" });
        const ref = a!.node.makeRef();
        const err = new NoProcError("x");
        a!.node.send(box.pid, { pid: box.pid, ref, err, list: [1, "two", null], nested: { deep: true } });
        a!.node.send({ name: "box", node: "b" }, "by name");
        await expect.poll(() => box.got.length).toBe(2);
        const m = box.got[0] as { pid: Pid; ref: Ref; err: NoProcError; list: unknown[]; nested: unknown };
        expect(m.pid).toBeInstanceOf(Pid);
        expect(m.pid.equals(box.pid)).toBe(true);
        expect(m.ref).toBeInstanceOf(Ref);
        expect(m.ref.equals(ref)).toBe(true);
        expect(m.err).toBeInstanceOf(NoProcError);
        expect(m.err.code).toBe("HV_ERR_NOPROC");
        expect(HubvisorError.is(m.err)).toBe(true);
        expect(m.list).toEqual([1, "two", null]);
        expect(m.nested).toEqual({ deep: true });
        expect(box.got[1]).toBe("by name");
      });

      it("refuses a message that cannot travel with UnserialisableError, at the sender", async () => {
        const [a, b] = await t.startAll("a", "b");
        const box = collector(b!.node);
        expect(() => a!.node.send(box.pid, { fn: () => 1 })).toThrow(UnserialisableError);
        a!.node.send(box.pid, "still works");
        await expect.poll(() => box.got).toEqual(["still works"]);
      });

      it("preserves order between two processes, through batching", async () => {
        const [a, b] = await t.startAll("a", "b");
        const box = collector(b!.node);
        const n = 5000;
        const sender = a!.node.spawn(async (ctx) => {
          for (let i = 0; i < n; i++) {
            ctx.send(box.pid, i);
            if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
          }
        });
        expect(sender).toBeInstanceOf(Pid);
        await expect.poll(() => box.got.length, { timeout: 10_000 }).toBe(n);
        expect(box.got).toEqual(Array.from({ length: n }, (_, i) => i));
        expect(a!.stats.messagesOut).toBeLessThan(a!.stats.framesOut);
      });
    });

    describe("remote call", () => {
      it("answers a call by pid and by name, with any serialisable value", async () => {
        const [a, b] = await t.startAll("a", "b");
        const srv = echoServer(b!.node, "echo");
        expect(await echo(a!.node, srv, { n: 42, pid: srv })).toEqual({ n: 42, pid: srv });
        expect(await echo(a!.node, { name: "echo", node: "b" }, "hi")).toBe("hi");
        const callerResult = await new Promise((resolve) => {
          a!.node.spawn(async (ctx) =>
            resolve(await ctx.call(srv, (from) => ({ call: true, from, value: 7 }))),
          );
        });
        expect(callerResult).toBe(7);
      });

      it("settles a local call answered on another node (a From handed over in a message)", async () => {
        const [a, b] = await t.startAll("a", "b");
        const srv = echoServer(b!.node);
        // A local process that hands each caller to the server on b, which replies from there.
        const forwarder = a!.node.spawn(async (ctx) => {
          for (;;) ctx.send(srv, await ctx.receive());
        });
        expect(await echo(a!.node, forwarder, { n: 1 })).toEqual({ n: 1 });
        expect(a!.node.pendingCalls).toBe(0);
      });

      it("sends a call as one frame and its reply as one, which leaves no monitor behind", async () => {
        const [a, b] = await t.startAll("a", "b");
        const srv = echoServer(b!.node);
        const started = await GenServer.start(Doubler, undefined, { node: b!.node });
        if (!started.ok) throw new Error("the GenServer did not start");
        const gen = started.pid;
        // Frames out of `a` for one plain call and one GenServer call, demonitors included (they
        // are queued as the call settles). Before b's `hello` is heard, a call is monitor + send.
        const cost = async (): Promise<number> => {
          const before = a!.stats.framesOut;
          expect(await echo(a!.node, srv, "x")).toBe("x");
          expect(await GenServer.callOn(a!.node, gen, "double", 21)).toBe(42);

          return a!.stats.framesOut - before;
        };
        await expect.poll(cost, { timeout: 10_000 }).toBe(2);
        const answered = b!.stats.framesOut;
        expect(await GenServer.callOn(a!.node, gen, "double", 2)).toBe(4);
        expect(b!.stats.framesOut).toBe(answered + 1);
        expect(b!.node.processInfo(srv)?.monitoredBy).toEqual([]);
        expect(b!.node.processInfo(gen)?.monitoredBy).toEqual([]);
        b!.node.exit(gen, "kill");
        await expect(GenServer.callOn(a!.node, gen, "double", 1)).rejects.toMatchObject({ reason: "noproc" });
      });

      it("drops a call's monitor on the target's node when the call times out or is answered elsewhere", async () => {
        const [a, b, c] = await t.startAll("a", "b", "c");
        const silent = echoServer(b!.node);
        const late = a!.node.call(silent, (from) => ({ call: true, from, value: 1, hold: true }), 50);
        await expect(late).rejects.toBeInstanceOf(CallTimeoutError);
        await expect.poll(() => b!.node.processInfo(silent)?.monitoredBy.length).toBe(0);
        // b hands each caller to a server on c, which answers from there.
        const far = echoServer(c!.node);
        const forwarder = b!.node.spawn(async (ctx) => {
          for (;;) ctx.send(far, await ctx.receive());
        });
        expect(await echo(a!.node, forwarder, "via c")).toBe("via c");
        await expect.poll(() => b!.node.processInfo(forwarder)?.monitoredBy.length).toBe(0);
      });

      it("fails a call to a dead remote pid or a free remote name with noproc", async () => {
        const [a, b] = await t.startAll("a", "b");
        const srv = echoServer(b!.node);
        b!.node.exit(srv, "kill");
        await expect(echo(a!.node, srv, 1)).rejects.toMatchObject({
          code: "HV_ERR_CALL_EXIT",
          reason: "noproc",
        });
        await expect(echo(a!.node, { name: "nobody", node: "b" }, 1)).rejects.toMatchObject({
          reason: "noproc",
        });
      });

      it("fails a call whose target crashes with the crash reason", async () => {
        const [a, b] = await t.startAll("a", "b");
        const srv = echoServer(b!.node);
        const pending = a!.node.call(srv, (from) => ({ call: true, from, value: 1, hold: true }), 5000);
        // over a real network the call takes a while to arrive: crash the target only once it has
        await expect.poll(() => b!.node.processInfo(srv)?.monitoredBy.length).toBe(1);
        b!.node.send(srv, { crash: new TypeError("bad input") });
        const e = (await pending.catch((x: unknown) => x)) as CallExitError;
        expect(e).toBeInstanceOf(CallExitError);
        expect(e.reason).toBeInstanceOf(TypeError);
        expect((e.reason as Error).message).toBe("bad input");
      });

      it("fails the call when the reply cannot travel, instead of timing out", async () => {
        const [a, b] = await t.startAll("a", "b");
        const srv = b!.node.spawn(async (ctx) => {
          const m = (await ctx.receive()) as { from: From };
          b!.node.reply(m.from, { fn: () => 0 });
        });
        const e = (await a!.node
          .call(srv, (from) => ({ from }), 30_000)
          .catch((x: unknown) => x)) as CallExitError;
        expect(e).toBeInstanceOf(CallExitError);
        expect(e.reason).toBeInstanceOf(UnserialisableError);
      });
    });

    describe("links and monitors across nodes", () => {
      it("propagates a remote crash over a link and a monitor", async () => {
        const [a, b] = await t.startAll("a", "b");
        const srv = echoServer(b!.node);
        const watcher = a!.node.spawn(async (ctx) => {
          ctx.trapExit(true);
          ctx.link(srv);
          ctx.monitor(srv);
          ctx.send(srv, { crash: new RangeError("out of range") });
          const got = [await ctx.receive(), await ctx.receive()];
          results.push(...got);
        });
        const results: unknown[] = [];
        expect(watcher).toBeInstanceOf(Pid);
        await expect.poll(() => results.length).toBe(2);
        const exit = results.find((m) => m instanceof ExitMessage) as ExitMessage;
        const down = results.find((m) => m instanceof DownMessage) as DownMessage;
        expect(exit.from.equals(srv)).toBe(true);
        expect(exit.reason).toBeInstanceOf(RangeError);
        expect(down.pid.equals(srv)).toBe(true);
        expect((down.reason as Error).message).toBe("out of range");
      });

      it("kills the remote linked process when the local one dies, and unlink stops it", async () => {
        const [a, b] = await t.startAll("a", "b");
        const victim = echoServer(b!.node);
        const spared = echoServer(b!.node);
        const local = a!.node.spawn(async (ctx) => {
          ctx.link(victim);
          ctx.link(spared);
          ctx.unlink(spared);
          await ctx.receive();
          throw new Error("local crash");
        });
        await expect.poll(() => b!.node.processInfo(victim)?.links.length).toBe(1);
        a!.node.send(local, "go");
        await expect.poll(() => b!.node.isAlive(victim)).toBe(false);
        expect(b!.node.isAlive(spared)).toBe(true);
      });

      it("gives noproc for a link or monitor to a dead remote pid, and demonitor stops DOWN", async () => {
        const [a, b] = await t.startAll("a", "b");
        const dead = echoServer(b!.node);
        b!.node.exit(dead, "kill");
        const alive = echoServer(b!.node);
        const box = collector(a!.node);
        a!.node.link(dead, box.pid);
        a!.node.monitor(dead, box.pid);
        const ref = a!.node.monitor(alive, box.pid);
        a!.node.demonitor(ref, {}, box.pid);
        await expect.poll(() => box.got.length).toBe(2);
        b!.node.exit(alive, "kill");
        const exit = box.got.find((m) => m instanceof ExitMessage) as ExitMessage;
        const down = box.got.find((m) => m instanceof DownMessage) as DownMessage;
        expect(exit.reason).toBe("noproc");
        expect(down.reason).toBe("noproc");
        await expect.poll(() => b!.node.processInfo(alive)).toBe(undefined);
        const probe = collector(b!.node);
        a!.node.send(probe.pid, "flush");
        await expect.poll(() => probe.got).toEqual(["flush"]);
        expect(box.got.length).toBe(2);
      });

      it("monitors a process by name on another node", async () => {
        const [a, b] = await t.startAll("a", "b");
        const srv = echoServer(b!.node, "named");
        const box = collector(a!.node);
        a!.node.monitor({ name: "named", node: "b" }, box.pid);
        a!.node.monitor({ name: "absent", node: "b" }, box.pid);
        await expect.poll(() => box.got.length).toBe(1);
        expect((box.got[0] as DownMessage).reason).toBe("noproc");
        b!.node.exit(srv, "shutdown");
        await expect.poll(() => box.got.length).toBe(2);
        const down = box.got[1] as DownMessage;
        expect(down.reason).toBe("shutdown");
        expect(down.pid.equals(srv)).toBe(true);
      });
    });

    describe("node down", () => {
      const downCases: Array<[string, boolean]> = [["leave", true]];
      if (factory.features.kill) downCases.push(["kill", true]);
      for (const [how] of downCases) {
        it(`fires links and monitors with noconnection and fails pending calls at once (${how})`, async () => {
          const [a, b] = await t.startAll("a", "b");
          const srv = echoServer(b!.node);
          const box = collector(a!.node);
          a!.node.link(srv, box.pid);
          a!.node.monitor(srv, box.pid);
          await expect.poll(() => b!.node.processInfo(srv)?.links.length).toBe(1);
          const pending = a!.node
            .call(srv, (from) => ({ call: true, from, value: 0, hold: true }), 60_000)
            .catch((x: unknown) => x); // handled now: over a real network it may fail during leave()
          if (how === "kill") await t.harness.kill!("b");
          else await b!.leave();
          const e = (await pending) as CallExitError;
          expect(e).toBeInstanceOf(CallExitError);
          expect(e.reason).toBe("noconnection");
          await expect.poll(() => box.got.length, { timeout: downWithin }).toBe(2);
          expect(box.got.map((m) => (m as ExitMessage | DownMessage).reason)).toEqual([
            "noconnection",
            "noconnection",
          ]);
          expect(a!.nodes()).toEqual([]);
          await expect(echo(a!.node, srv, 1)).rejects.toMatchObject({ reason: "noconnection" });
          const late = collector(a!.node);
          a!.node.monitor(srv, late.pid);
          await expect.poll(() => (late.got[0] as DownMessage | undefined)?.reason).toBe("noconnection");
        });
      }

      it("a restarted node is a new incarnation: its old pids are dead", async () => {
        const [a, b] = await t.startAll("a", "b");
        const old = echoServer(b!.node, "svc");
        await b!.leave();
        await expect.poll(() => a!.nodes()).toEqual([]);
        const b2 = await t.start("b", { creation: b!.node.creation + 1 });
        echoServer(b2.node, "svc");
        await meshed([a!, b2]);
        expect(a!.members().find((m) => m.node === "b")?.incarnation).toBe(b2.node.creation);
        await expect(echo(a!.node, old, 1)).rejects.toMatchObject({ reason: "noproc" });
        const box = collector(a!.node);
        a!.node.link(old, box.pid);
        a!.node.monitor(old, box.pid);
        await expect.poll(() => box.got.length).toBe(2);
        expect(box.got.map((m) => (m as ExitMessage | DownMessage).reason).sort()).toEqual([
          "noproc",
          "noproc",
        ]);
        expect(await echo(a!.node, { name: "svc", node: "b" }, "new")).toBe("new");
      });
    });

    if (factory.features.partition) {
      describe("partitions", () => {
        it("separated nodes see each other down (timeout), then up again when healed", async () => {
          const [a, b, c] = await t.startAll("a", "b", "c");
          const downs: string[] = [];
          a!.on("nodedown", (e) => downs.push(`${e.node}:${e.reason}`));
          const srv = echoServer(c!.node, "svc");
          const box = collector(a!.node);
          a!.node.link(srv, box.pid);
          await t.harness.partition!([["a"], ["b", "c"]]);
          await expect.poll(() => a!.nodes(), { timeout: downWithin }).toEqual([]);
          await expect.poll(() => c!.nodes(), { timeout: downWithin }).toEqual(["b"]);
          expect(downs.sort()).toEqual(["b:timeout", "c:timeout"]);
          await expect.poll(() => (box.got[0] as ExitMessage | undefined)?.reason).toBe("noconnection");
          expect(await echo(b!.node, srv, "same side")).toBe("same side");
          await t.harness.heal!();
          await meshed([a!, b!, c!], downWithin);
          expect(await echo(a!.node, { name: "svc", node: "c" }, "healed")).toBe("healed");
        });
      });
    }

    if (factory.features.inject) {
      describe("malformed frames", () => {
        it("counts garbage, truncated, oversized and wrongly typed frames and keeps working", async () => {
          const [a, b] = await t.startAll("a", "b");
          const srv = echoServer(b!.node);
          const box = collector(b!.node);
          const inject = (bytes: Uint8Array) => t.harness.inject!("b", bytes, "a");
          const { Codec } = await import("../../src/cluster/index.js");
          const codec = new Codec();
          const good = codec.encode([1, box.pid, "good"]);
          await inject(new Uint8Array([0xd4, 0x7f, 0x00, 0x13, 0x37]));
          await inject(good.subarray(0, good.length - 3));
          await inject(new Uint8Array(2 * 1024 * 1024));
          await inject(codec.encode([1, "not a pid", "x"]));
          await inject(codec.encode([99, 1, 2]));
          await inject(codec.encode({ not: "a frame" }));
          await inject(codec.encode([1, new Pid("zzz", 1, 1), "for someone else"]));
          await inject(good);
          await expect.poll(() => box.got).toEqual(["good"]);
          const r = b!.stats.rejected;
          expect(r.garbled).toBe(1);
          expect(r.truncated).toBe(1);
          expect(r.oversized).toBe(1);
          expect(r.invalid).toBe(3);
          expect(r.misaddressed).toBe(1);
          expect(await echo(a!.node, srv, "alive")).toBe("alive");
        });

        it("a second hello (the peer dropped this node and took it back) resets the session here too", async () => {
          const [a, b] = await t.startAll("a", "b");
          const srv = echoServer(a!.node);
          const box = collector(b!.node);
          b!.node.link(srv, box.pid);
          b!.node.monitor(srv, box.pid);
          await expect.poll(() => a!.node.processInfo(srv)?.links.length).toBe(1);
          const downs: string[] = [];
          const ups: string[] = [];
          b!.on("nodedown", (e) => downs.push(`${e.node}:${e.reason}`));
          b!.on("nodeup", (e) => ups.push(e.node));
          const incarnation = b!.members().find((m) => m.node === "a")!.incarnation;
          const { Codec, FrameTag, PROTOCOL_VERSION } = await import("../../src/cluster/index.js");
          // what node a sends when it sees b come up again after having dropped it
          await t.harness.inject!(
            "b",
            new Codec().encode([FrameTag.Hello, PROTOCOL_VERSION, incarnation, false]),
            "a",
          );
          await expect.poll(() => box.got.length, { timeout: downWithin }).toBe(2);
          expect(box.got.map((m) => (m as ExitMessage | DownMessage).reason)).toEqual([
            "noconnection",
            "noconnection",
          ]);
          expect(downs).toEqual(["a:connection_lost"]);
          expect(ups).toEqual(["a"]);
          expect(b!.nodes()).toEqual(["a"]);
          expect(await echo(b!.node, srv, "again")).toBe("again");
        });

        it("keeps the valid frames of a batch before a damaged tail", async () => {
          const [, b] = await t.startAll("a", "b");
          const box = collector(b!.node);
          const { Codec } = await import("../../src/cluster/index.js");
          const codec = new Codec();
          const one = codec.encode([1, box.pid, 1]);
          const two = codec.encode([1, box.pid, 2]);
          await t.harness.inject!("b", Buffer.concat([one, two, two.subarray(0, 4)]), "a");
          await expect.poll(() => box.got).toEqual([1, 2]);
          expect(b!.stats.rejected.truncated).toBe(1);
        });
      });
    }

    describe("remote lookup", () => {
      it("answers whether a pid or a name of another node is a live process", async () => {
        const [a, b] = await t.startAll("a", "b");
        const box = collector(b!.node, { name: "box" });
        expect(await a!.node.lookup(box.pid)).toEqual(box.pid);
        expect(await isAliveOn(a!.node, box.pid)).toBe(true);
        expect(await a!.node.lookup({ name: "box", node: "b" })).toEqual(box.pid);
        expect(await a!.node.lookup({ name: "nobody", node: "b" })).toBeUndefined();
        b!.node.exit(box.pid, "kill");
        expect(await isAliveOn(a!.node, box.pid)).toBe(false);
        expect(await a!.node.lookup({ name: "box", node: "b" })).toBeUndefined();
        expect(a!.node.pendingCalls).toBe(0);
      });
    });

    describe("remote spawn", () => {
      function registerCounter(c: Cluster): void {
        c.registerBehaviour("counter", (args) => {
          const [start] = args as [number];
          let n = start;
          return c.node.spawn(async (ctx) => {
            for (;;) {
              const m = (await ctx.receive()) as { from: From };
              c.node.reply(m.from, ++n);
            }
          });
        });
        c.registerBehaviour("broken", () => {
          throw new Error("cannot start");
        });
      }

      it("starts a registered behaviour on another node with serialisable arguments", async () => {
        const [a, b] = await t.startAll("a", "b");
        registerCounter(b!);
        const pid = await a!.spawnOn("b", "counter", [10]);
        expect(pid.node).toBe("b");
        expect(b!.node.isAlive(pid)).toBe(true);
        expect(await a!.node.call(pid, (from) => ({ from }), 3000)).toBe(11);
        expect(await a!.node.call(pid, (from) => ({ from }), 3000)).toBe(12);
        registerCounter(a!);
        const local = await a!.spawnOn("a", "counter", [0]);
        expect(local.node).toBe("a");
      });

      it("rejects an unknown name, unserialisable arguments, a failing start and an absent node by name", async () => {
        const [a, b] = await t.startAll("a", "b");
        registerCounter(b!);
        await expect(a!.spawnOn("b", "nope", [])).rejects.toBeInstanceOf(UnknownBehaviourError);
        await expect(a!.spawnOn("b", "counter", [() => 1])).rejects.toBeInstanceOf(UnserialisableError);
        const e = (await a!.spawnOn("b", "broken", []).catch((x: unknown) => x)) as RemoteSpawnError;
        expect(e).toBeInstanceOf(RemoteSpawnError);
        expect((e.cause as Error).message).toBe("cannot start");
        await expect(a!.spawnOn("zzz", "counter", [1])).rejects.toBeInstanceOf(NoConnectionError);
        expect(RemoteError).toBeDefined();
      });
    });
  });
}
