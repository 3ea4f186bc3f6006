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
    const err = await GenServer.callOn(defaultNode(), r.pid, "nope", 1).catch((e) => e);
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
