/**
 * `ctx.onExit(fn)`: clean-up a process registers for itself runs however the process dies —
 * return, throw, `exit(pid, "kill")`, a linked exit, `ctx.stop` — once, in registration order,
 * and a hook that throws or rejects is logged without harming the runtime or the other hooks.
 * The socket pattern: a task that owns a `net.Socket` closes it when it is killed.
 */
import { once } from "node:events";
import { createServer, type Socket, connect } from "node:net";
import { describe, expect, it } from "vitest";
import {
  defineServer,
  GenServer,
  type Logger,
  Node,
  ok,
  type ProcessContext,
  Task,
} from "../../src/index.js";
import { idle, newNode, started } from "./helpers.js";

/** A node whose logger keeps what it is told. */
function loggingNode(): { node: Node; errors: Array<{ obj: Record<string, unknown>; msg: string }> } {
  const errors: Array<{ obj: Record<string, unknown>; msg: string }> = [];
  const logger: Logger = {
    error: (obj, msg) => errors.push({ obj, msg }),
    warn: () => {},
    info: () => {},
    debug: () => {},
  };
  return { node: new Node({ name: "hooks", logger }), errors };
}

/** Spawns a process that registers a hook recording its reason, then runs `body`. */
function spawnHooked(
  node: Node,
  body: (ctx: ProcessContext) => unknown,
): { pid: ReturnType<Node["spawn"]>; reasons: unknown[] } {
  const reasons: unknown[] = [];
  const pid = node.spawn(async (ctx) => {
    ctx.onExit((reason) => reasons.push(reason));
    return body(ctx);
  });
  return { pid, reasons };
}

describe("ctx.onExit", () => {
  it("runs when the function returns, throws, or is stopped", async () => {
    const node = newNode();
    const returned = spawnHooked(node, async () => {});
    const boom = new Error("boom");
    const thrown = spawnHooked(node, async () => {
      throw boom;
    });
    const stopped = spawnHooked(node, async (ctx) => {
      ctx.stop({ shutdown: "done" });
      await ctx.receive();
    });
    await expect
      .poll(() => [returned.reasons, thrown.reasons, stopped.reasons])
      .toEqual([["normal"], [boom], [{ shutdown: "done" }]]);
  });

  it("runs when the process is killed while it waits, and when a linked process takes it down", async () => {
    const node = newNode();
    const killed = spawnHooked(node, (ctx) => ctx.receive());
    const other = idle(node);
    const linked = spawnHooked(node, (ctx) => {
      ctx.link(other);
      return ctx.receive();
    });
    await started(node, killed.pid);
    await started(node, linked.pid);
    node.exit(killed.pid, "kill");
    // The hook ran at the moment of death, inside the exit call.
    expect(killed.reasons).toEqual(["killed"]);
    node.exit(other, "crash");
    expect(linked.reasons).toEqual(["crash"]);
    expect(node.processCount).toBe(0);
  });

  it("runs in a GenServer however it ends, killed included (where terminate does not run)", async () => {
    const node = newNode();
    const reasons: unknown[] = [];
    const Server = defineServer()({
      init: (_: undefined, ctx) => {
        ctx.onExit((reason) => reasons.push(reason));
        return ok(0);
      },
      terminate: () => {
        reasons.push("terminate");
      },
    });
    const a = await GenServer.start(Server, undefined, { node });
    const b = await GenServer.start(Server, undefined, { node });
    if (!a.ok || !b.ok) throw new Error("did not start");
    await GenServer.stopOn(node, a.pid);
    expect(reasons).toEqual(["terminate", "normal"]);
    node.exit(b.pid, "kill");
    expect(reasons).toEqual(["terminate", "normal", "killed"]);
  });

  it("runs its hooks once, in registration order, before links and monitors hear of the death", async () => {
    const node = newNode();
    const seen: string[] = [];
    const pid = node.spawn(async (ctx) => {
      ctx.onExit(() => seen.push("first"));
      ctx.onExit(() => seen.push("second"));
      await ctx.receive();
    });
    const watcher = node.spawn(async (ctx) => {
      ctx.monitor(pid);
      await ctx.receive();
      seen.push("DOWN");
    });
    await started(node, pid);
    await started(node, watcher);
    node.exit(pid, "kill");
    node.exit(pid, "kill");
    await expect.poll(() => seen).toEqual(["first", "second", "DOWN"]);
  });

  it("can be unregistered", async () => {
    const node = newNode();
    const seen: string[] = [];
    const pid = node.spawn(async (ctx) => {
      const off = ctx.onExit(() => seen.push("removed"));
      ctx.onExit(() => seen.push("kept"));
      off();
      off();
      await ctx.receive();
    });
    await started(node, pid);
    node.exit(pid, "kill");
    expect(seen).toEqual(["kept"]);
  });

  it("runs at once for a process already dead (killed while its code ran on)", async () => {
    const node = newNode();
    const seen: unknown[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const pid = node.spawn(async (ctx) => {
      await gate; // not a receive: the code resumes even after a kill
      ctx.onExit((reason) => seen.push(reason));
    });
    await new Promise((r) => setImmediate(r));
    node.exit(pid, "kill");
    release();
    await expect.poll(() => seen).toEqual(["killed"]);
  });

  it("logs a hook that throws or rejects, and the runtime and the other hooks carry on", async () => {
    const { node, errors } = loggingNode();
    const seen: string[] = [];
    const pid = node.spawn(async (ctx) => {
      ctx.onExit(() => {
        throw new Error("hook broke");
      });
      ctx.onExit(() => Promise.reject(new Error("hook rejected")));
      ctx.onExit(() => seen.push("after"));
      await ctx.receive();
    });
    await started(node, pid);
    expect(() => node.exit(pid, "kill")).not.toThrow();
    expect(seen).toEqual(["after"]);
    await expect.poll(() => errors.length).toBe(2);
    expect(errors.map((e) => [e.msg, String(e.obj.err)])).toEqual([
      ["exit hook failed", "Error: hook broke"],
      ["exit hook failed", "Error: hook rejected"],
    ]);
    // The process is named `process` (pino's own `pid` is the OS process).
    for (const e of errors) {
      expect(e.obj).not.toHaveProperty("pid");
      expect(e.obj.process).toBe(String(pid));
    }
    // The node still runs processes.
    const after = node.spawn(async (ctx) => ctx.receive());
    node.send(after, "x");
    await expect.poll(() => node.isAlive(after)).toBe(false);
  });

  it("does not run when the whole node is killed", async () => {
    const node = newNode();
    const seen: unknown[] = [];
    const pid = node.spawn(async (ctx) => {
      ctx.onExit((reason) => seen.push(reason));
      await ctx.receive();
    });
    await started(node, pid);
    node.kill();
    expect(seen).toEqual([]);
  });

  it("closes the socket a killed task owns (the socket pattern)", async () => {
    const node = newNode();
    const accepted: Socket[] = [];
    const server = createServer((s) => accepted.push(s));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as { port: number };
    try {
      let clientSocket: Socket | undefined;
      const task = Task.async(
        async (ctx) => {
          const socket = connect(port, "127.0.0.1");
          clientSocket = socket;
          ctx.onExit(() => socket.destroy());
          await once(socket, "connect");
          // Reads until killed: without the hook, the socket would outlive the task.
          for await (const chunk of socket) void chunk;
        },
        { node },
      );
      await expect.poll(() => accepted.length).toBe(1);
      const closed = once(accepted[0]!, "close");
      node.exit(task.pid, "kill");
      await closed;
      expect(clientSocket!.destroyed).toBe(true);
    } finally {
      for (const s of accepted) s.destroy();
      server.close();
    }
  });
});
