/**
 * Registry links the registering process to the registry process, as Elixir links it to the
 * registry partition (issue 15): linked on its first key, unlinked after its last, visible in
 * `processInfo().links`; a registry that crashes takes its non-trapping registered processes
 * with it; a registered process that crashes does not take the registry down (it traps exits).
 * Through the public API.
 */
import { describe, expect, it } from "vitest";
import {
  defineServer,
  ExitMessage,
  GenServer,
  Node,
  ok,
  type Pid,
  type ProcessContext,
  Registry,
  setDefaultNode,
  Supervisor,
  silentLogger,
} from "../../src/index.js";

let serial = 0;

/** A fresh node (also the default one, for the calls made from the test) and a registry name. */
function fresh(): { node: Node; name: string } {
  const node = new Node({ name: `reg-links-${++serial}`, logger: silentLogger });
  setDefaultNode(node);
  return { node, name: `links-${serial}` };
}

async function startRegistry(
  node: Node,
  name: string,
  keys: "unique" | "duplicate" = "unique",
): Promise<Pid> {
  const r = await Registry.start({ keys, name, node });
  if (!r.ok) throw new Error("registry start failed");
  return r.pid;
}

/** Messages other than functions that each `holder` received. */
const received = new Map<string, unknown[]>();

/**
 * A process that runs `setup(ctx)` as itself, then runs the functions it is sent and records
 * the other messages in `received`, forever.
 */
function holder(node: Node, setup: (ctx: ProcessContext) => void = () => {}): Promise<Pid> {
  return new Promise((resolve) => {
    const pid = node.spawn(async (ctx) => {
      const got: unknown[] = [];
      received.set(String(ctx.self), got);
      setup(ctx);
      resolve(pid);
      for (;;) {
        const msg = await ctx.receive();
        if (typeof msg === "function") msg(ctx);
        else got.push(msg);
      }
    });
  });
}

/**
 * Runs `fn` inside `pid` (a `holder`) and waits until it ran. It runs after an `await`, so
 * registry calls in it pass the `ctx`.
 */
function inside(node: Node, pid: Pid, fn: (ctx: ProcessContext) => void): Promise<void> {
  return new Promise((resolve) =>
    node.send(pid, (ctx: ProcessContext) => {
      fn(ctx);
      resolve();
    }),
  );
}

function links(node: Node, pid: Pid): string[] {
  return (node.processInfo(pid)?.links ?? []).map(String);
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (cond()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("Registry links", () => {
  it("links the caller on its first key and unlinks it after its last", async () => {
    const { node, name } = fresh();
    const reg = await startRegistry(node, name, "duplicate");
    const p = await holder(node);
    expect(links(node, p)).toEqual([]);
    await inside(node, p, (ctx) => {
      Registry.register(name, "a", 1, ctx);
      Registry.register(name, "b", 2, ctx);
    });
    expect(links(node, p)).toEqual([String(reg)]);
    expect(links(node, reg)).toContain(String(p));
    await inside(node, p, (ctx) => Registry.unregister(name, "a", ctx));
    expect(links(node, p)).toEqual([String(reg)]);
    await inside(node, p, (ctx) => Registry.unregister(name, "b", ctx));
    expect(links(node, p)).toEqual([]);
    expect(links(node, reg)).not.toContain(String(p));
    // Registering again links again.
    await inside(node, p, (ctx) => Registry.register(name, "c", 3, ctx));
    expect(links(node, p)).toEqual([String(reg)]);
  });

  it("links a process registered with a ctx after an await, and a via-named server", async () => {
    const { node, name } = fresh();
    const reg = await startRegistry(node, name);
    const p = await holder(node);
    await inside(node, p, (ctx) => {
      void Promise.resolve().then(() => Registry.register(name, "late", undefined, ctx));
    });
    await until(() => Registry.whereis(name, "late") !== undefined, "the late registration");
    expect(links(node, p)).toEqual([String(reg)]);
    const Idle = defineServer<{}>()({ init: () => ok(null) });
    const s = await GenServer.start(Idle, undefined, { node, name: Registry.via(name, "srv") });
    if (!s.ok) throw new Error("start");
    expect(links(node, s.pid)).toEqual([String(reg)]);
  });

  it("a failed registration (key taken) leaves no link", async () => {
    const { node, name } = fresh();
    await startRegistry(node, name);
    const a = await holder(node, () => Registry.register(name, "k"));
    const b = await holder(node);
    await inside(node, b, (ctx) => {
      expect(Registry.register(name, "k", undefined, ctx).ok).toBe(false);
    });
    expect(links(node, b)).toEqual([]);
    expect(links(node, a)).toHaveLength(1);
  });

  it("a registry crash takes non-trapping registered processes with it; trapping ones get an EXIT", async () => {
    const { node, name } = fresh();
    const reg = await startRegistry(node, name, "duplicate");
    const plain = await holder(node, () => Registry.register(name, "t"));
    const trapping = await holder(node, (ctx) => {
      ctx.trapExit(true);
      Registry.register(name, "t");
    });
    const got = received.get(String(trapping))!;
    const bystander = await holder(node);
    node.exit(reg, "kill");
    await until(() => !node.isAlive(plain), "the registered process to die with the registry");
    await until(() => got.length === 1, "the trapping process's EXIT");
    const exit = got[0] as ExitMessage;
    expect(exit).toBeInstanceOf(ExitMessage);
    expect([String(exit.from), exit.reason]).toEqual([String(reg), "killed"]);
    expect(node.isAlive(trapping)).toBe(true);
    expect(node.isAlive(bystander)).toBe(true);
  });

  it("a process that unregistered its last key is not taken down by the registry", async () => {
    const { node, name } = fresh();
    const reg = await startRegistry(node, name);
    const p = await holder(node, () => Registry.register(name, "k"));
    await inside(node, p, (ctx) => Registry.unregister(name, "k", ctx));
    await Registry.stop(name, "boom");
    expect(node.isAlive(reg)).toBe(false);
    expect(node.isAlive(p)).toBe(true);
  });

  it("a registered process that crashes does not take the registry down", async () => {
    const { node, name } = fresh();
    const reg = await startRegistry(node, name);
    const p = await holder(node, () => Registry.register(name, "k"));
    node.exit(p, "boom");
    expect(Registry.lookup(name, "k")).toEqual([]);
    // The registry handles the EXIT of the link and lives on.
    await until(() => node.processInfo(reg)?.mailboxLength === 0, "the registry to take the EXIT");
    expect(node.isAlive(reg)).toBe(true);
    expect(links(node, reg)).toEqual([]);
  });

  it("still stops with its supervisor, though it traps exits", async () => {
    const { node, name } = fresh();
    const sup = await Supervisor.start(
      [{ id: "reg", start: () => Registry.startLink({ keys: "unique", name, node }), shutdown: 60_000 }],
      { strategy: "one_for_one", node },
    );
    if (!sup.ok) throw new Error("start");
    const reg = node.whereis(name)!;
    const p = await holder(node, () => Registry.register(name, "k"));
    await Supervisor.stop(sup.pid);
    expect(node.isAlive(reg)).toBe(false);
    // Its exit reason, shutdown, reached the registered process through its link.
    expect(node.isAlive(p)).toBe(false);
  });

  it("keeps the link it was started with when that process registers and unregisters", async () => {
    const { node, name } = fresh();
    let reg: Pid | undefined;
    const owner = node.spawn(async (ctx) => {
      const r = await Registry.startLink({ keys: "unique", name, node, linkTo: ctx });
      if (!r.ok) return;
      reg = r.pid;
      Registry.register(name, "k", undefined, ctx);
      Registry.unregister(name, "k", ctx);
      await ctx.receive(() => false);
    });
    await until(
      () => reg !== undefined && Registry.count(name) === 0,
      "the owner to register and unregister",
    );
    expect(links(node, owner)).toEqual([String(reg)]);
  });
});
