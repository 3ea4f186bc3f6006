/**
 * Busy is not dead (issue 21), together with frozen is down (issue 22), across OS processes on a
 * real nats-server: a node whose event loop is blocked for several heartbeat timeouts stays up
 * for its peer and keeps its own view (its heartbeat thread beat meanwhile); a SIGSTOPped node,
 * whose heartbeat thread stops with it, is declared down and rejoins under a new session after
 * SIGCONT; a SIGKILLed one is declared down by the probes.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { NatsTransport } from "../../../src/transports/nats/index.js";
import { type NatsServer, startNatsServer, stopAllNatsServers } from "../../support/nats-server.js";
import { ChildNode } from "./child-node.js";
import { ident, Recorder, TEST_TIMINGS, testTransport, text } from "./recorder.js";

let server: NatsServer;
const children: ChildNode[] = [];
const transports: NatsTransport[] = [];

beforeAll(async () => {
  server = await startNatsServer("busy");
});
afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.kill()));
  await Promise.all(transports.splice(0).map((t) => t.close()));
});
afterAll(stopAllNatsServers);

type Stats = { stalls: number; busy: number; heartbeatThread: boolean };

/**
 * The heartbeat timeout of these tests: long enough that the heartbeat thread's own timer, on a
 * 2-core machine shared with other test runs, never fires a whole timeout late unless the
 * process was stopped.
 */
const TIMINGS = { ...TEST_TIMINGS, heartbeatIntervalMs: 200, heartbeatTimeoutMs: 3000 };

async function pair(cluster: string, auth?: { secret: string }) {
  // With auth, both ends; the child gets it through its timings (spread over its options).
  const timings = auth === undefined ? TIMINGS : { ...TIMINGS, auth: { ...auth, joinCheckMs: 0 } };
  const t = testTransport(server.url, timings);
  transports.push(t);
  const rec = new Recorder();
  await t.connect(ident("survivor", 1, cluster), rec);
  const child = new ChildNode({
    servers: [server.url],
    cluster,
    node: "child",
    incarnation: 1,
    timings: timings as unknown as Record<string, number>,
  });
  children.push(child);
  await expect
    .poll(() => rec.isUp("child") && child.saw((e) => e.ev === "up" && e.node === "survivor"), {
      timeout: 20_000,
      message: "child node did not join",
    })
    .toBe(true);
  const stats = async (): Promise<Stats> => {
    const before = rec.textsFrom("child").length;
    t.send("child", text("stats"));
    await expect.poll(() => rec.textsFrom("child").length, { timeout: 10_000 }).toBeGreaterThan(before);
    const last = rec
      .textsFrom("child")
      .filter((s) => s.startsWith("stats:"))
      .at(-1)!;
    return JSON.parse(last.slice(6)) as Stats;
  };
  await expect.poll(async () => (await stats()).heartbeatThread, { timeout: 10_000 }).toBe(true);
  return { t, rec, child, stats };
}

describe("NatsTransport: busy is not dead", () => {
  it("keeps a node whose event loop is blocked for 2 heartbeat timeouts up, on both sides", async () => {
    const { t, rec, child, stats } = await pair("busy1");
    const blockMs = 2 * TIMINGS.heartbeatTimeoutMs;
    t.send("child", text(`block:${blockMs}`));
    await expect.poll(() => rec.textsFrom("child"), { timeout: 5000 }).toContain("blocking");
    // Answered once the stretch is over: the same session, nobody dropped.
    t.send("child", text("ping:after"));
    await expect.poll(() => rec.textsFrom("child"), { timeout: blockMs + 10_000 }).toContain("pong:after:0");
    const s = await stats();
    expect(s).toMatchObject({ stalls: 0, heartbeatThread: true });
    expect(s.busy).toBeGreaterThanOrEqual(1);
    expect(rec.downs("child")).toEqual([]);
    expect(child.saw((e) => e.ev === "down")).toBe(false);

    // A node that is truly gone is still caught by the probes.
    child.signal("SIGKILL");
    await expect.poll(() => rec.downs("child"), { timeout: 10_000 }).toEqual(["connection_lost"]);
  });

  it("with auth too: the heartbeat thread seals its heartbeats, and they keep a blocked node up", async () => {
    const { t, rec, child, stats } = await pair("busy3", { secret: "busy cluster secret, long enough" });
    const blockMs = 2 * TIMINGS.heartbeatTimeoutMs;
    t.send("child", text(`block:${blockMs}`));
    await expect.poll(() => rec.textsFrom("child"), { timeout: 5000 }).toContain("blocking");
    t.send("child", text("ping:after"));
    await expect.poll(() => rec.textsFrom("child"), { timeout: blockMs + 10_000 }).toContain("pong:after:0");
    expect(await stats()).toMatchObject({ stalls: 0, heartbeatThread: true });
    expect(rec.downs("child")).toEqual([]);
    expect(child.saw((e) => e.ev === "down")).toBe(false);
    // Every heartbeat the survivor heard, the thread's included, opened.
    expect(Object.values(t.stats().authRejected).every((n) => n === 0)).toBe(true);
  });

  it("still declares a SIGSTOPped node down, and it rejoins under a new session after SIGCONT", async () => {
    const { t, rec, child, stats } = await pair("busy2");
    child.signal("SIGSTOP");
    await expect.poll(() => rec.downs("child"), { timeout: 10_000 }).toEqual(["timeout"]);
    child.signal("SIGCONT");
    await expect.poll(() => rec.isUp("child"), { timeout: 10_000 }).toBe(true);
    await expect
      .poll(() => child.events.filter((e) => e.ev === "up" && e.node === "survivor").length, {
        timeout: 10_000,
      })
      .toBeGreaterThanOrEqual(2);
    t.send("child", text("ping:again"));
    await expect.poll(() => rec.textsFrom("child"), { timeout: 5000 }).toContain("pong:again:0");
    expect((await stats()).stalls).toBeGreaterThanOrEqual(1);
  });
});
