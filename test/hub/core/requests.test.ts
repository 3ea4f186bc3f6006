/**
 * The caller's side of the handle's starts and stops (`Requests.startCall` / `stopCall`) at a
 * scale that needs pacing, on three hub nodes over the memory transport: a start and a stop of
 * 20,000 children in one awaited call each answer with every child (the collectors finish), the
 * calling node's event loop turns while the call is still being grouped and sent (a chain of
 * `setImmediate` ticks sees it queued), a stop made right after a start never overtakes it, and
 * a stop naming an id twice reports it once.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { ProcessHub } from "../../../src/hub/process-hub.js";
import { counterHubs, counterSpecs, stopCounterHubs } from "./counter-hubs.js";

let hubs: ProcessHub[] = [];
afterEach(stopCounterHubs);

async function threeHubs(hubId: string): Promise<ProcessHub[]> {
  ({ hubs } = await counterHubs(hubId));
  return hubs;
}

const specs = counterSpecs;

/**
 * Counts the macrotasks in which `a`'s handle still had a call being grouped or sent: a chain of
 * `setImmediate` ticks, one per turn of the event loop, until `stop()`.
 */
function watchTurns(hub: ProcessHub): { busyTurns: () => number; stop: () => void } {
  let busy = 0;
  let on = true;
  const tick = () => {
    if (hub.core.requests.queuedCalls > 0) busy++;
    if (on) setImmediate(tick);
  };
  setImmediate(tick);
  return { busyTurns: () => busy, stop: () => (on = false) };
}

describe("Requests: the handle's calls in paced steps", () => {
  it("a start and a stop of 20,000 children in one awaited call each answer with every child, the caller's loop turning meanwhile", async () => {
    const [a, b] = await threeHubs("paced-calls");
    const n = 20_000;
    const turns = watchTurns(a!);
    const started = await a!.startChildren(specs(n), { awaitable: true, timeoutMs: 120_000 }).await();
    expect(started.status).toBe("ok");
    expect(started.started).toHaveLength(n);
    expect(new Set(started.nodes())).toEqual(new Set(["a", "b", "c"]));
    const afterStart = turns.busyTurns();
    // The event loop turned at least once while the start was still being grouped or sent.
    expect(afterStart).toBeGreaterThan(0);
    await expect.poll(() => b!.registryDump().size, { timeout: 60_000 }).toBe(n);
    const stopped = await a!
      .stopChildren(
        specs(n).map((s) => s.id),
        { awaitable: true, timeoutMs: 120_000 },
      )
      .await();
    turns.stop();
    expect(stopped.status).toBe("ok");
    expect(stopped.stopped).toHaveLength(n);
    expect(turns.busyTurns()).toBeGreaterThan(afterStart);
    await expect.poll(() => hubs.every((h) => h.registryDump().size === 0), { timeout: 60_000 }).toBe(true);
  });

  it("a stop called right after a start of the same children goes out after it: nothing is left running", async () => {
    const [a] = await threeHubs("paced-order");
    const n = 20_000;
    const ids = specs(n).map((s) => s.id);
    const start = a!.startChildren(specs(n), { awaitable: true, timeoutMs: 120_000 });
    const stop = a!.stopChildren(ids, { awaitable: true, timeoutMs: 120_000 });
    expect(a!.core.requests.queuedCalls).toBeGreaterThan(0);
    const [started, stopped] = await Promise.all([start.await(), stop.await()]);
    expect(started.started).toHaveLength(n);
    expect(stopped.stopped).toHaveLength(n);
    await expect
      .poll(() => hubs.every((h) => h.localChildren().size === 0 && h.registryDump().size === 0), {
        timeout: 60_000,
      })
      .toBe(true);
  });

  it("a stop naming an id more than once stops and reports it once, in its first place", async () => {
    const [a] = await threeHubs("paced-dedupe");
    await a!.startChildren(specs(3), { awaitable: true }).await(10_000);
    const r = await a!.stopChildren(["k2", "k0", "k2", "k1", "k0"], { awaitable: true }).await(10_000);
    expect(r.status).toBe("ok");
    expect(r.stopped.map((s) => s.id)).toEqual(["k2", "k0", "k1"]);
  });
});
