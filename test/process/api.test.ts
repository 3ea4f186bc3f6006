import { beforeEach, describe, expect, it } from "vitest";
import * as proc from "../../src/process/index.js";
import { type ExitMessage, type Node, NotInProcessError, setDefaultNode } from "../../src/process/index.js";
import { newNode, started, watchExit } from "./helpers.js";

let node: Node;
beforeEach(() => {
  node = newNode();
  setDefaultNode(node);
});

describe("module-level functions", () => {
  it("act on the default node outside any process", async () => {
    const got: unknown[] = [];
    const pid = proc.spawn(async (ctx) => {
      got.push(await ctx.receive());
    });
    expect(pid.node).toBe(node.name);
    proc.register("mod", pid);
    expect(proc.whereis("mod")).toBe(pid);
    expect(proc.processInfo(pid)?.name).toBe("mod");
    proc.send("mod", "hello");
    await expect.poll(() => got).toEqual(["hello"]);
    await expect.poll(() => proc.isAlive(pid)).toBe(false);
    expect(proc.unregister("mod")).toBe(false);
  });

  it("act as the running handler process: spawnLink links to it and exit(self, normal) reaches it as EXIT when trapping", async () => {
    const log: unknown[] = [];
    const { pid } = node.spawnHandler(
      (msg) => {
        if (msg === "spawn") {
          const child = proc.spawnLink(async (ctx) => {
            await ctx.receive();
          });
          log.push(proc.processInfo(child)?.links);
          proc.exit(child, "shutdown");
        } else if (msg === "quit") {
          proc.exit(proc.currentProcess()!, "normal");
        } else log.push(msg);
      },
      null,
      { trapExit: true },
    );
    const seen = watchExit(node, pid);
    node.send(pid, "spawn");
    await expect.poll(() => log.length).toBe(2);
    expect(log[0]).toEqual([pid]);
    expect((log[1] as ExitMessage).reason).toBe("shutdown");
    node.exit(pid, "normal");
    expect(node.isAlive(pid)).toBe(true);
    await expect.poll(() => log.length).toBe(3);
    expect(log[2]).toMatchObject({ from: node.systemPid, reason: "normal" });
    node.send(pid, "quit");
    await expect.poll(() => log.length).toBe(4);
    expect(log[3]).toMatchObject({ from: pid, reason: "normal" });
    node.exit(pid, "kill");
    expect(seen).toEqual({ dead: true, reason: "killed" });
  });

  it("monitor, demonitor and spawnMonitor work from a handler process", async () => {
    const downs: unknown[] = [];
    let monitored: proc.Ref | undefined;
    const { pid } = node.spawnHandler((msg) => {
      if (msg === "start") {
        const { ref } = proc.spawnMonitor(async () => {
          throw new Error("watched");
        });
        monitored = ref;
        const other = proc.spawn(async (ctx) => void (await ctx.receive()));
        const r = proc.monitor(other);
        expect(proc.demonitor(r)).toBe(true);
        proc.exit(other, "kill");
      } else downs.push(msg);
    }, null);
    node.send(pid, "start");
    await expect.poll(() => downs.length).toBe(1);
    expect((downs[0] as proc.DownMessage).ref).toBe(monitored);
  });

  it("link and unlink throw NotInProcessError outside any process", async () => {
    const pid = proc.spawn(async (ctx) => void (await ctx.receive()));
    await started(node, pid);
    expect(() => proc.link(pid)).toThrow(NotInProcessError);
    expect(() => proc.unlink(pid)).toThrow(NotInProcessError);
  });
});
