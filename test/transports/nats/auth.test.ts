/**
 * The NATS transport's wire authentication (`auth`), against a real nats-server that lets anyone
 * publish anything: the secret, not the server, is what keeps a stranger out here. Nodes with the
 * same secret talk (with and without encryption); a node with another secret, or none, cannot
 * join (`NatsAuthError`); forged, damaged and replayed messages are dropped and counted in
 * `stats().authRejected`, and change nobody's view.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { InvalidOptionError } from "../../../src/errors.js";
import {
  NatsAuthError,
  type NatsTransport,
  NatsWireVersionError,
} from "../../../src/transports/nats/index.js";
import { SealKind, WIRE_VERSION, WireAuth } from "../../../src/transports/nats/wire-auth.js";
import { type NatsServer, startNatsServer, stopAllNatsServers } from "../../support/nats-server.js";
import { ident, Recorder, testTransport, text } from "./recorder.js";

let server: NatsServer;
const open: NatsTransport[] = [];
const raw: NatsConnection[] = [];
let seq = 0;
const SECRET = "correct horse battery staple";

beforeAll(async () => {
  server = await startNatsServer("auth-test");
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
  await Promise.all(raw.splice(0).map((nc) => nc.close()));
});
afterAll(stopAllNatsServers);

/** Joins `node`; `auth` null joins without authentication. */
async function join(
  cluster: string,
  node: string,
  auth: object | null = { secret: SECRET },
  incarnation = 1,
) {
  const t = testTransport(server.url, auth === null ? {} : { auth: { joinCheckMs: 300, ...auth } as never });
  open.push(t);
  const rec = new Recorder();
  await t.connect(ident(node, incarnation, cluster), rec);
  return { t, rec };
}

async function outsider(): Promise<NatsConnection> {
  const nc = await connect({ servers: server.url });
  raw.push(nc);
  return nc;
}

/** Every message published on the cluster's subjects, as an eavesdropper sees it. */
async function tap(cluster: string) {
  const nc = await outsider();
  const seen: { subject: string; data: Uint8Array }[] = [];
  nc.subscribe(`hv.${cluster}.>`, {
    callback: (_e, m) => {
      seen.push({ subject: m.subject, data: m.data });
    },
  });
  await nc.flush();
  return { nc, seen };
}

const rejected = (t: NatsTransport) => Object.values(t.stats().authRejected).reduce((a, b) => a + b, 0);

describe("NatsTransport auth: options", () => {
  it("refuses a secret shorter than 16 bytes with InvalidOptionError naming auth.secret", () => {
    expect(() => testTransport(server.url, { auth: { secret: "short" } })).toThrow(InvalidOptionError);
    expect(() => testTransport(server.url, { auth: { secret: "short" } })).toThrow(/auth\.secret/);
    expect(() => testTransport(server.url, { auth: { secret: SECRET, maxClockSkewMs: 0 } })).toThrow(
      /auth\.maxClockSkewMs/,
    );
    expect(() => testTransport(server.url, { auth: { secret: SECRET, acceptSecrets: ["short"] } })).toThrow(
      /auth\.acceptSecrets\[0\]/,
    );
    expect(() => testTransport(server.url).rotateSecrets({ secret: SECRET })).toThrow(InvalidOptionError);
    expect(() =>
      testTransport(server.url, { auth: { secret: SECRET } }).rotateSecrets({ secret: "x" }),
    ).toThrow(/auth\.secret/);
  });
});

describe("NatsTransport auth: rotating the secret", () => {
  it("rolls a new secret over a running cluster in three rounds: every frame arrives, nobody goes down", async () => {
    const c = `auth${++seq}`;
    const NEW = "the next cluster secret, rolled in";
    const nodes = { a: await join(c, "a"), b: await join(c, "b"), c: await join(c, "c") };
    const all = Object.entries(nodes);
    await expect
      .poll(() => all.every(([x, n]) => all.every(([y]) => x === y || n.rec.isUp(y))), { timeout: 5000 })
      .toBe(true);
    // The heartbeat threads run with auth, and seal their heartbeats through the rotation too.
    for (const [, n] of all) expect(n.t.stats().heartbeatThread).toBe(true);
    let step = 0;
    const everyoneHearsEveryone = async () => {
      step++;
      for (const [x, n] of all) for (const [y] of all) if (x !== y) n.t.send(y, text(`${step}:${x}`));
      for (const [x] of all) {
        for (const [y, m] of all) {
          if (x !== y)
            await expect.poll(() => m.rec.textsFrom(x), { timeout: 5000 }).toContain(`${step}:${x}`);
        }
      }
    };
    const rounds = [
      // 1: every node learns the new secret, still sealing with the old one.
      { secret: SECRET, acceptSecrets: [NEW] },
      // 2: every node seals with the new secret, still opening the old one's (nodes not yet there).
      { secret: NEW, acceptSecrets: [SECRET] },
      // 3: the old secret is dropped.
      { secret: NEW },
    ];
    for (const round of rounds) {
      for (const [, n] of all) {
        n.t.rotateSecrets(round);
        await everyoneHearsEveryone();
      }
    }
    // Heartbeats (the threads' too) under the new secret keep everyone up for a while.
    const hbs = nodes.a.t.stats().heartbeatsSent;
    await expect.poll(() => nodes.a.t.stats().heartbeatsSent, { timeout: 5000 }).toBeGreaterThan(hbs + 5);
    for (const [, n] of all) {
      expect(rejected(n.t)).toBe(0);
      for (const [y] of all) expect(n.rec.downs(y)).toEqual([]);
    }
    // The old secret no longer gets in; the new one does.
    await expect(join(c, "late", { secret: SECRET })).rejects.toBeInstanceOf(NatsAuthError);
    const late = await join(c, "late2", { secret: NEW });
    await expect.poll(() => late.rec.isUp("a") && nodes.a.rec.isUp("late2"), { timeout: 5000 }).toBe(true);
  });

  it("a node that seals with a secret the others do not accept yet is not heard (why the first round)", async () => {
    const c = `auth${++seq}`;
    const a = await join(c, "a");
    const b = await join(c, "b");
    await expect.poll(() => a.rec.isUp("b") && b.rec.isUp("a"), { timeout: 5000 }).toBe(true);
    a.t.rotateSecrets({ secret: "the next cluster secret, rolled in", acceptSecrets: [SECRET] });
    a.t.send("b", text("too early"));
    await expect.poll(() => b.t.stats().authRejected.key, { timeout: 5000 }).toBeGreaterThan(0);
    expect(b.rec.textsFrom("a")).toEqual([]);
  });
});

describe("NatsTransport auth: nodes that share the secret", () => {
  it.each([
    ["authenticated", {}],
    ["encrypted", { encrypt: true }],
  ])("carry frames both ways (%s) and keep the payload off the wire when encrypted", async (_what, extra) => {
    const c = `auth${++seq}`;
    const wire = await tap(c);
    const a = await join(c, "a", { secret: SECRET, ...extra });
    const b = await join(c, "b", { secret: SECRET, ...extra });
    await expect.poll(() => a.rec.isUp("b") && b.rec.isUp("a"), { timeout: 5000 }).toBe(true);
    for (let i = 0; i < 50; i++) a.t.send("b", text(`secret-payload-${i}`));
    b.t.broadcast(text("to-everyone"));
    await expect.poll(() => b.rec.textsFrom("a").length, { timeout: 5000 }).toBe(50);
    expect(b.rec.textsFrom("a")).toEqual(Array.from({ length: 50 }, (_, i) => `secret-payload-${i}`));
    await expect.poll(() => a.rec.textsFrom("b"), { timeout: 5000 }).toEqual(["to-everyone"]);
    expect(rejected(a.t) + rejected(b.t)).toBe(0);
    const onWire = wire.seen.some((m) => Buffer.from(m.data).includes("secret-payload-"));
    expect(onWire).toBe(!("encrypt" in extra));
  });
});

describe("NatsTransport auth: a node that does not share the secret", () => {
  it("cannot join: NatsAuthError with both key ids, and the others never see it up", async () => {
    const c = `auth${++seq}`;
    const a = await join(c, "a");
    const err = await join(c, "mallory", { secret: "another secret, 16+ bytes" }).catch((e) => e);
    expect(err).toBeInstanceOf(NatsAuthError);
    expect(err).toMatchObject({ code: "HV_ERR_NATS_AUTH" });
    expect((err as NatsAuthError).theirs).toMatch(/^[0-9a-f]{8}$/);
    expect((err as NatsAuthError).theirs).not.toBe((err as NatsAuthError).ours);
    expect(a.rec.isUp("mallory")).toBe(false);
    expect(a.t.stats().authRejected.key).toBeGreaterThan(0);
  });

  it("with auth against a cluster without it, or the other way round, cannot join either", async () => {
    const c = `auth${++seq}`;
    const plain = await join(c, "plain", null);
    const err = await join(c, "careful").catch((e) => e);
    expect(err).toMatchObject({ code: "HV_ERR_NATS_AUTH", theirs: "none" });
    expect(plain.rec.isUp("careful")).toBe(false);

    const c2 = `auth${++seq}`;
    const guarded = await join(c2, "guarded");
    const careless = await join(c2, "careless", null);
    await new Promise((r) => setTimeout(r, 300));
    // No wait on a node without auth; neither side takes the other up.
    expect(guarded.rec.isUp("careless") || careless.rec.isUp("guarded")).toBe(false);
    expect(guarded.t.stats().authRejected.malformed).toBeGreaterThan(0);
    expect(careless.t.stats().controlRefused).toBeGreaterThan(0);
  });

  it("nodes of another wire version refuse each other: NatsWireVersionError at join, `version` once up", async () => {
    const c = `auth${++seq}`;
    // A node of wire version 1 (before sequence numbers carried a stream), as the others hear it:
    // its heartbeats have version 1's layout, which is version 2's with the first byte 1. Its MAC
    // is not looked at: a message of another version is refused before.
    const old = new WireAuth(ident("old", 1, c), {
      secret: new TextEncoder().encode(SECRET),
      acceptSecrets: [],
      encrypt: false,
      maxClockSkewMs: 30_000,
      joinCheckMs: 0,
    });
    const beat = () => {
      const sealed = Uint8Array.from(
        old.seal(SealKind.Heartbeat, "", 0, text(JSON.stringify({ t: "hb", n: "old", i: 1, s: 1 }))),
      );
      sealed[0] = 1;
      return sealed;
    };
    const nc = await outsider();
    const beating = setInterval(() => nc.publish(`hv.${c}.hb.old`, beat()), 20);
    try {
      const err = await join(c, "new").catch((e) => e);
      expect(err).toBeInstanceOf(NatsWireVersionError);
      expect(err).toMatchObject({ code: "HV_ERR_NATS_WIRE_VERSION", ours: WIRE_VERSION, theirs: 1 });
      // A node already up (it heard a peer of its own version) stays, and refuses the old one's
      // heartbeats by version: counted, never taken up.
      const c2 = `auth${++seq}`;
      const a = await join(c2, "a");
      const b = await join(c2, "b");
      await expect.poll(() => a.rec.isUp("b") && b.rec.isUp("a"), { timeout: 5000 }).toBe(true);
      nc.publish(`hv.${c2}.hb.old`, beat());
      await expect.poll(() => a.t.stats().authRejected.version, { timeout: 5000 }).toBeGreaterThan(0);
      expect(a.rec.isUp("old")).toBe(false);
    } finally {
      clearInterval(beating);
    }
  });

  it("a node alone with auth joins after joinCheckMs", async () => {
    const started = performance.now();
    await join(`auth${++seq}`, "alone");
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
  });
});

describe("NatsTransport auth: forgeries and replays", () => {
  it("drops forged heartbeats, leaves and frames from a stranger, counted by kind, and nobody's view changes", async () => {
    const c = `auth${++seq}`;
    const a = await join(c, "a");
    const b = await join(c, "b");
    await expect.poll(() => a.rec.isUp("b") && b.rec.isUp("a"), { timeout: 5000 }).toBe(true);
    const nc = await outsider();
    const hb = (n: string, t = "hb") => text(JSON.stringify({ t, n, i: 1, s: 1 }));
    nc.publish(`hv.${c}.hb.ghost`, hb("ghost")); // a new member out of thin air
    nc.publish(`hv.${c}.hb.b`, hb("b", "leave")); // b leaving
    nc.publish(`hv.${c}.hb.b`, hb("b")); // b restarted (another incarnation)
    nc.publish(`hv.${c}.node.a.b`, text("forged frame"));
    nc.publish(`hv.${c}.all.b`, text("forged broadcast"));
    const junk = new Uint8Array(80).fill(1); // sealed-looking: kind 1, key id 0x01010101
    junk[0] = WIRE_VERSION;
    nc.publish(`hv.${c}.node.a.b`, junk);
    await nc.flush();
    await expect.poll(() => a.t.stats().authRejected.malformed, { timeout: 5000 }).toBe(5);
    await expect.poll(() => a.t.stats().authRejected.key, { timeout: 5000 }).toBe(1);
    expect(a.rec.isUp("ghost")).toBe(false);
    expect(a.rec.downs("b")).toEqual([]);
    expect(a.rec.textsFrom("b")).toEqual([]);
  });

  it("drops a replayed frame, a replayed leave and a frame re-addressed to another node", async () => {
    const c = `auth${++seq}`;
    const wire = await tap(c);
    const a = await join(c, "a");
    const b = await join(c, "b");
    const d = await join(c, "d");
    await expect
      .poll(() => a.rec.isUp("b") && b.rec.isUp("a") && d.rec.isUp("a"), { timeout: 5000 })
      .toBe(true);
    a.t.send("b", text("once"));
    await expect.poll(() => b.rec.textsFrom("a"), { timeout: 5000 }).toEqual(["once"]);
    const captured = wire.seen.find((m) => m.subject === `hv.${c}.node.b.a`)!;
    const nc = await outsider();
    nc.publish(captured.subject, captured.data); // replay to b
    nc.publish(`hv.${c}.node.d.a`, captured.data); // the same bytes re-addressed to d
    await nc.flush();
    await expect.poll(() => b.t.stats().authRejected.replay, { timeout: 5000 }).toBe(1);
    await expect.poll(() => d.t.stats().authRejected.mac, { timeout: 5000 }).toBe(1);
    expect(b.rec.textsFrom("a")).toEqual(["once"]);
    expect(d.rec.textsFrom("a")).toEqual([]);

    // d leaves for real; its leave, replayed after d came back as a new incarnation, is stale.
    await d.t.close();
    await expect.poll(() => a.rec.downs("d"), { timeout: 5000 }).toEqual(["leave"]);
    const leave = wire.seen.filter((m) => m.subject === `hv.${c}.hb.d`).at(-1)!;
    const d2 = await join(c, "d", { secret: SECRET }, 2);
    await expect.poll(() => a.rec.isUp("d", 2) && d2.rec.isUp("a"), { timeout: 5000 }).toBe(true);
    nc.publish(leave.subject, leave.data);
    await nc.flush();
    await expect.poll(() => a.t.stats().authRejected.replay, { timeout: 5000 }).toBeGreaterThanOrEqual(1);
    expect(a.rec.isUp("d", 2)).toBe(true);
    expect(a.rec.downs("d")).toEqual(["leave"]);
  });
});
