import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import type { Node, Pid } from "../../src/process/index.js";
import { newNode } from "./helpers.js";

/** Two handler processes bouncing a counter until `stop()`; `count()` tells the bounces so far. */
function handlerPingPong(node: Node): { count: () => number; stop: () => void } {
  let n = 0;
  let running = true;
  let a: Pid | undefined;
  let b: Pid | undefined;
  const bounce = (to: () => Pid | undefined) => (msg: unknown) => {
    n++;
    if (running) node.send(to()!, msg);
  };
  a = node.spawnHandler(
    bounce(() => b),
    null,
  ).pid;
  b = node.spawnHandler(
    bounce(() => a),
    null,
  ).pid;
  node.send(a, "ball");
  return { count: () => n, stop: () => void (running = false) };
}

/** Two async-function processes bouncing a message with `receive`. */
function fiberPingPong(node: Node): { count: () => number; stop: () => void } {
  let n = 0;
  let running = true;
  const a = node.spawn(async (ctx) => {
    while (running) {
      const from = (await ctx.receive()) as Pid;
      n++;
      ctx.send(from, ctx.self);
    }
  });
  node.spawn(async (ctx) => {
    ctx.send(a, ctx.self);
    while (running) {
      await ctx.receive();
      n++;
      ctx.send(a, ctx.self);
    }
  });
  return { count: () => n, stop: () => void (running = false) };
}

/** Resolves with the bounce count seen by a callback registered while the flood runs. */
function firesDuring(register: (cb: () => void) => void, count: () => number): Promise<number> {
  return new Promise((resolve) => register(() => resolve(count())));
}

describe("scheduler fairness", () => {
  for (const [label, flood] of [
    ["handler", handlerPingPong],
    ["async-function", fiberPingPong],
  ] as const) {
    it(`lets a setTimeout fire while two ${label} processes ping-pong forever`, async () => {
      const node = newNode();
      const pp = flood(node);
      const seen = await firesDuring((cb) => setTimeout(cb, 1), pp.count);
      pp.stop();
      expect(seen).toBeGreaterThan(0);
    });

    it(`lets setImmediate and an I/O callback run while two ${label} processes ping-pong forever`, async () => {
      const node = newNode();
      const pp = flood(node);
      await firesDuring((cb) => setImmediate(cb), pp.count);
      await firesDuring((cb) => void readFile(import.meta.filename).then(cb), pp.count);
      pp.stop();
      expect(pp.count()).toBeGreaterThan(0);
    });
  }

  it("lets a timer fire before a handler process has drained a million queued messages", async () => {
    const node = newNode();
    const total = 1_000_000;
    let handled = 0;
    const { pid } = node.spawnHandler(() => {
      handled++;
    }, null);
    for (let i = 0; i < total; i++) node.send(pid, i);
    const seen = await firesDuring(
      (cb) => setTimeout(cb, 0),
      () => handled,
    );
    expect(seen).toBeLessThan(total);
    await expect.poll(() => handled, { timeout: 20_000 }).toBe(total);
  });

  it("lets a timer fire before an async-function process has received a million queued messages", async () => {
    const node = newNode();
    const total = 1_000_000;
    let handled = 0;
    const pid = node.spawn(async (ctx) => {
      while (handled < total) {
        await ctx.receive();
        handled++;
      }
    });
    for (let i = 0; i < total; i++) node.send(pid, i);
    const seen = await firesDuring(
      (cb) => setTimeout(cb, 0),
      () => handled,
    );
    expect(seen).toBeLessThan(total);
    await expect.poll(() => handled, { timeout: 20_000 }).toBe(total);
  });

  it("handles every process with mail: one busy process does not starve another", async () => {
    const node = newNode();
    let busy = 0;
    let quiet = 0;
    const hog = node.spawnHandler(() => {
      busy++;
      node.send(hog, "again");
    }, null).pid;
    node.send(hog, "start");
    const other = node.spawnHandler(() => {
      quiet++;
    }, null).pid;
    node.send(other, "hello");
    await expect.poll(() => quiet).toBe(1);
    node.exit(hog, "kill");
    expect(busy).toBeGreaterThan(0);
  });

  it("runs a handler process's init before its first message", async () => {
    const node = newNode();
    const log: unknown[] = [];
    const { pid } = node.spawnHandler(
      (msg) => {
        log.push(msg);
      },
      async () => {
        log.push("init");
      },
    );
    node.send(pid, "first");
    await expect.poll(() => log).toEqual(["init", "first"]);
  });
});
