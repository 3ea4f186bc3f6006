import { describe, expect, it } from "vitest";
import {
  CallExitError,
  CallTimeoutError,
  defaultNode,
  Node,
  type Pid,
  setDefaultNode,
} from "../../src/process/index.js";
import {
  defineServer,
  GenServer,
  ignore,
  noreply,
  ok,
  reply,
  stop,
  UnknownMessageError,
} from "../../src/server/index.js";
import type { From } from "../../src/process/index.js";
import { silentLogger } from "../../src/logger.js";

interface CounterProtocol {
  calls: { get(): number; add(n: number): number; later(): string; crash(): never; stopMe(): string };
  casts: { reset(to: number): void };
}

const waiting: From[] = [];

const Counter = defineServer<CounterProtocol>()({
  name: "Counter",
  init: (start: number) => ok(start),
  handleCall: {
    get: (_a, s) => reply(s, s),
    add: (n, s) => reply(s + n, s + n),
    later: (_a, s, ctx) => {
      waiting.push(ctx.from!);
      return noreply(s);
    },
    crash: () => {
      throw new Error("boom");
    },
    stopMe: (_a, s) => stop("normal", s, "bye"),
  },
  handleCast: {
    reset: (to) => noreply(to),
  },
});

setDefaultNode(new Node({ name: "gs", logger: silentLogger }));

describe("GenServer.start", () => {
  it("runs init and answers typed calls", async () => {
    const r = await GenServer.start(Counter, 10);
    if (!r.ok) throw new Error("start failed");
    const n: number = await GenServer.call(r.pid, "add", 5);
    expect(n).toBe(15);
    expect(await GenServer.call(r.pid, "get")).toBe(15);
    GenServer.cast(r.pid, "reset", 1);
    expect(await GenServer.call(r.pid, "get")).toBe(1);
  });

  it("returns ignore and error from init", async () => {
    const Ign = defineServer<{}>()({ init: () => ignore() });
    expect(await GenServer.start(Ign, undefined)).toEqual({ ok: false, ignore: true });
    const Bad = defineServer<{}>()({ init: () => ({ stop: "nope" }) });
    expect(await GenServer.start(Bad, undefined)).toEqual({ ok: false, error: "nope" });
    const Throws = defineServer<{}>()({
      init: () => {
        throw new Error("init boom");
      },
    });
    const r = await GenServer.start(Throws, undefined);
    expect(r.ok).toBe(false);
  });

  it("registers a name and refuses a taken one", async () => {
    const a = await GenServer.start(Counter, 1, { name: "counter-a" });
    expect(a.ok).toBe(true);
    expect(await GenServer.call<CounterProtocol, "get">("counter-a", "get")).toBe(1);
    const b = await GenServer.start(Counter, 1, { name: "counter-a" });
    expect(b).toEqual({ ok: false, error: { alreadyStarted: (a as { pid: Pid }).pid } });
  });
});

describe("GenServer.call", () => {
  it("supports deferred replies", async () => {
    const r = await GenServer.start(Counter, 0);
    if (!r.ok) throw new Error();
    const p = GenServer.call(r.pid, "later");
    await expect.poll(() => waiting.length).toBe(1);
    GenServer.reply(waiting.pop()!, "done");
    expect(await p).toBe("done");
  });

  it("fails with the crash reason when the server dies, and noproc afterwards", async () => {
    const r = await GenServer.start(Counter, 0);
    if (!r.ok) throw new Error();
    const err = await GenServer.call(r.pid, "crash").catch((e) => e);
    expect(err).toBeInstanceOf(CallExitError);
    expect((err as CallExitError).reason).toBeInstanceOf(Error);
    const err2 = await GenServer.call(r.pid, "get").catch((e) => e);
    expect(err2).toBeInstanceOf(CallExitError);
    expect((err2 as CallExitError).reason).toBe("noproc");
  });

  it("times out with a named error", async () => {
    const r = await GenServer.start(Counter, 0);
    if (!r.ok) throw new Error();
    const err = await GenServer.call(r.pid, "later", undefined, 20).catch((e) => e);
    expect(err).toBeInstanceOf(CallTimeoutError);
  });

  it("crashes the server on an unknown call name", async () => {
    const r = await GenServer.start(Counter, 0);
    if (!r.ok) throw new Error();
    // An untyped pid takes any name (the typed one refuses "nope" at compile time).
    const err = await GenServer.callOn(defaultNode(), r.pid as Pid, "nope", 1).catch((e) => e);
    expect(err).toBeInstanceOf(CallExitError);
    expect((err as CallExitError).reason).toBeInstanceOf(UnknownMessageError);
    expect(GenServer.whereis(r.pid)).toBeUndefined();
  });
});

describe("GenServer.stop", () => {
  it("runs terminate and resolves when dead", async () => {
    const log: unknown[] = [];
    const T = defineServer<{}>()({
      init: () => ok(0),
      terminate: (reason) => {
        log.push(reason);
      },
    });
    const r = await GenServer.start(T, undefined);
    if (!r.ok) throw new Error();
    await GenServer.stop(r.pid, "shutdown");
    expect(log).toEqual(["shutdown"]);
    expect(GenServer.whereis(r.pid)).toBeUndefined();
  });

  it("stop result replies then exits", async () => {
    const r = await GenServer.start(Counter, 0);
    if (!r.ok) throw new Error();
    expect(await GenServer.call(r.pid, "stopMe")).toBe("bye");
    await expect.poll(() => GenServer.whereis(r.pid)).toBeUndefined();
  });
});

describe("GenServer init", () => {
  interface Echo {
    calls: { self(): Pid; seen(): unknown[] };
  }

  it("runs inside the new process, before any message it was sent", async () => {
    let selfInInit: Pid | undefined;
    const E = defineServer<Echo>()({
      init: (_a: undefined, ctx) => {
        selfInInit = ctx.self;
        // A message to itself during init waits for init (and handleContinue) to finish.
        ctx.send(ctx.self, "from-init");
        return ok([] as unknown[], "cont");
      },
      handleContinue: (c, s) => noreply([...s, c]),
      handleInfo: (m, s) => noreply([...s, m]),
      handleCall: { self: (_a, s, ctx) => reply(ctx.self, s), seen: (_a, s) => reply(s, s) },
    });
    const r = await GenServer.start(E, undefined);
    if (!r.ok) throw new Error("start failed");
    expect(selfInInit?.equals(r.pid)).toBe(true);
    expect(defaultNode().processInfo(r.pid)?.behaviour).toBe("GenServer");
    const named = await GenServer.start(Counter, 1);
    if (!named.ok) throw new Error("start failed");
    expect(defaultNode().processInfo(named.pid)?.behaviour).toBe("Counter");
    expect((await GenServer.call(r.pid, "self")).equals(r.pid)).toBe(true);
    expect(await GenServer.call(r.pid, "seen")).toEqual(["cont", "from-init"]);
  });

  it("may start and link further servers, each answering before its starter goes on", async () => {
    const order: string[] = [];
    const Leaf = defineServer<{}>()({
      init: (n: number) => {
        order.push(`leaf ${n}`);
        return ok(n);
      },
    });
    const Tree = defineServer<{ calls: { kids(): Pid[] } }>()({
      init: async (_a: undefined, ctx) => {
        order.push("tree");
        const a = await GenServer.startLink(Leaf, 1);
        // After an `await` the calling process is no longer known (docs/differences.md): name it.
        const b = await GenServer.startLink(Leaf, 2, { linkTo: ctx.self });
        if (!a.ok || !b.ok) return { stop: "leaf failed" };
        order.push("tree done");
        return ok([a.pid, b.pid]);
      },
      handleCall: { kids: (_a, s) => reply(s, s) },
    });
    const r = await GenServer.start(Tree, undefined);
    if (!r.ok) throw new Error("start failed");
    expect(order).toEqual(["tree", "leaf 1", "leaf 2", "tree done"]);
    const kids = await GenServer.call(r.pid, "kids");
    expect(defaultNode().processInfo(r.pid)?.links.map(String).sort()).toEqual(kids.map(String).sort());
  });

  it("fails the start with the exit reason when the process dies during init", async () => {
    const dead = defaultNode().spawn(() => undefined);
    await expect.poll(() => defaultNode().isAlive(dead)).toBe(false);
    // Linking to a dead process (not trapping exits) kills the caller with `noproc`.
    const LinksDead = defineServer<{}>()({
      init: (_a: undefined, ctx) => {
        ctx.link(dead);
        return ok(0);
      },
    });
    expect(await GenServer.start(LinksDead, undefined)).toEqual({ ok: false, error: "noproc" });
  });

  it("fails the start with `killed` when the process is killed during an async init", async () => {
    let release: () => void = () => {};
    let pid: Pid | undefined;
    const Slow = defineServer<{}>()({
      init: async (_a: undefined, ctx) => {
        pid = ctx.self;
        await new Promise<void>((r) => {
          release = r;
        });
        return ok(0);
      },
    });
    const started = GenServer.start(Slow, undefined);
    await expect.poll(() => pid).toBeDefined();
    defaultNode().exit(pid!, "kill");
    expect(await started).toEqual({ ok: false, error: "killed" });
    release();
    expect(defaultNode().isAlive(pid!)).toBe(false);
  });

  it("fails the start with `timeout` and kills the server when init outlasts timeoutMs", async () => {
    let pid: Pid | undefined;
    const Never = defineServer<{}>()({
      init: (_a: undefined, ctx) => {
        pid = ctx.self;
        return new Promise<never>(() => {});
      },
    });
    expect(await GenServer.start(Never, undefined, { timeoutMs: 20 })).toEqual({
      ok: false,
      error: "timeout",
    });
    expect(defaultNode().isAlive(pid!)).toBe(false);
  });
});

describe("GenServer start edge cases", () => {
  const Leaf = defineServer<{}>()({ init: () => ok(0) });

  it("runs handleContinue after the start answered, in the new process, before any message", async () => {
    const seen: string[] = [];
    const Cont = defineServer<{ calls: { seen(): string[] } }>()({
      init: () => ok([] as string[], "setup"),
      handleContinue: (c, s, ctx) => {
        seen.push(`continue in ${String(ctx.self)}`);
        // Starting other servers here must not disturb the answer of this start.
        void GenServer.start(Leaf, undefined);
        return noreply([...s, String(c)]);
      },
      handleInfo: (m, s) => noreply([...s, String(m)]),
      handleCall: { seen: (_a, s) => reply(s, s) },
    });
    const started = GenServer.start(Cont, undefined);
    expect(seen).toEqual([]); // not on the starter's stack
    const r = await started;
    if (!r.ok) throw new Error(`start failed: ${JSON.stringify(r)}`);
    defaultNode().send(r.pid, "hello");
    expect(await GenServer.call(r.pid, "seen")).toEqual(["setup", "hello"]);
    expect(seen).toEqual([`continue in ${String(r.pid)}`]);
  });

  it("fails at once when linked to a process already dead, or when it dies in an async init's synchronous part", async () => {
    const dead = defaultNode().spawn(() => undefined);
    await expect.poll(() => defaultNode().isAlive(dead)).toBe(false);
    const before = defaultNode().processCount;
    expect(await GenServer.startLink(Leaf, undefined, { linkTo: dead })).toEqual({
      ok: false,
      error: "noproc",
    });
    const EarlyDeath = defineServer<{}>()({
      init: async (_a: undefined, ctx) => {
        ctx.link(dead); // kills the server (not trapping) before the first await
        await Promise.resolve();
        return ok(0);
      },
    });
    expect(await GenServer.start(EarlyDeath, undefined)).toEqual({ ok: false, error: "noproc" });
    expect(defaultNode().processCount).toBe(before);
  });

  it("rejects, leaving no process behind, when a via module throws on registration", async () => {
    const Broken = {
      whereisName: () => undefined,
      registerName: (): never => {
        throw new Error("registry down");
      },
      unregisterName: () => {},
      send: () => {},
    };
    const before = defaultNode().processCount;
    await expect(GenServer.start(Leaf, undefined, { name: { via: Broken, key: "k" } })).rejects.toThrow(
      "registry down",
    );
    expect(defaultNode().processCount).toBe(before);
  });

  it("throws a request builder's error to the caller and leaves no call waiting", async () => {
    const r = await GenServer.start(Leaf, undefined);
    if (!r.ok) throw new Error("start failed");
    const node = defaultNode();
    expect(() =>
      node.call(
        r.pid,
        () => {
          throw new Error("cannot build");
        },
        50,
      ),
    ).toThrow("cannot build");
    expect(node.pendingCalls).toBe(0);
  });

  it("serialises a From as its pid and ref", async () => {
    let from: From | undefined;
    const Keep = defineServer<{ calls: { keep(): string } }>()({
      init: () => ok(0),
      handleCall: {
        keep: (_a, s, ctx) => {
          from = ctx.from;
          return reply("kept", s);
        },
      },
    });
    const r = await GenServer.start(Keep, undefined);
    if (!r.ok) throw new Error("start failed");
    await GenServer.call(r.pid, "keep");
    expect(JSON.parse(JSON.stringify(from))).toEqual(
      JSON.parse(JSON.stringify({ pid: from!.pid, ref: from!.ref })),
    );
  });
});
