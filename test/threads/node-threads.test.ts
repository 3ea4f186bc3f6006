/**
 * `startNodeThreads` with real worker threads: a node per thread, joined with a node of this
 * thread over the thread transport. A thread whose event loop is blocked for seconds is declared
 * down by nobody; a terminated thread is declared down (`connection_lost`) by everybody.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Cluster } from "../../src/cluster/index.js";
import { silentLogger } from "../../src/logger.js";
import { Node } from "../../src/process/index.js";
import { NodeThreadStartError, type NodeThreads, startNodeThreads } from "../../src/threads/index.js";

const probe = new URL("./fixtures/probe-node.ts", import.meta.url);
let threads: NodeThreads | undefined;

afterEach(async () => {
  await threads?.stop();
  threads = undefined;
});

type Status = { nodes: string[]; downs: string[]; blockedMs: number };

function ask<T>(main: Cluster, node: string, op: string, extra: object = {}, timeoutMs = 10_000): Promise<T> {
  return main.node.call({ name: "probe", node }, (from) => ({ from, op, ...extra }), timeoutMs) as Promise<T>;
}

async function start(names: string[]): Promise<Cluster> {
  threads = await startNodeThreads({ module: probe, names, cluster: "nt", quiet: true });
  const main = await threads.join(new Node({ name: "main", logger: silentLogger }), { logger: silentLogger });
  await expect.poll(() => main.nodes(), { timeout: 10_000 }).toEqual([...names].sort());
  return main;
}

describe("startNodeThreads", () => {
  it("runs a node per thread; nodes of this thread and of the threads call each other", async () => {
    const main = await start(["a", "b", "c"]);
    for (const n of ["a", "b", "c"]) expect(await ask(main, n, "ping")).toBe(n);
    for (const n of ["a", "b", "c"]) {
      const others = ["a", "b", "c", "main"].filter((x) => x !== n);
      await expect.poll(async () => (await ask<Status>(main, n, "status")).nodes).toEqual(others);
    }
  });

  it("a thread busy for seconds is declared down by nobody; a killed thread by everybody", async () => {
    const main = await start(["a", "b", "c"]);
    const downs: string[] = [];
    main.on("nodedown", (e) => downs.push(`${e.node}:${e.reason}`));
    expect(await ask(main, "b", "block", { ms: 3000 })).toBe("blocking");
    // While b is blocked the others go on answering.
    for (const n of ["a", "c"]) expect(await ask(main, n, "ping")).toBe(n);
    // b answers again once its stretch is over: it was busy, not gone.
    expect(await ask<Status>(main, "b", "status")).toMatchObject({ downs: [] });
    expect((await ask<Status>(main, "b", "status")).blockedMs).toBeGreaterThanOrEqual(3000);
    expect(downs).toEqual([]);
    for (const n of ["a", "c"]) expect((await ask<Status>(main, n, "status")).downs).toEqual([]);
    expect(main.nodes()).toEqual(["a", "b", "c"]);

    threads!.kill("c");
    await expect.poll(() => downs, { timeout: 5000 }).toEqual(["c:connection_lost"]);
    await expect
      .poll(async () => (await ask<Status>(main, "a", "status")).downs)
      .toEqual(["c:connection_lost"]);
    expect(await threads!.exited("c")).toBe(1);
    expect(main.nodes()).toEqual(["a", "b"]);
  });

  it("a paused thread holds its mail and handles it once resumed; nobody declares it down", async () => {
    const main = await start(["a", "b"]);
    const downs: string[] = [];
    main.on("nodedown", (e) => downs.push(e.node));
    threads!.pause("a");
    const answer = ask(main, "a", "ping");
    expect(await ask(main, "b", "ping")).toBe("b");
    threads!.resume("a");
    expect(await answer).toBe("a");
    expect(downs).toEqual([]);
  });

  it("fails with NodeThreadStartError when a thread's module has no main", async () => {
    const err = await startNodeThreads({
      module: new URL("./node-threads.test.ts", import.meta.url).href.replace(
        "node-threads.test",
        "fixtures/none",
      ),
      threads: 1,
      quiet: true,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NodeThreadStartError);
  });
});
