/**
 * `startLink` from an async process (issue 15): after an `await` the runtime no longer knows which
 * process runs, so every `startLink` takes `linkTo` — a pid or the process's `ctx` — and links
 * the new process to it, as Elixir's `start_link` links to its caller. Checked through the public
 * API on every `startLink` of the server, supervision and registry layers: the link shows in
 * `processInfo().links`, and the owner's crash takes the started process with it.
 */
import { describe, expect, it } from "vitest";
import {
  DynamicSupervisor,
  defineServer,
  GenServer,
  Node,
  ok,
  ParentGenServer,
  ParentSupervisor,
  type Pid,
  setDefaultNode,
  type ProcessContext,
  Registry,
  type StartResult,
  Supervisor,
  silentLogger,
  TaskSupervisor,
} from "../../src/index.js";

const Idle = defineServer<{}>()({ name: "Idle", init: () => ok(null) });

let serial = 0;

type Starter = (linkTo: ProcessContext | Pid, node: Node) => Promise<StartResult>;

/** Every `startLink` of these layers, each given only `linkTo` (and what it needs besides). */
const starters: Array<[string, Starter]> = [
  ["GenServer.startLink", (linkTo) => GenServer.startLink(Idle, undefined, { linkTo })],
  [
    "Supervisor.startLink (children)",
    (linkTo) =>
      Supervisor.startLink([{ id: "w", start: () => GenServer.startLink(Idle, undefined) }], {
        strategy: "one_for_one",
        linkTo,
      }),
  ],
  [
    "Supervisor.startLink (module)",
    (linkTo) =>
      Supervisor.startLink({ init: () => ({ strategy: "one_for_one", children: [] }) }, undefined, {
        linkTo,
      }),
  ],
  ["DynamicSupervisor.startLink (options)", (linkTo) => DynamicSupervisor.startLink({ linkTo })],
  [
    "DynamicSupervisor.startLink (module)",
    (linkTo) =>
      DynamicSupervisor.startLink({ init: () => ({ strategy: "one_for_one" }) }, undefined, { linkTo }),
  ],
  ["TaskSupervisor.startLink", (linkTo) => TaskSupervisor.startLink({ linkTo })],
  [
    "Registry.startLink",
    (linkTo, node) => Registry.startLink({ keys: "unique", name: `link-to-${++serial}`, node, linkTo }),
  ],
  ["ParentSupervisor.startLink", (linkTo) => ParentSupervisor.startLink([], { linkTo })],
  [
    "ParentGenServer.startLink",
    (linkTo) => ParentGenServer.startLink({ init: () => ok(null) }, undefined, { linkTo }),
  ],
];

/** Polls (bounded) until `cond` holds. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (cond()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * Spawns an async owner that, after an `await`, starts with `start(linkTo(ctx))`; resolves the
 * owner's pid and the start result. The owner then waits forever.
 */
function startFromAsyncOwner(
  node: Node,
  start: Starter,
  linkTo: (ctx: ProcessContext) => ProcessContext | Pid,
): Promise<{ owner: Pid; result: StartResult }> {
  return new Promise((resolve, reject) => {
    const owner = node.spawn(async (ctx) => {
      await new Promise((r) => setTimeout(r, 1));
      try {
        resolve({ owner, result: await start(linkTo(ctx), node) });
      } catch (e) {
        reject(e);
      }
      await ctx.receive(() => false);
    });
  });
}

describe("startLink with linkTo from an async process after an await", () => {
  for (const [name, start] of starters) {
    it(`${name} links to the ctx it is given; the owner's crash takes the process down`, async () => {
      // The default node is another one: a context also says which node to start on.
      setDefaultNode(new Node({ name: `elsewhere-${++serial}`, logger: silentLogger }));
      const node = new Node({ name: `link-to-${++serial}`, logger: silentLogger });
      const { owner, result } = await startFromAsyncOwner(node, start, (ctx) => ctx);
      expect(result.ok).toBe(true);
      if (!result.ok) return;
      const started = result.pid;
      expect(node.processInfo(started)?.links.map(String)).toContain(String(owner));
      expect(node.processInfo(owner)?.links.map(String)).toContain(String(started));
      node.exit(owner, "boom");
      await until(() => !node.isAlive(started), `${name} to stop with its owner`);
    });

    it(`${name} takes a pid as linkTo too`, async () => {
      // A pid does not say which node to start on: the default node, here the owner's.
      const node = new Node({ name: `link-to-${++serial}`, logger: silentLogger });
      setDefaultNode(node);
      const { owner, result } = await startFromAsyncOwner(node, start, (ctx) => ctx.self);
      expect(result.ok).toBe(true);
      if (!result.ok) return;
      expect(node.processInfo(result.pid)?.links.map(String)).toContain(String(owner));
    });
  }
});
