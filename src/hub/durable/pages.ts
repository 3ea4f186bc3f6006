/**
 * Pages of declarations: the declarations of a durable hub grouped by a hash of their ids into
 * `PAGE_COUNT` keys (`d.=3.<hex>`, a form no single declaration's key takes, since base64url has
 * no `=`). A call's declarations go to the log first (`log.ts`: one entry per chunk of a call);
 * folds write them into the pages later, off the call's path, many calls at once (a page is
 * rewritten whole: per call, that cost the size of every page the call touched).
 *
 * Every node applies every page written, and a page holds every id ever declared on it (a stop is
 * kept), while a fold changes some of them. So a page is laid out to be compared, not decoded: a
 * msgpack envelope around one binary run of records (`records.ts`), each stamped with the
 * revision of the write that declared it and whether it is weak. A writer copies the records it
 * does not change, in their order, and appends new ids; a node applying a page compares each
 * record with the one it holds at the same place and decodes and checks only those that differ.
 *
 * Decoding checks the envelope (format, version, hub, its own key) and then every changed record
 * as a single declaration is checked (`checkEntry`), plus that the id belongs on this page and is
 * not on it twice. A page that fails is refused as a whole; a record that fails is refused alone,
 * and an id this node held that the page lacks keeps its record (see `rebuilt`).
 *
 * Version 4 is written. Version 3 (the same keys, records without stamps: each took its page's
 * revision) and the first layout (1024 keys `d.=<hex>`, version 2 with records framed by
 * big-endian uint32 lengths and entries as maps, version 1 with entries as nested maps) are read,
 * never written: a fold rewrites a version 3 page as version 4, each record stamped with the
 * revision it had. First-layout declarations stay in force until a later declaration of the same
 * id supersedes them. Imports the hash of the ring, `records.ts` and `declared.ts`.
 */
import { hash32 } from "../hash-ring.js";
import { checkEntry, type Declared } from "./declared.js";
import {
  declarationOf,
  entryOf,
  packLegacyRecord,
  packRecord,
  type PageEntry,
  RecordCursor,
  sameRange,
  shareable,
  stampOf,
  withId,
} from "./records.js";
import { openEnvelope, recordPackr } from "./stored-record.js";

export { type PageEntry, packRecord, RecordPacker, stampOf } from "./records.js";

/**
 * Pages per hub: at 1M declared children about 3,900 records (~170-220 KB with small specs) a
 * page, well under NATS's 1 MB message. Fewer, larger pages than the first layout's 1024: a fold
 * writes fewer messages, which every node and the server handle one by one.
 */
export const PAGE_COUNT = 256;
/** Every page key, of either layout (and log entries: `log.ts`). */
export const PAGE_PREFIX = "d.=";
/** Keys of pages of this layout. */
const KEY_PREFIX = "d.=3.";
/** Pages of the first layout (`d.=<hex>`, versions 1 and 2): read, never written. */
const LEGACY_PAGE_COUNT = 1024;
const FORMAT = "hubvisor/declared-page";
/** 4: records stamped with their own revisions. */
const VERSION = 4;

const packr = recordPackr;

/**
 * A page's records as this node holds them: one run of records (`starts[i]` to `starts[i + 1]` is
 * record i, `ids[i]` its id) and where each id is. `index` may name ids past `ids.length` (it is
 * shared with the page's later versions, which only append): look ids up with `positionOf`.
 */
export interface PageRecords {
  readonly ids: readonly string[];
  readonly run: Uint8Array;
  readonly starts: readonly number[];
  readonly index: Map<string, number>;
  /** The declaration of each record (`decls[i]` of `ids[i]`): what the replica holds for it. */
  readonly decls: readonly Declared[];
  /** Whether the run's records carry stamps (version 4), or not (versions 2 and 3). */
  readonly stamped: boolean;
}

export const EMPTY_PAGE: PageRecords = {
  ids: [],
  run: new Uint8Array(0),
  starts: [0],
  index: new Map(),
  decls: [],
  stamped: true,
};

/** Where `id` is on `page`, or -1. */
export function positionOf(page: PageRecords, id: string): number {
  const j = page.index.get(id);
  return j !== undefined && j < page.ids.length && page.ids[j] === id ? j : -1;
}

export function pageKeyOf(id: string): string {
  return pageKey(pageOf(id));
}

/** The key of page `n`. */
export function pageKey(n: number): string {
  return KEY_PREFIX + n.toString(16);
}

/** The page number of `id` (what `pageKeyOf` names in hex). */
export function pageOf(id: string): number {
  return hash32(id) % PAGE_COUNT;
}

/** The number of a page of this layout named by `key`, or undefined (a first-layout page, or none). */
export function currentPageOf(key: string): number | undefined {
  const l = layoutOf(key);
  return l === null || l.legacy ? undefined : l.page;
}

export function isPageKey(key: string): boolean {
  return key.startsWith(PAGE_PREFIX);
}

/** The page a page key names, and whether it is of the first layout; null if it names none. */
function layoutOf(key: string): { page: number; legacy: boolean } | null {
  const legacy = !key.startsWith(KEY_PREFIX);
  const hex = key.slice(legacy ? PAGE_PREFIX.length : KEY_PREFIX.length);
  if (!/^[0-9a-f]{1,3}$/.test(hex)) return null;
  const page = Number.parseInt(hex, 16);
  return page < (legacy ? LEGACY_PAGE_COUNT : PAGE_COUNT) ? { page, legacy } : null;
}

/** The record a page of this version carries for `d`. */
export function pageRecordOf(d: Declared): Uint8Array {
  return packRecord(d.id, entryOf(d), stampOf(d.revision, d.weak));
}

/** A page rewritten by this node: its run (what to store), the page once stored, what changed. */
export interface Rewritten {
  readonly run: Uint8Array;
  /**
   * Ids whose records were written, with their places: those past the base's last are appended,
   * and `page.index` is not told of them until `adopt`.
   */
  readonly written: ReadonlyArray<readonly [string, number]>;
  readonly ids: readonly string[];
  readonly starts: readonly number[];
  /** The page it was built on. */
  readonly base: PageRecords;
}

/**
 * `page` with `changes` (id → stamped record) applied: changed ids keep their place, new ones go
 * at the end. Records of a page without stamps (version 3) are stamped on the way. Changes
 * nothing of `page`.
 */
export function withRecords(page: PageRecords, changes: ReadonlyMap<string, Uint8Array>): Rewritten {
  const at = new Map<number, Uint8Array>();
  const added: Uint8Array[] = [];
  const written: Array<[string, number]> = [];
  const ids = page.ids.slice();
  for (const [id, rec] of changes) {
    const j = positionOf(page, id);
    if (j < 0) {
      written.push([id, ids.length]);
      ids.push(id);
      added.push(rec);
    } else {
      at.set(j, rec);
      written.push([id, j]);
    }
  }
  const kept = (j: number): Uint8Array =>
    page.stamped ? page.run.subarray(page.starts[j], page.starts[j + 1]) : pageRecordOf(page.decls[j]!);
  let length = 0;
  for (let j = 0; j < page.ids.length; j++) length += (at.get(j) ?? kept(j)).length;
  for (const rec of added) length += rec.length;
  const run = Buffer.allocUnsafe(length);
  const starts = [0];
  let o = 0;
  for (let j = 0; j < page.ids.length; j++) {
    const rec = at.get(j) ?? kept(j);
    run.set(rec, o);
    o += rec.length;
    starts.push(o);
  }
  for (const rec of added) {
    run.set(rec, o);
    o += rec.length;
    starts.push(o);
  }
  return { run, written, ids, starts, base: page };
}

/**
 * The page `w` makes once it is stored (the writer's replica takes it without decoding what it
 * just encoded): the page's index learns the appended ids, and each id written takes the
 * declaration `declOf` gives.
 */
export function adopt(w: Rewritten, declOf: (id: string) => Declared): PageRecords {
  const base = w.base.ids.length;
  const index = base === 0 ? new Map<string, number>() : w.base.index;
  const decls = w.base.decls.slice();
  for (const [id, j] of w.written) {
    if (j >= base) index.set(id, j);
    decls[j] = declOf(id);
  }
  return { ids: w.ids, run: w.run, starts: w.starts, index, decls, stamped: true };
}

/** A page whose records are `run` (stamped records). */
export function encodePage(hubId: string, key: string, run: Uint8Array): Uint8Array {
  return packr.pack({ f: FORMAT, v: VERSION, hub: hubId, key, r: run });
}

/** A decoded page: its records, the declarations that changed, and the records refused in it. */
export interface DecodedPage {
  /** The page's records (without those refused, with `prev`'s records of ids the page lacks). */
  readonly page: PageRecords;
  /** The declarations whose records differ from `prev` (all of them without it). */
  readonly declared: Declared[];
  /** Records refused, with why (their ids' earlier declarations stay in force). */
  readonly refused: Array<{ readonly id: string; readonly why: string }>;
}

/**
 * The page in `value`, or why it is refused as a whole. `prev`: the records this node holds for
 * the page; a record equal to the one at the same place there is neither decoded nor checked
 * again. A writer keeps every id at its place and appends new ones, so an id found elsewhere is
 * refused (`out of place`), as is one on the page twice. The page returned holds one copy of the
 * run (it keeps neither `value`'s buffer alive nor earlier copies). `known`: the declaration this
 * node holds from the log for an id, if any: a changed record stamped as it is (a fold of it) takes
 * it as is, not decoded again.
 */
export function decodePage(
  hubId: string,
  key: string,
  value: Uint8Array,
  revision: number,
  prev: PageRecords = EMPTY_PAGE,
  known?: (id: string) => Declared | undefined,
): DecodedPage | { pageRefused: string } {
  const r = openEnvelope(value, FORMAT);
  if (typeof r === "string") return { pageRefused: r };
  const layout = layoutOf(key);
  if (layout === null) return { pageRefused: "not a page key" };
  const { page, legacy } = layout;
  if (legacy && r.v === 1) return decodeNested(hubId, key, r, revision, prev, page);
  if (legacy ? r.v !== 2 : r.v !== 3 && r.v !== VERSION)
    return { pageRefused: `unknown version ${String(r.v)}` };
  if (r.hub !== hubId) return { pageRefused: "another hub's page" };
  if (r.key !== key) return { pageRefused: "page does not match its key" };
  if (!(r.r instanceof Uint8Array)) return { pageRefused: "no records" };
  const stamped = r.v === VERSION;
  const count = legacy ? LEGACY_PAGE_COUNT : PAGE_COUNT;
  const run = Buffer.from(r.r);
  const cursor = new RecordCursor(run, stamped);
  const ids: string[] = [];
  const starts = [0];
  const decls: Declared[] = [];
  const declared: Declared[] = [];
  const refused: Array<{ id: string; why: string }> = [];
  /** Ids appended by this write (not on `prev`). */
  const appended = new Map<string, number>();
  /** Records kept, as [start, end] in `run`, when one was refused (the run is rebuilt). */
  let kept: Kept[] | undefined;
  // Records are compared with prev's only when both are framed alike.
  const prevRun = prev.run;
  const prevStarts = prev.starts;
  const prevCount = prev.ids.length;
  const comparable = prev.stamped === stamped;
  /** The last entry decoded, when the records after it with the same bytes can take it as is. */
  let shared: { start: number; end: number; d: Declared } | undefined;
  let at = 0;
  const length = run.length;
  for (let i = 0; at < length; i++) {
    let idAt: number;
    let idEnd: number;
    let entryAt: number;
    let end: number;
    let rev = revision;
    let weak = false;
    if (legacy) {
      if (at + 8 > length) return { pageRefused: "truncated record" };
      idAt = at + 4;
      idEnd = idAt + run.readUInt32BE(at);
      entryAt = idEnd + 4;
      if (entryAt > length) return { pageRefused: "truncated record" };
      end = entryAt + run.readUInt32BE(entryAt - 4);
      if (end > length) return { pageRefused: "truncated record" };
    } else {
      if (!cursor.next(at)) return { pageRefused: "truncated record" };
      ({ idAt, idEnd, entryAt, end } = cursor);
      if (stamped) {
        rev = Math.floor(cursor.stamp / 2);
        weak = cursor.stamp % 2 === 1;
      }
    }
    const start = at;
    at = end;
    if (
      comparable &&
      i < prevCount &&
      sameRange(run, start, end, prevRun, prevStarts[i]!, prevStarts[i + 1]!)
    ) {
      ids.push(prev.ids[i]!);
      starts.push(end);
      decls.push(prev.decls[i]!);
      kept?.push([prev.ids[i]!, start, end, prev.decls[i]!]);
      continue;
    }
    const id = run.toString("utf8", idAt, idEnd);
    let why: string | undefined;
    let d: Declared | { refused: string } | undefined;
    // A changed record mostly keeps its id's place: the index is asked only when it does not.
    const j = i < prevCount && prev.ids[i] === id ? i : positionOf(prev, id);
    if (j >= 0 ? j !== ids.length : ids.length < prevCount) why = "out of place";
    else if (appended.has(id)) why = "twice on the page";
    else if (hash32(id) % count !== page) why = "on the wrong page";
    else if (stamped && (rev === 0 || rev > revision)) why = "stamped past its page";
    else if (stamped && known !== undefined && isKnown(known(id), rev, weak)) d = known(id);
    else if (
      shared !== undefined &&
      id.length > 0 &&
      sameRange(run, entryAt, end, run, shared.start, shared.end)
    )
      d = withId(shared.d, id, rev, weak);
    else if (legacy) {
      let entry: unknown;
      try {
        entry = packr.unpack(run.subarray(entryAt, end));
      } catch {
        why = "does not decode";
      }
      if (why === undefined)
        if (typeof entry !== "object" || entry === null || Array.isArray(entry)) why = "not a record";
        else d = checkEntry(id, entry as Record<string, unknown>, revision);
    } else {
      d = declarationOf(id, run.subarray(entryAt, end), rev, weak);
      if (!("refused" in d) && shareable(d)) shared = { start: entryAt, end, d };
    }
    if (d !== undefined && "refused" in d) why = d.refused;
    if (why !== undefined || d === undefined || "refused" in d) {
      refused.push({ id, why: why ?? "refused" });
      kept ??= keptSoFar(ids, starts, decls);
      // Its place on the page stays taken (by prev's record, if there was one, below).
      // (`decls` is not read past this point: the page is rebuilt from `kept`.)
      ids.push(id);
      starts.push(end);
      continue;
    }
    if (j < 0) appended.set(id, ids.length);
    declared.push(d);
    ids.push(id);
    starts.push(end);
    decls.push(d);
    kept?.push([id, start, end, d]);
  }
  if (kept === undefined && ids.length >= prevCount) {
    const index = prevCount === 0 ? new Map<string, number>() : prev.index;
    for (const [id, k] of appended) index.set(id, k);
    return { page: { ids, run, starts, index, decls, stamped }, declared, refused };
  }
  return {
    page: rebuilt(run, stamped, kept ?? keptSoFar(ids, starts, decls), prev),
    declared,
    refused,
  };
}

function isKnown(d: Declared | undefined, revision: number, weak: boolean): boolean {
  return d !== undefined && d.revision === revision && (d.weak === true) === weak;
}

/** A record kept when a page is rebuilt: its id, its range in the run, its declaration. */
type Kept = readonly [string, number, number, Declared];

function keptSoFar(ids: readonly string[], starts: readonly number[], decls: readonly Declared[]): Kept[] {
  return ids.map((x, k) => [x, starts[k]!, starts[k + 1]!, decls[k]!]);
}

/**
 * A page of the records `kept` (ranges of `run`) and of `prev`'s records whose ids they lack: a
 * writer never takes an id off a page, so a missing id is a refused (garbled) record or a
 * foreign writer's, and its declaration stays in force here; the next write carries it again.
 */
function rebuilt(run: Uint8Array, stamped: boolean, kept: readonly Kept[], prev: PageRecords): PageRecords {
  const have = new Set(kept.map((k) => k[0]));
  const parts: Uint8Array[] = kept.map(([, s, e]) => run.subarray(s, e));
  const ids = kept.map((k) => k[0]);
  const decls = kept.map((k) => k[3]);
  for (let j = 0; j < prev.ids.length; j++) {
    if (have.has(prev.ids[j]!)) continue;
    const d = prev.decls[j]!;
    ids.push(prev.ids[j]!);
    decls.push(d);
    parts.push(
      prev.stamped === stamped
        ? prev.run.subarray(prev.starts[j], prev.starts[j + 1])
        : stamped
          ? pageRecordOf(d)
          : packRecord(d.id, entryOf(d)),
    );
  }
  const out = Buffer.concat(parts);
  const starts = [0];
  for (const p of parts) starts.push(starts[starts.length - 1]! + p.length);
  return { ids, run: out, starts, index: new Map(ids.map((id, k) => [id, k])), decls, stamped };
}

/**
 * A page of version 1 (first layout): entries as nested maps, each checked; kept as records of
 * version 2 from then on (what a later write of the same key, by a node of that version, holds).
 */
function decodeNested(
  hubId: string,
  key: string,
  r: Record<string, unknown>,
  revision: number,
  prev: PageRecords,
  page: number,
): DecodedPage | { pageRefused: string } {
  if (r.hub !== hubId) return { pageRefused: "another hub's page" };
  if (r.key !== key) return { pageRefused: "page does not match its key" };
  if (typeof r.e !== "object" || r.e === null || Array.isArray(r.e)) return { pageRefused: "no entries" };
  const declared: Declared[] = [];
  const refused: Array<{ id: string; why: string }> = [];
  const recs: Uint8Array[] = [];
  const kept: Kept[] = [];
  let length = 0;
  for (const [id, raw] of Object.entries(r.e as Record<string, unknown>)) {
    let why: string | undefined;
    if (hash32(id) % LEGACY_PAGE_COUNT !== page) why = "on the wrong page";
    else if (typeof raw !== "object" || raw === null || Array.isArray(raw)) why = "not a record";
    else {
      const d = checkEntry(id, raw as Record<string, unknown>, revision);
      if ("refused" in d) why = d.refused;
      else {
        declared.push(d);
        const rec = packLegacyRecord(id, raw as PageEntry);
        recs.push(rec);
        kept.push([id, length, length + rec.length, d]);
        length += rec.length;
        continue;
      }
    }
    refused.push({ id, why });
  }
  return { page: rebuilt(Buffer.concat(recs), false, kept, prev), declared, refused };
}
