/**
 * `Durability`: one durable hub on one node. It keeps a replica of the hub's declarations (the
 * store's watch), writes a call's declarations to the log before its starts or stops go out,
 * folds the log into the pages (`log.ts`, `pages.ts`), and runs reconcile rounds: a child
 * declared running that runs nowhere is started by its owner, a local child declared stopped is
 * stopped. It lives beside the hub process, on the handle's side (as the entity router does): it
 * only reads the hub's registry, view and mode, and acts through the same request dispatch as
 * `startChildren` / `stopChildren`. Imports the hub core's types, the start grouping, results,
 * the store and its codecs.
 */
import type { NormalizedChildSpec } from "../child-spec.js";
import { InvalidHubChildSpecError } from "../errors.js";
import { Future } from "../future.js";
import type { HubCore } from "../hub-core.js";
import type { StartItem } from "../messages.js";
import { type ChildError, type HubErrorReason, StartResult, StopResult } from "../results.js";
import { groupStarts, type PinnedNodes, rollback } from "../start-request.js";
import { type Declared, DECLARED_PREFIX, type DesiredState, decodeDeclared, idOfKey } from "./declared.js";
import { checkpointOptionsOf } from "./checkpointed.js";
import { supportsHandover } from "../strategies/handover.js";
import { DurableConflictError, DurableStoreError } from "./errors.js";
import {
  decodeLog,
  encodeLog,
  isLogKey,
  LOG_ENTRY_BYTES,
  LOG_ENTRY_RECORDS,
  LOG_SLOTS,
  logKey,
} from "./log.js";
import {
  adopt,
  currentPageOf,
  decodePage,
  EMPTY_PAGE,
  encodePage,
  isPageKey,
  type PageRecords,
  pageKey,
  pageOf,
  positionOf,
  RecordPacker,
  type Rewritten,
  stampOf,
  withRecords,
} from "./pages.js";
import { entryOf } from "./records.js";
import type { ParsedDurability } from "./options.js";
import { DeclaredReplica } from "./replica.js";
import type { DurableBucket, StoreEntry, StoreWatch } from "./store.js";

/** Counters of one node's durable hub. */
export interface DurabilityStats {
  /** Reconcile rounds that looked (the hub was running and its membership quiet). */
  rounds: number;
  /** Declared children this node started because they ran nowhere. */
  reconciledStarts: number;
  /** Local children this node stopped because they were declared stopped. */
  reconciledStops: number;
  /**
   * Rounds that did not act because the replica could not be shown current (the store
   * unreachable, or its watch behind the bucket's last write).
   */
  staleRounds: number;
  /** Store entries refused (garbled, foreign, another hub's). */
  refused: number;
  /** Declaration writes that failed (the store unreachable, or conflicts past the retries). */
  writeFailures: number;
  /** Log entries this node wrote (one per chunk of a call). */
  logEntries: number;
  /** Pages this node's folds wrote (each the log's declarations of one page, many calls at once). */
  foldedPages: number;
  /** Folds that left declarations unwritten (the store unreachable, or conflicts past the retries). */
  foldFailures: number;
}

/** What the start path of the handle gives: its parsed options and how to group specs by node. */
export interface DurableStartCall {
  awaitable: boolean;
  timeoutMs: number;
  onFailure: "continue" | "rollback";
  group: (specs: readonly NormalizedChildSpec[]) => Map<string, StartItem[]>;
  usable: () => void;
  /** The call's `childMapping`, declared with each child. */
  pins?: PinnedNodes | undefined;
}

/** One declaration to write: id, desired state, spec, pinned nodes. */
type Declaration = readonly [string, DesiredState, NormalizedChildSpec | null, (readonly string[] | null)?];

/** Start failures that are the child's own (not the network's): the declaration is taken back. */
const DEFINITE_FAILURES: ReadonlySet<HubErrorReason> = new Set(["start_failed", "unknown_behaviour"]);
/** Conflicting writers of one key: retries of one declaration before giving up. */
const MAX_CAS_ATTEMPTS = 8;
/** Calls of at most this many declarations are queued to share log entries (`flush`). */
const BATCHED = 100;

/** A log entry as this node last applied it. */
interface LogSlot {
  revision: number;
  /** Whether the key holds a value (a deleted key is written with `create`). */
  live: boolean;
  /** Its declarations (those refused left out). */
  decls: readonly Declared[];
  /** When this node applied it (its own clock): an entry unfolded for long is an orphan's. */
  seen: number;
  /** Known to be in the pages (every declaration, or a later one): the slot may be reused. */
  folded: boolean;
  /** It holds no record (an emptied slot): nothing to empty. */
  empty: boolean;
}

/** One log entry to write: its declarations and their records (written at `at`). */
interface LogChunk {
  items: Declaration[];
  recs: Uint8Array[];
  bytes: number;
  at: number;
}

/** A small call's declarations, queued to share a log entry with others (`flush`). */
interface SmallWrite {
  items: Declaration[];
  chunk: ((stored: Declaration[]) => void) | undefined;
  done: (failed: Map<string, unknown>) => void;
}

interface KeyState {
  revision: number;
  /** Whether the key holds a value (a deleted key is written with `create`). */
  live: boolean;
}

export class Durability {
  readonly declared = new DeclaredReplica();
  readonly stats: DurabilityStats = {
    rounds: 0,
    reconciledStarts: 0,
    reconciledStops: 0,
    staleRounds: 0,
    refused: 0,
    writeFailures: 0,
    logEntries: 0,
    foldedPages: 0,
    foldFailures: 0,
  };
  /** The highest revision applied to the replica (the watch's and this node's own writes). */
  private applied = 0;
  /**
   * The highest revision the watch delivered: every write up to it, any node's, is applied. Not
   * `applied`, which this node's own acknowledged writes (its folds, on timers) and re-reads also
   * raise past writes of others its watch has not delivered yet.
   */
  private watched = 0;
  /** A round is checking the store's last revision. */
  private checking = false;
  private bucket: DurableBucket | null = null;
  private watcher: StoreWatch | null = null;
  /** Revisions of keys of one declaration (the format before pages, still read). */
  private readonly keys = new Map<string, KeyState>();
  /** Each page's revision and entries as this node last applied them (the base of its next write). */
  private readonly pages = new Map<string, { revision: number; live: boolean; entries: PageRecords }>();
  /** Every log entry as this node last applied it (any node's): see `LogSlot`. */
  private readonly logs = new Map<string, LogSlot>();
  /** This node's slots being written now. */
  private readonly slotBusy = new Set<number>();
  /** Writers waiting for a slot of this node to be released. */
  private slotWaiters: Array<() => void> = [];
  private foldTimer: ReturnType<typeof setTimeout> | null = null;
  /**
   * This node's writes in flight, by key: the watch may bring one back before the store answers,
   * and it is then taken as built, not decoded (its value compared byte for byte).
   */
  private readonly ownLogs = new Map<
    string,
    { value: Uint8Array; decls: (revision: number) => Declared[] }
  >();
  private readonly ownPages = new Map<
    string,
    { value: Uint8Array; w: Rewritten; byId: ReadonlyMap<string, Declared> }
  >();
  /**
   * Pages the store refused to take from a fold (while it took others), with why: declarations
   * that would grow them are refused at once (`store_failed`), not left to fill the log with
   * entries no fold can write.
   */
  private readonly stuck = new Map<number, string>();
  /** Log entries this node wrote since its last fold began. */
  private sinceFold = 0;
  /** Small calls queued, by weakness, and whether each queue is being written. */
  private readonly queues = new Map<boolean, SmallWrite[]>();
  private readonly flushing = new Set<boolean>();
  /** The fold running, and the one queued behind it (which takes every declaration pending when it starts). */
  private foldRunning: Promise<void> | null = null;
  private foldQueued: Promise<void> | null = null;
  private readyResolve!: () => void;
  /** Resolves once the declarations current at open time are in `declared`. */
  readonly ready = new Promise<void>((r) => (this.readyResolve = r));
  private isReady = false;
  private closed = false;
  private readonly closers: Array<() => void> = [];
  private timer: ReturnType<typeof setInterval> | null = null;
  /** Declared ids this node owns that ran nowhere in the previous round. */
  private missingLast = new Set<string>();
  /** Local children declared stopped in the previous round. */
  private stoppedLast = new Set<string>();
  private readonly inFlight = new Set<string>();
  private readonly retry = new Map<string, { failures: number; notBefore: number }>();
  private quietSince = Date.now();
  private lastRefusedLog = 0;

  constructor(
    private readonly core: HubCore,
    readonly options: ParsedDurability,
  ) {
    for (const hook of ["preNodeJoin", "preNodeLeave", "postRedistribution"] as const)
      core.hooks.register(hook, () => this.topologyChanged(), { id: `$durable:${hook}`, priority: 100 });
    void this.open();
  }

  /** Refuses what a durable hub cannot keep its promise for. */
  static check(spec: NormalizedChildSpec): void {
    // A temporary or transient child leaves for good by exiting; its declaration would start it again.
    if (spec.restart !== "permanent")
      throw new InvalidHubChildSpecError("restart", '"permanent" in a durable hub', spec.restart);
  }

  private async open(): Promise<void> {
    let delay = 100;
    while (!this.closed) {
      try {
        const bucket = await this.options.store.open(this.core.hubId);
        if (this.closed) return void bucket.close();
        this.bucket = bucket;
        this.watcher = bucket.watch(DECLARED_PREFIX, (e) => {
          if (e.revision > this.watched) this.watched = e.revision;
          this.apply(e);
        });
        await this.watcher.ready;
        break;
      } catch (err) {
        this.core.logger.warn(
          { hub: this.core.hubId, err: String(err) },
          "durable store not opened; retrying",
        );
        this.watcher?.stop();
        this.watcher = null;
        await this.bucket?.close().catch(() => {});
        this.bucket = null;
        await new Promise((r) => setTimeout(r, delay).unref?.());
        delay = Math.min(delay * 2, 5000);
      }
    }
    if (this.closed) return;
    this.isReady = true;
    this.readyResolve();
    this.timer = setInterval(() => this.round(), this.options.reconcileIntervalMs);
    this.timer.unref?.();
  }

  /** Closed with its hub: nothing more is read or written. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Runs `fn` when this closes (at once if it has). */
  onClose(fn: () => void): void {
    if (this.closed) fn();
    else this.closers.push(fn);
  }

  close(): void {
    if (!this.closed) for (const fn of this.closers.splice(0)) fn();
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    if (this.foldTimer !== null) clearTimeout(this.foldTimer);
    for (const w of this.slotWaiters.splice(0)) w();
    this.watcher?.stop();
    void this.bucket?.close().catch(() => {});
  }

  // ------------------------------------------------------------------ the replica of the store

  /** One entry from the watch, or our own write: newer revisions only, refused values never applied. */
  private apply(e: StoreEntry): void {
    // Past every revision applied so far: whatever it declares supersedes what the replica holds.
    const fresh = e.revision > this.applied;
    if (fresh) this.applied = e.revision;
    if (isLogKey(e.key)) return this.applyLog(e, fresh);
    if (isPageKey(e.key)) return this.applyPage(e);
    // A key of one declaration (as written before pages): still read.
    const known = this.keys.get(e.key);
    if (known !== undefined && known.revision >= e.revision) return;
    this.keys.set(e.key, { revision: e.revision, live: e.value !== null });
    const id = idOfKey(e.key);
    if (e.value === null) {
      if (id !== null) this.declared.legacy.delete(id);
      return;
    }
    const d = decodeDeclared(this.core.hubId, e.key, e.value, e.revision);
    if ("refused" in d) return this.refuse(e, d.refused);
    if ((this.declared.get(d.id)?.revision ?? 0) > d.revision) return;
    // Declarations written since this node opened the store are left to the call that wrote
    // them for `graceMs` (the call starts or stops them itself).
    if (this.isReady) d.learnt = Date.now();
    this.declared.legacy.set(d.id, d);
  }

  /**
   * A page: its declarations newer than what the replica holds replace it; a refused page
   * changes nothing but the revision the next write is based on, a refused entry nothing but
   * itself (the writer keeps the entry it knew for that id).
   */
  private applyPage(e: StoreEntry): void {
    const known = this.pages.get(e.key);
    if (known !== undefined && known.revision >= e.revision) return;
    // This node's own fold, back from the watch before the store's answer: taken as built.
    const own = this.ownPages.get(e.key);
    if (own !== undefined && e.value !== null && Buffer.compare(own.value, e.value) === 0)
      return this.applyOwnPage(e.key, e.revision, own.w, own.byId);
    const prev = known?.entries ?? EMPTY_PAGE;
    const n = currentPageOf(e.key);
    if (e.value === null) {
      this.pages.set(e.key, { revision: e.revision, live: false, entries: EMPTY_PAGE });
      if (n !== undefined) return void this.declared.setPage(n, EMPTY_PAGE);
      const legacy = this.declared.legacy;
      for (const id of prev.ids) if ((legacy.get(id)?.revision ?? e.revision) < e.revision) legacy.delete(id);
      return;
    }
    const p = decodePage(this.core.hubId, e.key, e.value, e.revision, prev, (id) =>
      this.declared.pendingOf(id),
    );
    if ("pageRefused" in p) {
      this.pages.set(e.key, { revision: e.revision, live: true, entries: prev });
      return this.refuse(e, p.pageRefused);
    }
    for (const r of p.refused) this.refuse(e, `${r.id.slice(0, 40)}: ${r.why}`);
    this.pages.set(e.key, { revision: e.revision, live: true, entries: p.page });
    // Only the entries this write changed come back (a page carries its neighbours too): those
    // are fresh, left to the call that wrote them (those this node learnt from the log keep
    // when it did: `setPage`).
    const now = this.isReady ? Date.now() : 0;
    if (n !== undefined) {
      for (const d of p.declared) {
        // Held from the log already (a fold of it), or the same declaration as before (a page
        // of version 3 rewritten stamped): learnt when it was first.
        if (d === this.declared.pendingOf(d.id)) continue;
        const j = positionOf(prev, d.id);
        const was = j < 0 ? undefined : prev.decls[j];
        d.learnt =
          was !== undefined && was.revision === d.revision && (was.weak === true) === (d.weak === true)
            ? was.learnt
            : now;
      }
      return this.declared.setPage(n, p.page, p.declared);
    }
    for (const d of p.declared) {
      if ((this.declared.get(d.id)?.revision ?? 0) > d.revision) continue;
      d.learnt = now;
      this.declared.legacy.set(d.id, d);
    }
  }

  /**
   * A log entry (any node's): each of its declarations is offered to the replica, where it is in
   * force until a later one supersedes it; a page holding it takes it out of the pending ones.
   */
  private applyLog(e: StoreEntry, fresh: boolean): void {
    const known = this.logs.get(e.key);
    if (known !== undefined && known.revision >= e.revision) return;
    // This node's own entry, back from the watch before the store's answer: taken as built.
    const own = this.ownLogs.get(e.key);
    if (own !== undefined && e.value !== null && Buffer.compare(own.value, e.value) === 0)
      return this.applyOwnLog(e.key, e.revision, own.decls(e.revision), fresh);
    const seen = Date.now();
    if (e.value === null) {
      this.logs.set(e.key, { revision: e.revision, live: false, decls: [], seen, folded: true, empty: true });
      return;
    }
    const l = decodeLog(this.core.hubId, e.key, e.value, e.revision);
    if ("logRefused" in l) {
      // Nothing of it is applied; the slot's next write is based on this revision.
      this.logs.set(e.key, { revision: e.revision, live: true, decls: [], seen, folded: true, empty: false });
      return this.refuse(e, l.logRefused);
    }
    for (const r of l.refused) this.refuse(e, `${r.id.slice(0, 40)}: ${r.why}`);
    const now = this.isReady ? seen : 0;
    for (const d of l.declared) {
      d.learnt = now;
      this.declared.offer(d, fresh);
    }
    this.logs.set(e.key, {
      revision: e.revision,
      live: true,
      decls: l.declared,
      seen,
      folded: false,
      empty: l.declared.length + l.refused.length === 0,
    });
  }

  /**
   * This node's own log entry `key`, stored at `revision` with `decls`: the replica takes them as
   * built (unless the watch brought this write, or a later one, first).
   */
  private applyOwnLog(
    key: string,
    revision: number,
    decls: Declared[],
    fresh = revision > this.applied,
  ): void {
    if (revision > this.applied) this.applied = revision;
    const known = this.logs.get(key);
    if (known !== undefined && known.revision >= revision) return;
    for (const d of decls) this.declared.offer(d, fresh);
    this.logs.set(key, {
      revision,
      live: true,
      decls,
      seen: Date.now(),
      folded: false,
      empty: decls.length === 0,
    });
  }

  /**
   * This node's own fold of page `key`, stored at `revision`: the replica takes the page as it
   * was built and the declarations it wrote (the log's, as they were), without decoding what was
   * just encoded (unless the watch brought this write, or a later one, first).
   */
  private applyOwnPage(
    key: string,
    revision: number,
    w: Rewritten,
    byId: ReadonlyMap<string, Declared>,
  ): void {
    if (revision > this.applied) this.applied = revision;
    const known = this.pages.get(key);
    if (known !== undefined && known.revision >= revision) return;
    const entries = adopt(w, (id) => byId.get(id)!);
    this.pages.set(key, { revision, live: true, entries });
    this.declared.setPage(currentPageOf(key)!, entries, [...byId.values()]);
  }

  /**
   * Writes declarations as log entries of at most `LOG_ENTRY_RECORDS` declarations (and
   * `LOG_ENTRY_BYTES`), `writeConcurrency` entries at a time; resolves with the ids that failed
   * and why. Each entry's declarations go to `chunk` as soon as it is stored, while later ones are
   * still being written: a large start's first children start before its last declarations are
   * stored. `weak`: declared only where the id has no declaration (`supersedes`). The last
   * declaration of an id in a call wins.
   */
  private async writeAll(
    items: ReadonlyArray<Declaration>,
    timeoutMs: number,
    weak = false,
    chunk?: (stored: Declaration[]) => void,
  ): Promise<Map<string, unknown>> {
    let failed = new Map<string, unknown>();
    const ok = await this.whenReady(timeoutMs);
    if (!ok) {
      const err = new DurableStoreError("open", undefined, `store not ready within ${timeoutMs} ms`);
      for (const [id] of items) failed.set(id, err);
      this.stats.writeFailures += items.length;
      return failed;
    }
    const byId = new Map<string, Declaration>();
    for (const it of items) byId.set(it[0], it);
    if (this.stuck.size > 0)
      for (const [id, it] of byId) {
        const why = it[2] === null ? undefined : this.stuck.get(pageOf(id));
        if (why === undefined) continue;
        byId.delete(id);
        failed.set(
          id,
          new DurableStoreError("update", pageKey(pageOf(id)), `its page cannot be written: ${why}`),
        );
        this.stats.writeFailures++;
      }
    if (byId.size === 0) return failed;
    if (byId.size <= BATCHED)
      failed = await new Promise((done) => {
        this.queueOf(weak).push({
          items: [...byId.values()],
          chunk,
          done: (f) => {
            for (const [id, err] of failed) f.set(id, err);
            done(f);
          },
        });
        if (!this.flushing.has(weak)) void this.flush(weak);
      });
    else await this.writeEntries(this.chunked(byId.values()), weak, chunk, failed);
    this.scheduleFold();
    if (failed.size > 0)
      this.core.logger.warn(
        { hub: this.core.hubId, failed: failed.size, err: String(failed.values().next().value) },
        "durable declarations not written",
      );
    return failed;
  }

  /** `items` as log entries of at most `LOG_ENTRY_RECORDS` declarations and `LOG_ENTRY_BYTES`. */
  private chunked(items: Iterable<Declaration>): LogChunk[] {
    const self = this.core.self;
    const at = Date.now();
    const packer = new RecordPacker();
    const entries: LogChunk[] = [];
    let open: LogChunk | undefined;
    for (const it of items) {
      const [id, desired, spec, pin] = it;
      const rec = packer.pack(
        id,
        pin ? { desired, spec, pin, by: self, at } : { desired, spec, by: self, at },
      );
      if (
        open === undefined ||
        open.items.length >= LOG_ENTRY_RECORDS ||
        open.bytes + rec.length > LOG_ENTRY_BYTES
      )
        entries.push((open = { items: [], recs: [], bytes: 0, at }));
      open.items.push(it);
      open.recs.push(rec);
      open.bytes += rec.length;
    }
    return entries;
  }

  /** Writes `entries`, `writeConcurrency` at a time; the ids of those that fail go to `failed`. */
  private async writeEntries(
    entries: readonly LogChunk[],
    weak: boolean,
    chunk: ((stored: Declaration[]) => void) | undefined,
    failed: Map<string, unknown>,
  ): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < entries.length) {
        const c = entries[next++]!;
        try {
          await this.writeLog(c, weak);
        } catch (err) {
          for (const [id] of c.items) failed.set(id, err);
          this.stats.writeFailures += c.items.length;
          continue;
        }
        chunk?.(c.items);
      }
    };
    const workers = Math.min(this.options.writeConcurrency, LOG_SLOTS / 2, entries.length);
    await Promise.all(Array.from({ length: workers }, worker));
  }

  private queueOf(weak: boolean): SmallWrite[] {
    let q = this.queues.get(weak);
    if (q === undefined) this.queues.set(weak, (q = []));
    return q;
  }

  /**
   * Writes the small calls queued (their declarations together, as one entry when they fit),
   * then those queued meanwhile, until none is left: concurrent activations of entities, say,
   * share entries instead of taking a slot each.
   */
  private async flush(weak: boolean): Promise<void> {
    this.flushing.add(weak);
    const q = this.queueOf(weak);
    try {
      while (q.length > 0) {
        let n = 0;
        let k = 0;
        while (k < q.length && (k === 0 || n + q[k]!.items.length <= LOG_ENTRY_RECORDS))
          n += q[k++]!.items.length;
        const calls = q.splice(0, k);
        // The last declaration of an id wins, as within one call.
        const byId = new Map<string, Declaration>();
        for (const c of calls) for (const it of c.items) byId.set(it[0], it);
        const failed = new Map<string, unknown>();
        await this.writeEntries(this.chunked(byId.values()), weak, undefined, failed);
        for (const c of calls) {
          const mine = new Map<string, unknown>();
          for (const [id] of c.items) if (failed.has(id)) mine.set(id, failed.get(id));
          if (c.chunk !== undefined && mine.size < c.items.length)
            c.chunk(mine.size === 0 ? c.items : c.items.filter(([id]) => !mine.has(id)));
          c.done(mine);
        }
      }
    } finally {
      this.flushing.delete(weak);
    }
  }

  /** One log entry, into a free slot of this node's, by compare-and-set on the slot's revision. */
  private async writeLog(c: LogChunk, weak: boolean): Promise<void> {
    const by = this.core.self;
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const bucket = this.bucket;
      if (bucket === null || this.closed) throw new DurableStoreError("update", undefined, "store not open");
      const slot = await this.takeSlot();
      const key = logKey(by, slot);
      try {
        const known = this.logs.get(key);
        const value = encodeLog(this.core.hubId, key, weak, Buffer.concat(c.recs));
        const declsAt = (revision: number) =>
          c.items.map(([id, desired, spec, pin]): Declared => {
            const d: Declared = {
              id,
              desired,
              spec,
              pin: pin ?? null,
              revision,
              by,
              at: c.at,
              learnt: Date.now(),
            };
            if (weak) d.weak = true;
            return d;
          });
        this.ownLogs.set(key, { value, decls: declsAt });
        let revision: number;
        try {
          revision =
            known === undefined || !known.live
              ? await bucket.create(key, value)
              : await bucket.update(key, value, known.revision);
        } catch (err) {
          if (!(err instanceof DurableConflictError)) throw err;
          // Another writer of this node's name (an earlier process of it, still running?) or a
          // replica behind: read the slot and take another.
          const now = await bucket.get(key);
          if (now !== null) this.apply(now);
          continue;
        }
        this.stats.logEntries++;
        // Half the slots unfolded: fold now, before a write has to wait for a free one.
        if (++this.sinceFold >= LOG_SLOTS / 2) void this.fold();
        if ((this.logs.get(key)?.revision ?? 0) < revision)
          this.applyOwnLog(key, revision, declsAt(revision));
        return;
      } finally {
        this.ownLogs.delete(key);
        this.releaseSlot(slot);
      }
    }
    throw new DurableConflictError(logKey(by, 0), null);
  }

  /**
   * A slot of this node's that is free (never written, or every declaration it holds is in the
   * pages), marked busy. With none, folds the log into the pages (or waits for a slot being
   * written) until one is.
   */
  private async takeSlot(): Promise<number> {
    for (;;) {
      if (this.closed) throw new DurableStoreError("update", undefined, "store closed");
      for (let i = 0; i < LOG_SLOTS; i++)
        if (!this.slotBusy.has(i) && this.isFolded(this.logs.get(logKey(this.core.self, i)))) {
          this.slotBusy.add(i);
          return i;
        }
      if (this.declared.pendingCount > 0) {
        const before = this.stats.foldedPages;
        await this.fold();
        if (this.stats.foldedPages > before) continue;
      }
      if (this.slotBusy.size === 0)
        throw new DurableStoreError("update", undefined, "no log slot free: folds are failing");
      await new Promise<void>((r) => this.slotWaiters.push(r));
    }
  }

  private releaseSlot(slot: number): void {
    this.slotBusy.delete(slot);
    for (const w of this.slotWaiters.splice(0)) w();
  }

  /** Whether the pages hold every declaration of log entry `l` (or later ones): its slot may be reused. */
  private isFolded(l: LogSlot | undefined): boolean {
    if (l === undefined || l.folded) return true;
    for (const d of l.decls) if (!this.declared.covers(d)) return false;
    l.folded = true;
    // The pages hold them: nothing needs them here any more.
    l.decls = [];
    return true;
  }

  private scheduleFold(): void {
    if (this.foldTimer !== null || this.closed) return;
    this.foldTimer = setTimeout(() => {
      this.foldTimer = null;
      void this.fold();
    }, this.options.foldDelayMs);
    this.foldTimer.unref?.();
  }

  /**
   * Folds every declaration pending (from any node's log entries) into its page; resolves when a
   * fold that started after this call is done (never rejects: failures are counted and logged,
   * and the log keeps what was not folded).
   */
  fold(): Promise<void> {
    if (this.foldQueued !== null) return this.foldQueued;
    const next = async () => {
      this.foldQueued = null;
      const run = this.foldOnce().catch((err: unknown) => {
        this.stats.foldFailures++;
        this.core.logger.warn({ hub: this.core.hubId, err: String(err) }, "durable fold failed");
      });
      this.foldRunning = run;
      await run;
      if (this.foldRunning === run) this.foldRunning = null;
    };
    const q = (this.foldRunning ?? Promise.resolve()).then(next, next);
    this.foldQueued = q;
    return q;
  }

  private async foldOnce(): Promise<void> {
    this.sinceFold = 0;
    if (this.closed || this.bucket === null) return;
    if (this.declared.pendingCount > 0) await this.foldPending();
    await this.clearSlots();
  }

  private async foldPending(): Promise<void> {
    const t0 = performance.now();
    const byPage = [...this.declared.pendingByPage()];
    let next = 0;
    let failures = 0;
    const refusedPages = new Map<number, unknown>();
    let pages = 0;
    let declarations = 0;
    let firstError: unknown;
    const worker = async () => {
      while (next < byPage.length) {
        const [n, list] = byPage[next++]!;
        try {
          const written = await this.foldPage(n, list);
          if (written > 0) {
            pages++;
            declarations += written;
          }
        } catch (err) {
          failures++;
          firstError ??= err;
          if (!(err instanceof DurableConflictError)) refusedPages.set(n, err);
          continue;
        }
        this.stuck.delete(n);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.writeConcurrency, byPage.length) }, worker));
    // Pages the store refused while it took others (a page grown past its largest entry): new
    // declarations with a spec on them are refused until one of their folds succeeds. When every
    // page failed, the store is what failed: nothing is marked.
    if (refusedPages.size < byPage.length)
      for (const [n, err] of refusedPages) this.stuck.set(n, String(err));
    if (failures > 0) {
      this.stats.foldFailures++;
      this.core.logger.warn(
        { hub: this.core.hubId, pages: failures, err: String(firstError) },
        "durable log not folded into its pages; the log keeps it",
      );
    }
    if (this.core.hooks.has("logFolded"))
      this.core.hooks.dispatch("logFolded", {
        pages,
        declarations,
        failedPages: failures,
        durationMs: performance.now() - t0,
      });
  }

  /**
   * Empties this node's slots whose declarations the pages hold (or supersede): a node opening
   * the store reads every slot and decodes what it holds.
   */
  private async clearSlots(): Promise<void> {
    const bucket = this.bucket;
    if (bucket === null) return;
    const self = this.core.self;
    const writes: Array<Promise<void>> = [];
    const empty = (key: string, l: LogSlot): Promise<void> =>
      bucket.update(key, encodeLog(this.core.hubId, key, false, new Uint8Array(0)), l.revision).then(
        (revision) => this.applyOwnLog(key, revision, []),
        // A conflict (its writer wrote again), or the store unreachable: read it again, so that
        // a later try is based on what it holds.
        () =>
          bucket.get(key).then(
            (e) => void (e !== null && this.apply(e)),
            () => {},
          ),
      );
    for (let i = 0; i < LOG_SLOTS; i++) {
      const key = logKey(self, i);
      const l = this.logs.get(key);
      if (l === undefined || !l.live || l.empty || this.slotBusy.has(i) || !this.isFolded(l)) continue;
      this.slotBusy.add(i);
      writes.push(empty(key, l).finally(() => this.releaseSlot(i)));
    }
    // Other nodes' slots folded long ago and still full: their writer is gone (a live one empties
    // its own after its fold). A node opening the store would decode them again.
    const mine = logKey(self, 0).slice(0, -1);
    const old = Date.now() - 5 * this.options.foldDelayMs;
    for (const [key, l] of this.logs)
      if (!key.startsWith(mine) && l.live && !l.empty && l.seen < old && this.isFolded(l))
        writes.push(empty(key, l));
    await Promise.all(writes);
  }

  /**
   * Writes the declarations of `list` still in force and pending into page `n`, by
   * compare-and-set on the page's revision this node knows (re-reading it on a conflict). Each
   * record keeps its own revision: a fold never reorders declarations.
   */
  private async foldPage(n: number, list: readonly Declared[]): Promise<number> {
    const key = pageKey(n);
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const bucket = this.bucket;
      if (bucket === null || this.closed) return 0;
      const byId = new Map<string, Declared>();
      const changes = new Map<string, Uint8Array>();
      const packer = new RecordPacker();
      for (const d of list) {
        // Superseded since (by a later log entry: the next fold's), or folded (by another node).
        if (this.declared.pendingOf(d.id) !== d) continue;
        byId.set(d.id, d);
        changes.set(d.id, packer.pack(d.id, entryOf(d), stampOf(d.revision, d.weak)));
      }
      if (changes.size === 0) return 0;
      const cur = this.pages.get(key);
      const w = withRecords(cur?.entries ?? EMPTY_PAGE, changes);
      const value = encodePage(this.core.hubId, key, w.run);
      this.ownPages.set(key, { value, w, byId });
      try {
        const revision =
          cur === undefined || !cur.live
            ? await bucket.create(key, value)
            : await bucket.update(key, value, cur.revision);
        this.stats.foldedPages++;
        this.applyOwnPage(key, revision, w, byId);
        return changes.size;
      } catch (err) {
        if (!(err instanceof DurableConflictError)) throw err;
        // Another node folded (or wrote) this page first: read it and fold what is left.
        const now = await bucket.get(key);
        if (now !== null) this.apply(now);
      } finally {
        this.ownPages.delete(key);
      }
    }
    throw new DurableConflictError(key, this.pages.get(key)?.revision ?? null);
  }

  /**
   * Log entries nobody folded or emptied: their writer died, or its folds fail. Every node folds
   * (and empties) entries it has seen full for `5 × foldDelayMs`.
   */
  private foldOrphans(): void {
    if (this.foldQueued !== null) return;
    const old = Date.now() - 5 * this.options.foldDelayMs;
    // Unfolded, or folded and not emptied (the fold empties them).
    for (const l of this.logs.values())
      if (l.seen < old && l.live && !l.empty) {
        void this.fold();
        return;
      }
  }

  private refuse(e: StoreEntry, why: string): void {
    this.stats.refused++;
    const now = Date.now();
    if (now - this.lastRefusedLog < 1000) return;
    this.lastRefusedLog = now;
    this.core.logger.warn(
      {
        hub: this.core.hubId,
        key: e.key.slice(0, 80),
        revision: e.revision,
        why,
        refused: this.stats.refused,
      },
      "durable store entry refused",
    );
  }

  /**
   * Declares `spec` running (an `ensure` or `activate` start, before it goes out), unless it is
   * declared running already. Rejects with the store's error.
   */
  async declareRunning(spec: NormalizedChildSpec, timeoutMs: number): Promise<void> {
    const d = this.declared.get(spec.id);
    if (d?.desired === "running") return;
    const failed = await this.writeAll([[spec.id, "running", spec, null]], timeoutMs);
    const err = failed.get(spec.id);
    if (err !== undefined) throw err;
  }

  /**
   * Declares local children dormant before they are passivated (reconcile does not start a
   * dormant child; its next activation declares it running). Resolves with the ids declared.
   */
  async declareDormant(ids: readonly string[], timeoutMs: number): Promise<Set<string>> {
    const items: Declaration[] = [];
    for (const id of ids) {
      const spec = this.core.children.byId.get(id)?.spec;
      if (spec !== undefined) items.push([id, "dormant", spec, this.declared.get(id)?.pin ?? null]);
    }
    const failed = await this.writeAll(items, timeoutMs);
    return new Set(items.map((i) => i[0]).filter((id) => !failed.has(id)));
  }

  /** Declares `id` (running, with `spec`) pinned to `nodes` (`hub.migrate`). Rejects with the store's error. */
  async declarePin(spec: NormalizedChildSpec, nodes: readonly string[], timeoutMs: number): Promise<void> {
    const failed = await this.writeAll([[spec.id, "running", spec, nodes]], timeoutMs);
    const err = failed.get(spec.id);
    if (err !== undefined) throw err;
  }

  /** The bucket once the store is open (waiting up to `timeoutMs`), or null. */
  async openBucket(timeoutMs: number): Promise<DurableBucket | null> {
    return (await this.whenReady(timeoutMs)) && !this.closed ? this.bucket : null;
  }

  private whenReady(timeoutMs: number): Promise<boolean> {
    if (this.isReady) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      void this.ready.then(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  // ------------------------------------------------------------------ starts and stops of the handle

  /**
   * A `startChildren` of a durable hub: each child is declared running first, and only the
   * children whose declaration was stored are started (the others fail with `store_failed`).
   * Declarations are written a chunk at a time and each chunk starts as soon as it is stored, so
   * that a large call's first children do not wait for its last declarations.
   */
  start(
    specs: readonly NormalizedChildSpec[],
    call: DurableStartCall,
  ): { status: "start_initiated" } | Future<StartResult> {
    const p = this.startChunks(specs, call);
    if (!call.awaitable) {
      void p;
      return { status: "start_initiated" };
    }
    return new Future(p);
  }

  private async startChunks(
    specs: readonly NormalizedChildSpec[],
    call: DurableStartCall,
  ): Promise<StartResult> {
    const sends: Array<Promise<StartResult>> = [];
    const failed = await this.writeAll(
      specs.map((s) => [s.id, "running", s, call.pins?.get(s.id) ?? null] as const),
      call.timeoutMs,
      false,
      (stored) => {
        if (stored.length > 0)
          sends.push(
            this.sendStart(
              stored.map((d) => d[2]!),
              call,
            ),
          );
      },
    );
    const results = await Promise.all(sends);
    let r = new StartResult(
      results.flatMap((x) => x.started),
      [...results.flatMap((x) => x.errors), ...storeFailures(failed)],
    );
    if (call.onFailure === "rollback" && r.status !== "ok") {
      r = await rollback(this.core, r, call.timeoutMs, call.usable);
      // Nothing of a rolled-back call should run, now or after a restart.
      await this.writeAll(
        specs.filter((s) => !failed.has(s.id)).map((s) => [s.id, "stopped", null] as const),
        call.timeoutMs,
      );
      return r;
    }
    // A child whose own start failed is not declared running: reconcile would start it forever.
    const started = new Set(r.started.map((x) => x.id));
    const definite = new Set(
      r.errors.filter((e) => DEFINITE_FAILURES.has(e.reason) && !started.has(e.id)).map((e) => e.id),
    );
    if (definite.size > 0)
      await this.writeAll(
        [...definite].map((id) => [id, "stopped", null] as const),
        call.timeoutMs,
      );
    return r;
  }

  private sendStart(go: readonly NormalizedChildSpec[], call: DurableStartCall): Promise<StartResult> {
    const blocked = this.blocked(go.map((s) => s.id));
    if (blocked !== null) return Promise.resolve(new StartResult([], blocked));
    // An ensure: the owner's reconcile may have started a child whose declaration it saw before
    // this start arrived; that copy is this start's success, not `already_started`.
    const send = (specs: readonly NormalizedChildSpec[], ensure: boolean) =>
      new Promise<StartResult>((resolve) =>
        this.core.requests.start(call.group(specs), { timeoutMs: call.timeoutMs, onDone: resolve, ensure }),
      );
    return send(go, true).then(async (r) => {
      // An ensure does not undo a recent stop (an adoption must not); a start the user asked
      // for after a stop does: those go again as plain starts.
      const again = new Set(r.errors.filter((e) => e.detail === "stopped since").map((e) => e.id));
      if (again.size === 0) return r;
      const r2 = await send(
        go.filter((s) => again.has(s.id)),
        false,
      );
      return new StartResult(
        [...r.started, ...r2.started],
        [...r.errors.filter((e) => !again.has(e.id)), ...r2.errors],
      );
    });
  }

  /**
   * A `stopChildren` of a durable hub: each id is declared stopped first (a stop is remembered
   * until a later start), and only the ids whose declaration was stored are stopped; a chunk at
   * a time, as starts.
   */
  stop(
    ids: readonly string[],
    awaitable: boolean,
    timeoutMs: number,
  ): { status: "stop_initiated" } | Future<StopResult> {
    // The specs of children whose behaviours keep something past a stop (a checkpoint, a parked
    // hot swap), taken before the stops: from the registry for those that run, from the
    // declarations for the others (a dormant entity runs nowhere). Only those that end
    // `not_found` need them (below); a lookup of the declaration of every running one is spared.
    const keeping = new Set<string>();
    for (const [name, b] of this.core.behaviours)
      if (checkpointOptionsOf(b) || supportsHandover(b)) keeping.add(name);
    const specs = new Map<string, NormalizedChildSpec>();
    if (keeping.size > 0)
      for (const id of ids) {
        const spec = this.core.registry.lookup(id)?.spec ?? this.declared.get(id)?.spec;
        if (spec != null && keeping.has(spec.behaviour)) specs.set(id, spec);
      }
    const p = (async () => {
      const sends: Array<Promise<StopResult>> = [];
      const failed = await this.writeAll(
        ids.map((id) => [id, "stopped", null] as const),
        timeoutMs,
        false,
        (stored) => {
          if (stored.length === 0) return;
          const go = stored.map((d) => d[0]);
          const blocked = this.blocked(go);
          sends.push(
            blocked !== null
              ? Promise.resolve(new StopResult([], blocked))
              : new Promise<StopResult>((resolve) =>
                  this.core.requests.stop(go, { timeoutMs, onDone: resolve }),
                ),
          );
        },
      );
      const results = await Promise.all(sends);
      const r = new StopResult(
        results.flatMap((x) => x.stopped),
        [...results.flatMap((x) => x.errors), ...storeFailures(failed)],
      );
      // A checkpointed child that ran nowhere: no node deleted its checkpoint on the stop (nor
      // the state a failed fenced hot swap parked).
      for (const e of r.errors) {
        if (e.reason !== "not_found") continue;
        const b = this.behaviourOf(specs.get(e.id));
        if (checkpointOptionsOf(b)) this.core.checkpoints?.stoppedForGood(e.id);
        if (supportsHandover(b)) this.core.handovers?.dropped(e.id);
      }
      return r;
    })();
    if (!awaitable) {
      void p;
      return { status: "stop_initiated" };
    }
    return new Future(p);
  }

  private behaviourOf(spec: NormalizedChildSpec | null | undefined): unknown {
    return spec == null ? undefined : this.core.behaviours.get(spec.behaviour);
  }

  /** The hub stopped or lost quorum while the declarations were written: nothing goes out. */
  private blocked(ids: readonly string[]): ChildError[] | null {
    const mode = this.core.mode;
    if (mode === "running") return null;
    const reason: HubErrorReason = mode === "partitioned" ? "partitioned" : "hub_stopped";
    return ids.map((id) => ({ id, node: undefined, reason, detail: `hub ${mode}` }));
  }

  /**
   * The `childSpecs` of `ProcessHub.start` in a durable hub: each is declared running unless it
   * has a declaration already (a stop of a static child is kept across restarts), then those
   * declared running are started as ensures, as a hub without durability starts them.
   */
  async declareStatic(specs: readonly NormalizedChildSpec[]): Promise<void> {
    const core = this.core;
    if (!(await this.whenReady(core.tuning.migrationTimeoutMs)) || this.bucket === null) {
      core.logger.warn({ hub: core.hubId }, "durable store not ready: static children not declared");
      return;
    }
    // Only ids no node declared yet, and weak: another node may be declaring them at once (a
    // stop written before this, even one this node has not seen yet, supersedes it).
    await this.writeAll(
      specs.filter((s) => !this.declared.has(s.id)).map((s) => [s.id, "running", s, null] as const),
      core.tuning.migrationTimeoutMs,
      true,
    );
    const run = specs.filter((s) => this.declared.get(s.id)?.desired === "running");
    if (run.length > 0 && core.mode === "running")
      core.requests.start(groupStarts(core, run, undefined), {
        timeoutMs: core.tuning.migrationTimeoutMs,
        ensure: true,
      });
  }

  // ------------------------------------------------------------------ reconcile

  private topologyChanged(): void {
    this.quietSince = Date.now();
    // What ran "nowhere" under the old membership proves nothing under the new one.
    this.missingLast.clear();
    this.stoppedLast.clear();
  }

  /**
   * One round, if the replica is current: it acts only once it has applied the bucket's last
   * write as read at the start of the round, so a node cut off from the store (or whose watch
   * lags) starts nothing from a stale replica — a stop it has not seen cannot be undone by it.
   */
  round(): void {
    const core = this.core;
    // A node killed outright runs no exit hooks: its hub process is simply gone.
    if (!core.node.isAlive(core.pid)) return this.close();
    if (!this.ready_() || this.checking) return;
    this.foldOrphans();
    const bucket = this.bucket!;
    this.checking = true;
    bucket.lastRevision().then(
      (last) => {
        this.checking = false;
        if (last <= this.watched) this.act();
        else this.stats.staleRounds++;
      },
      () => {
        this.checking = false;
        this.stats.staleRounds++;
      },
    );
  }

  private ready_(): boolean {
    const core = this.core;
    if (!this.isReady || this.closed || this.bucket === null || core.mode !== "running" || core.locked)
      return false;
    return Date.now() - this.quietSince >= this.options.settleMs;
  }

  /**
   * Acts on what two consecutive rounds agree on, so that a start or a move in flight
   * (registered a moment later) is not taken for a fact.
   */
  private act(): void {
    const core = this.core;
    if (!this.ready_()) return;
    const now = Date.now();
    this.stats.rounds++;
    const t0 = performance.now();
    const reg = core.registry;
    const self = core.self;
    const missing = new Set<string>();
    const toStart: NormalizedChildSpec[] = [];
    const young = now - this.options.graceMs;
    this.declared.forEach((d) => {
      // A dormant child (passivated) waits for its next activation.
      if (d.desired !== "running" || d.spec === null || d.learnt > young) return;
      if (this.inFlight.has(d.id) || reg.exists(d.id)) return;
      // Only the owner starts it (the first pinned node that can): every node sees the same
      // ring once membership is quiet.
      const spec = d.spec;
      const pinned = d.pin?.filter((n) => core.view.has(n, spec.behaviour));
      const target = pinned?.[0] ?? core.view.replicasOf(d.id, spec.behaviour)[0];
      if (target !== self) return;
      missing.add(d.id);
      if (!this.missingLast.has(d.id)) return;
      const r = this.retry.get(d.id);
      if (r !== undefined && r.notBefore > now) return;
      toStart.push(spec);
    });
    this.missingLast = missing;
    const stopped = new Set<string>();
    const toStop: string[] = [];
    for (const id of core.children.byId.keys()) {
      const d = this.declared.get(id);
      if (d?.desired !== "stopped" || d.learnt > young) continue;
      stopped.add(id);
      if (this.stoppedLast.has(id) && !this.inFlight.has(id)) toStop.push(id);
    }
    this.stoppedLast = stopped;
    if (toStart.length > 0) this.reconcileStarts(toStart);
    if (toStop.length > 0) this.reconcileStops(toStop);
    if (core.hooks.has("reconcileRound"))
      core.hooks.dispatch("reconcileRound", {
        declared: this.declared.size,
        started: toStart.length,
        stopped: toStop.length,
        durationMs: performance.now() - t0,
      });
  }

  private reconcileStarts(specs: NormalizedChildSpec[]): void {
    const core = this.core;
    for (const s of specs) this.inFlight.add(s.id);
    this.stats.reconciledStarts += specs.length;
    const timeoutMs = core.tuning.migrationTimeoutMs;
    const pins = new Map<string, readonly string[]>();
    for (const s of specs) {
      const pin = this.declared.get(s.id)?.pin?.filter((n) => core.view.has(n, s.behaviour));
      if (pin !== undefined && pin.length > 0) pins.set(s.id, pin);
    }
    // An ensure: a copy found running at the owner is a success, never `already_started`.
    core.requests.start(groupStarts(core, specs, pins.size > 0 ? pins : undefined), {
      timeoutMs,
      ensure: true,
      onDone: (r) => {
        for (const s of specs) this.inFlight.delete(s.id);
        const now = Date.now();
        for (const s of r.started) this.retry.delete(s.id);
        for (const e of r.errors) {
          const prev = this.retry.get(e.id)?.failures ?? 0;
          const wait = Math.min(this.options.reconcileIntervalMs * 2 ** prev, this.options.maxRetryDelayMs);
          this.retry.set(e.id, { failures: prev + 1, notBefore: now + wait });
        }
        if (r.errors.length > 0)
          core.logger.warn(
            { hub: core.hubId, failed: r.errors.length, first: r.errors[0] },
            "durable reconcile starts failed; retrying later",
          );
      },
    });
  }

  /** Resolves true once the replica has applied revision `revision` (false after `timeoutMs`, or closed). */
  private async caughtUp(revision: number, timeoutMs: number): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (this.watched < revision) {
      if (this.closed || Date.now() > end) return false;
      await new Promise((r) => setTimeout(r, 10));
    }
    return true;
  }

  private reconcileStops(ids: string[]): void {
    const core = this.core;
    const bucket = this.bucket;
    if (bucket === null) return;
    for (const id of ids) this.inFlight.add(id);
    // Read back before stopping: a stop acts on the store's word, not on a replica that may lag
    // (the replica must have applied the bucket's last write as read now; a later declaration of
    // an id, in a page or in the log, would be among those).
    void bucket
      .lastRevision()
      .then(
        (last) => this.caughtUp(last, core.tuning.migrationTimeoutMs),
        () => false,
      )
      .then((current) => {
        const go = current ? ids.filter((id) => this.declared.get(id)?.desired === "stopped") : [];
        const done = () => {
          for (const id of ids) this.inFlight.delete(id);
        };
        if (go.length === 0 || core.mode !== "running") return done();
        this.stats.reconciledStops += go.length;
        core.requests.stop(go, { timeoutMs: core.tuning.migrationTimeoutMs, onDone: done });
      });
  }
}

function storeFailures(failed: ReadonlyMap<string, unknown>): ChildError[] {
  return [...failed].map(([id, error]) => ({
    id,
    node: undefined,
    reason: "store_failed" as const,
    detail: String(error),
    error,
  }));
}
