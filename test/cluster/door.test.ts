/**
 * Checks at the door of the cluster layer: names refused at join with `InvalidNameError`, and
 * control frames (hello, exit, DOWN) whose sender does not match what they claim refused —
 * counted, logged, never acted on. Frames are forged with `MemoryNetwork.inject`, which hands a
 * node bytes "from" any peer.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Cluster, Codec, FrameTag, InvalidNameError, PROTOCOL_VERSION } from "../../src/cluster/index.js";
import { InvalidOptionError } from "../../src/errors.js";
import { silentLogger } from "../../src/logger.js";
import { Node, Pid } from "../../src/process/index.js";
import { MemoryNetwork } from "../../src/transports/memory/index.js";
import { ProcessHub } from "../../src/hub/process-hub.js";
import { checkWire } from "../../src/hub/wire-check.js";
import { collector } from "./helpers.js";

const started: Cluster[] = [];
async function join(net: MemoryNetwork, name: string, cluster = "door"): Promise<Cluster> {
  const c = await Cluster.join({
    node: new Node({ name, logger: silentLogger }),
    cluster,
    transport: net.transport(),
    logger: silentLogger,
  });
  started.push(c);
  return c;
}

afterEach(async () => {
  for (const c of started.splice(0)) await c.leave();
});

async function pair(): Promise<{ net: MemoryNetwork; a: Cluster; b: Cluster }> {
  const net = new MemoryNetwork();
  const a = await join(net, "a");
  const b = await join(net, "b");
  await expect.poll(() => a.isMember("b") && b.isMember("a")).toBe(true);
  return { net, a, b };
}

const codec = new Codec();

describe("Cluster.join: names", () => {
  it.each([
    ["a dot", "a.b"],
    ["a wildcard", "*"],
    ["a full wildcard", "a>"],
    ["a tab", "tab\there"],
    ["a control character", "nul\u0000"],
    ["an empty name", ""],
    ["256 characters", "n".repeat(256)],
    ["100,000 characters", "n".repeat(100_000)],
  ])("refuses a node name with %s with InvalidNameError (an InvalidOptionError)", async (_what, name) => {
    const net = new MemoryNetwork();
    const node = new Node({ name: name.length === 0 ? "x" : name, logger: silentLogger });
    if (name.length === 0) Object.defineProperty(node, "name", { value: "" });
    const err = await Cluster.join({ node, cluster: "door", transport: net.transport() }).catch((e) => e);
    expect(err).toBeInstanceOf(InvalidNameError);
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect(err).toMatchObject({ code: "HV_ERR_INVALID_NAME", field: "node.name" });
    expect((err as Error).message.length).toBeLessThan(400);
    expect(node.router).toBe(null);
  });

  it("accepts a node name of 255 characters and refuses a cluster name of 65", async () => {
    const net = new MemoryNetwork();
    await expect(join(net, "n".repeat(255))).resolves.toBeInstanceOf(Cluster);
    await expect(join(net, "c", "c".repeat(65))).rejects.toMatchObject({
      code: "HV_ERR_INVALID_NAME",
      field: "cluster",
    });
    await expect(join(net, "c", "a.b")).rejects.toBeInstanceOf(InvalidNameError);
  });
});

describe("ProcessHub.start: hub names", () => {
  it.each([
    ["a dot", "a.b"],
    ["a space", "a b"],
    ["256 characters", "h".repeat(256)],
  ])("refuses a hub id with %s with InvalidNameError (field hubId)", (_what, hubId) => {
    const node = new Node({ name: "h", logger: silentLogger });
    expect(() => ProcessHub.start({ hubId, node, logger: silentLogger })).toThrow(InvalidNameError);
    expect(() => ProcessHub.start({ hubId, node, logger: silentLogger })).toThrow(/hubId/);
  });
});

describe("control frames: sender checks", () => {
  it("refuses an exit signal whose sender pid is not on the sending node", async () => {
    const { net, b } = await pair();
    const victim = b.node.spawn(async (ctx) => {
      await ctx.receive();
    });
    const elsewhere = new Pid("c", 1, 1);
    net.inject("b", codec.encode([FrameTag.Exit, elsewhere, victim, "kill", false]), "a");
    await expect.poll(() => b.stats.rejected.misaddressed).toBe(1);
    expect(b.node.isAlive(victim)).toBe(true);
  });

  it("refuses a DOWN about a process that is not on the sending node", async () => {
    const { net, a, b } = await pair();
    const target = a.node.spawn(async (ctx) => {
      await ctx.receive();
    });
    const watcher = collector(b.node);
    const ref = b.node.monitor(target, watcher.pid);
    net.inject("b", codec.encode([FrameTag.Down, watcher.pid, ref, new Pid("c", 1, 1), "forged"]), "a");
    await expect.poll(() => b.stats.rejected.misaddressed).toBe(1);
    expect(watcher.got).toEqual([]);
  });

  it("refuses a hello that names another incarnation than the one up, and keeps the session", async () => {
    const { net, a, b } = await pair();
    const up = b.members().find((m) => m.node === "a")!.incarnation;
    const downs: string[] = [];
    b.on("nodedown", (e) => downs.push(e.node));
    net.inject("b", codec.encode([FrameTag.Hello, PROTOCOL_VERSION, up + 1, false]), "a");
    net.inject("b", codec.encode([FrameTag.Hello, PROTOCOL_VERSION, up + 1, false]), "a");
    await expect.poll(() => b.stats.rejected.misaddressed).toBe(2);
    expect(downs).toEqual([]);
    expect(b.isMember("a") && a.isMember("b")).toBe(true);
  });

  it("a process marked linkedRemoteExitsOnly refuses an explicit remote exit, even kill, but not its links", async () => {
    const { a, b } = await pair();
    const guarded = b.node.spawn(async (ctx) => {
      ctx.trapExit(true);
      for (;;) await ctx.receive();
    });
    b.node.proc(guarded)!.linkedRemoteExitsOnly = true;
    a.node.exit(guarded, "kill");
    await expect.poll(() => b.stats.rejected.misaddressed).toBe(1);
    expect(b.node.isAlive(guarded)).toBe(true);
    // A process that has no such mark still obeys (OTP's semantics).
    const plain = b.node.spawn(async (ctx) => {
      await ctx.receive();
    });
    a.node.exit(plain, "kill");
    await expect.poll(() => b.node.isAlive(plain)).toBe(false);
    // Through a link the guarded process still hears of a peer's death.
    const linked = a.node.spawn(async (ctx) => {
      ctx.link(guarded);
      await ctx.receive();
    });
    await expect.poll(() => b.node.processInfo(guarded)?.links.length ?? 0).toBe(1);
    a.node.exit(linked, "boom");
    await expect.poll(() => b.node.processInfo(guarded)?.links.length ?? 1).toBe(0);
    expect(b.node.isAlive(guarded)).toBe(true);
  });
});

describe("messages to a process that checks its sender field", () => {
  it("refuses a message whose `from` names another node than the sender, by pid and by name", async () => {
    const { a, b } = await pair();
    const box = collector(b.node, { name: "box" });
    b.node.proc(box.pid)!.senderField = "from";
    a.node.send(box.pid, { t: "slice", from: "c" });
    a.node.send({ name: "box", node: "b" }, { t: "slice", from: "c" });
    await expect.poll(() => b.stats.rejected.misaddressed).toBe(2);
    a.node.send(box.pid, { t: "slice", from: "a" });
    a.node.send({ name: "box", node: "b" }, { t: "other" });
    a.node.send(box.pid, "plain");
    await expect.poll(() => box.got.length).toBe(3);
    expect(box.got).toEqual([{ t: "slice", from: "a" }, { t: "other" }, "plain"]);
  });

  it("a hub refuses a slice or delta that carries entries of children running on another node", () => {
    const entry = (pidNode: string) => [
      "id1",
      "counter",
      [],
      "permanent",
      5000,
      null,
      1,
      new Pid(pidNode, 7, 1),
    ];
    const slice = (entries: unknown[]) =>
      ({ t: "slice", from: "b", inc: 1, seq: 1, part: 0, parts: 1, entries }) as never;
    expect(checkWire(slice([entry("b")]))).toBe(null);
    expect(checkWire(slice([entry("b"), entry("c")]))).toBe("slice.entries");
    const delta = { t: "delta", from: "b", inc: 1, seq: 2, up: [entry("c")], rm: [] } as never;
    expect(checkWire(delta)).toBe("delta.up");
  });
});
