/**
 * A start that throws is told apart from one that returns an error (issue 15). Elixir keeps them
 * apart — `{:error, reason}` returned vs `{:error, {exception, stack}}` for a raise — and so do
 * we: a thrown value or a rejection becomes a `StartCrashError` (code `HV_ERR_START_CRASH`)
 * keeping the value (`thrown`, also `cause`) and its stack, in every layer that runs a start:
 * GenServer `init`, Supervisor / DynamicSupervisor / Parent child starts, supervisor module
 * `init`, hub child starts. A returned `{ ok: false, error }` (or an `init` returning `{ stop }`)
 * keeps its error as is. Checked through the public API, and across the wire.
 */
import { describe, expect, it } from "vitest";
import {
  DynamicSupervisor,
  defineServer,
  GenServer,
  HubvisorError,
  Node,
  ok,
  ParentClient,
  ParentSupervisor,
  ProcessHub,
  type Pid,
  setDefaultNode,
  StartCrashError,
  type StartResult,
  Supervisor,
  silentLogger,
} from "../../src/index.js";
import { startMemoryCluster } from "../../src/testing.js";

setDefaultNode(new Node({ name: "start-crash", logger: silentLogger }));

const Idle = defineServer<{}>()({ name: "Idle", init: () => ok(null) });

const throwsOops = (): StartResult => {
  throw "oops";
};
const returnsOops = (): StartResult => ({ ok: false, error: "oops" });

/** A `StartCrashError` for `thrown`, with the code every layer matches on. */
function expectCrash(error: unknown, thrown: unknown): void {
  expect(error).toBeInstanceOf(StartCrashError);
  expect(HubvisorError.is(error) && error.code).toBe("HV_ERR_START_CRASH");
  expect((error as StartCrashError).thrown).toBe(thrown);
  expect((error as StartCrashError).cause).toBe(thrown);
}

function errorOf(r: { ok: boolean }): unknown {
  expect(r.ok).toBe(false);
  return (r as { error?: unknown }).error;
}

describe("GenServer init", () => {
  it("that throws gives a StartCrashError; { stop } gives its reason as is", async () => {
    const Throws = defineServer<{}>()({
      name: "Throws",
      init: () => {
        throw "oops";
      },
    });
    const Stops = defineServer<{}>()({ name: "Stops", init: () => ({ stop: "oops" }) });
    const crashed = errorOf(await GenServer.start(Throws, undefined));
    expectCrash(crashed, "oops");
    expect((crashed as StartCrashError).callback).toBe("Throws.init");
    expect(errorOf(await GenServer.start(Stops, undefined))).toBe("oops");
  });

  it("that rejects keeps the error and its stack", async () => {
    const boom = new Error("boom");
    const Rejects = defineServer<{}>()({
      name: "Rejects",
      init: async () => {
        await Promise.resolve();
        throw boom;
      },
    });
    const crashed = errorOf(await GenServer.start(Rejects, undefined)) as StartCrashError;
    expectCrash(crashed, boom);
    // The frames are the thrown error's own, under a header naming what threw.
    expect(crashed.stack?.split("\n")[0]).toMatch(/^StartCrashError: Rejects\.init threw/);
    const frames = boom.stack!.split("\n").filter((l) => l.trim().startsWith("at "));
    expect(frames.length).toBeGreaterThan(0);
    expect(crashed.stack).toContain(frames[0]);
  });

  it("that throws still exits the process with the thrown value, as any crash", async () => {
    const node = new Node({ name: "crash-exit", logger: silentLogger });
    const Throws = defineServer<{}>()({
      init: () => {
        throw "oops";
      },
    });
    let reason: unknown;
    const watcher = node.spawn(async (ctx) => {
      ctx.trapExit(true);
      await GenServer.startLink(Throws, undefined, { linkTo: ctx });
      reason = ((await ctx.receive()) as { reason: unknown }).reason;
    });
    await expect.poll(() => reason).toBe("oops");
    expect(node.isAlive(watcher)).toBe(false);
  });
});

describe("Supervisor and DynamicSupervisor child starts", () => {
  it("Supervisor.start: a throwing child is a StartCrashError, a returned error stays as is", async () => {
    const thrown = await Supervisor.start([{ id: "c", start: throwsOops }], { strategy: "one_for_one" });
    const reason = (errorOf(thrown) as { shutdown: { failedToStartChild: unknown; reason: unknown } })
      .shutdown;
    expect(reason.failedToStartChild).toBe("c");
    expectCrash(reason.reason, "oops");
    const returned = await Supervisor.start([{ id: "c", start: returnsOops }], { strategy: "one_for_one" });
    expect(errorOf(returned)).toEqual({ shutdown: { failedToStartChild: "c", reason: "oops" } });
  });

  it("Supervisor.startChild tells the two apart", async () => {
    const r = await Supervisor.start([], { strategy: "one_for_one" });
    if (!r.ok) throw new Error("start");
    expectCrash(errorOf(await Supervisor.startChild(r.pid, { id: "t", start: throwsOops })), "oops");
    expect(errorOf(await Supervisor.startChild(r.pid, { id: "r", start: returnsOops }))).toBe("oops");
    await Supervisor.stop(r.pid);
  });

  it("a Supervisor module init that throws is a StartCrashError", async () => {
    const r = await Supervisor.start(
      {
        name: "Sup",
        init: () => {
          throw "oops";
        },
      },
      undefined,
    );
    const e = errorOf(r);
    expectCrash(e, "oops");
    expect((e as StartCrashError).callback).toBe("Sup.init");
  });

  it("DynamicSupervisor.startChild: throw and rejection are StartCrashErrors, a returned error is not", async () => {
    const r = await DynamicSupervisor.start();
    if (!r.ok) throw new Error("start");
    const boom = new Error("boom");
    expectCrash(errorOf(await DynamicSupervisor.startChild(r.pid, { start: throwsOops })), "oops");
    expectCrash(
      errorOf(await DynamicSupervisor.startChild(r.pid, { start: () => Promise.reject(boom) })),
      boom,
    );
    expect(errorOf(await DynamicSupervisor.startChild(r.pid, { start: returnsOops }))).toBe("oops");
    // A GenServer child whose init throws: the start function returned the init's crash.
    const Throws = defineServer<{}>()({
      name: "Throws",
      init: () => {
        throw "oops";
      },
    });
    const viaInit = errorOf(
      await DynamicSupervisor.startChild(r.pid, { start: () => GenServer.startLink(Throws, undefined) }),
    );
    expectCrash(viaInit, "oops");
    expect((viaInit as StartCrashError).callback).toBe("Throws.init");
    await DynamicSupervisor.stop(r.pid);
  });
});

describe("Parent child starts", () => {
  it("ParentClient.startChild tells a throw from a returned error", async () => {
    const r = await ParentSupervisor.start([]);
    if (!r.ok) throw new Error("start");
    expectCrash(errorOf(await ParentClient.startChild(r.pid, { id: "t", start: throwsOops })), "oops");
    expectCrash(
      errorOf(await ParentClient.startChild(r.pid, { id: "j", start: () => Promise.reject("oops") })),
      "oops",
    );
    expect(errorOf(await ParentClient.startChild(r.pid, { id: "r", start: returnsOops }))).toBe("oops");
    expect((await ParentClient.children(r.pid)).length).toBe(0);
    await GenServer.stop(r.pid);
  });
});

describe("hub child starts", () => {
  it("a start that throws is reported as a StartCrashError, an init's { stop } as its reason", async () => {
    const node = new Node({ name: "hub-crash", logger: silentLogger });
    const hub = ProcessHub.start({
      hubId: "start-crash",
      node,
      behaviours: {
        stops: { init: () => ({ stop: "oops" }) },
        throws: {
          init: () => {
            throw "oops";
          },
        },
        starterThrows: {
          start: () => {
            throw "oops";
          },
        },
        idle: Idle,
      },
    });
    try {
      const r = await hub
        .startChildren(
          [
            { id: "stops", behaviour: "stops" },
            { id: "throws", behaviour: "throws" },
            { id: "starter", behaviour: "starterThrows" },
            { id: "fine", behaviour: "idle" },
          ],
          { awaitable: true },
        )
        .await(5000);
      const detail = new Map(r.errors.map((e) => [e.id, [e.reason, e.detail]]));
      expect(detail.get("stops")).toEqual(["start_failed", "oops"]);
      expect(detail.get("throws")?.[0]).toBe("start_failed");
      expect(detail.get("throws")?.[1]).toMatch(/^StartCrashError: .*init threw "oops"/);
      expect(detail.get("starter")?.[1]).toMatch(/^StartCrashError: starterThrows.start threw "oops"/);
      expect(r.cids()).toContain("fine");
    } finally {
      await hub.stop();
    }
  });
});

describe("across the wire", () => {
  it("a StartCrashError keeps its code, thrown value and stack on another node", async () => {
    const { nodes, clusters } = await startMemoryCluster(["wa", "wb"]);
    const [a, b] = nodes as [Node, Node];
    try {
      const got = new Promise<unknown>((resolve) => {
        const receiver = a.spawn(async (ctx) => resolve(await ctx.receive()));
        b.spawn(async () => {
          const boom = new Error("boom");
          const Rejects = defineServer<{}>()({
            name: "Rejects",
            init: () => Promise.reject(boom),
          });
          const r = await GenServer.start(Rejects, undefined, { node: b });
          b.send(receiver as Pid, { error: (r as { error: unknown }).error, stack: boom.stack });
        });
      });
      const { error, stack } = (await got) as { error: StartCrashError; stack: string };
      expect(HubvisorError.is(error) && error.code).toBe("HV_ERR_START_CRASH");
      // The class is registered with the codec: it arrives as itself, not as a RemoteError.
      expect(error).toBeInstanceOf(StartCrashError);
      expect(error.thrown).toBeInstanceOf(Error);
      expect((error.thrown as Error).message).toBe("boom");
      expect(error.callback).toBe("Rejects.init");
      const firstFrame = stack.split("\n").find((l) => l.trim().startsWith("at "))!;
      expect(error.stack).toContain(firstFrame);
    } finally {
      for (const c of clusters) await c.leave();
    }
  });
});
