/**
 * Pages of declarations (`src/hub/durable/pages.ts`): a page round-trips its records, each at the
 * revision it is stamped with; a garbled, foreign, another hub's or misplaced page is refused as a
 * whole; inside a good page, a record on the wrong page, with a bad spec or stamped past its page
 * is refused alone and the others apply; pages of version 3 and of the first layout are still
 * read. Then over the memory transport: a garbled page written over a live one is refused with a
 * warning while the declarations it overwrote stay in force, and the next fold writes over it.
 */
import { describe, expect, it } from "vitest";
import { hash32 } from "../../../src/hub/hash-ring.js";
import { MemoryDurableStore } from "../../../src/hub/durable/memory-store.js";
import {
  adopt,
  decodePage,
  encodePage,
  EMPTY_PAGE,
  type PageEntry,
  type PageRecords,
  packRecord,
  pageKeyOf,
  RecordPacker,
  positionOf,
  stampOf,
  withRecords,
} from "../../../src/hub/durable/pages.js";
import type { ProcessHub } from "../../../src/hub/process-hub.js";
import { type Logger, silentLogger } from "../../../src/logger.js";
import { oneNodeHub, packed, running, spec } from "./one-node-hub.js";

const entry = running;

/** Ids that share one page. */
function samePage(n: number): string[] {
  const key = pageKeyOf("x0");
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) if (pageKeyOf(`x${i}`) === key) out.push(`x${i}`);
  return out;
}

/** The run of a page of `entries` (id → entry), in that order, each stamped with `revision`. */
function runOf(entries: ReadonlyArray<readonly [string, PageEntry]>, revision = 1): Uint8Array {
  return withRecords(
    EMPTY_PAGE,
    new Map(entries.map(([id, e]) => [id, packRecord(id, e, stampOf(revision, false))])),
  ).run;
}

/** A run of records laid out by hand (any ids, any bytes). */
function rawRun(recs: readonly Uint8Array[]): Uint8Array {
  return Buffer.concat(recs);
}

/**
 * A record framed by hand, as this layout frames them (lengths and the stamp as varints): any id,
 * any entry; `stamp` 2 is revision 1, not weak; null frames it without (version 3).
 */
function framed(id: string, entry: unknown, stamp: number | null = 2): Buffer {
  const body = packed(entry);
  // One-byte varints: lengths and stamps under 128.
  if (id.length >= 128 || body.length >= 128 || (stamp ?? 0) >= 128)
    throw new Error("too long for this helper");
  return Buffer.concat([
    Uint8Array.of(id.length),
    Buffer.from(id),
    stamp === null ? Uint8Array.of() : Uint8Array.of(stamp),
    Uint8Array.of(body.length),
    body,
  ]);
}

/** A record framed as the first layout frames them (lengths as big-endian uint32). */
function framedV2(id: string, entry: unknown): Buffer {
  const body = packed(entry);
  const r = Buffer.alloc(8 + id.length + body.length);
  r.writeUInt32BE(id.length, 0);
  r.write(id, 4);
  r.writeUInt32BE(body.length, 4 + id.length);
  r.set(body, 8 + id.length);
  return r;
}

/** A page of version 3 (records without stamps, each at the page's revision), as nodes wrote them before the log. */
const v3Page = (key: string, run: Uint8Array) =>
  packed({ f: "hubvisor/declared-page", v: 3, hub: "h", key, r: run });

describe("pages of declarations", () => {
  it("round-trips a page and refuses bad pages as a whole", () => {
    const ids = samePage(3);
    const key = pageKeyOf(ids[0]!);
    const page = encodePage(
      "h",
      key,
      runOf(
        ids.map((id) => [id, entry(id)]),
        4,
      ),
    );
    const d = decodePage("h", key, page, 7);
    expect("pageRefused" in d).toBe(false);
    if ("pageRefused" in d) return;
    // Each record at the revision it is stamped with, not the page's.
    expect(d.declared.map((x) => [x.id, x.revision, x.desired, x.weak])).toEqual(
      ids.map((id) => [id, 4, "running", undefined]),
    );
    expect(d.page.ids).toEqual(ids);
    expect(decodePage("other", key, page, 7)).toEqual({ pageRefused: "another hub's page" });
    let other = "y0";
    for (let i = 1; pageKeyOf(other) === key; i++) other = `y${i}`;
    expect(decodePage("h", pageKeyOf(other), page, 7)).toEqual({
      pageRefused: "page does not match its key",
    });
    expect(decodePage("h", `${key}00`, page, 7)).toEqual({ pageRefused: "not a page key" });
    expect(decodePage("h", key, Uint8Array.of(0x93, 1), 7)).toEqual({ pageRefused: "does not decode" });
    expect(decodePage("h", key, packed({ f: "something/else", e: {} }), 7)).toEqual({
      pageRefused: "foreign format",
    });
    // A run cut in the middle of a record: the page is refused, not half applied.
    const cut = packRecord(ids[0]!, entry(ids[0]!), 2).subarray(0, 12);
    expect(decodePage("h", key, encodePage("h", key, cut), 7)).toEqual({ pageRefused: "truncated record" });
    // Lengths cut short, or longer than four bytes of varint; a stamp past 53 bits.
    for (const bad of [
      Uint8Array.of(0x85),
      Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x01),
      Uint8Array.of(2, 0x61),
      Uint8Array.of(1, 0x61, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 1, 0xc0),
    ])
      expect(decodePage("h", key, encodePage("h", key, bad), 7)).toEqual({ pageRefused: "truncated record" });
  });

  it("refuses a misplaced, invalid, repeated or future-stamped record alone", () => {
    const [a, b, c] = samePage(3) as [string, string, string];
    const key = pageKeyOf(a);
    let elsewhere = "y0";
    for (let i = 1; pageKeyOf(elsewhere) === key; i++) elsewhere = `y${i}`;
    const run = rawRun([
      packRecord(a, entry(a), 2),
      packRecord(b, { ...entry(b), spec: { ...spec(b), behaviour: "" } }, 2),
      packRecord(elsewhere, entry(elsewhere), 2),
      packRecord(a, { ...entry(a), desired: "stopped", spec: null }, 2),
      // A record claiming a revision past its page's would supersede declarations written later.
      packRecord(c, entry(c), stampOf(4, false)),
    ]);
    const d = decodePage("h", key, encodePage("h", key, run), 3);
    if ("pageRefused" in d) throw new Error(d.pageRefused);
    expect(d.declared.map((x) => [x.id, x.desired])).toEqual([[a, "running"]]);
    expect(d.refused.map((r) => [r.id, r.why]).sort()).toEqual(
      [
        [a, "twice on the page"],
        [b, "bad spec"],
        [c, "stamped past its page"],
        [elsewhere, "on the wrong page"],
      ].sort(),
    );
    expect(d.page.ids).toEqual([a]);
  });

  it("decodes a call's children that share an entry into declarations of their own", () => {
    const ids = samePage(4);
    const key = pageKeyOf(ids[0]!);
    const packer = new RecordPacker();
    const plain = (id: string): PageEntry => ({
      desired: "running",
      spec: { id, behaviour: "w", args: 7, restart: "transient", shutdown: 10, metadata: {} },
      by: "n1",
      at: 5,
    });
    const withObject = (id: string): PageEntry => ({
      ...plain(id),
      spec: { ...plain(id).spec!, args: { n: 1 } },
    });
    // The packer's records are packRecord's, byte for byte, shared entry or not; stamps differ
    // from record to record while the entries are shared.
    const entries: Array<[string, PageEntry, number]> = [
      [ids[0]!, plain(ids[0]!), stampOf(8, false)],
      [ids[1]!, plain(ids[1]!), stampOf(9, true)],
      [ids[2]!, withObject(ids[2]!), stampOf(9, false)],
      [ids[3]!, withObject(ids[3]!), stampOf(9, false)],
    ];
    const recs = entries.map(([id, e, st]) => packer.pack(id, e, st));
    expect(recs.map((r) => Buffer.from(r))).toEqual(
      entries.map(([id, e, st]) => Buffer.from(packRecord(id, e, st))),
    );
    const d = decodePage("h", key, encodePage("h", key, rawRun(recs)), 9);
    if ("pageRefused" in d) throw new Error(d.pageRefused);
    expect(
      d.declared.map((x) => [x.id, x.spec?.id, x.spec?.args, x.spec?.restart, x.revision, x.weak === true]),
    ).toEqual([
      [ids[0], ids[0], 7, "transient", 8, false],
      [ids[1], ids[1], 7, "transient", 9, true],
      [ids[2], ids[2], { n: 1 }, "transient", 9, false],
      [ids[3], ids[3], { n: 1 }, "transient", 9, false],
    ]);
    // Nothing a child could change is shared with another: its spec, its metadata, object args.
    expect(d.declared[0]!.spec).not.toBe(d.declared[1]!.spec);
    expect(d.declared[0]!.spec!.metadata).not.toBe(d.declared[1]!.spec!.metadata);
    expect(d.declared[2]!.spec!.args).not.toBe(d.declared[3]!.spec!.args);
    // A stop shares its entry too.
    const stops = ids.map((id) => packer.pack(id, { desired: "stopped", spec: null, by: "n1", at: 6 }, 20));
    const s2 = decodePage("h", key, encodePage("h", key, rawRun(stops)), 10, d.page);
    if ("pageRefused" in s2) throw new Error(s2.pageRefused);
    expect(s2.declared.map((x) => [x.id, x.desired, x.spec])).toEqual(ids.map((id) => [id, "stopped", null]));
  });

  it("refuses entries whose codes or shape are out of range, instead of taking defaults", () => {
    const [a] = samePage(1) as [string];
    const key = pageKeyOf(a);
    const good = ["w", 1, 0, 5000, {}];
    const why = (e: unknown[]) => {
      const d = decodePage("h", key, encodePage("h", key, framed(a, e)), 1);
      if ("pageRefused" in d) throw new Error(d.pageRefused);
      return d.declared.length === 1 ? "ok" : d.refused[0]?.why;
    };
    expect(why([0, 1, "n1", good])).toBe("ok");
    expect(why([0, 1, "n1", good, ["n2"]])).toBe("ok");
    // A restart code past the three: read as a missing field, it would become "permanent".
    expect(why([0, 1, "n1", ["w", 1, 3, 5000, {}]])).toBe("bad spec");
    expect(why([7, 1, "n1", good])).toBe("bad desired state");
    expect(why([0, 1, "n1", ["w", 1, 0, 5000]])).toBe("bad spec");
    expect(why([0, 1, "n1", ["w", 1, 0, -1, {}]])).toBe("bad spec");
    expect(why([1, 1, "n1", good])).toBe("a stop with a spec");
    expect(why([0, "1", "n1", good])).toBe("bad writer fields");
    expect(why([0, 1, "n1", good, []])).toBe("bad pin");
    expect(why([0, 1, "n1"])).toBe("not a record");
    expect(why([0, 1, "n1", good, ["n2"], "more"])).toBe("not a record");
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
    // b stopped, c added, a unchanged: only b and c come back, at their stamps; b keeps its place.
    const second = withRecords(
      d1.page,
      new Map([
        [b, packRecord(b, { desired: "stopped", spec: null, by: "n2", at: 2 }, stampOf(2, false))],
        [c, packRecord(c, entry(c), stampOf(2, false))],
      ]),
    );
    expect(second.written).toEqual([
      [b, 1],
      [c, 2],
    ]);
    const d2 = decodePage("h", key, encodePage("h", key, second.run), 3, d1.page);
    if ("pageRefused" in d2) throw new Error(d2.pageRefused);
    expect(d2.declared.map((x) => [x.id, x.desired, x.revision])).toEqual([
      [b, "stopped", 2],
      [c, "running", 2],
    ]);
    expect(d2.page.ids).toEqual([a, b, c]);
    expect(d2.page.decls[0]).toBe(d1.page.decls[0]);
    // The writer's own page, taken without decoding, is the page every reader decodes.
    const own = adopt(second, (id) => d2.declared.find((x) => x.id === id)!);
    expect(own.ids).toEqual(d2.page.ids);
    // Each record's declaration beside it: a's from the first write, b's and c's from the second.
    expect(own.decls.map((x) => [x.id, x.desired, x.revision])).toEqual([
      [a, "running", 1],
      [b, "stopped", 2],
      [c, "running", 2],
    ]);
    expect(own.decls).toEqual(d2.page.decls);
    expect(own.starts).toEqual(d2.page.starts);
    expect(Buffer.from(own.run)).toEqual(Buffer.from(d2.page.run));
    expect(positionOf(own, c)).toBe(2);
    // The same page again changes nothing and decodes nothing.
    const same = decodePage("h", key, encodePage("h", key, d2.page.run), 4, d2.page);
    if ("pageRefused" in same) throw new Error(same.pageRefused);
    expect(same.declared).toEqual([]);
    expect(same.page.ids).toEqual([a, b, c]);
    // A garbled record in a's place is refused alone; the page keeps a's earlier record.
    const recOf = (p: PageRecords, k: number) => p.run.subarray(p.starts[k], p.starts[k + 1]);
    const garbled = rawRun([Uint8Array.of(0, 0, 0), recOf(d2.page, 1), recOf(d2.page, 2)]);
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

  it("reads pages of version 3 (each record at its page's revision) and rewrites them stamped, in place", () => {
    const [a, b, c] = samePage(3) as [string, string, string];
    const key = pageKeyOf(a);
    const old = decodePage(
      "h",
      key,
      v3Page(
        key,
        rawRun([framed(a, [0, 1, "n0", ["w", 1, 0, 5000, {}]], null), framed(b, [1, 1, "n0", null], null)]),
      ),
      6,
    );
    if ("pageRefused" in old) throw new Error(old.pageRefused);
    expect(old.declared.map((x) => [x.id, x.desired, x.revision])).toEqual([
      [a, "running", 6],
      [b, "stopped", 6],
    ]);
    // A fold on it: a and b keep their places and their revisions, now as stamps; c is appended.
    const w = withRecords(old.page, new Map([[c, packRecord(c, entry(c), stampOf(9, false))]]));
    const now = decodePage("h", key, encodePage("h", key, w.run), 10, old.page);
    if ("pageRefused" in now) throw new Error(now.pageRefused);
    expect(now.refused).toEqual([]);
    expect(now.page.ids).toEqual([a, b, c]);
    expect(now.page.decls.map((x) => [x.id, x.desired, x.revision])).toEqual([
      [a, "running", 6],
      [b, "stopped", 6],
      [c, "running", 9],
    ]);
    // The writer's own copy is what readers decode.
    const own = adopt(w, () => now.declared.find((x) => x.id === c)!);
    expect(Buffer.from(own.run)).toEqual(Buffer.from(now.page.run));
    expect(own.stamped).toBe(true);
  });

  it("still reads pages of the first layout (1024 keys; versions 1 and 2), never as this layout's", () => {
    const [a] = samePage(1) as [string];
    const legacyKey = `d.=${(hash32(a) % 1024).toString(16)}`;
    const v1 = packed({ f: "hubvisor/declared-page", v: 1, hub: "h", key: legacyKey, e: { [a]: entry(a) } });
    const d = decodePage("h", legacyKey, v1, 5);
    if ("pageRefused" in d) throw new Error(d.pageRefused);
    expect(d.declared.map((x) => [x.id, x.desired, x.spec?.behaviour])).toEqual([[a, "running", "w"]]);
    // Version 2: the same records, each entry a map; a later write of that key (by a node of
    // that version) is compared with the records kept from version 1.
    const v2 = (run: Uint8Array) =>
      packed({ f: "hubvisor/declared-page", v: 2, hub: "h", key: legacyKey, r: run });
    const same = decodePage("h", legacyKey, v2(d.page.run), 6, d.page);
    if ("pageRefused" in same) throw new Error(same.pageRefused);
    expect(same.declared).toEqual([]);
    const stop = framedV2(a, { desired: "stopped", spec: null, by: "n2", at: 2 });
    const later = decodePage("h", legacyKey, v2(stop), 7, same.page);
    if ("pageRefused" in later) throw new Error(later.pageRefused);
    expect(later.declared.map((x) => [x.id, x.desired, x.revision])).toEqual([[a, "stopped", 7]]);
    // A version 2 record on the wrong page of the first layout is refused alone.
    let b = "z0";
    for (let i = 1; hash32(b) % 1024 === hash32(a) % 1024; i++) b = `z${i}`;
    const wrong = decodePage("h", legacyKey, v2(Buffer.concat([stop, framedV2(b, entry(b))])), 8, later.page);
    if ("pageRefused" in wrong) throw new Error(wrong.pageRefused);
    expect(wrong.refused).toEqual([{ id: b, why: "on the wrong page" }]);
    // Each layout's versions only under its own keys.
    expect(decodePage("h", legacyKey, encodePage("h", legacyKey, runOf([[a, entry(a)]])), 8)).toEqual({
      pageRefused: "unknown version 4",
    });
    const key = pageKeyOf(a);
    expect(
      decodePage("h", key, packed({ f: "hubvisor/declared-page", v: 1, hub: "h", key, e: {} }), 8),
    ).toEqual({
      pageRefused: "unknown version 1",
    });
    expect(
      decodePage("h", key, packed({ f: "hubvisor/declared-page", v: 2, hub: "h", key, r: stop }), 8),
    ).toEqual({
      pageRefused: "unknown version 2",
    });
  });
});

function recording(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { ...silentLogger, warnings, warn: (_o, msg) => void warnings.push(msg) };
}

/** Runs `fn` with a durable hub `hubId` of one node on `store`, and stops it after. */
async function withHub<T>(
  store: MemoryDurableStore,
  hubId: string,
  fn: (hub: ProcessHub) => Promise<T>,
  logger: Logger = silentLogger,
): Promise<T> {
  const { hub, stop } = await oneNodeHub(store, hubId, {}, logger);
  try {
    return await fn(hub);
  } finally {
    await stop();
  }
}

describe("a durable hub's pages (memory transport)", () => {
  it("refuses a garbled page over a live one: its declarations stay in force, and the next fold writes over it", async () => {
    const store = new MemoryDurableStore();
    const logger = recording();
    await withHub(
      store,
      "pages",
      async (hub) => {
        const n = 3000;
        const r = await hub
          .startChildren(
            Array.from({ length: n }, (_, i) => ({ id: `c${i}`, behaviour: "w" })),
            { awaitable: true, timeoutMs: 30_000 },
          )
          .await();
        expect(r.errors).toEqual([]);
        await hub.durable!.fold();
        expect(hub.durable!.declared.pendingCount).toBe(0);
        // A garbled page over a live one: refused, its declarations stay in force.
        const key = pageKeyOf("c1");
        store.inject("pages", key, Uint8Array.of(0x93, 1, 2));
        await expect.poll(() => hub.durable!.stats.refused, { timeout: 5000 }).toBeGreaterThanOrEqual(1);
        expect(logger.warnings).toContain("durable store entry refused");
        expect(hub.durable!.declared.get("c1")?.desired).toBe("running");
        // The next fold of that page is based on the garbled entry's revision and succeeds.
        const s = await hub.stopChildren(["c1"], { awaitable: true }).await(10_000);
        expect(s.errors).toEqual([]);
        await hub.durable!.fold();
        expect(hub.durable!.stats.foldFailures).toBe(0);
        expect(hub.durable!.declared.pendingCount).toBe(0);
        expect(hub.durable!.declared.get("c1")?.desired).toBe("stopped");
        expect(hub.localChildren().size).toBe(n - 1);
      },
      logger,
    );
  });

  it("takes declarations from pages of the first layout, and a later write of this layout wins", async () => {
    const store = new MemoryDurableStore();
    const bucket = await store.open("legacy");
    // A bucket written before this layout: c running and d stopped, on pages of 1024 keys.
    const v2 = (ids: Array<[string, PageEntry]>) => {
      for (const [id, e] of ids) {
        const key = `d.=${(hash32(id) % 1024).toString(16)}`;
        const r = framedV2(id, e);
        store.inject("legacy", key, packed({ f: "hubvisor/declared-page", v: 2, hub: "legacy", key, r }));
      }
    };
    v2([
      ["old-c", { desired: "running", spec: { ...spec("old-c"), behaviour: "w" }, by: "n0", at: 1 }],
      ["old-d", { desired: "stopped", spec: null, by: "n0", at: 1 }],
    ]);
    await bucket.close();
    await withHub(store, "legacy", async (hub) => {
      await expect.poll(() => hub.localChildren().has("old-c"), { timeout: 5000 }).toBe(true);
      expect(hub.durable!.declared.get("old-d")?.desired).toBe("stopped");
      expect(hub.durable!.stats.refused).toBe(0);
      const s = await hub.stopChildren(["old-c"], { awaitable: true }).await(10_000);
      expect(s.errors).toEqual([]);
    });
    // A new hub on the same store: the stop (a page of this layout, a later revision) wins over
    // the first layout's "running", which is still there.
    await withHub(store, "legacy", async (hub) => {
      expect(hub.durable!.declared.get("old-c")?.desired).toBe("stopped");
      expect(
        await store.open("legacy").then((b) => b.get(`d.=${(hash32("old-c") % 1024).toString(16)}`)),
      ).not.toBeNull();
      const r = await hub.startChildren([{ id: "new-e", behaviour: "w" }], { awaitable: true }).await(10_000);
      expect(r.errors).toEqual([]);
      await expect.poll(() => hub.durable!.stats.rounds, { timeout: 5000 }).toBeGreaterThan(3);
      expect(hub.localChildren().has("old-c")).toBe(false);
      expect(hub.localChildren().has("old-d")).toBe(false);
    });
  });

  it("takes declarations from pages of version 3, and folds over them keeping each one's revision", async () => {
    const store = new MemoryDurableStore();
    const bucket = await store.open("v3");
    // A bucket written before the log: v3-a running and v3-b stopped, on one page of version 3.
    const [a, b] = samePage(2).map((id) => `${id}`) as [string, string];
    const key = pageKeyOf(a);
    store.inject(
      "v3",
      key,
      packed({
        f: "hubvisor/declared-page",
        v: 3,
        hub: "v3",
        key,
        r: rawRun([
          framed(a, [0, 1, "n0", ["w", 1, 0, 5000, {}]], null),
          framed(b, [1, 1, "n0", null], null),
        ]),
      }),
    );
    const v3Revision = (await bucket.get(key))!.revision;
    await bucket.close();
    await withHub(store, "v3", async (hub) => {
      await expect.poll(() => hub.localChildren().has(a), { timeout: 5000 }).toBe(true);
      expect(hub.localChildren().has(b)).toBe(false);
      expect(hub.durable!.declared.get(b)?.revision).toBe(v3Revision);
      expect(hub.durable!.stats.refused).toBe(0);
      // A start of another id on that page, folded: the page is rewritten in this version.
      let c = "w0";
      for (let i = 1; pageKeyOf(c) !== key; i++) c = `w${i}`;
      const r = await hub.startChildren([{ id: c, behaviour: "w" }], { awaitable: true }).await(10_000);
      expect(r.errors).toEqual([]);
      await hub.durable!.fold();
      expect(hub.durable!.stats.foldFailures).toBe(0);
    });
    const after = await store.open("v3").then((x) => x.get(key));
    const page = decodePage("v3", key, after!.value!, after!.revision);
    if ("pageRefused" in page) throw new Error(page.pageRefused);
    expect(page.page.stamped).toBe(true);
    expect(page.declared.map((d) => [d.id, d.desired, d.revision === v3Revision])).toEqual([
      [a, "running", true],
      [b, "stopped", true],
      [expect.any(String), "running", false],
    ]);
  });
});
