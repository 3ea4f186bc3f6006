import { describe, expect, it } from "vitest";
import { ExitMessage, type Pid } from "../../../src/process/index.js";
import { GenServer, noreply, ok, reply } from "../../../src/server/index.js";
import {
  defineParentServer,
  Parent,
  ParentClient,
  ParentGenServer,
  ParentSupervisor,
  START_ERROR,
  startAllChildren,
  ChildStartFailedError,
  type StoppedChildren,
} from "../../../src/supervision/parent/index.js";
import { type Captured, freshNode, Worker, worker } from "./helpers.js";

const logs: Captured[] = [];
const node = freshNode("parent-gs", logs);

describe("ParentGenServer", () => {
  it("terminates with the user's terminate first, then the children one by one in reverse order", async () => {
    const order: string[] = [];
    const Custom = defineParentServer<{ calls: { count(): number } }>()({
      async init(_a: undefined, ctx) {
        for (const id of ["a", "b", "c"])
          await Parent.of(ctx).startChild(worker(node, id, { deaths: order }));
        return ok(0);
      },
      handleCall: { count: (_a, s, ctx) => reply(Parent.of(ctx).countChildren().active, s) },
      terminate() {
        order.push("terminate");
      },
    });
    const r = await ParentGenServer.start(Custom, undefined);
    if (!r.ok) throw new Error("start");
    expect(await GenServer.call(r.pid, "count")).toBe(3);
    await GenServer.stop(r.pid);
    expect(order).toEqual(["terminate", "c", "b", "a"]);
  });

  it("passes non-parent messages to the user's handleInfo, and parent ones never", async () => {
    const seen: unknown[] = [];
    const Custom = defineParentServer<{}>()({
      init: async (_a: undefined, ctx) => {
        await Parent.of(ctx).startChild(worker(node, "a", { deaths: [] }));
        return ok(null);
      },
      handleInfo(msg, s) {
        seen.push(msg);
        return noreply(s);
      },
    });
    const r = await ParentGenServer.start(Custom, undefined);
    if (!r.ok) throw new Error("start");
    const a = (await ParentClient.childPid(r.pid, "a")) as { pid: Pid };
    node.exit(a.pid, "kill");
    node.send(r.pid, "hello");
    await expect.poll(() => seen, { timeout: 2000 }).toEqual(["hello"]);
    expect(seen.some((m) => m instanceof ExitMessage)).toBe(false);
    await GenServer.stop(r.pid);
  });

  it("the in-process shortcuts work inside a child's start function", async () => {
    let seenFirst: unknown;
    const r = await ParentSupervisor.start([
      worker(node, "first", { deaths: [] }),
      {
        id: "second",
        start: () => {
          seenFirst = Parent.childPid("first");
          return GenServer.startLink(
            defineParentServer<{}>()({ init: () => ok(null) }) as never,
            undefined as never,
          );
        },
      },
    ]);
    if (!r.ok) throw new Error("start");
    const first = await ParentClient.childPid(r.pid, "first");
    expect(seenFirst).toEqual(first);
    await GenServer.stop(r.pid);
  });
});

describe("Parent.startAllChildren", () => {
  it("starts in order; on a failure shuts down what it started and throws ChildStartFailedError", async () => {
    const log = { deaths: [] as string[], starts: [] as string[] };
    let thrown: unknown;
    const Custom = defineParentServer<{}>()({
      async init(_a: undefined, ctx) {
        const parent = Parent.of(ctx);
        await parent.startChild(worker(node, "keep", log));
        try {
          await startAllChildren(parent, [
            worker(node, "x", log),
            Parent.childSpec(Worker, "y", { id: "y" }),
            { id: "bad", start: () => ({ ok: false, error: "nope" }) },
            worker(node, "z", log),
          ]);
        } catch (e) {
          thrown = e;
        }
        return ok(null);
      },
    });
    const r = await ParentGenServer.start(Custom, undefined);
    if (!r.ok) throw new Error("start");
    expect(thrown).toBeInstanceOf(ChildStartFailedError);
    expect(thrown).toMatchObject({ id: "bad", reason: "nope" });
    expect(log.starts).toEqual(["keep", "x"]);
    expect(log.deaths).toEqual(["x"]);
    expect((await ParentClient.children(r.pid)).map((c) => c.id)).toEqual(["keep"]);
    await GenServer.stop(r.pid);
  });
});

describe("ParentSupervisor.start", () => {
  it("on the first child error stops the started ones, skips the rest, logs and returns start_error", async () => {
    logs.length = 0;
    const log = { deaths: [] as string[], starts: [] as string[] };
    const r = await ParentSupervisor.start([
      worker(node, "a", log),
      worker(node, "b", log),
      { id: "bad", start: () => ({ ok: false, error: "boom" }) },
      worker(node, "c", log),
    ]);
    expect(r).toEqual({ ok: false, error: START_ERROR });
    expect(log.starts).toEqual(["a", "b"]);
    expect(log.deaths).toEqual(["b", "a"]);
    expect(logs.some((l) => l.level === "error" && l.msg === "Error starting the child bad: boom")).toBe(
      true,
    );
  });

  it("rejects invalid options", () => {
    expect(() => ParentSupervisor.start([], { maxRestarts: -1 })).toThrow(/maxRestarts/);
  });
});

describe("Parent (low level)", () => {
  it("lets a plain spawned process be a parent with a receive loop", async () => {
    const events: string[] = [];
    const stoppedSeen: StoppedChildren[] = [];
    const log = { deaths: [] as string[], starts: [] as string[] };
    let parentPid: Pid | undefined;
    node.spawn(async (ctx) => {
      const parent = Parent.initialize({ maxRestarts: 10 }, ctx);
      parentPid = ctx.self;
      await parent.startChild(worker(node, "perm", log));
      await parent.startChild(worker(node, "temp", log, { restart: "temporary", ephemeral: true }));
      events.push("ready");
      for (;;) {
        const msg = await ctx.receive();
        const ev = parent.handleMessage(msg);
        if (ev === undefined) {
          events.push(`custom:${String(msg)}`);
          if (msg === "stop") return;
          continue;
        }
        const e = await ev;
        if (e.type === "stoppedChildren") stoppedSeen.push(e.stopped);
      }
    });
    await expect.poll(() => events, { timeout: 2000 }).toEqual(["ready"]);
    const parent = Parent.of(parentPid!);
    const perm = parent.childPid("perm") as { pid: Pid };
    node.exit(perm.pid, "kill");
    await expect.poll(() => log.starts, { timeout: 2000 }).toEqual(["perm", "temp", "perm"]);
    node.exit((parent.childPid("temp") as { pid: Pid }).pid, "kill");
    await expect.poll(() => stoppedSeen.length, { timeout: 2000 }).toBe(1);
    expect([...stoppedSeen[0]!.keys()]).toEqual(["temp"]);
    node.send(parentPid!, "stop");
    await expect.poll(() => events, { timeout: 2000 }).toEqual(["ready", "custom:stop"]);
  });

  it("Parent.* outside a parent process throws NotAParentError", () => {
    expect(() => Parent.children()).toThrow(/not a parent/);
  });
});
