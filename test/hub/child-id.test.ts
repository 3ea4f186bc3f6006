/**
 * A hub GenServer child knows its own child id: `ProcessHub.childId(ctx)` answers in `init`
 * (before the hub has registered the child anywhere) and in every later callback, after a
 * restart too; `init` still gets the spec's `args` as written. Typed lookups
 * (`hub.getPid<P>(id)`) are checked by tsc in test/types/hub.test-d.ts.
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  defineServer,
  GenServer,
  Node,
  ok,
  ProcessHub,
  reply,
  setDefaultNode,
  silentLogger,
} from "../../src/index.js";

interface SelfAware {
  calls: { whoami(): { id: string | undefined; args: unknown; seenInInit: string | undefined } };
  casts: { crash(): void };
}

const SelfAwareServer = defineServer<SelfAware>()({
  name: "SelfAware",
  init: (args: unknown, ctx) => ok({ args, seenInInit: ProcessHub.childId(ctx) }),
  handleCall: {
    whoami: (_a, s, ctx) => reply({ id: ProcessHub.childId(ctx), ...s }, s),
  },
  handleCast: { crash: (_a, s) => ({ stop: "crashed", state: s }) },
});

const hubs: ProcessHub[] = [];
afterEach(async () => {
  for (const h of hubs.splice(0)) await h.stop();
});

let serial = 0;
function solo(): ProcessHub {
  const node = new Node({ name: `child-id-${++serial}`, logger: silentLogger });
  setDefaultNode(node);
  const hub = ProcessHub.start({ hubId: "ids", node, behaviours: { selfAware: SelfAwareServer } });
  hubs.push(hub);
  return hub;
}

describe("ProcessHub.childId(ctx)", () => {
  it("gives a GenServer child its own id in init and later callbacks; init gets its args as written", async () => {
    const hub = solo();
    const r = await hub
      .startChildren(
        [
          { id: "alpha", behaviour: "selfAware", args: { n: 1 } },
          { id: "beta", behaviour: "selfAware", args: "two" },
        ],
        { awaitable: true },
      )
      .await(2000);
    expect(r.status).toBe("ok");
    const alpha = hub.getPid<SelfAware>("alpha")!;
    expect(await GenServer.call(alpha, "whoami")).toEqual({
      id: "alpha",
      args: { n: 1 },
      seenInInit: "alpha",
    });
    expect(await GenServer.call(hub.getPid<SelfAware>("beta")!, "whoami")).toEqual({
      id: "beta",
      args: "two",
      seenInInit: "beta",
    });
  });

  it("knows it again after a restart", async () => {
    const hub = solo();
    await hub.startChildren([{ id: "gamma", behaviour: "selfAware" }], { awaitable: true }).await(2000);
    const first = hub.getPid<SelfAware>("gamma")!;
    GenServer.cast(first, "crash", undefined);
    await expect.poll(() => hub.getPid("gamma")?.equals(first)).toBe(false);
    await expect.poll(() => hub.getPid("gamma")).toBeDefined();
    expect(await GenServer.call(hub.getPid<SelfAware>("gamma")!, "whoami")).toMatchObject({
      id: "gamma",
      seenInInit: "gamma",
    });
  });

  it("is undefined for a server that is no hub child", async () => {
    const node = new Node({ name: `child-id-${++serial}`, logger: silentLogger });
    setDefaultNode(node);
    const r = await GenServer.start(SelfAwareServer, "plain");
    if (!r.ok) throw new Error("start");
    expect(await GenServer.call(r.pid, "whoami")).toEqual({
      id: undefined,
      args: "plain",
      seenInInit: undefined,
    });
    await GenServer.stop(r.pid);
  });
});
