/**
 * One shape for an ignored start and one for a failed start, whatever starts the child (issue
 * 15): `{ ok: false, ignore: true }` and `{ ok: false, error: reason }` (the bare reason) from
 * `GenServer.start`, `Supervisor.startChild` / `restartChild`, `DynamicSupervisor.startChild` and
 * `ParentClient.startChild`; a start function returning anything else fails with a
 * `BadStartReturnError` in every supervisor, and a bare pid is a started child in every one.
 * Elixir's semantics stay: an ignored child is kept (pid undefined) by Supervisor (unless
 * temporary) and Parent (unless ephemeral), and nothing is kept by DynamicSupervisor.
 */
import { describe, expect, it } from "vitest";
import {
  BadStartReturnError,
  DynamicSupervisor,
  defaultNode,
  defineServer,
  GenServer,
  Node,
  ok,
  ParentClient,
  ParentSupervisor,
  type Pid,
  setDefaultNode,
  type StartResult,
  Supervisor,
  silentLogger,
  spawnLink,
} from "../../src/index.js";

setDefaultNode(new Node({ name: "start-shapes", logger: silentLogger }));

const ignores = (): StartResult => ({ ok: false, ignore: true });
const fails = (): StartResult => ({ ok: false, error: "nope" });
const stray = () => 42 as never;
const barePid = () => spawnLink(async (ctx) => void (await ctx.receive()));

/** Each layer's `startChild` with a start function, on a fresh supervisor. */
const layers: Array<[string, (start: () => unknown) => Promise<unknown>]> = [
  [
    "Supervisor.startChild",
    async (start) => {
      const s = await Supervisor.start([], { strategy: "one_for_one" });
      if (!s.ok) throw new Error("start");
      return Supervisor.startChild(s.pid, { id: "c", start: start as () => StartResult });
    },
  ],
  [
    "DynamicSupervisor.startChild",
    async (start) => {
      const s = await DynamicSupervisor.start();
      if (!s.ok) throw new Error("start");
      return DynamicSupervisor.startChild(s.pid, { start: start as () => StartResult });
    },
  ],
  [
    "ParentClient.startChild",
    async (start) => {
      const s = await ParentSupervisor.start([]);
      if (!s.ok) throw new Error("start");
      return ParentClient.startChild(s.pid, { id: "c", start: start as () => StartResult });
    },
  ],
];

describe("start result shapes", () => {
  for (const [name, startChild] of layers) {
    it(`${name}: ignored, failed, stray value, bare pid`, async () => {
      expect(await startChild(ignores)).toEqual({ ok: false, ignore: true });
      expect(await startChild(fails)).toEqual({ ok: false, error: "nope" });
      const bad = (await startChild(stray)) as { ok: boolean; error: unknown };
      expect(bad.ok).toBe(false);
      expect(bad.error).toBeInstanceOf(BadStartReturnError);
      expect((bad.error as BadStartReturnError).value).toBe(42);
      const started = (await startChild(barePid)) as { ok: boolean; pid: Pid };
      expect(started.ok).toBe(true);
      expect(defaultNode().isAlive(started.pid)).toBe(true);
    });
  }

  it("GenServer.start: the same shapes for init's ignore and stop", async () => {
    const Ignores = defineServer<{}>()({ init: () => ({ ignore: true }) });
    const Stops = defineServer<{}>()({ init: () => ({ stop: "nope" }) });
    expect(await GenServer.start(Ignores, undefined)).toEqual({ ok: false, ignore: true });
    expect(await GenServer.start(Stops, undefined)).toEqual({ ok: false, error: "nope" });
  });

  it("Supervisor.restartChild: the same shapes", async () => {
    let mode: "ok" | "ignore" | "fail" = "ok";
    const Idle = defineServer<{}>()({ init: () => ok(null) });
    const s = await Supervisor.start(
      [
        {
          id: "m",
          start: () =>
            mode === "ok" ? GenServer.startLink(Idle, undefined) : mode === "ignore" ? ignores() : fails(),
        },
      ],
      { strategy: "one_for_one" },
    );
    if (!s.ok) throw new Error("start");
    await Supervisor.terminateChild(s.pid, "m");
    mode = "ignore";
    expect(await Supervisor.restartChild(s.pid, "m")).toEqual({ ok: false, ignore: true });
    mode = "fail";
    expect(await Supervisor.restartChild(s.pid, "m")).toEqual({ ok: false, error: "nope" });
  });

  it("keeps Elixir's semantics of an ignored child: kept by Supervisor and Parent, not by DynamicSupervisor", async () => {
    const sup = await Supervisor.start([], { strategy: "one_for_one" });
    const dyn = await DynamicSupervisor.start();
    const par = await ParentSupervisor.start([]);
    if (!sup.ok || !dyn.ok || !par.ok) throw new Error("start");
    await Supervisor.startChild(sup.pid, { id: "kept", start: ignores });
    await Supervisor.startChild(sup.pid, { id: "temp", start: ignores, restart: "temporary" });
    expect((await Supervisor.whichChildren(sup.pid)).map((c) => [c.id, c.pid])).toEqual([
      ["kept", undefined],
    ]);
    await DynamicSupervisor.startChild(dyn.pid, { start: ignores });
    expect((await DynamicSupervisor.countChildren(dyn.pid)).specs).toBe(0);
    await ParentClient.startChild(par.pid, { id: "kept", start: ignores });
    await ParentClient.startChild(par.pid, { id: "eph", start: ignores, ephemeral: true });
    expect(await ParentClient.children(par.pid)).toEqual([{ id: "kept", pid: undefined, meta: undefined }]);
  });
});
