import { describe, expect, it } from "vitest";
import { type DownMessage, ExitMessage, Node, TIMEOUT } from "../../src/process/index.js";

describe("process smoke", () => {
  it("spawns, sends and receives", async () => {
    const node = new Node({ name: "t" });
    const got: unknown[] = [];
    const pid = node.spawn(async (ctx) => {
      got.push(await ctx.receive());
      got.push(await ctx.receive((m) => m === "b"));
      got.push(await ctx.receive());
      got.push(await ctx.receive(undefined, 5));
    });
    node.send(pid, "a");
    node.send(pid, "c");
    node.send(pid, "b");
    const ref = node.monitor(pid);
    const w = node.spawn(async (ctx) => {
      ctx.monitor(pid);
      const down = (await ctx.receive()) as DownMessage;
      got.push(down.reason);
    });
    await expect.poll(() => got.length).toBe(5);
    expect(got).toEqual(["a", "b", "c", TIMEOUT, "normal"]);
    expect(node.isAlive(pid)).toBe(false);
    expect(node.isAlive(w)).toBe(false);
    expect(ref).toBeDefined();
  });

  it("kill is untrappable and links propagate killed", async () => {
    const node = new Node({ name: "t" });
    const msgs: unknown[] = [];
    const a = node.spawn(async (ctx) => {
      ctx.trapExit(true);
      await ctx.receive(() => false);
    });
    const b = node.spawn(async (ctx) => {
      ctx.trapExit(true);
      ctx.link(a);
      msgs.push(await ctx.receive());
    });
    await expect.poll(() => node.processInfo(b)?.links.length).toBe(1);
    node.exit(a, "kill");
    await expect.poll(() => msgs.length).toBe(1);
    expect(msgs[0]).toBeInstanceOf(ExitMessage);
    expect((msgs[0] as ExitMessage).reason).toBe("killed");
  });
});
