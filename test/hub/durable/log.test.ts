/**
 * The log of declarations (`src/hub/durable/log.ts`) and its folds into pages
 * (`durability.ts`): an entry round-trips its declarations at its own revision and is refused
 * whole when garbled, foreign or misplaced, a bad record alone; over the memory transport, a call
 * writes one log entry per chunk (not a write per page), a fold later writes them into the pages
 * (read back from the store by a fresh reader), a node's unfolded entries are folded by another
 * node once it is gone, and a node's slots are reused (the log never grows past them).
 */
import { describe, expect, it } from "vitest";
import type { Declared } from "../../../src/hub/durable/declared.js";
import { decodeLog, encodeLog, isLogKey, LOG_SLOTS, logKey } from "../../../src/hub/durable/log.js";
import { MemoryDurableStore } from "../../../src/hub/durable/memory-store.js";
import { decodePage, isPageKey, packRecord, pageKeyOf } from "../../../src/hub/durable/pages.js";
import { oneNodeHub, packed, running, spec } from "./one-node-hub.js";

describe("log entries", () => {
  it("round-trip their declarations at the entry's revision, weak or not", () => {
    const key = logKey("node one", 3);
    expect(isLogKey(key)).toBe(true);
    const run = Buffer.concat([
      packRecord("a", running("a")),
      packRecord("b", { desired: "stopped", spec: null, by: "n1", at: 2 }),
    ]);
    const d = decodeLog("h", key, encodeLog("h", key, false, run), 42);
    if ("logRefused" in d) throw new Error(d.logRefused);
    expect(d.refused).toEqual([]);
    expect(d.declared.map((x) => [x.id, x.desired, x.revision, x.weak === true, x.spec?.id])).toEqual([
      ["a", "running", 42, false, "a"],
      ["b", "stopped", 42, false, undefined],
    ]);
    const w = decodeLog("h", key, encodeLog("h", key, true, run), 43);
    if ("logRefused" in w) throw new Error(w.logRefused);
    expect(w.declared.every((x: Declared) => x.weak === true && x.revision === 43)).toBe(true);
  });

  it("are refused whole when garbled, foreign or misplaced, and a bad record alone", () => {
    const key = logKey("n1", 0);
    const run = packRecord("a", running("a"));
    const env = (o: Record<string, unknown>) =>
      packed({ f: "hubvisor/declared-log", v: 1, hub: "h", key, w: 0, r: run, ...o });
    expect(decodeLog("h", key, env({}), 5)).toMatchObject({ declared: [{ id: "a" }] });
    expect(decodeLog("h", `${key}x`, env({}), 5)).toEqual({ logRefused: "not a log key" });
    expect(decodeLog("h", logKey("n1", LOG_SLOTS), env({}), 5)).toEqual({ logRefused: "not a log key" });
    expect(decodeLog("h", key, Uint8Array.of(0x93, 1), 5)).toEqual({ logRefused: "does not decode" });
    expect(decodeLog("h", key, env({ f: "other" }), 5)).toEqual({ logRefused: "foreign format" });
    expect(decodeLog("h", key, env({ v: 2 }), 5)).toEqual({ logRefused: "unknown version 2" });
    expect(decodeLog("other", key, env({}), 5)).toEqual({ logRefused: "another hub's log entry" });
    expect(decodeLog("h", key, env({ key: logKey("n1", 1) }), 5)).toEqual({
      logRefused: "log entry does not match its key",
    });
    expect(decodeLog("h", key, env({ w: true }), 5)).toEqual({ logRefused: "bad weak flag" });
    expect(decodeLog("h", key, env({ r: "records" }), 5)).toEqual({ logRefused: "no records" });
    expect(decodeLog("h", key, env({ r: run.subarray(0, run.length - 1) }), 5)).toEqual({
      logRefused: "truncated record",
    });
    // Records: the same id twice, a bad spec; the rest applies.
    const bad = Buffer.concat([
      run,
      packRecord("a", { desired: "stopped", spec: null, by: "n1", at: 2 }),
      packRecord("b", { ...running("b"), spec: { ...spec("b"), shutdown: -1 } }),
      packRecord("c", running("c")),
    ]);
    const d = decodeLog("h", key, env({ r: bad }), 6);
    if ("logRefused" in d) throw new Error(d.logRefused);
    expect(d.declared.map((x) => [x.id, x.desired])).toEqual([
      ["a", "running"],
      ["c", "running"],
    ]);
    expect(d.refused).toEqual([
      { id: "a", why: "twice in the entry" },
      { id: "b", why: "bad spec" },
    ]);
  });
});

/** What a fresh reader of the store's pages alone (no log) finds declared, by id. */
async function pagesOf(store: MemoryDurableStore, hubId: string): Promise<Map<string, Declared>> {
  const bucket = await store.open(hubId);
  const out = new Map<string, Declared>();
  const w = bucket.watch("d.", (e) => {
    if (e.value === null || isLogKey(e.key) || !isPageKey(e.key)) return;
    const p = decodePage(hubId, e.key, e.value, e.revision);
    if ("pageRefused" in p) throw new Error(p.pageRefused);
    for (const d of p.declared) out.set(d.id, d);
  });
  await w.ready;
  w.stop();
  await bucket.close();
  return out;
}

/** The log keys in the store, and how many declarations their entries hold. */
async function logOf(
  store: MemoryDurableStore,
  hubId: string,
): Promise<{ keys: Set<string>; declared: number }> {
  const bucket = await store.open(hubId);
  const keys = new Set<string>();
  let declared = 0;
  const w = bucket.watch("d.", (e) => {
    if (!isLogKey(e.key) || e.value === null) return;
    keys.add(e.key);
    const l = decodeLog(hubId, e.key, e.value, e.revision);
    if ("logRefused" in l) throw new Error(l.logRefused);
    declared += l.declared.length;
  });
  await w.ready;
  w.stop();
  await bucket.close();
  return { keys, declared };
}

describe("a durable hub's log (memory transport)", () => {
  it("writes a call's declarations as a log entry per chunk, and folds them into the pages later", async () => {
    const store = new MemoryDurableStore();
    const { hub, stop } = await oneNodeHub(store, "folds", { foldDelayMs: 600_000 });
    try {
      const before = store.stats.writes;
      const n = 2500;
      const r = await hub
        .startChildren(
          Array.from({ length: n }, (_, i) => ({ id: `c${i}`, behaviour: "w" })),
          { awaitable: true, timeoutMs: 30_000 },
        )
        .await();
      expect(r.errors).toEqual([]);
      // Chunks of 1000: three entries, no page written.
      expect(store.stats.writes - before).toBe(3);
      expect((await pagesOf(store, "folds")).size).toBe(0);
      expect(await logOf(store, "folds")).toMatchObject({ declared: n });
      expect(hub.durable!.declared.get("c7")?.desired).toBe("running");
      // A fold writes them into their pages: a fresh reader of the pages alone finds every one.
      const folds: Array<{ pages: number; declarations: number; failedPages: number }> = [];
      hub.registerHook("logFolded", (d) => void folds.push(d));
      await hub.durable!.fold();
      expect(folds).toEqual([
        {
          pages: hub.durable!.stats.foldedPages,
          declarations: n,
          failedPages: 0,
          durationMs: expect.any(Number),
        },
      ]);
      const pages = await pagesOf(store, "folds");
      expect(pages.size).toBe(n);
      expect([...pages.values()].every((d) => d.desired === "running")).toBe(true);
      expect(hub.durable!.stats.foldedPages).toBeGreaterThan(0);
      expect(hub.durable!.stats.foldedPages).toBeLessThanOrEqual(256);
      // And empties the slots it folded: a node opening the store decodes nothing twice.
      expect(await logOf(store, "folds")).toMatchObject({ declared: 0 });
      expect(hub.durable!.declared.get("c7")?.desired).toBe("running");
      // A stop: one entry; folded, the page's record is the stop, stamped after the start.
      const s = await hub.stopChildren(["c7"], { awaitable: true }).await(10_000);
      expect(s.errors).toEqual([]);
      expect(hub.durable!.declared.get("c7")?.desired).toBe("stopped");
      await hub.durable!.fold();
      const after = await pagesOf(store, "folds");
      expect(after.get("c7")?.desired).toBe("stopped");
      expect(after.get("c7")!.revision).toBeGreaterThan(pages.get("c7")!.revision);
      expect(after.get("c8")!.revision).toBe(pages.get("c8")!.revision);
      expect(hub.localChildren().size).toBe(n - 1);
    } finally {
      await stop();
    }
  });

  it("folds the log entries of a node that is gone, from another node", async () => {
    const store = new MemoryDurableStore();
    const first = await oneNodeHub(store, "orphans", { foldDelayMs: 600_000 });
    const r = await first.hub
      .startChildren(
        Array.from({ length: 300 }, (_, i) => ({ id: `o${i}`, behaviour: "w" })),
        { awaitable: true },
      )
      .await(10_000);
    expect(r.errors).toEqual([]);
    await first.stop();
    expect((await pagesOf(store, "orphans")).size).toBe(0);
    // A node of another name: the first one's entries stay unfolded for 5 x its foldDelayMs.
    const second = await oneNodeHub(store, "orphans", { foldDelayMs: 20 });
    try {
      await expect.poll(async () => (await pagesOf(store, "orphans")).size, { timeout: 10_000 }).toBe(300);
      expect(second.hub.durable!.declared.pendingCount).toBe(0);
      // And empties the gone node's slots: a node opening the store decodes nothing twice.
      await expect.poll(async () => (await logOf(store, "orphans")).declared, { timeout: 10_000 }).toBe(0);
      // Declared all along: reconcile runs them on the only node.
      await expect.poll(() => second.hub.localChildren().size, { timeout: 10_000 }).toBe(300);
    } finally {
      await second.stop();
    }
  });

  it("writes concurrent small calls together: entity-like starts share log entries", async () => {
    const store = new MemoryDurableStore();
    const { hub, stop } = await oneNodeHub(store, "batches", { foldDelayMs: 600_000 });
    try {
      const n = 200;
      const rs = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          hub.startChildren([{ id: `b${i}`, behaviour: "w" }], { awaitable: true }).await(10_000),
        ),
      );
      expect(rs.every((r) => r.errors.length === 0 && r.started.length === 1)).toBe(true);
      expect(hub.durable!.stats.logEntries).toBeLessThan(n / 4);
      for (let i = 0; i < n; i++) expect(hub.durable!.declared.get(`b${i}`)?.desired).toBe("running");
      // A start and a stop of one id at once: the later call's declaration wins, in one entry or two.
      await Promise.all([
        hub.startChildren([{ id: "twice", behaviour: "w" }], { awaitable: true }).await(10_000),
        hub.stopChildren(["twice"], { awaitable: true }).await(10_000),
      ]);
      expect(hub.durable!.declared.get("twice")?.desired).toBe("stopped");
      // Whichever of the two reached the child last, what runs ends as declared.
      await expect.poll(() => hub.localChildren().has("twice"), { timeout: 5000 }).toBe(false);
      await hub.durable!.fold();
      expect((await pagesOf(store, "batches")).get("twice")?.desired).toBe("stopped");
    } finally {
      await stop();
    }
  });

  it("keeps when a node learnt a declaration when another node folds it into its page", async () => {
    const store = new MemoryDurableStore();
    const a = await oneNodeHub(store, "learnt", { foldDelayMs: 600_000 });
    const b = await oneNodeHub(store, "learnt", { foldDelayMs: 600_000 });
    try {
      const r = await a.hub.startChildren([{ id: "l1", behaviour: "w" }], { awaitable: true }).await(10_000);
      expect(r.errors).toEqual([]);
      await expect
        .poll(() => b.hub.durable!.declared.get("l1")?.learnt ?? 0, { timeout: 5000 })
        .toBeGreaterThan(0);
      const learnt = b.hub.durable!.declared.get("l1")!.learnt;
      await a.hub.durable!.fold();
      await expect.poll(() => b.hub.durable!.declared.pendingCount, { timeout: 5000 }).toBe(0);
      expect(b.hub.durable!.declared.get("l1")?.learnt).toBe(learnt);
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it("refuses new declarations on a page the store will not take, and only on that page", async () => {
    // Entries of at most 4 KB: three records of 1.5 KB on one page make it too large to write.
    const store = new MemoryDurableStore(4096);
    const { hub, stop } = await oneNodeHub(store, "full", { foldDelayMs: 600_000 });
    try {
      const onPage = (page: string, n: number) => {
        const out: string[] = [];
        for (let i = 0; out.length < n; i++)
          if (pageKeyOf(`${page}${i}`) === pageKeyOf(`${page}0`)) out.push(`${page}${i}`);
        return out;
      };
      const [a1, a2, a3, a4] = onPage("a", 4) as [string, string, string, string];
      const [b1, b2, b3] = onPage("b", 3).filter((id) => pageKeyOf(id) !== pageKeyOf(a1)) as [
        string,
        string,
        string,
      ];
      const start = (id: string) =>
        hub
          .startChildren([{ id, behaviour: "w", args: "x".repeat(1500) }], { awaitable: true })
          .await(10_000);
      for (const id of [a1, a2, b1]) expect((await start(id)).errors).toEqual([]);
      await hub.durable!.fold();
      expect(hub.durable!.stats.foldFailures).toBe(0);
      // a3 grows its page past what the store takes: that page's fold fails, b2's succeeds.
      for (const id of [a3, b2]) expect((await start(id)).errors).toEqual([]);
      await hub.durable!.fold();
      expect(hub.durable!.stats.foldFailures).toBe(1);
      expect((await pagesOf(store, "full")).has(b2)).toBe(true);
      // a3 stays declared (in the log); a new start on its page is refused at once, elsewhere not.
      expect(hub.durable!.declared.get(a3)?.desired).toBe("running");
      const refused = await start(a4);
      expect(refused.errors.map((e) => [e.id, e.reason])).toEqual([[a4, "store_failed"]]);
      expect(String(refused.errors[0]!.detail)).toContain("its page cannot be written");
      expect(hub.localChildren().has(a4)).toBe(false);
      expect((await start(b3)).errors).toEqual([]);
      // A stop on that page is still taken (it makes the page smaller).
      const s = await hub.stopChildren([a1], { awaitable: true }).await(10_000);
      expect(s.errors).toEqual([]);
      expect(hub.durable!.declared.get(a1)?.desired).toBe("stopped");
    } finally {
      await stop();
    }
  });

  it("reuses its slots once folded: more entries than slots, and the log stays within them", async () => {
    const store = new MemoryDurableStore();
    const { hub, stop } = await oneNodeHub(store, "slots", { foldDelayMs: 600_000 });
    try {
      const calls = LOG_SLOTS + 20;
      for (let i = 0; i < calls; i++) {
        const r = await hub
          .startChildren([{ id: `s${i}`, behaviour: "w" }], { awaitable: true })
          .await(10_000);
        expect(r.errors).toEqual([]);
      }
      // Every slot was taken: the write that found none folded the log, then reused them.
      expect(hub.durable!.stats.logEntries).toBe(calls);
      expect(hub.durable!.stats.foldedPages).toBeGreaterThan(0);
      expect((await logOf(store, "slots")).keys.size).toBeLessThanOrEqual(LOG_SLOTS);
      for (let i = 0; i < calls; i++) expect(hub.durable!.declared.get(`s${i}`)?.desired).toBe("running");
      await hub.durable!.fold();
      expect((await pagesOf(store, "slots")).size).toBe(calls);
    } finally {
      await stop();
    }
  });
});
