/**
 * `startNodeThreads({ nats })`: the node threads of one process join a NATS cluster as its
 * members (each thread its own connection), beside a node of another process — here, of this
 * thread — on a real nats-server. A thread blocked for seconds stays up (its heartbeat thread
 * beats for it); a terminated thread is declared down by the probes.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Cluster } from "../../src/cluster/index.js";
import { silentLogger } from "../../src/logger.js";
import { Node } from "../../src/process/index.js";
import { type NodeThreads, startNodeThreads } from "../../src/threads/index.js";
import { InvalidOptionError } from "../../src/errors.js";
import { type NatsServer, startNatsServer, stopAllNatsServers } from "../support/nats-server.js";

const probe = new URL("./fixtures/probe-node.ts", import.meta.url);
let server: NatsServer;
let threads: NodeThreads | undefined;

beforeAll(async () => {
  server = await startNatsServer("threads-nats");
});
afterEach(async () => {
  await threads?.stop();
  threads = undefined;
});
afterAll(stopAllNatsServers);

type Status = { nodes: string[]; downs: string[]; blockedMs: number };

function ask<T>(main: Cluster, node: string, op: string, extra: object = {}, timeoutMs = 10_000): Promise<T> {
  return main.node.call({ name: "probe", node }, (from) => ({ from, op, ...extra }), timeoutMs) as Promise<T>;
}

async function start(cluster: string, names: string[]): Promise<Cluster> {
  const nats = {
    connection: { servers: server.url, reconnectTimeWait: 100 },
    heartbeatIntervalMs: 200,
    heartbeatTimeoutMs: 3000,
    probeIntervalMs: 50,
  };
  threads = await startNodeThreads({ module: probe, names, cluster, quiet: true, nats });
  const main = await threads.join(new Node({ name: "main", logger: silentLogger }), { logger: silentLogger });
  await expect.poll(() => main.nodes(), { timeout: 15_000 }).toEqual([...names].sort());
  return main;
}

describe("startNodeThreads over NATS", () => {
  it("the threads are members of the NATS cluster: they and a node outside them call each other", {
    timeout: 90_000,
  }, async () => {
    const main = await start("tn1", ["a", "b"]);
    for (const n of ["a", "b"]) expect(await ask(main, n, "ping")).toBe(n);
    await expect.poll(async () => (await ask<Status>(main, "a", "status")).nodes).toEqual(["b", "main"]);
  });

  it("a thread busy for seconds is declared down by nobody; a terminated one by everybody", {
    timeout: 90_000,
  }, async () => {
    const main = await start("tn2", ["a", "b", "c"]);
    const downs: string[] = [];
    main.on("nodedown", (e) => downs.push(`${e.node}:${e.reason}`));
    // Longer than the heartbeat timeout: only the thread's heartbeat thread keeps it up.
    expect(await ask(main, "b", "block", { ms: 4500 })).toBe("blocking");
    await expect
      .poll(async () => (await ask<Status>(main, "b", "status")).blockedMs, { timeout: 15_000 })
      .toBeGreaterThanOrEqual(4500);
    expect(downs).toEqual([]);
    for (const n of ["a", "b", "c"]) expect((await ask<Status>(main, n, "status")).downs).toEqual([]);

    threads!.kill("c");
    await expect.poll(() => downs, { timeout: 10_000 }).toEqual([expect.stringMatching(/^c:/)]);
    await expect
      .poll(async () => (await ask<Status>(main, "a", "status")).downs, { timeout: 10_000 })
      .toEqual([expect.stringMatching(/^c:/)]);
    expect(main.nodes()).toEqual(["a", "b"]);
  });

  it("a paused thread answers once resumed", { timeout: 90_000 }, async () => {
    const main = await start("tn3", ["a", "b"]);
    threads!.pause("a");
    const answer = ask(main, "a", "ping");
    expect(await ask(main, "b", "ping")).toBe("b");
    threads!.resume("a");
    expect(await answer).toBe("a");
  });

  it("refuses NATS options a thread cannot be handed", async () => {
    await expect(
      startNodeThreads({
        module: probe,
        threads: 1,
        nats: { connection: { reconnectDelayHandler: () => 1 } },
      }),
    ).rejects.toBeInstanceOf(InvalidOptionError);
  });
});
