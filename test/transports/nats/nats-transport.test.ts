import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { InvalidOptionError } from "../../../src/errors.js";
import {
  NatsAlreadyConnectedError,
  NatsConnectError,
  NatsInvalidNameError,
  NatsTransport,
  NatsTransportClosedError,
} from "../../../src/transports/nats/index.js";
import { freePort, type NatsServer, startNatsServer, stopAllNatsServers } from "../../support/nats-server.js";
import { ident, Recorder, testTransport, text } from "./recorder.js";

let server: NatsServer;
const open: NatsTransport[] = [];
const rawConnections: NatsConnection[] = [];
let clusterSeq = 0;

beforeAll(async () => {
  server = await startNatsServer("transport-test");
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
  await Promise.all(rawConnections.splice(0).map((nc) => nc.close()));
});
afterAll(stopAllNatsServers);

/** Connects a transport as `node` of `cluster` (to `url`, default the shared server) and returns it with its recorder. */
async function join(cluster: string, node: string, incarnation = 1, extra = {}, url = server.url) {
  const t = testTransport(url, extra);
  open.push(t);
  const rec = new Recorder();
  await t.connect(ident(node, incarnation, cluster), rec);
  return { t, rec };
}

function freshCluster(): string {
  return `c${++clusterSeq}`;
}

/** A hand-made peer on its own connection: heartbeats on demand, probes answered or not. */
async function fakePeer(cluster: string, node: string, answerProbes: boolean) {
  const nc = await connect({ servers: server.url });
  rawConnections.push(nc);
  const hb = text(JSON.stringify({ t: "hb", n: node, i: 1 }));
  nc.subscribe(`hv.${cluster}.probe.${node}`, {
    callback: (_e, m) => {
      if (answerProbes) m.respond(hb);
    },
  });
  await nc.flush();
  return { nc, beat: () => nc.publish(`hv.${cluster}.hb.${node}`, hb) };
}

describe("NatsTransport frames", () => {
  it("carries direct frames both ways between two nodes", async () => {
    const c = freshCluster();
    const a = await join(c, "a");
    const b = await join(c, "b");
    await expect.poll(() => a.rec.isUp("b") && b.rec.isUp("a"), { timeout: 5000 }).toBe(true);
    for (let i = 0; i < 100; i++) a.t.send("b", text(`a${i}`));
    b.t.send("a", text("hello a"));
    await expect.poll(() => b.rec.textsFrom("a").length, { timeout: 5000 }).toBe(100);
    expect(b.rec.textsFrom("a")).toEqual(Array.from({ length: 100 }, (_, i) => `a${i}`));
    await expect.poll(() => a.rec.textsFrom("b"), { timeout: 5000 }).toEqual(["hello a"]);
  });

  it("broadcasts to every other node and never back to the sender", async () => {
    const c = freshCluster();
    const a = await join(c, "a");
    const b = await join(c, "b");
    const d = await join(c, "d");
    await expect
      .poll(() => a.t.peers().length + b.t.peers().length + d.t.peers().length, { timeout: 5000 })
      .toBe(6);
    a.t.broadcast(text("to all"));
    await expect
      .poll(() => [b.rec.textsFrom("a"), d.rec.textsFrom("a")], { timeout: 5000 })
      .toEqual([["to all"], ["to all"]]);
    a.t.send("b", text("marker"));
    await expect.poll(() => b.rec.textsFrom("a").length, { timeout: 5000 }).toBe(2);
    expect(a.rec.frames).toEqual([]);
  });

  it("drops and counts frames to a node that is not up", async () => {
    const c = freshCluster();
    const a = await join(c, "a");
    a.t.send("nobody", text("lost"));
    expect(a.t.stats().framesDropped).toBe(1);
    expect(a.t.stats().framesSent).toBe(0);
  });

  it("keeps clusters on one NATS server apart", async () => {
    const a = await join(freshCluster(), "a");
    const other = freshCluster();
    const b = await join(other, "b");
    await join(other, "b2");
    await expect.poll(() => b.rec.isUp("b2"), { timeout: 5000 }).toBe(true);
    expect(a.t.peers()).toEqual([]);
    expect(b.rec.isUp("a")).toBe(false);
  });
});

describe("NatsTransport membership", () => {
  it("reports peers up once each, with their incarnation", async () => {
    const c = freshCluster();
    const a = await join(c, "a", 7);
    const b = await join(c, "b", 9);
    await expect.poll(() => a.rec.isUp("b", 9) && b.rec.isUp("a", 7), { timeout: 5000 }).toBe(true);
    expect(a.rec.events.map((e) => `${e.type}:${e.peer.node}`)).toEqual(["up:b"]);
    expect(a.t.peers()).toEqual([{ cluster: c, node: "b", incarnation: 9 }]);
  });

  it("reports a graceful close as leave", async () => {
    const c = freshCluster();
    const a = await join(c, "a");
    const b = await join(c, "b");
    await expect.poll(() => a.rec.isUp("b"), { timeout: 5000 }).toBe(true);
    await b.t.close();
    await expect.poll(() => a.rec.downs("b"), { timeout: 5000 }).toEqual(["leave"]);
  });

  it("reports a peer that stops heartbeating but keeps its connection as timeout", async () => {
    const c = freshCluster();
    const a = await join(c, "a");
    const peer = await fakePeer(c, "mute", false);
    peer.beat();
    await expect.poll(() => a.rec.isUp("mute"), { timeout: 5000 }).toBe(true);
    await expect.poll(() => a.rec.downs("mute"), { timeout: 10_000 }).toEqual(["timeout"]);
  });

  it("detects a vanished connection through probes long before the heartbeat timeout", async () => {
    const c = freshCluster();
    const a = await join(c, "a", 1, { heartbeatTimeoutMs: 60_000 });
    const peer = await fakePeer(c, "doomed", true);
    peer.beat();
    await expect.poll(() => a.rec.isUp("doomed"), { timeout: 5000 }).toBe(true);
    await peer.nc.close();
    await expect.poll(() => a.rec.downs("doomed"), { timeout: 10_000 }).toEqual(["connection_lost"]);
  });

  it("reports a restarted node as down (old incarnation) then up (new incarnation)", async () => {
    const c = freshCluster();
    const a = await join(c, "a");
    const old = await join(c, "b", 1);
    await expect.poll(() => a.rec.isUp("b", 1), { timeout: 5000 }).toBe(true);
    await join(c, "b", 2);
    await expect.poll(() => a.rec.isUp("b", 2), { timeout: 5000 }).toBe(true);
    const forB = a.rec.events
      .filter((e) => e.peer.node === "b")
      .map((e) => `${e.type}:${e.peer.incarnation}`);
    expect(forB).toEqual(["up:1", "down:1", "up:2"]);
    await old.t.close();
    // the old incarnation's leave is stale and must not take the new one down
    a.t.send("b", text("still there"));
    expect(a.rec.isUp("b", 2)).toBe(true);
  });

  it("drops every peer as connection_lost when NATS is gone past the timeout, then rejoins", async () => {
    const local = await startNatsServer("outage");
    const c = freshCluster();
    const a = await join(c, "a", 1, { heartbeatTimeoutMs: 800 }, local.url);
    const b = await join(c, "b", 1, { heartbeatTimeoutMs: 800 }, local.url);
    await expect.poll(() => a.rec.isUp("b") && b.rec.isUp("a"), { timeout: 5000 }).toBe(true);
    await local.kill("SIGKILL");
    await expect
      .poll(() => [a.rec.downs("b"), b.rec.downs("a")], { timeout: 10_000 })
      .toEqual([["connection_lost"], ["connection_lost"]]);
    // The outage lasts well past the client's own default of 10 reconnect attempts (one per
    // 100 ms here): reconnection must be unlimited.
    await new Promise((r) => setTimeout(r, 2000));
    expect(a.t.connection!.isClosed()).toBe(false);
    await local.start();
    await expect.poll(() => a.rec.isUp("b") && b.rec.isUp("a"), { timeout: 15_000 }).toBe(true);
    b.t.send("a", text("back"));
    await expect.poll(() => a.rec.textsFrom("b"), { timeout: 5000 }).toEqual(["back"]);
    expect(a.t.stats().reconnects).toBeGreaterThanOrEqual(1);
    await local.stop();
  });
});

describe("NatsTransport connection options", () => {
  it("passes credentials through: refused without the token, meshed with it", async () => {
    const secured = await startNatsServer("auth", { authToken: "s3cret" });
    const c = freshCluster();
    const anon = testTransport(secured.url);
    await expect(anon.connect(ident("x", 1, c), new Recorder())).rejects.toMatchObject({
      code: "HV_ERR_NATS_CONNECT",
    });
    const a = await join(c, "a", 1, { connection: { token: "s3cret" } }, secured.url);
    const b = await join(c, "b", 1, { connection: { token: "s3cret" } }, secured.url);
    await expect.poll(() => a.rec.isUp("b") && b.rec.isUp("a"), { timeout: 5000 }).toBe(true);
    b.t.send("a", text("authenticated"));
    await expect.poll(() => a.rec.textsFrom("b"), { timeout: 5000 }).toEqual(["authenticated"]);
    await secured.stop();
  });
});

describe("NatsTransport lifecycle", () => {
  it("accepts an existing connection and leaves it open on close", async () => {
    const nc = await connect({ servers: server.url });
    rawConnections.push(nc);
    const c = freshCluster();
    const shared = new NatsTransport({ connection: nc, heartbeatIntervalMs: 100, heartbeatTimeoutMs: 1000 });
    const rec = new Recorder();
    await shared.connect(ident("s", 1, c), rec);
    const b = await join(c, "b");
    await expect.poll(() => rec.isUp("b") && b.rec.isUp("s"), { timeout: 5000 }).toBe(true);
    await shared.close();
    expect(nc.isClosed()).toBe(false);
    await expect.poll(() => b.rec.downs("s"), { timeout: 5000 }).toEqual(["leave"]);
  });

  it("is single-use: connecting twice or after close throws, close is idempotent", async () => {
    const a = await join(freshCluster(), "a");
    await expect(a.t.connect(ident("a"), new Recorder())).rejects.toBeInstanceOf(NatsAlreadyConnectedError);
    await Promise.all([a.t.close(), a.t.close()]);
    await expect(a.t.connect(ident("a"), new Recorder())).rejects.toBeInstanceOf(NatsTransportClosedError);
  });

  it("rejects names that cannot be subject tokens", async () => {
    const t = testTransport(server.url);
    await expect(t.connect(ident("a.b"), new Recorder())).rejects.toBeInstanceOf(NatsInvalidNameError);
    await expect(
      t.connect({ cluster: "x>", node: "a", incarnation: 1 }, new Recorder()),
    ).rejects.toMatchObject({
      code: "HV_ERR_NATS_INVALID_NAME",
    });
  });

  it("validates its options", () => {
    expect(() => new NatsTransport({ heartbeatIntervalMs: 0 })).toThrow(InvalidOptionError);
    expect(() => new NatsTransport({ heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 1500 })).toThrow(
      /heartbeatTimeoutMs/,
    );
    expect(() => new NatsTransport({ probeIntervalMs: -1 })).toThrow(InvalidOptionError);
    expect(() => new NatsTransport({ subjectPrefix: "a.*" })).toThrow(InvalidOptionError);
  });

  it("fails with a named error when no NATS server answers", async () => {
    const port = await freePort();
    // One attempt: waiting for a late server is test/transports/nats/first-connect.test.ts's.
    const t = testTransport(`127.0.0.1:${port}`, { connectTimeoutMs: 0 });
    await expect(t.connect(ident("a"), new Recorder())).rejects.toBeInstanceOf(NatsConnectError);
  });
});
