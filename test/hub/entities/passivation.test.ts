/**
 * Passivation over the memory transport: a child idle for its behaviour's `idleTimeoutMs` is
 * stopped everywhere and the next call through a reference with `activate` starts it again with
 * the state it handed over (`withHandover`); beyond `entities.maxActive` the least recently used
 * children are passivated first.
 */
import { afterEach, expect, it } from "vitest";
import { entity } from "../../../src/hub/entities/entity.js";
import { withHandover } from "../../../src/hub/strategies/handover.js";
import { defineServer, noreply, ok, reply } from "../../../src/server/index.js";
import { StrategyHarness } from "../strategies/harness.js";

interface TallyProtocol {
  calls: { add(n: number): number; get(): number };
  casts: {};
}

const tallyServer = withHandover(
  defineServer<TallyProtocol>()({
    name: "tally",
    init: () => ok(0),
    handleCall: { add: (n, s) => reply(s + n, s + n), get: (_a, s) => reply(s, s) },
    handleInfo: (_m, s) => noreply(s),
  }),
  { prepareHandoverState: (s: number) => s, receiveHandoverState: (d) => d as number },
);
/** Passivated after 150 ms without a message. */
const tally = entity(tallyServer, { idleTimeoutMs: 150 });
/** Idle for far longer than a test: only `maxActive` passivates it. */
const lasting = entity(tallyServer, { idleTimeoutMs: 60_000 });

let h: StrategyHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

it("an idle child is passivated and comes back on the next call with the state it handed over", async () => {
  h = new StrategyHarness({ behaviours: { tally } });
  const a = await h.add("a");
  await h.add("b");
  await h.formed();
  const ref = a.ref<TallyProtocol>("t1", { activate: { behaviour: "tally" } });
  expect(await ref.call("add", 5)).toBe(5);
  await expect.poll(() => a.entryExists("t1"), { timeout: 5000 }).toBe(false);
  expect(a.entityStats().passivated + h.hubs.get("b")!.entityStats().passivated).toBe(1);
  expect(await ref.call("add", 1)).toBe(6);
});

it("beyond maxActive the least recently used children are passivated first", async () => {
  h = new StrategyHarness({
    behaviours: { lasting },
    entities: { maxActive: 2, passivationSweepMs: 600_000 },
  });
  const a = await h.add("a");
  const refs = ["u0", "u1", "u2", "u3"].map((id) =>
    a.ref<TallyProtocol>(id, { activate: { behaviour: "lasting" } }),
  );
  // Activity is noted to the millisecond: steps apart, so that the order is certain.
  const tick = () => new Promise((r) => setTimeout(r, 5));
  for (const r of refs) await r.call("add", 1);
  await tick();
  // u0 and u1 used last: they stay, u2 and u3 go.
  await refs[0]!.call("get");
  await tick();
  await refs[1]!.call("get");
  await a.entities.passivation.sweep();
  await expect
    .poll(() => [...a.localChildren().keys()].sort(), { timeout: 5000, interval: 5 })
    .toEqual(["u0", "u1"]);
  expect(a.entityStats().passivated).toBe(2);
  // A passivated one comes back, with its state, on its next call.
  expect(await refs[3]!.call("get")).toBe(1);
});
