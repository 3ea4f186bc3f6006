/**
 * Field-by-field shape checks of the wire messages of `messages.ts`, run on every message a hub
 * process receives from a peer before it acts on it. The cluster codec guarantees a well-formed
 * frame, not a well-formed hub message: a peer of another version, a bug, or a garbled payload
 * that still decodes must cost one dropped message (logged), never the hub process. `checkWire`
 * returns what is wrong, or null. Imports `process/pid`, `messages`.
 */
import { Pid } from "../process/pid.js";
import type { HubWireMsg } from "./messages.js";

type Fields = Record<string, unknown>;

const str = (v: unknown) => typeof v === "string";
const int = (v: unknown) => Number.isSafeInteger(v);
const bool = (v: unknown) => typeof v === "boolean";
const reqId = (v: unknown) => v === null || int(v);
const plain = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v);
const RESTARTS: ReadonlySet<unknown> = new Set(["permanent", "transient", "temporary"]);

function shutdown(v: unknown): boolean {
  return v === "brutal_kill" || v === "infinity" || (typeof v === "number" && Number.isFinite(v) && v >= 0);
}

/** `[id, behaviour, args, restart, shutdown, metadata | null, epoch, last]` */
function tuple(v: unknown, last: (x: unknown) => boolean, pinnable = false): boolean {
  // A registry entry may carry a ninth element: 1, pinned on its node.
  if (!Array.isArray(v) || (v.length !== 8 && !(pinnable && v.length === 9 && v[8] === 1))) return false;
  return (
    str(v[0]) &&
    str(v[1]) &&
    RESTARTS.has(v[3]) &&
    shutdown(v[4]) &&
    (v[5] === null || plain(v[5])) &&
    int(v[6]) &&
    last(v[7])
  );
}

const item = (v: unknown) => tuple(v, (x) => x === 0 || x === 1);
const entry = (v: unknown) => tuple(v, (x) => x instanceof Pid, true);
const pair = (a: (x: unknown) => boolean, b: (x: unknown) => boolean) => (v: unknown) =>
  Array.isArray(v) && v.length === 2 && a(v[0]) && b(v[1]);
const any = () => true;
const failure = (v: unknown) =>
  Array.isArray(v) && v.length >= 2 && v.length <= 4 && str(v[0]) && str(v[1]) && (v[2] == null || str(v[2]));

/** A field's check; `m` is the whole message (for checks that relate two fields). */
type Check = (v: unknown, m: Fields) => boolean;

/** A node writes only its own slice: every entry it sends is a child running on it (`from`). */
const ownEntries: Check = (v, m) => (v as unknown[][]).every((e) => (e[7] as Pid).node === m.from);

/** Name of the first field of `m` that fails its check, or null. */
function fields(m: Fields, spec: Record<string, Check>): string | null {
  for (const k in spec) if (!spec[k]!(m[k], m)) return k;
  return null;
}

function every(test: (v: unknown) => boolean): (v: unknown) => boolean {
  return (v) => {
    if (!Array.isArray(v)) return false;
    for (const x of v) if (!test(x)) return false;
    return true;
  };
}

const optional = (test: (v: unknown) => boolean) => (v: unknown) => v === undefined || v === null || test(v);
const strings = every(str);

const SHAPES: Record<HubWireMsg["t"], Record<string, Check>> = {
  hello: {
    from: str,
    inc: int,
    reply: bool,
    adopted: optional(every(pair(str, int))),
    behaviours: optional(every(str)),
    idempotent: optional(every(pair(str, strings))),
  },
  bye: { from: str, inc: int },
  claim: { from: str, req: int, ids: every(pair(str, int)) },
  claimed: { from: str, req: int, known: strings },
  start: {
    req: reqId,
    origin: str,
    items: every(item),
    hops: int,
    ensure: bool,
    states: optional(every(pair(str, any))),
  },
  started: { req: int, node: str, ok: every(pair(str, (x) => x instanceof Pid)), failed: every(failure) },
  forwarded: { req: int, node: str, to: str, ids: strings },
  stop: { req: reqId, origin: str, ids: strings },
  stopped: { req: int, node: str, ok: strings, missing: strings },
  delta: { from: str, inc: int, seq: int, up: (v, m) => every(entry)(v) && ownEntries(v, m), rm: strings },
  slice: {
    from: str,
    inc: int,
    seq: int,
    parts: (v) => int(v) && (v as number) >= 1,
    part: (v, m) => int(v) && (v as number) >= 0 && (v as number) < (m.parts as number),
    entries: (v, m) => every(entry)(v) && ownEntries(v, m),
  },
  version: { from: str, inc: int, seq: int },
  syncreq: { from: str },
  load: {
    from: str,
    load: (v) =>
      plain(v) &&
      Number.isFinite((v as Fields).children) &&
      Number.isFinite((v as Fields).lagMs) &&
      Number.isFinite((v as Fields).memory),
  },
  merge: { from: str, id: str, epoch: int, handover: bool },
  merged: { from: str, id: str, ok: bool, gone: bool },
  migrate: { from: str, id: str, to: str },
};

/** What is wrong with a message whose tag is a wire tag (`"<tag>.<field>"`), or null. */
export function checkWire(m: HubWireMsg): string | null {
  const bad = fields(m as unknown as Fields, SHAPES[m.t]);
  return bad === null ? null : `${m.t}.${bad}`;
}
