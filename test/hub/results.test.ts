import { describe, expect, it } from "vitest";
import { FutureTimeoutError } from "../../src/hub/errors.js";
import { Future } from "../../src/hub/future.js";
import { HubHooks } from "../../src/hub/hooks.js";
import { StartResult, StopResult } from "../../src/hub/results.js";
import { Pid } from "../../src/process/pid.js";

const p1 = new Pid("n1", 1, 1);
const p2 = new Pid("n2", 2, 1);

describe("StartResult", () => {
  it("offers the helpers of ProcessHub's StartResult", () => {
    const r = new StartResult(
      [
        { id: "c1", nodes: [{ node: "n1", pid: p1 }] },
        { id: "c2", nodes: [{ node: "n2", pid: p2 }] },
      ],
      [],
    );
    expect(r.status).toBe("ok");
    expect(r.cids()).toEqual(["c1", "c2"]);
    expect(r.pid()).toBe(p1);
    expect(r.pids()).toEqual([p1, p2]);
    expect(r.node()).toBe("n1");
    expect(r.nodes()).toEqual(["n1", "n2"]);
    expect(r.first()?.id).toBe("c1");
    expect(r.format()).toEqual({ ok: true, started: r.started });
  });

  it("formats errors with the rollback flag", () => {
    const r = new StartResult([], [{ id: "c1", node: "n1", reason: "node_receive_timeout" }], true);
    expect(r.status).toBe("error");
    // ProcessHub's cids/1 lists started ids only; the failed one is in `errors`.
    expect(r.cids()).toEqual([]);
    expect(r.format()).toEqual({
      ok: false,
      errors: r.errors,
      started: [],
      rollback: true,
      rollbackErrors: [],
    });
    expect(r.pid()).toBeUndefined();
  });

  it("carries what a rollback could not stop for sure", () => {
    const unsure = [{ id: "c1", node: "n1", reason: "node_receive_timeout" as const }];
    const r = new StartResult([], [{ id: "c1", node: "n1", reason: "node_receive_timeout" }], true, unsure);
    expect(r.rollbackErrors).toEqual(unsure);
    expect(r.format()).toMatchObject({ ok: false, rollback: true, rollbackErrors: unsure });
    expect(new StartResult([], []).rollbackErrors).toEqual([]);
  });
});

describe("StopResult", () => {
  it("offers cids, nodes, first and format", () => {
    const r = new StopResult(
      [{ id: "c1", nodes: ["n1"] }],
      [{ id: "c9", node: undefined, reason: "not_found" }],
    );
    expect(r.status).toBe("error");
    expect(r.cids()).toEqual(["c1"]);
    expect(r.nodes()).toEqual(["n1"]);
    expect(r.node()).toBe("n1");
    expect(r.first()).toEqual({ id: "c1", nodes: ["n1"] });
    expect(r.format().ok).toBe(false);
  });
});

describe("Future.await", () => {
  it("resolves with the result and is awaitable directly", async () => {
    const f = new Future(Promise.resolve(42));
    expect(await f.await(1000)).toBe(42);
    expect(await f).toBe(42);
    expect(f.isSettled).toBe(true);
    expect(f.peek()).toBe(42);
  });

  it("rejects with FutureTimeoutError when the result is late", async () => {
    const f = new Future(new Promise<number>(() => {}));
    await expect(f.await(5)).rejects.toBeInstanceOf(FutureTimeoutError);
  });
});

describe("HubHooks", () => {
  it("runs handlers by priority, survives throwing handlers, and cancels at run time", () => {
    const hooks = new HubHooks();
    const seen: string[] = [];
    hooks.register("preNodeJoin", () => seen.push("low"), { id: "low", priority: -1 });
    hooks.register("preNodeJoin", () => seen.push("mid"));
    hooks.register("preNodeJoin", () => {
      throw new Error("boom");
    });
    hooks.register("preNodeJoin", (d) => seen.push(`high:${d.node}`), { id: "high", priority: 10 });
    hooks.dispatch("preNodeJoin", { node: "n9" });
    expect(seen).toEqual(["high:n9", "mid", "low"]);
    expect(hooks.cancel("preNodeJoin", "high")).toBe(1);
    expect(hooks.list("preNodeJoin")).not.toContain("high");
    expect(hooks.cancel("preNodeJoin")).toBe(3);
    expect(hooks.has("preNodeJoin")).toBe(false);
  });
});
