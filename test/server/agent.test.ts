/**
 * `Agent`, Elixir's: start / startLink (with `linkTo`), get / getAndUpdate / update / cast, stop,
 * names, a crash in a function, a child spec a Supervisor restarts, the `…On(node, …)` forms.
 */
import { describe, expect, it } from "vitest";
import {
  Agent,
  CallExitError,
  GenServer,
  Node,
  processInfo,
  setDefaultNode,
  silentLogger,
  StartCrashError,
  Supervisor,
} from "../../src/index.js";

const node = new Node({ name: "agents", logger: silentLogger });
setDefaultNode(node);

async function started<T>(p: Promise<{ ok: true; pid: T } | { ok: false }>): Promise<T> {
  const r = await p;
  if (!r.ok) throw new Error("did not start");
  return r.pid;
}

describe("Agent", () => {
  it("holds a state read and changed by functions, in arrival order", async () => {
    const agent = await started(Agent.start(() => ({ n: 0, log: [] as string[] })));
    expect(await Agent.get(agent, (s) => s.n)).toBe(0);
    await Agent.update(agent, (s) => ({ ...s, n: s.n + 1 }));
    Agent.cast(agent, (s) => ({ ...s, log: [...s.log, "cast"] }));
    expect(await Agent.getAndUpdate(agent, (s) => [s.n, { ...s, n: 10 }] as const)).toBe(1);
    expect(await Agent.get(agent, (s) => s)).toEqual({ n: 10, log: ["cast"] });
    expect(processInfo(agent)?.behaviour).toBe("Agent");
    await Agent.stop(agent);
    expect(node.isAlive(agent)).toBe(false);
  });

  it("runs init and functions inside the agent, async ones included", async () => {
    let initIn: unknown;
    const agent = await started(
      Agent.start(
        async () => {
          initIn = GenServer.whereis("async-agent");
          return 1;
        },
        { name: "async-agent" },
      ),
    );
    expect(initIn).toEqual(agent);
    expect(await Agent.get("async-agent", async (n: number) => n + 1)).toBe(2);
    await Agent.update("async-agent", async (n: number) => n * 5);
    expect(await Agent.get(agent, (n) => n)).toBe(5);
    await Agent.stop("async-agent", "shutdown");
  });

  it("a function that throws crashes the agent, as in Elixir; a throwing init fails the start", async () => {
    const agent = await started(Agent.start(() => 1));
    const e = await Agent.get(agent, () => {
      throw new Error("bad read");
    }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CallExitError);
    expect(((e as CallExitError).reason as Error).message).toBe("bad read");
    expect(node.isAlive(agent)).toBe(false);
    const failed = await Agent.start(() => {
      throw new Error("no state");
    });
    expect(failed.ok).toBe(false);
    expect(!failed.ok && "error" in failed && failed.error).toBeInstanceOf(StartCrashError);
  });

  it("startLink links to the caller, or to linkTo after an await", async () => {
    const links = await new Promise<unknown[]>((resolve) => {
      node.spawn(async (ctx) => {
        await Promise.resolve();
        const agent = await started(Agent.startLink(() => 0, { linkTo: ctx }));
        resolve([processInfo(agent)?.links.map(String), String(ctx.self)]);
        await ctx.receive();
      });
    });
    expect(links[0]).toEqual([links[1]]);
  });

  it("childSpec starts it under a Supervisor, which restarts it after a crash", async () => {
    const sup = await started(
      Supervisor.start([Agent.childSpec(() => 42, { name: "supervised-agent", id: "cache" })], {
        strategy: "one_for_one",
      }),
    );
    const [child] = await Supervisor.whichChildren(sup);
    expect(child).toMatchObject({ id: "cache", modules: ["Agent"] });
    const first = GenServer.whereis("supervised-agent")!;
    expect(await Agent.get("supervised-agent", (n: number) => n)).toBe(42);
    node.exit(first, "kill");
    await expect.poll(() => GenServer.whereis("supervised-agent")?.equals(first)).toBe(false);
    expect(await Agent.get("supervised-agent", (n: number) => n)).toBe(42);
    await GenServer.stop(sup);
    expect(Agent.childSpec(() => 0).id).toBe("Agent");
  });

  it("has …On(node, …) forms for an agent of another node", async () => {
    const other = new Node({ name: "agents-b", logger: silentLogger });
    const agent = await started(Agent.start(() => [1], { node: other, name: "list" }));
    await Agent.updateOn(other, "list", (l: number[]) => [...l, 2]);
    Agent.castOn(other, agent, (l) => [...l, 3]);
    expect(await Agent.getAndUpdateOn(other, agent, (l) => [l.length, [] as number[]] as const)).toBe(3);
    expect(await Agent.getOn(other, agent, (l) => l)).toEqual([]);
    await expect(Agent.get("list", (l: number[]) => l)).rejects.toBeInstanceOf(CallExitError);
    await Agent.stopOn(other, agent);
    expect(other.isAlive(agent)).toBe(false);
  });
});
