/**
 * Records of declarations as pages and log entries carry them: `id length ‖ id ‖ [stamp ‖] entry
 * length ‖ entry`, lengths and the stamp as varints of 7 bits a byte. A page's records carry a
 * stamp (the revision of the write that declared them, and whether the declaration is weak: see
 * `supersedes` in `declared.ts`); a log entry's records take the entry's own revision and carry
 * none; pages of version 3 carried none either (their page's revision stood for every record).
 *
 * An entry is a msgpack array, `[desired, at, by, spec, pin?]` with `spec` as
 * `[behaviour, args, restart, shutdown, metadata]` (its id is the record's) and `desired` and
 * `restart` as small numbers: half the bytes of the same entry as a map. The children of one call
 * mostly share everything but their ids, which a record keeps outside its entry, so a writer packs
 * a run of equal entries once (`RecordPacker`) and a reader decodes it once (`shareable`,
 * `withId`). Imports msgpackr's codec and `declared.ts`.
 */
import type { NormalizedChildSpec } from "../child-spec.js";
import { checkEntry, type Declared, type DesiredState } from "./declared.js";
import { recordPackr } from "./stored-record.js";

const packr = recordPackr;

/** One declaration in a record, as written. */
export interface PageEntry {
  readonly desired: DesiredState;
  readonly spec: NormalizedChildSpec | null;
  readonly pin?: readonly string[] | undefined;
  readonly by: string;
  readonly at: number;
}

const DESIRED: readonly DesiredState[] = ["running", "stopped", "dormant"];
const RESTART: readonly NormalizedChildSpec["restart"][] = ["permanent", "transient", "temporary"];

/** A record's stamp: its revision, and whether it is weak, in one number. */
export function stampOf(revision: number, weak: boolean | undefined): number {
  return revision * 2 + (weak === true ? 1 : 0);
}

/** The record of `id` with `entry` (with `stamp`, as a page carries it; without, as a log entry does). */
export function packRecord(id: string, entry: PageEntry, stamp?: number): Uint8Array {
  return framed(id, packr.pack(entryArray(entry)), stamp);
}

/** The entry of a declaration, to write it again (a fold writes log entries' declarations into pages). */
export function entryOf(d: Declared): PageEntry {
  return d.pin === null
    ? { desired: d.desired, spec: d.spec, by: d.by, at: d.at }
    : { desired: d.desired, spec: d.spec, pin: d.pin, by: d.by, at: d.at };
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
 * value when primitive or by reference, metadata both empty or the same object, the same pin
 * array).
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

/** `packRecord`, but an entry the same as the previous one (most of a call's children) is not packed again. */
export class RecordPacker {
  private last: PageEntry | undefined;
  private lastBody: Uint8Array | undefined;

  pack(id: string, entry: PageEntry, stamp?: number): Uint8Array {
    if (this.last === undefined || !sameEntry(this.last, entry)) {
      this.last = entry;
      this.lastBody = packr.pack(entryArray(entry));
    }
    return framed(id, this.lastBody!, stamp);
  }
}

/** A record of the first page layout: `uint32 id length ‖ id ‖ uint32 entry length ‖ entry` (a map). */
export function packLegacyRecord(id: string, entry: PageEntry): Uint8Array {
  const body = packr.pack(entry);
  const idLength = Buffer.byteLength(id, "utf8");
  const rec = Buffer.allocUnsafe(8 + idLength + body.length);
  rec.writeUInt32BE(idLength, 0);
  rec.write(id, 4, "utf8");
  rec.writeUInt32BE(body.length, 4 + idLength);
  rec.set(body, 8 + idLength);
  return rec;
}

/**
 * The entry of a record as the map `checkEntry` reads, or why it is refused. A code out of range
 * is refused here: read as a missing field it would take its default.
 */
export function unpackEntry(id: string, bytes: Uint8Array): Record<string, unknown> | string {
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

/**
 * The declaration of `id` in the entry `bytes`, or why it is refused (it does not decode, or fails
 * `checkEntry`).
 */
export function declarationOf(
  id: string,
  bytes: Uint8Array,
  revision: number,
  weak: boolean,
): Declared | { refused: string } {
  let e: Record<string, unknown> | string;
  try {
    e = unpackEntry(id, bytes);
  } catch {
    return { refused: "does not decode" };
  }
  if (typeof e === "string") return { refused: e };
  const d = checkEntry(id, e, revision);
  if (weak && !("refused" in d)) d.weak = true;
  return d;
}

function framed(id: string, body: Uint8Array, stamp: number | undefined): Uint8Array {
  const idLength = Buffer.byteLength(id, "utf8");
  const rec = Buffer.allocUnsafe(
    varintSize(idLength) +
      idLength +
      (stamp === undefined ? 0 : varintSize(stamp)) +
      varintSize(body.length) +
      body.length,
  );
  let o = writeVarint(rec, 0, idLength);
  o += rec.write(id, o, "utf8");
  if (stamp !== undefined) o = writeVarint(rec, o, stamp);
  o = writeVarint(rec, o, body.length);
  rec.set(body, o);
  return rec;
}

/** Lengths are at most 4 bytes of varint; a stamp (a revision) up to 8 (53 bits). */
const MAX_LENGTH = 0x0fffffff;
const MAX_STAMP = Number.MAX_SAFE_INTEGER;

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    size++;
  }
  return size;
}

function writeVarint(b: Uint8Array, o: number, n: number): number {
  if (n > MAX_STAMP) throw new RangeError("varint too large");
  while (n >= 0x80) {
    b[o++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  b[o++] = n;
  return o;
}

/**
 * Reads the records of a run one at a time; after `next` returns true, the fields name the
 * record's parts (a cursor, not an object per record: pages hold thousands).
 */
export class RecordCursor {
  idAt = 0;
  idEnd = 0;
  /** The record's stamp, or -1 when records carry none. */
  stamp = -1;
  entryAt = 0;
  end = 0;

  constructor(
    private readonly run: Uint8Array,
    private readonly stamped: boolean,
  ) {}

  /**
   * Reads the record at `at`: true, or false if it is cut short or a varint is too long (the
   * caller refuses the whole run: where the next record starts is unknown).
   */
  next(at: number): boolean {
    const b = this.run;
    const limit = b.length;
    const idLength = this.varint(at, limit, MAX_LENGTH);
    if (idLength < 0) return false;
    this.idAt = this.pos;
    this.idEnd = this.idAt + idLength;
    let o = this.idEnd;
    if (this.stamped) {
      this.stamp = this.varint(o, limit, MAX_STAMP);
      if (this.stamp < 0) return false;
      o = this.pos;
    }
    const entryLength = this.varint(o, limit, MAX_LENGTH);
    if (entryLength < 0) return false;
    this.entryAt = this.pos;
    this.end = this.entryAt + entryLength;
    return this.end <= limit;
  }

  private pos = 0;

  private varint(o: number, limit: number, max: number): number {
    const b = this.run;
    let n = 0;
    let scale = 1;
    for (;;) {
      if (o >= limit) return -1;
      const x = b[o++]!;
      n += (x & 0x7f) * scale;
      if (n > max) return -1;
      if (x < 0x80) {
        this.pos = o;
        return n;
      }
      scale *= 0x80;
      if (scale > max) return -1;
    }
  }
}

/**
 * Whether records whose entry has the same bytes as `d`'s can take its declaration with their own
 * id (`withId`): only when the spec holds no object another child would share (args a primitive,
 * metadata empty).
 */
export function shareable(d: Declared): boolean {
  const s = d.spec;
  return s === null || ((typeof s.args !== "object" || s.args === null) && isEmpty(s.metadata));
}

/**
 * `d` for `id` at `revision`: what `checkEntry` makes of the same entry bytes under that id (its
 * checks do not depend on the id but for it being non-empty, which the caller ensures).
 */
export function withId(d: Declared, id: string, revision: number, weak: boolean): Declared {
  const s = d.spec;
  const out: Declared = {
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
  if (weak) out.weak = true;
  return out;
}

/** Whether `a[as, ae)` and `b[bs, be)` hold the same bytes. */
export function sameRange(
  a: Uint8Array,
  as: number,
  ae: number,
  b: Uint8Array,
  bs: number,
  be: number,
): boolean {
  if (ae - as !== be - bs) return false;
  for (let i = as, k = bs; i < ae; i++, k++) if (a[i] !== b[k]) return false;
  return true;
}
