/**
 * The attacker suite of issue 20: three hub nodes over a real nats-server, 300 children, and an
 * attacker who has nothing but a NATS connection to the same server and publishes on the subjects
 * the nodes use. It repeats every probe of the issue — read the registry, stop children, start
 * one, join under a new name, forge a hello, a leave, a heartbeat, a registry slice and an exit
 * signal, impersonate a node, replay captured traffic, announce odd names — and checks that each
 * is refused and counted and that every child still runs exactly once.
 *
 * Two defences, tested apart: on a server that lets anyone publish anything, the cluster secret
 * (`auth`, encrypted) refuses the forgeries; on the least-privilege server (`natsServerConfig`)
 * NATS itself refuses the attacker's subscriptions and publishes, and a node's publishes in
 * another node's name.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { Cluster, Codec, FrameTag, PROTOCOL_VERSION } from "../../../src/cluster/index.js";
import { clusterMembership, type HubMembership } from "../../../src/hub/membership.js";
import { silentLogger } from "../../../src/logger.js";
import { Node, Pid } from "../../../src/process/index.js";
import {
  NatsTransport,
  natsServerConfig,
  type NatsTransportOptions,
} from "../../../src/transports/nats/index.js";
import { HUB_NATS_TIMINGS } from "../../hub/nats-cluster.js";
import { HubHarness, type HubTestCluster, specs } from "../../hub/scenarios.js";
import { type NatsServer, startNatsServer, stopAllNatsServers } from "../../support/nats-server.js";

const SECRET = "issue-20 cluster secret, long enough";
let seq = 0;

/** A hub test cluster whose nodes use `auth` and/or per-node NATS credentials. */
class GuardedNatsCluster implements HubTestCluster {
  readonly kind = "nats";
  readonly name = `attack${process.pid}x${seq++}`;
  readonly clusters = new Map<string, Cluster>();
  readonly transports = new Map<string, NatsTransport>();

  constructor(
    private readonly url: string,
    private readonly options: (node: string) => Partial<NatsTransportOptions>,
  ) {}

  async addNode(name: string): Promise<{ node: Node; membership: HubMembership }> {
    const node = new Node({ name, logger: silentLogger });
    const extra = this.options(name);
    const transport = new NatsTransport({
      ...HUB_NATS_TIMINGS,
      logger: silentLogger,
      ...extra,
      connection: { servers: this.url, reconnectTimeWait: 100, ...(extra.connection as object) },
    });
    const cluster = await Cluster.join({ node, cluster: this.name, transport, logger: silentLogger });
    this.clusters.set(name, cluster);
    this.transports.set(name, transport);
    return { node, membership: clusterMembership(cluster) };
  }

  async killNode(name: string): Promise<void> {
    await this.transports.get(name)?.connection?.close();
  }

  async close(): Promise<void> {
    for (const c of this.clusters.values()) await c.leave().catch(() => {});
  }

  /** Every message the transports refused for failing authentication, and the cluster layers' rejects. */
  refused(): { auth: number; frames: number; control: number } {
    let auth = 0;
    let frames = 0;
    let control = 0;
    for (const t of this.transports.values()) {
      const s = t.stats();
      auth += Object.values(s.authRejected).reduce((a, b) => a + b, 0);
      control += s.controlRefused;
    }
    for (const c of this.clusters.values())
      frames += Object.values(c.stats.rejected).reduce((a, b) => a + b, 0);
    return { auth, frames, control };
  }
}

const open: NatsConnection[] = [];
let harness: HubHarness | undefined;
afterEach(async () => {
  if (harness !== undefined) {
    for (const h of harness.hubs.values()) await h.stop().catch(() => {});
    await harness.cluster.close();
    harness = undefined;
  }
  await Promise.all(open.splice(0).map((nc) => nc.close().catch(() => {})));
});
afterAll(stopAllNatsServers);

async function attacker(url: string, creds: { user?: string; pass?: string } = {}): Promise<NatsConnection> {
  const nc = await connect({ servers: url, ...creds });
  open.push(nc);
  return nc;
}

/** Three hubs with 300 children, converged. */
async function bed(cluster: GuardedNatsCluster) {
  harness = new HubHarness(cluster, "attacked");
  const a = await harness.add("a");
  const b = await harness.add("b");
  const c = await harness.add("c");
  await harness.formed(15_000);
  const ids = specs(300, "victim", { args: ["secret-arg-7f3a"] }).map((s) => s.id);
  const r = await a
    .startChildren(specs(300, "victim", { args: ["secret-arg-7f3a"] }), { awaitable: true })
    .await(20_000);
  expect(r.status).toBe("ok");
  await harness.expectConverged(ids, 20_000);
  return { h: harness, a, b, c, ids };
}

const codec = new Codec();
const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

describe("attacker on an open NATS, cluster authenticated and encrypted", () => {
  it("refuses every probe of issue 20, counts it, and every child still runs exactly once", async () => {
    const server: NatsServer = await startNatsServer("attack-open");
    const cluster = new GuardedNatsCluster(server.url, () => ({ auth: { secret: SECRET, encrypt: true } }));
    const { h, a, b, ids } = await bed(cluster);
    const root = `hv.${cluster.name}`;
    const nc = await attacker(server.url);

    // Outsider read: everything on the wire while the registry syncs and children start.
    const seen: Uint8Array[] = [];
    const subjects: string[] = [];
    nc.subscribe(`${root}.>`, {
      callback: (_e, m) => {
        seen.push(m.data);
        subjects.push(m.subject);
      },
    });
    await nc.flush();
    await a.startChildren(specs(5, "late", { args: ["secret-arg-7f3a"] }), { awaitable: true }).await(10_000);
    const all = [...ids, ...specs(5, "late").map((s) => s.id)];
    await h.expectConverged(all, 20_000);
    await expect
      .poll(() => subjects.some((s) => s.startsWith(`${root}.node.`)), { timeout: 5000 })
      .toBe(true);
    expect(seen.some((d) => Buffer.from(d).includes("secret-arg-7f3a"))).toBe(false);
    expect(seen.some((d) => Buffer.from(d).includes("victim1"))).toBe(false);

    const before = cluster.refused();
    const hubA = a.pid;
    const incB = b.node.creation;
    const bPid = new Pid("b", 1, incB);
    const hubName = "hubvisor.hub.attacked";
    const frames: Array<[string, Uint8Array]> = [
      // Stop 100 children, start one of the attacker's, as b (impersonation).
      [
        `${root}.node.a.b`,
        codec.encode([
          FrameTag.SendNamed,
          hubName,
          { t: "stop", req: null, origin: "b", ids: ids.slice(0, 100) },
        ]),
      ],
      [
        `${root}.node.a.b`,
        codec.encode([
          FrameTag.SendNamed,
          hubName,
          {
            t: "start",
            req: null,
            origin: "b",
            items: [["evil", "counter", [], "permanent", 5000, null, 1, 0]],
            hops: 0,
            ensure: false,
          },
        ]),
      ],
      // A forged registry slice of b (empty: would drop b's children from a's registry).
      [
        `${root}.node.a.b`,
        codec.encode([
          FrameTag.SendNamed,
          hubName,
          { t: "slice", from: "b", inc: incB, seq: 1e9, part: 0, parts: 1, entries: [] },
        ]),
      ],
      // A forged hello (a session reset) and an exit signal to a's hub.
      [`${root}.node.a.b`, codec.encode([FrameTag.Hello, PROTOCOL_VERSION, incB, false])],
      [`${root}.node.a.b`, codec.encode([FrameTag.Exit, bPid, hubA, "kill", false])],
      [
        `${root}.all.b`,
        codec.encode([
          FrameTag.SendNamed,
          hubName,
          { t: "stop", req: null, origin: "b", ids: ids.slice(100, 200) },
        ]),
      ],
      // Join under a new name; forge b's leave and a heartbeat of b as a new incarnation.
      [`${root}.hb.mallory`, json({ t: "hb", n: "mallory", i: 1, s: 1 })],
      [`${root}.hb.b`, json({ t: "leave", n: "b", i: incB, s: 0 })],
      [`${root}.hb.b`, json({ t: "hb", n: "b", i: incB + 1, s: 1 })],
      // Odd names.
      [`${root}.hb.x`, json({ t: "hb", n: "n".repeat(100_000), i: 1, s: 1 })],
      [`${root}.hb.x`, json({ t: "hb", n: "a.b", i: 1, s: 1 })],
      [`${root}.hb.x`, json({ t: "hb", n: "*", i: 1, s: 1 })],
      [`${root}.hb.x`, json({ t: "hb", n: "a>", i: 1, s: 1 })],
    ];
    for (const [subject, data] of frames) nc.publish(subject, data);
    // Replay: every sealed message captured so far, to where it went (a frame to a, b's heartbeats…).
    const replays = subjects.length;
    for (let i = 0; i < replays; i++) nc.publish(subjects[i]!, seen[i]!);
    await nc.flush();

    await expect
      .poll(() => cluster.refused().auth - before.auth, { timeout: 10_000 })
      .toBeGreaterThanOrEqual(frames.length);
    // The replays were published after the forged frames: their refusals may still be on the way.
    const replayed = () =>
      [...cluster.transports.values()].reduce((n, t) => n + t.stats().authRejected.replay, 0);
    await expect.poll(replayed, { timeout: 10_000 }).toBeGreaterThan(0);
    // Nothing reached the cluster layers or the hubs: no node joined, left or restarted.
    expect(cluster.refused().frames).toBe(before.frames);
    for (const hub of h.hubs.values()) expect(hub.nodes({ includeLocal: true })).toEqual(["a", "b", "c"]);
    expect(a.isAlive()).toBe(true);
    expect(a.childLookup("evil")).toBeUndefined();
    await h.expectConverged(all, 20_000);
  });

  it("a member's remote exit to a hub it did not link to is refused; the hub runs on", async () => {
    const server = await startNatsServer("attack-exit");
    const cluster = new GuardedNatsCluster(server.url, () => ({ auth: { secret: SECRET } }));
    const { h, a, b, ids } = await bed(cluster);
    b.node.exit(a.pid, "kill");
    b.node.exit(a.pid, "shutdown");
    await expect
      .poll(() => cluster.clusters.get("a")!.stats.rejected.misaddressed, { timeout: 5000 })
      .toBe(2);
    expect(a.isAlive()).toBe(true);
    await h.expectConverged(ids, 20_000);
  });

  it("a member cannot speak for another: a slice naming a third node, or carrying its children, is refused", async () => {
    const server = await startNatsServer("attack-insider");
    const cluster = new GuardedNatsCluster(server.url, () => ({ auth: { secret: SECRET } }));
    const { h, a, b, c, ids } = await bed(cluster);
    const cEntries = [...c.localChildren()].map(([id, l]) => [
      id,
      "counter",
      [],
      "permanent",
      5000,
      null,
      1,
      l.nodes[0]!.pid,
    ]);
    expect(cEntries.length).toBeGreaterThan(0);
    const droppedBefore = a.core.dropped;
    // As c: an empty slice would drop every child of c from a's registry.
    b.node.send(a.pid, { t: "slice", from: "c", inc: c.core.inc, seq: 1e9, part: 0, parts: 1, entries: [] });
    await expect
      .poll(() => cluster.clusters.get("a")!.stats.rejected.misaddressed, { timeout: 5000 })
      .toBe(1);
    // As itself, but claiming c's children as its own.
    b.node.send(a.pid, {
      t: "slice",
      from: "b",
      inc: b.core.inc,
      seq: 1e9,
      part: 0,
      parts: 1,
      entries: cEntries,
    });
    await expect.poll(() => a.core.dropped, { timeout: 5000 }).toBe(droppedBefore + 1);
    await h.expectConverged(ids, 20_000);
  });

  it("a heartbeat of a departed node, replayed within the clock skew to a node that joined since, is refused", async () => {
    const server = await startNatsServer("attack-late-replay");
    const cluster = new GuardedNatsCluster(server.url, () => ({ auth: { secret: SECRET } }));
    const { h, c, ids } = await bed(cluster);
    const nc = await attacker(server.url);
    const captured: Uint8Array[] = [];
    nc.subscribe(`hv.${cluster.name}.hb.c`, {
      callback: (_e, m) => {
        captured.push(m.data);
      },
    });
    await nc.flush();
    await expect.poll(() => captured.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    // c goes away for good; d joins after it, so d never heard c and holds no window for it.
    await c.stop();
    h.hubs.delete("c");
    await cluster.clusters.get("c")!.leave();
    cluster.clusters.delete("c");
    cluster.transports.delete("c");
    await h.formed(15_000);
    await h.add("d");
    await h.formed(15_000);
    const d = cluster.transports.get("d")!;
    // Well within maxClockSkewMs (30 s) of their capture: only the replay defence can refuse them.
    const replays = captured.slice();
    for (const hb of replays) nc.publish(`hv.${cluster.name}.hb.c`, hb);
    await nc.flush();
    await expect.poll(() => d.stats().authRejected.replay, { timeout: 10_000 }).toBe(replays.length);
    for (const hub of h.hubs.values()) expect(hub.nodes({ includeLocal: true })).toEqual(["a", "b", "d"]);
    await h.expectConverged(ids, 20_000);
  });

  it("a node with the wrong secret cannot join (NatsAuthError) and the hub is untouched", async () => {
    const server = await startNatsServer("attack-secret");
    let secret = SECRET;
    const cluster = new GuardedNatsCluster(server.url, () => ({ auth: { secret } }));
    const { h, ids } = await bed(cluster);
    secret = "not the cluster secret at all";
    await expect(h.add("mallory")).rejects.toMatchObject({ code: "HV_ERR_NATS_AUTH" });
    for (const hub of h.hubs.values()) expect(hub.nodes({ includeLocal: true })).toEqual(["a", "b", "c"]);
    await h.expectConverged(ids, 20_000);
  });
});

describe("attacker on the least-privilege NATS (natsServerConfig)", () => {
  it("the server refuses the attacker's reads and writes and a node's publishes in another's name", async () => {
    const name = `attack${process.pid}x${seq}`;
    const config = natsServerConfig({
      cluster: name,
      nodes: ["a", "b", "c"].map((n) => ({ node: n, password: `pw-${n}` })),
      others: [{ user: "app", password: "pw-app" }],
    });
    const server = await startNatsServer("attack-acl", { config });
    const cluster = new GuardedNatsCluster(server.url, (node) => ({
      connection: { user: node, pass: `pw-${node}` },
    }));
    expect(cluster.name).toBe(name);
    const { h, ids } = await bed(cluster);
    const root = `hv.${name}`;

    const app = await attacker(server.url, { user: "app", pass: "pw-app" });
    const errors: string[] = [];
    void (async () => {
      for await (const s of app.status()) if (s.type === "error") errors.push(String(s.error));
    })();
    const got: string[] = [];
    app.subscribe(`${root}.>`, {
      callback: (err, m) => {
        if (err) errors.push(String(err));
        else got.push(m.subject);
      },
    });
    app.subscribe(">", {
      callback: (err, m) => {
        if (err) errors.push(String(err));
        else got.push(m.subject);
      },
    });
    app.publish(`${root}.node.a.b`, codec.encode([FrameTag.Send, new Pid("a", 1, 1), "x"]));
    app.publish(`${root}.hb.mallory`, json({ t: "hb", n: "mallory", i: 1, s: 1 }));
    await app.flush();
    await expect
      .poll(() => errors.filter((e) => /permission/i.test(e)).length, { timeout: 5000 })
      .toBeGreaterThanOrEqual(2);

    // Node b's own credentials cannot speak for a.
    const asB = await attacker(server.url, { user: "b", pass: "pw-b" });
    const bErrors: string[] = [];
    void (async () => {
      for await (const s of asB.status()) if (s.type === "error") bErrors.push(String(s.error));
    })();
    asB.publish(`${root}.hb.a`, json({ t: "leave", n: "a", i: 1, s: 0 }));
    asB.publish(`${root}.node.c.a`, codec.encode([FrameTag.Send, new Pid("c", 1, 1), "x"]));
    await asB.flush();
    await expect
      .poll(() => bErrors.filter((e) => /permission/i.test(e)).length, { timeout: 5000 })
      .toBeGreaterThanOrEqual(1);

    // Meanwhile the hub keeps working, and the attacker heard none of it.
    await h.hubs.get("b")!.stopChildren(ids.slice(0, 10), { awaitable: true }).await(10_000);
    await h.expectConverged(ids.slice(10), 20_000);
    expect(got.filter((s) => s.startsWith(root))).toEqual([]);
    expect(cluster.refused().frames).toBe(0);
    for (const hub of h.hubs.values()) expect(hub.nodes({ includeLocal: true })).toEqual(["a", "b", "c"]);
  });
});
