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
  adopt,
  decodePage,
  encodePage,
  PAGE_COUNT,
  EMPTY_PAGE,
  type PageEntry,
  type PageRecords,
  packRecord,
  pageKeyOf,
  positionOf,
  withRecords,
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

/** The run of a page of `entries` (id → entry), in that order. */
function runOf(entries: ReadonlyArray<readonly [string, PageEntry]>): Uint8Array {
  return withRecords(EMPTY_PAGE, new Map(entries.map(([id, e]) => [id, packRecord(id, e)]))).run;
}

/** A run of records laid out by hand (any ids, any bytes). */
function rawRun(recs: readonly Uint8Array[]): Uint8Array {
  return Buffer.concat(recs);
}

const packed = (v: unknown) => new Packr({ useRecords: false, moreTypes: false }).pack(v);

describe("pages of declarations", () => {
  it("round-trips a page and refuses bad pages as a whole", () => {
    const ids = samePage(3);
    const key = pageKeyOf(ids[0]!);
    const page = encodePage("h", key, runOf(ids.map((id) => [id, entry(id)])));
    const d = decodePage("h", key, page, 7);
    expect("pageRefused" in d).toBe(false);
    if ("pageRefused" in d) return;
    expect(d.declared.map((x) => [x.id, x.revision, x.desired])).toEqual(ids.map((id) => [id, 7, "running"]));
    expect(d.page.ids).toEqual(ids);
    expect(decodePage("other", key, page, 7)).toEqual({ pageRefused: "another hub's page" });
    expect(decodePage("h", `${key}0`, page, 7)).toEqual({ pageRefused: "page does not match its key" });
    expect(decodePage("h", key, Uint8Array.of(0x93, 1), 7)).toEqual({ pageRefused: "does not decode" });
    expect(decodePage("h", key, packed({ f: "something/else", e: {} }), 7)).toEqual({
      pageRefused: "foreign format",
    });
    // A run cut in the middle of a record: the page is refused, not half applied.
    const cut = packRecord(ids[0]!, entry(ids[0]!)).subarray(0, 12);
    expect(decodePage("h", key, encodePage("h", key, cut), 7)).toEqual({ pageRefused: "truncated record" });
  });

  it("refuses a misplaced, invalid or repeated record alone", () => {
    const [a, b] = samePage(2) as [string, string];
    const key = pageKeyOf(a);
    let elsewhere = "y0";
    for (let i = 1; pageKeyOf(elsewhere) === key; i++) elsewhere = `y${i}`;
    const run = rawRun([
      packRecord(a, entry(a)),
      packRecord(b, { ...entry(b), spec: { ...spec(b), id: "not-b" } }),
      packRecord(elsewhere, entry(elsewhere)),
      packRecord(a, { ...entry(a), desired: "stopped", spec: null }),
    ]);
    const d = decodePage("h", key, encodePage("h", key, run), 3);
    if ("pageRefused" in d) throw new Error(d.pageRefused);
    expect(d.declared.map((x) => [x.id, x.desired])).toEqual([[a, "running"]]);
    expect(d.refused.map((r) => r.id).sort()).toEqual([a, b, elsewhere].sort());
    expect(d.page.ids).toEqual([a]);
  });

  it("decodes only the records that changed, and keeps a refused record's earlier bytes", () => {
    const [a, b, c] = samePage(3) as [string, string, string];
    const key = pageKeyOf(a);
    const d1 = decodePage(
      "h",
      key,
      encodePage(
        "h",
        key,
        runOf([
          [a, entry(a)],
          [b, entry(b)],
        ]),
      ),
      1,
    );
    if ("pageRefused" in d1) throw new Error(d1.pageRefused);
    // b stopped, c added, a unchanged: only b and c come back, at the new revision; b keeps its place.
    const second = withRecords(
      d1.page,
      new Map([
        [b, packRecord(b, { desired: "stopped", spec: null, by: "n2", at: 2 })],
        [c, packRecord(c, entry(c))],
      ]),
    );
    expect(second.written).toEqual([b, c]);
    const d2 = decodePage("h", key, encodePage("h", key, second.run), 2, d1.page);
    if ("pageRefused" in d2) throw new Error(d2.pageRefused);
    expect(d2.declared.map((x) => [x.id, x.desired, x.revision])).toEqual([
      [b, "stopped", 2],
      [c, "running", 2],
    ]);
    expect(d2.page.ids).toEqual([a, b, c]);
    // The writer's own page, taken without decoding, is the page every reader decodes.
    const own = adopt(second);
    expect(own.ids).toEqual(d2.page.ids);
    expect(own.starts).toEqual(d2.page.starts);
    expect(Buffer.from(own.run)).toEqual(Buffer.from(d2.page.run));
    expect(positionOf(own, c)).toBe(2);
    // A call that declares only what is absent leaves a as it is.
    const absent = withRecords(d2.page, new Map([[a, packRecord(a, entry(c))]]), true);
    expect(absent.written).toEqual([]);
    expect(Buffer.from(absent.run)).toEqual(Buffer.from(d2.page.run));
    // The same page again changes nothing and decodes nothing.
    const same = decodePage("h", key, encodePage("h", key, d2.page.run), 3, d2.page);
    if ("pageRefused" in same) throw new Error(same.pageRefused);
    expect(same.declared).toEqual([]);
    expect(same.page.ids).toEqual([a, b, c]);
    // A garbled record in a's place is refused alone; the page keeps a's earlier record.
    const recOf = (p: PageRecords, k: number) => p.run.subarray(p.starts[k], p.starts[k + 1]);
    const garbled = rawRun([Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0), recOf(d2.page, 1), recOf(d2.page, 2)]);
    const d3 = decodePage("h", key, encodePage("h", key, garbled), 4, d2.page);
    if ("pageRefused" in d3) throw new Error(d3.pageRefused);
    expect(d3.refused.length).toBe(1);
    expect(d3.declared).toEqual([]);
    expect([...d3.page.ids].sort()).toEqual([a, b, c].sort());
    expect(Buffer.from(recOf(d3.page, d3.page.ids.indexOf(a)))).toEqual(Buffer.from(recOf(d2.page, 0)));
    // A page that drops b (a writer never does) keeps b's record and declaration.
    const dropped = rawRun([recOf(d2.page, 0), recOf(d2.page, 2)]);
    const d4 = decodePage("h", key, encodePage("h", key, dropped), 5, d2.page);
    if ("pageRefused" in d4) throw new Error(d4.pageRefused);
    expect([...d4.page.ids].sort()).toEqual([a, b, c].sort());
  });

  it("still reads a page of version 1 (entries as nested maps)", () => {
    const [a] = samePage(1) as [string];
    const key = pageKeyOf(a);
    const v1 = packed({ f: "hubvisor/declared-page", v: 1, hub: "h", key, e: { [a]: entry(a) } });
    const d = decodePage("h", key, v1, 5);
    if ("pageRefused" in d) throw new Error(d.pageRefused);
    expect(d.declared.map((x) => [x.id, x.desired, x.spec?.behaviour])).toEqual([[a, "running", "w"]]);
    // What a node writes next is of the current version, with the same declaration.
    const again = decodePage("h", key, encodePage("h", key, d.page.run), 6);
    if ("pageRefused" in again) throw new Error(again.pageRefused);
    expect(again.declared.map((x) => [x.id, x.desired])).toEqual([[a, "running"]]);
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
