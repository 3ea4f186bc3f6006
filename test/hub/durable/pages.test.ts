/**
 * Pages of declarations (`src/hub/durable/pages.ts`): a page round-trips its entries; a garbled,
 * foreign, another hub's or misplaced page is refused as a whole; inside a good page, an entry on
 * the wrong page or with a bad spec is refused alone and the others apply. Then over the memory
 * transport: a start of many children writes about one compare-and-set per page, not one per
 * child, and a garbled page written over a live one is refused with a warning while the
 * declarations it overwrote stay in force.
 */
import { describe, expect, it } from "vitest";
import { Packr } from "msgpackr";
import { Cluster } from "../../../src/cluster/index.js";
import { MemoryDurableStore } from "../../../src/hub/durable/memory-store.js";
import {
  decodePage,
  encodePage,
  PAGE_COUNT,
  type PageEntry,
  pageKeyOf,
} from "../../../src/hub/durable/pages.js";
import { ProcessHub } from "../../../src/hub/process-hub.js";
import { type Logger, silentLogger } from "../../../src/logger.js";
import { Node } from "../../../src/process/node.js";
import { defineServer, ok } from "../../../src/server/index.js";
import { MemoryNetwork } from "../../../src/transports/memory/index.js";

const spec = (id: string) => ({
  id,
  behaviour: "w",
  args: 1,
  restart: "permanent" as const,
  shutdown: 5000,
  metadata: {},
});
const entry = (id: string): PageEntry => ({ desired: "running", spec: spec(id), by: "n1", at: 1 });

/** Ids that share one page. */
function samePage(n: number): string[] {
  const key = pageKeyOf("x0");
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) if (pageKeyOf(`x${i}`) === key) out.push(`x${i}`);
  return out;
}

describe("pages of declarations", () => {
  it("round-trips a page and refuses bad pages as a whole", () => {
    const ids = samePage(3);
    const key = pageKeyOf(ids[0]!);
    const page = encodePage("h", key, new Map(ids.map((id) => [id, entry(id)])));
    const d = decodePage("h", key, page, 7);
    expect("pageRefused" in d).toBe(false);
    if ("pageRefused" in d) return;
    expect(d.declared.map((x) => [x.id, x.revision, x.desired])).toEqual(ids.map((id) => [id, 7, "running"]));
    expect(decodePage("other", key, page, 7)).toEqual({ pageRefused: "another hub's page" });
    expect(decodePage("h", `${key}0`, page, 7)).toEqual({ pageRefused: "page does not match its key" });
    expect(decodePage("h", key, Uint8Array.of(0x93, 1), 7)).toEqual({ pageRefused: "does not decode" });
    const foreign = new Packr({ useRecords: false }).pack({ f: "something/else", e: {} });
    expect(decodePage("h", key, foreign, 7)).toEqual({ pageRefused: "foreign format" });
  });

  it("refuses a misplaced or invalid entry alone", () => {
    const [a, b] = samePage(2) as [string, string];
    const key = pageKeyOf(a);
    let elsewhere = "y0";
    for (let i = 1; pageKeyOf(elsewhere) === key; i++) elsewhere = `y${i}`;
    const entries = new Map<string, PageEntry>([
      [a, entry(a)],
      [b, { ...entry(b), spec: { ...spec(b), id: "not-b" } }],
      [elsewhere, entry(elsewhere)],
    ]);
    const d = decodePage("h", key, encodePage("h", key, entries), 3);
    if ("pageRefused" in d) throw new Error(d.pageRefused);
    expect(d.declared.map((x) => x.id)).toEqual([a]);
    expect(d.refused.map((r) => r.id).sort()).toEqual([b, elsewhere].sort());
  });
});

const W = defineServer<{}>()({ name: "w", init: () => ok({}) });

function recording(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { ...silentLogger, warnings, warn: (_o, msg) => void warnings.push(msg) };
}

describe("a durable hub writing pages (memory transport)", () => {
  it("writes one compare-and-set per page a call touches, and refuses a garbled page", async () => {
    const store = new MemoryDurableStore();
    const logger = recording();
    const node = new Node({ name: "pg1", logger: silentLogger });
    const cluster = await Cluster.join({
      node,
      cluster: "pages",
      transport: new MemoryNetwork().transport(node),
      logger: silentLogger,
    });
    const hub = ProcessHub.start({
      hubId: "pages",
      node,
      cluster,
      behaviours: { w: W },
      logger,
      durability: { store, reconcileIntervalMs: 50, settleMs: 0, graceMs: 100 },
    });
    try {
      await hub.durable!.ready;
      const before = store.stats.writes;
      const n = 5000;
      const r = await hub
        .startChildren(
          Array.from({ length: n }, (_, i) => ({ id: `c${i}`, behaviour: "w" })),
          { awaitable: true, timeoutMs: 30_000 },
        )
        .await();
      expect(r.errors).toEqual([]);
      // Chunks of 1000 children: each touches at most PAGE_COUNT pages.
      expect(store.stats.writes - before).toBeLessThanOrEqual(Math.ceil(n / 1000) * PAGE_COUNT);
      expect(store.stats.writes - before).toBeLessThan(n);
      // A garbled page over a live one: refused, its declarations stay in force.
      const key = pageKeyOf("c1");
      store.inject("pages", key, Uint8Array.of(0x93, 1, 2));
      await expect.poll(() => hub.durable!.stats.refused, { timeout: 5000 }).toBeGreaterThanOrEqual(1);
      expect(logger.warnings).toContain("durable store entry refused");
      expect(hub.durable!.declared.get("c1")?.desired).toBe("running");
      // The next write of that page is based on the garbled entry's revision and succeeds.
      const s = await hub.stopChildren(["c1"], { awaitable: true }).await(10_000);
      expect(s.errors).toEqual([]);
      expect(hub.durable!.declared.get("c1")?.desired).toBe("stopped");
      expect(hub.localChildren().size).toBe(n - 1);
    } finally {
      await hub.stop();
      await cluster.leave();
    }
  });
});
