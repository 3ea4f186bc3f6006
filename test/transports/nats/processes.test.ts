import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { NatsTransport } from "../../../src/transports/nats/index.js";
import { type NatsServer, startNatsServer, stopAllNatsServers } from "../../support/nats-server.js";
import { ChildNode } from "./child-node.js";
import { ident, Recorder, TEST_TIMINGS, testTransport, text } from "./recorder.js";

let server: NatsServer;
const children: ChildNode[] = [];
const transports: NatsTransport[] = [];

beforeAll(async () => {
  server = await startNatsServer("processes");
});
afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.kill()));
  await Promise.all(transports.splice(0).map((t) => t.close()));
});
afterAll(stopAllNatsServers);

/** This process's node plus one child-process node `child`, both up in each other's view. */
async function pair(cluster: string, busy = false) {
  const t = testTransport(server.url);
  transports.push(t);
  const rec = new Recorder();
  await t.connect(ident("survivor", 1, cluster), rec);
  const child = new ChildNode({
    servers: [server.url],
    cluster,
    node: "child",
    incarnation: 1,
    timings: { ...TEST_TIMINGS },
    busy,
  });
  children.push(child);
  await expect
    .poll(() => rec.isUp("child") && child.saw((e) => e.ev === "up" && e.node === "survivor"), {
      timeout: 20_000,
      message: "child node did not join",
    })
    .toBe(true);
  return { t, rec, child };
}

describe("NatsTransport across OS processes", () => {
  it("exchanges frames with a node in another process", async () => {
    const { t, rec } = await pair("p1");
    t.send("child", text("ping:1"));
    await expect.poll(() => rec.textsFrom("child"), { timeout: 5000 }).toEqual(["pong:1:0"]);
  });

  it("sees a SIGKILLed node down through its probes", async () => {
    const { rec, child } = await pair("p2");
    const killedAt = performance.now();
    child.signal("SIGKILL");
    await expect.poll(() => rec.downs("child"), { timeout: 10_000 }).toEqual(["connection_lost"]);
    const down = rec.events.find((e) => e.type === "down" && e.peer.node === "child")!;
    console.info(
      `[nats] SIGKILL -> peerDown in ${Math.round(down.at - killedAt)} ms (probe every ${TEST_TIMINGS.probeIntervalMs} ms)`,
    );
  });

  it("sees a SIGSTOPped node down by timeout and up again after SIGCONT", async () => {
    const { t, rec, child } = await pair("p3");
    child.signal("SIGSTOP");
    await expect.poll(() => rec.downs("child"), { timeout: 10_000 }).toEqual(["timeout"]);
    child.signal("SIGCONT");
    await expect.poll(() => rec.isUp("child"), { timeout: 10_000 }).toBe(true);
    // the resumed node rebuilt its own view and talks again
    await expect
      .poll(() => child.events.filter((e) => e.ev === "up" && e.node === "survivor").length, {
        timeout: 10_000,
      })
      .toBeGreaterThanOrEqual(2);
    t.send("child", text("ping:again"));
    await expect.poll(() => rec.textsFrom("child"), { timeout: 5000 }).toContain("pong:again:0");
  });

  it("reports a child's graceful exit as leave", async () => {
    const { rec, child } = await pair("p4");
    child.signal("SIGTERM");
    await child.exited;
    await expect.poll(() => rec.downs("child"), { timeout: 5000 }).toEqual(["leave"]);
  });

  it("keeps a node whose run queue is saturated up: its heartbeats still go out", async () => {
    const { t, rec, child } = await pair("p5", true);
    // Ping-pong until well past twice the heartbeat timeout, each pong proving the flood still runs.
    const started = performance.now();
    const handled: number[] = [];
    for (let i = 0; performance.now() - started < 2 * TEST_TIMINGS.heartbeatTimeoutMs; i++) {
      t.send("child", text(`ping:${i}`));
      await expect.poll(() => rec.textsFrom("child").length, { timeout: 5000 }).toBe(i + 1);
      handled.push(Number(rec.textsFrom("child")[i]!.split(":")[2]));
    }
    expect(handled.at(-1)!).toBeGreaterThan(handled[0]!);
    expect(rec.downs("child")).toEqual([]);
    expect(child.saw((e) => e.ev === "down")).toBe(false);
  });
});
