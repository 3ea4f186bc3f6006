/**
 * `checkWire`: well-formed hub messages pass, a broken field is named; and a hub that receives
 * malformed messages from a peer drops them with a warning and keeps serving.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { itemOut, entryOut, type HubWireMsg } from "../../src/hub/messages.js";
import { checkWire } from "../../src/hub/wire-check.js";
import { normalizeChildSpec } from "../../src/hub/child-spec.js";
import { Node } from "../../src/process/node.js";
import { silentLogger } from "../../src/logger.js";
import { StrategyHarness, specs } from "./strategies/harness.js";

const node = new Node({ name: "w", logger: silentLogger });
const pid = node.spawnHandler(() => undefined, null).pid;
const spec = normalizeChildSpec({ id: "x", behaviour: "stateful", metadata: { tag: "t" } });
const item = itemOut({ spec, epoch: 2, pinned: false });
const entry = entryOut("x", { spec, epoch: 2, pid });
/** A child pinned on its node: the entry carries a ninth element, 1. */
const pinnedEntry = entryOut("x", { spec, epoch: 2, pid, pinned: true });

const good: HubWireMsg[] = [
  { t: "hello", from: "a", inc: 1, reply: true, adopted: [["b", 3]] },
  { t: "hello", from: "a", inc: 1, reply: false, behaviours: ["room"], idempotent: [["room", ["peek"]]] },
  { t: "bye", from: "a", inc: 1 },
  { t: "start", req: 4, origin: "a", items: [item], hops: 0, ensure: false, states: [["x", { n: 1 }]] },
  { t: "start", req: null, origin: "a", items: [], hops: 1, ensure: true },
  { t: "started", req: 4, node: "b", ok: [["x", pid]], failed: [["y", "start_failed", undefined]] },
  { t: "forwarded", req: 4, node: "b", to: "c", ids: ["x"] },
  { t: "stop", req: null, origin: "a", ids: ["x"] },
  { t: "stopped", req: 1, node: "b", ok: ["x"], missing: [] },
  // A node's own children (the entries' pids are on "w").
  { t: "delta", from: "w", inc: 1, seq: 3, up: [entry], rm: ["y"] },
  { t: "slice", from: "w", inc: 1, seq: 3, part: 0, parts: 1, entries: [entry] },
  { t: "delta", from: "w", inc: 1, seq: 4, up: [pinnedEntry], rm: [] },
  { t: "slice", from: "a", inc: 1, seq: 3, part: 2, parts: 3, entries: [] },
  { t: "syncreq", from: "a" },
  { t: "load", from: "a", load: { children: 1, lagMs: 0.5, memory: 0.1 } },
  { t: "merge", from: "a", id: "x", epoch: 2, handover: true, data: [1, 2] },
  { t: "merged", from: "a", id: "x", ok: true, gone: false },
];

describe("checkWire", () => {
  it("accepts every well-formed message", () => {
    for (const m of good) expect(checkWire(m)).toBeNull();
  });

  it("names the first broken field", () => {
    const broken: Array<[unknown, string]> = [
      [{ t: "hello", from: 1, inc: 1, reply: true }, "hello.from"],
      [{ t: "hello", from: "a", inc: 1, reply: true, idempotent: [["room", "peek"]] }, "hello.idempotent"],
      [{ t: "start", req: 1, origin: "a", items: "xyz", hops: 0, ensure: false }, "start.items"],
      [
        { t: "start", req: 1, origin: "a", items: [[...item.slice(0, 7), 5]], hops: 0, ensure: false },
        "start.items",
      ],
      [
        { t: "start", req: 1, origin: "a", items: [item], hops: 0, ensure: false, states: {} },
        "start.states",
      ],
      [{ t: "started", req: 1, node: "b", ok: [["x", "not a pid"]], failed: [] }, "started.ok"],
      [{ t: "delta", from: "a", inc: 1, seq: 1.5, up: [], rm: [] }, "delta.seq"],
      [{ t: "delta", from: "a", inc: 1, seq: 1, up: [item], rm: [] }, "delta.up"],
      [{ t: "delta", from: "w", inc: 1, seq: 1, up: [[...entry, 2]], rm: [] }, "delta.up"],
      [{ t: "slice", from: "a", inc: 1, seq: 1, part: 0, parts: 1 }, "slice.entries"],
      [{ t: "slice", from: "a", inc: 1, seq: 1, part: 0, parts: 0, entries: [] }, "slice.parts"],
      [{ t: "slice", from: "a", inc: 1, seq: 1, part: 0, parts: -2, entries: [] }, "slice.parts"],
      [{ t: "slice", from: "a", inc: 1, seq: 1, part: 1, parts: 1, entries: [] }, "slice.part"],
      [{ t: "slice", from: "a", inc: 1, seq: 1, part: -1, parts: 2, entries: [] }, "slice.part"],
      [{ t: "load", from: "a", load: { children: Number.NaN, lagMs: 0, memory: 0 } }, "load.load"],
      [
        { t: "load", from: "a", load: { children: 1, lagMs: Number.POSITIVE_INFINITY, memory: 0 } },
        "load.load",
      ],
      [{ t: "stop", req: 1, origin: "a", ids: [1] }, "stop.ids"],
      [{ t: "load", from: "a", load: { children: "many" } }, "load.load"],
      [{ t: "merged", from: "a", id: "x" }, "merged.ok"],
    ];
    for (const [m, field] of broken) expect(checkWire(m as HubWireMsg)).toBe(field);
  });
});

describe("a hub receiving malformed messages", () => {
  it("drops and counts them, warns at most once a second, and keeps starting and stopping children", async () => {
    const warnings: Array<Record<string, unknown>> = [];
    const logger = { ...silentLogger, warn: (o: Record<string, unknown>) => warnings.push(o) };
    const h = new StrategyHarness();
    try {
      const a = await h.add("a", { logger });
      const b = await h.add("b");
      await h.formed();
      const to = { name: "hubvisor.hub.strat", node: "a" };
      const garbage: unknown[] = [
        { t: "start", req: null, origin: "b", items: "garbage", hops: 0, ensure: true },
        { t: "delta", from: "b", inc: 1, seq: 1, up: [[1, 2, 3]], rm: [] },
        { t: "stop", req: null, origin: "b", ids: null },
        null,
        42,
        "hello",
        [],
        // The hub's own commands are never taken from the wire.
        { t: "$stop", done: null },
        { t: "$peer_down", node: "b" },
        { t: "$quorum_reset", size: 1 },
      ];
      for (const m of garbage) b.node.send(to, m);
      await expect.poll(() => a.core.dropped).toBe(garbage.length);
      expect(warnings.filter((w) => w.dropped !== undefined).length).toBe(1);
      expect(warnings[0]).toMatchObject({ field: "start.items" });
      expect(a.isAlive()).toBe(true);
      expect(a.nodes()).toEqual(["b"]);
      const r = await b.startChildren(specs(30), { awaitable: true }).await(5000);
      expect(r.status).toBe("ok");
      await h.converged(specs(30).map((s) => s.id));
    } finally {
      await h.close();
    }
  });
});

describe("a hub receiving arbitrary values from a peer (property)", () => {
  it("never crashes: each is handled or dropped and counted, and the hub keeps serving", async () => {
    const h = new StrategyHarness();
    try {
      const a = await h.add("a", { logger: silentLogger });
      const b = await h.add("b");
      await h.formed();
      const to = { name: "hubvisor.hub.strat", node: "a" };
      // Values the codec can carry, and near-misses of real hub messages (a known tag with
      // fields of any shape).
      const tags = [
        "start",
        "stop",
        "started",
        "stopped",
        "hello",
        "bye",
        "delta",
        "slice",
        "merge",
        "claim",
        "$stop",
      ];
      const nearMiss = fc
        .record({ t: fc.constantFrom(...tags) }, { requiredKeys: [] })
        .chain((base) =>
          fc
            .dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }))
            .map((rest) => ({ ...rest, ...base })),
        );
      const values = fc.sample(fc.oneof(fc.jsonValue({ maxDepth: 3 }), nearMiss), { numRuns: 300, seed: 42 });
      const before = a.core.dropped;
      for (const v of values) b.node.send(to, v);
      await expect.poll(() => a.core.dropped - before > 0).toBe(true);
      expect(a.isAlive()).toBe(true);
      expect(a.nodes()).toEqual(["b"]);
      const r = await b.startChildren(specs(20), { awaitable: true }).await(5000);
      expect(r.status).toBe("ok");
      await h.converged(specs(20).map((s) => s.id));
    } finally {
      await h.close();
    }
  });
});
