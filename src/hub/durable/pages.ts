/**
 * Pages of declarations: the declarations of a durable hub grouped by a hash of their ids into
 * `PAGE_COUNT` keys (`d.=3.<hex>`, a form no single declaration's key takes, since base64url has
 * no `=`), so that a start or stop of many children writes one compare-and-set per page it
 * touches instead of one per child: 10,000 children are 256 writes, 100 children about 90.
 *
 * Every node applies every page written (its watch, and its own writes), and a page holds every id
 * ever declared on it (a stop is kept), while a call changes a few of them. So a page is laid out
 * to be compared, not decoded: a msgpack envelope around one binary run of records, each
 * `id length ‖ id ‖ entry length ‖ entry` (lengths as varints of 7 bits a byte). A writer copies the
 * records it does not change, in their order, and appends new ids; a node applying a page
 * compares each record with the one it holds at the same place and decodes and checks only the
 * records that differ. Decoding whole pages made each write cost its page's size on every node:
 * most of what durability added to a start or stop (`BENCHMARKS.md`, hub-durable).
 *
 * An entry is a msgpack array, `[desired, at, by, spec, pin?]` with `spec` as
 * `[behaviour, args, restart, shutdown, metadata]` (its id is the record's) and `desired` and
 * `restart` as small numbers: half the bytes of the same entry as a map, which every write
 * rewrites, stores and sends to every node for each of its page's neighbours.
 *
 * Decoding checks the envelope (format, version, hub, its own key) and then every changed record
 * as a single declaration is checked (`checkEntry`), plus that the id belongs on this page and is
 * not on it twice. A page that fails is refused as a whole; a record that fails is refused alone,
 * and an id this node held that the page lacks keeps its record (see `rebuilt`).
 *
 * Pages of the earlier layout are still read, never written: 1024 keys `d.=<hex>`, version 2
 * (records framed by big-endian uint32 lengths, entries as msgpack maps) and version 1 (entries as nested maps).
 * Their declarations stay in force until a later write (on a page of this layout, at a higher
 * revision) replaces them. Imports msgpackr, the hash of the ring and `declared.ts`.
 */
import type { NormalizedChildSpec } from "../child-spec.js";
import { hash32 } from "../hash-ring.js";
import { checkEntry, type Declared, type DesiredState } from "./declared.js";
import { recordPackr } from "./stored-record.js";

/**
 * Pages per hub: at 1M declared children about 3,900 records (~160-210 KB with small specs) a
 * page, well under NATS's 1 MB message. Fewer, larger pages than the first layout's 1024: a large
 * call writes a quarter of the messages, which every node and the server handle one by one.
 */
export const PAGE_COUNT = 256;
/** Every page key, of either layout. */
export const PAGE_PREFIX = "d.=";
/** Keys of pages of this layout. */
const KEY_PREFIX = "d.=3.";
/** Pages of the first layout (`d.=<hex>`, versions 1 and 2): read, never written. */
const LEGACY_PAGE_COUNT = 1024;
const FORMAT = "hubvisor/declared-page";
/** 3: records with entries as arrays, under `KEY_PREFIX`. */
const VERSION = 3;

const packr = recordPackr;

/** One declaration in a page, as written. */
export interface PageEntry {
  readonly desired: DesiredState;
  readonly spec: NormalizedChildSpec | null;
  readonly pin?: readonly string[] | undefined;
  readonly by: string;
  readonly at: number;
}

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
}

export const EMPTY_PAGE: PageRecords = {
  ids: [],
  run: new Uint8Array(0),
  starts: [0],
  index: new Map(),
  decls: [],
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

const DESIRED: readonly DesiredState[] = ["running", "stopped", "dormant"];
const RESTART: readonly NormalizedChildSpec["restart"][] = ["permanent", "transient", "temporary"];

/** The record of `id` with `entry`, as a page carries it. */
export function packRecord(id: string, entry: PageEntry): Uint8Array {
  return framed(id, packr.pack(entryArray(entry)));
}

function entryArray(entry: PageEntry): unknown[] {
  const s = entry.spec;
  const e: unknown[] = [
    DESIRED.indexOf(entry.desired),
    entry.at,
    entry.by,
    s === null ? null : [s.behaviour, s.args, RESTART.indexOf(s.restart), s.shutdown, s.metadata],
  ];
  if (entry.pin) e.push(entry.pin);
  return e;
}

/**
 * Whether two entries pack to the same bytes, as far as this can tell cheaply (the same args by
 * value when primitive or by reference, metadata both empty or the same object): the children of
 * one call mostly share everything but their ids, which a record keeps outside its entry.
 */
function sameEntry(a: PageEntry, b: PageEntry): boolean {
  if (a.desired !== b.desired || a.at !== b.at || a.by !== b.by || a.pin !== b.pin) return false;
  const x = a.spec;
  const y = b.spec;
  if (x === null || y === null) return x === y;
  return (
    x.behaviour === y.behaviour &&
    x.args === y.args &&
    x.restart === y.restart &&
    x.shutdown === y.shutdown &&
    (x.metadata === y.metadata || (isEmpty(x.metadata) && isEmpty(y.metadata)))
  );
}

function isEmpty(o: object): boolean {
  for (const _ in o) return false;
  return true;
}

/**
 * Records of one write: `packRecord`, but an entry the same as the previous one (most of a call's
 * children) is not packed again.
 */
export class RecordPacker {
  private last: PageEntry | undefined;
  private lastBody: Uint8Array | undefined;

  pack(id: string, entry: PageEntry): Uint8Array {
    if (this.last === undefined || !sameEntry(this.last, entry)) {
      this.last = entry;
      this.lastBody = packr.pack(entryArray(entry));
    }
    return framed(id, this.lastBody!);
  }
}

/** The record of `id` as pages of the first layout carry it (the entry as a map). */
function packLegacyRecord(id: string, entry: PageEntry): Uint8Array {
  return framedLegacy(id, packr.pack(entry));
}

/**
 * The entry of a record of this layout as the map `checkEntry` reads, or why it is refused. A code
 * out of range is refused here: read as a missing field it would take its default.
 */
function unpackEntry(id: string, bytes: Uint8Array): Record<string, unknown> | string {
  const a: unknown = packr.unpack(bytes);
  if (!Array.isArray(a) || (a.length !== 4 && a.length !== 5)) return "not a record";
  const desired = DESIRED[a[0] as number];
  if (desired === undefined) return "bad desired state";
  const sp: unknown = a[3];
  let spec: Record<string, unknown> | null = null;
  if (sp !== null) {
    if (!Array.isArray(sp) || sp.length !== 5) return "bad spec";
    const restart = RESTART[sp[2] as number];
    if (restart === undefined) return "bad spec";
    spec = { id, behaviour: sp[0], args: sp[1], restart, shutdown: sp[3], metadata: sp[4] };
  }
  const e: Record<string, unknown> = { desired, at: a[1], by: a[2], spec };
  if (a.length === 5) e.pin = a[4];
  return e;
}

/** A record of this layout: `varint id length ‖ id ‖ varint entry length ‖ entry`. */
function framed(id: string, body: Uint8Array): Uint8Array {
  const idLength = Buffer.byteLength(id, "utf8");
  const rec = Buffer.allocUnsafe(varintSize(idLength) + idLength + varintSize(body.length) + body.length);
  let o = writeVarint(rec, 0, idLength);
  o += rec.write(id, o, "utf8");
  o = writeVarint(rec, o, body.length);
  rec.set(body, o);
  return rec;
}

/** A record of the first layout: `uint32 id length ‖ id ‖ uint32 entry length ‖ entry`. */
function framedLegacy(id: string, body: Uint8Array): Uint8Array {
  const idLength = Buffer.byteLength(id, "utf8");
  const rec = Buffer.allocUnsafe(8 + idLength + body.length);
  rec.writeUInt32BE(idLength, 0);
  rec.write(id, 4, "utf8");
  rec.writeUInt32BE(body.length, 4 + idLength);
  rec.set(body, 8 + idLength);
  return rec;
}

/** Lengths in a record of this layout: 7 bits a byte, low first, at most 4 bytes. */
const MAX_VARINT = 0x0fffffff;

function varintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : 4;
}

function writeVarint(b: Uint8Array, o: number, n: number): number {
  if (n > MAX_VARINT) throw new RangeError("record too long");
  while (n >= 0x80) {
    b[o++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  b[o++] = n;
  return o;
}

/** Where the varint at `o` ends (`varintEnd`) and its value, or -1 if it is cut or too long. */
let varintEnd = 0;

function readVarint(b: Uint8Array, o: number, limit: number): number {
  let n = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    if (o >= limit) return -1;
    const x = b[o++]!;
    n |= (x & 0x7f) << shift;
    if (x < 0x80) {
      varintEnd = o;
      return n;
    }
  }
  return -1;
}

/** A page rewritten by this node: its run (what to store), the page once stored, what changed. */
export interface Rewritten {
  readonly run: Uint8Array;
  /**
   * Ids whose records were written (not those `onlyIfAbsent` left), with their places: those past
   * the base's last are appended, and `page.index` is not told of them until `adopt`.
   */
  readonly written: ReadonlyArray<readonly [string, number]>;
  readonly ids: readonly string[];
  readonly starts: readonly number[];
  /** The page it was built on. */
  readonly base: PageRecords;
}

/**
 * `page` with `changes` (id → record) applied: changed ids keep their place, new ones go at the
 * end; with `onlyIfAbsent`, ids on the page already are left as they are. Changes nothing of
 * `page`.
 */
export function withRecords(
  page: PageRecords,
  changes: ReadonlyMap<string, Uint8Array>,
  onlyIfAbsent = false,
): Rewritten {
  const at = new Map<number, Uint8Array>();
  const added: Uint8Array[] = [];
  const written: Array<[string, number]> = [];
  const ids = page.ids.slice();
  let length = page.run.length;
  for (const [id, rec] of changes) {
    const j = positionOf(page, id);
    if (j < 0) {
      written.push([id, ids.length]);
      ids.push(id);
      added.push(rec);
      length += rec.length;
    } else if (!onlyIfAbsent) {
      at.set(j, rec);
      written.push([id, j]);
      length += rec.length - (page.starts[j + 1]! - page.starts[j]!);
    }
  }
  const run = Buffer.allocUnsafe(length);
  const starts = [0];
  let o = 0;
  for (let j = 0; j < page.ids.length; j++) {
    const rec = at.get(j);
    if (rec === undefined) {
      run.set(page.run.subarray(page.starts[j], page.starts[j + 1]), o);
      o += page.starts[j + 1]! - page.starts[j]!;
    } else {
      run.set(rec, o);
      o += rec.length;
    }
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
  return { ids: w.ids, run: w.run, starts: w.starts, index, decls };
}

/** A page whose records are `run`. */
export function encodePage(hubId: string, key: string, run: Uint8Array): Uint8Array {
  return packr.pack({ f: FORMAT, v: VERSION, hub: hubId, key, r: run });
}

/** A decoded page: its records, the declarations that changed, and the records refused in it. */
export interface DecodedPage {
  /** The page's records (without those refused, with `prev`'s records of ids the page lacks). */
  readonly page: PageRecords;
  /** The declarations whose records differ from `prev` (all of them without it), at the page's revision. */
  readonly declared: Declared[];
  /** Records refused, with why (their ids' earlier declarations stay in force). */
  readonly refused: Array<{ readonly id: string; readonly why: string }>;
}

/**
 * The page in `value`, or why it is refused as a whole. `prev`: the records this node holds for
 * the page; a record equal to the one at the same place there is neither decoded nor checked
 * again. A writer keeps every id at its place and appends new ones, so an id found elsewhere is
 * refused (`out of place`), as is one on the page twice. The page returned holds one copy of the
 * run (it keeps neither `value`'s buffer alive nor earlier copies).
 */
export function decodePage(
  hubId: string,
  key: string,
  value: Uint8Array,
  revision: number,
  prev: PageRecords = EMPTY_PAGE,
): DecodedPage | { pageRefused: string } {
  let v: unknown;
  try {
    v = packr.unpack(value);
  } catch {
    return { pageRefused: "does not decode" };
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return { pageRefused: "not a record" };
  const r = v as Record<string, unknown>;
  if (r.f !== FORMAT) return { pageRefused: "foreign format" };
  const layout = layoutOf(key);
  if (layout === null) return { pageRefused: "not a page key" };
  const { page, legacy } = layout;
  if (legacy && r.v === 1) return decodeNested(hubId, key, r, revision, prev, page);
  if (r.v !== (legacy ? 2 : VERSION)) return { pageRefused: `unknown version ${String(r.v)}` };
  if (r.hub !== hubId) return { pageRefused: "another hub's page" };
  if (r.key !== key) return { pageRefused: "page does not match its key" };
  if (!(r.r instanceof Uint8Array)) return { pageRefused: "no records" };
  const count = legacy ? LEGACY_PAGE_COUNT : PAGE_COUNT;
  const run = copyOf(r.r);
  const ids: string[] = [];
  const starts = [0];
  const decls: Declared[] = [];
  const declared: Declared[] = [];
  const refused: Array<{ id: string; why: string }> = [];
  /** Ids appended by this write (not on `prev`). */
  const appended = new Map<string, number>();
  /** Records kept, as [start, end] in `run`, when one was refused (the run is rebuilt). */
  let kept: Kept[] | undefined;
  const prevRun = prev.run;
  const prevStarts = prev.starts;
  const prevCount = prev.ids.length;
  /** The last entry decoded, when the records after it with the same bytes can take it as is. */
  let shared: { start: number; end: number; d: Declared } | undefined;
  let at = 0;
  const length = run.length;
  for (let i = 0; at < length; i++) {
    let idAt: number;
    let idEnd: number;
    let entryAt: number;
    let end: number;
    if (legacy) {
      if (at + 8 > length) return { pageRefused: "truncated record" };
      idAt = at + 4;
      idEnd = idAt + run.readUInt32BE(at);
      entryAt = idEnd + 4;
      if (entryAt > length) return { pageRefused: "truncated record" };
      end = entryAt + run.readUInt32BE(entryAt - 4);
    } else {
      const idLength = readVarint(run, at, length);
      if (idLength < 0) return { pageRefused: "truncated record" };
      idAt = varintEnd;
      idEnd = idAt + idLength;
      const entryLength = readVarint(run, idEnd, length);
      if (entryLength < 0) return { pageRefused: "truncated record" };
      entryAt = varintEnd;
      end = entryAt + entryLength;
    }
    if (end > length) return { pageRefused: "truncated record" };
    const start = at;
    at = end;
    if (i < prevCount && sameRange(run, start, end, prevRun, prevStarts[i]!, prevStarts[i + 1]!)) {
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
    else if (
      shared !== undefined &&
      id.length > 0 &&
      sameRange(run, entryAt, end, run, shared.start, shared.end)
    )
      d = withId(shared.d, id, revision);
    else {
      let entry: unknown;
      try {
        const bytes = run.subarray(entryAt, end);
        if (legacy) {
          entry = packr.unpack(bytes);
          if (typeof entry !== "object" || entry === null || Array.isArray(entry)) why = "not a record";
        } else {
          const e = unpackEntry(id, bytes);
          if (typeof e === "string") why = e;
          else entry = e;
        }
      } catch {
        why = "does not decode";
      }
      if (why === undefined) {
        d = checkEntry(id, entry as Record<string, unknown>, revision);
        if (!legacy && !("refused" in d) && shareable(d)) shared = { start: entryAt, end, d };
      }
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
    return { page: { ids, run, starts, index, decls }, declared, refused };
  }
  return { page: rebuilt(run, kept ?? keptSoFar(ids, starts, decls), prev), declared, refused };
}

/** A record kept when a page is rebuilt: its id, its range in the run, its declaration. */
type Kept = readonly [string, number, number, Declared];

function keptSoFar(ids: readonly string[], starts: readonly number[], decls: readonly Declared[]): Kept[] {
  return ids.map((x, k) => [x, starts[k]!, starts[k + 1]!, decls[k]!]);
}

/**
 * Whether records whose entry has the same bytes as `d`'s can take its declaration with their own
 * id (the entries of a call's children mostly differ in nothing else): only when the spec holds
 * no object another child would share (args a primitive, metadata empty).
 */
function shareable(d: Declared): boolean {
  const s = d.spec;
  return s === null || ((typeof s.args !== "object" || s.args === null) && isEmpty(s.metadata));
}

/**
 * `d` for `id` at `revision`: what `checkEntry` makes of the same entry bytes under that id (its
 * checks do not depend on the id but for it being non-empty, which the caller ensures).
 */
function withId(d: Declared, id: string, revision: number): Declared {
  const s = d.spec;
  return {
    id,
    desired: d.desired,
    spec:
      s === null
        ? null
        : {
            id,
            behaviour: s.behaviour,
            args: s.args,
            restart: s.restart,
            shutdown: s.shutdown,
            metadata: {},
          },
    pin: d.pin,
    revision,
    by: d.by,
    at: d.at,
    learnt: 0,
  };
}

/**
 * A page of the records `kept` (ranges of `run`) and of `prev`'s records whose ids they lack: a
 * writer never takes an id off a page, so a missing id is a refused (garbled) record or a
 * foreign writer's, and its declaration stays in force here; the next write carries it again.
 */
function rebuilt(run: Uint8Array, kept: readonly Kept[], prev: PageRecords): PageRecords {
  const have = new Set(kept.map((k) => k[0]));
  const parts: Uint8Array[] = kept.map(([, s, e]) => run.subarray(s, e));
  const ids = kept.map((k) => k[0]);
  const decls = kept.map((k) => k[3]);
  for (let j = 0; j < prev.ids.length; j++) {
    if (have.has(prev.ids[j]!)) continue;
    ids.push(prev.ids[j]!);
    decls.push(prev.decls[j]!);
    parts.push(prev.run.subarray(prev.starts[j], prev.starts[j + 1]));
  }
  const out = Buffer.concat(parts);
  const starts = [0];
  for (const p of parts) starts.push(starts[starts.length - 1]! + p.length);
  return { ids, run: out, starts, index: new Map(ids.map((id, k) => [id, k])), decls };
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
  return { page: rebuilt(Buffer.concat(recs), kept, prev), declared, refused };
}

/** Whether `a[as, ae)` and `b[bs, be)` hold the same bytes. */
function sameRange(a: Uint8Array, as: number, ae: number, b: Uint8Array, bs: number, be: number): boolean {
  if (ae - as !== be - bs) return false;
  for (let i = as, k = bs; i < ae; i++, k++) if (a[i] !== b[k]) return false;
  return true;
}

/**
 * A copy of the page's run (the page keeps it, not `value`'s buffer, which may be a connection's
 * read buffer). Small runs share Node's buffer pool: an ArrayBuffer of its own per page written,
 * on every node, cost more than the rest of applying it (a profile of three durable hubs).
 */
function copyOf(value: Uint8Array): Buffer {
  return Buffer.from(value);
}
