/**
 * The wire codec: MessagePack (msgpackr) with extensions that keep hubvisor's value types alive
 * across nodes: `Pid`, `Ref`, `From`, `ExitMessage`, `DownMessage` and errors. An error travels
 * as `{name, message, code, stack, fields, cause}` and comes back as the class registered for its
 * `code` (every hubvisor error class is registered below), else as a `RemoteError` with the same
 * code, else (no code) as the built-in error class of the same name.
 *
 * One wire message holds one or more frames: MessagePack is self-delimiting, so a batch is the
 * plain concatenation of encoded frames. Functions and symbols never travel: encoding them throws
 * `UnserialisableError`. Decoding never throws: it reports what went wrong.
 *
 * msgpackr keeps its extension table module-global, so the extensions are registered once, when
 * this module loads, under type codes 0x31–0x36 (unused by msgpackr itself).
 *
 * Imports `process` (pid, messages, node's `From`), its own `errors` and `wire-errors` (the
 * registered error classes and how an error is written and read).
 */
import { Packr, Unpackr, addExtension } from "msgpackr";
import { InvalidOptionError } from "../errors.js";
import { DownMessage, ExitMessage } from "../process/messages.js";
import { From } from "../process/node.js";
import { Pid, Ref } from "../process/pid.js";
import { FrameTooLargeError, UnserialisableError } from "./errors.js";
import { BadExtension, readError, writeError } from "./wire-errors.js";

function isIdTriple(v: unknown): v is [string, number, number] {
  return (
    Array.isArray(v) &&
    v.length === 3 &&
    typeof v[0] === "string" &&
    Number.isInteger(v[1]) &&
    Number.isInteger(v[2])
  );
}

function readPid(v: unknown): Pid {
  if (!isIdTriple(v)) throw new BadExtension("malformed pid");
  return new Pid(v[0], v[1], v[2]);
}

function readRef(v: unknown): Ref {
  if (!isIdTriple(v)) throw new BadExtension("malformed ref");
  return new Ref(v[0], v[1], v[2]);
}

export { registerErrorClass } from "./wire-errors.js";

// ------------------------------------------------------------------------------------ extensions

addExtension({ Class: Pid, type: 0x31, write: (p: Pid) => [p.node, p.id, p.creation], read: readPid });
addExtension({ Class: Ref, type: 0x32, write: (r: Ref) => [r.node, r.id, r.creation], read: readRef });
addExtension({
  Class: From,
  type: 0x33,
  write: (f: From) => {
    // A local caller's reply will now come from another node, by ref.
    f.call?.expose();
    return [f.pid, f.ref];
  },
  read: (v: unknown) => {
    if (!Array.isArray(v) || v.length !== 2 || !(v[0] instanceof Pid) || !(v[1] instanceof Ref)) {
      throw new BadExtension("malformed From");
    }
    return new From(v[0], v[1]);
  },
});
addExtension({
  Class: ExitMessage,
  type: 0x34,
  write: (m: ExitMessage) => [m.from, m.reason],
  read: (v: unknown) => {
    if (!Array.isArray(v) || v.length !== 2 || !(v[0] instanceof Pid))
      throw new BadExtension("malformed EXIT");
    return new ExitMessage(v[0], v[1]);
  },
});
addExtension({
  Class: DownMessage,
  type: 0x35,
  write: (m: DownMessage) => [m.ref, m.pid, m.reason],
  read: (v: unknown) => {
    if (!Array.isArray(v) || v.length !== 3 || !(v[0] instanceof Ref) || !(v[1] instanceof Pid)) {
      throw new BadExtension("malformed DOWN");
    }
    return new DownMessage(v[0], v[1], v[2]);
  },
});
addExtension({ Class: Error, type: 0x36, write: writeError, read: readError });

// ------------------------------------------------------------------------------------ codec

/** Why a wire message (or part of it) could not be decoded. */
export type DecodeProblem = "oversized" | "truncated" | "garbled";

/** What `decode` found: the frames it could read, and the problem that stopped it, if any. */
export interface DecodeResult {
  values: unknown[];
  problem: DecodeProblem | null;
  detail: string | null;
}

/** Default `maxFrameBytes`: 1 MiB. */
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;

const refuseFunction = (): never => {
  throw new TypeError("a function cannot be serialised");
};

// ------------------------------------------------------------------------------------ sizes

/** Measures the values `sizeBound` does not walk; same settings (and extensions) as `Codec`. */
const measurer = new Packr({ useRecords: false, moreTypes: true, writeFunction: refuseFunction });

/** Nesting beyond which `sizeBound` stops walking and measures (a cycle then fails to encode: 0). */
const MAX_WALK_DEPTH = 64;

/**
 * The encoded size of `value` in bytes, by encoding it; 0 if it cannot be encoded (the real
 * encode will throw `UnserialisableError` then). For the rare values `sizeBound` does not walk.
 */
export function encodedSize(value: unknown): number {
  try {
    return measurer.pack(value).length;
  } catch {
    return 0;
  }
}

/**
 * An upper bound of the size of string `s` encoded, header included. Short strings are bounded
 * by 3 bytes per UTF-16 unit without measuring; long ones are measured (exact, plus the largest
 * header), so that 2 KB of ASCII counts as 2 KB and not 6.
 */
export function strBound(s: string): number {
  return s.length < 64 ? 3 * s.length + 2 : Buffer.byteLength(s) + 5;
}

/**
 * An upper bound of the bytes `value` takes once encoded, computed without encoding it: what
 * lets the hub split large payloads into messages under the frame limit without encoding them
 * twice. Strings are measured (see `strBound`); numbers count 9 bytes (the widest form), arrays
 * and plain objects their widest header plus their contents. Values of other classes (pids,
 * dates, maps, errors…) are encoded once to measure them (`encodedSize`).
 */
export function sizeBound(value: unknown): number {
  return walkBound(value, 0);
}

function walkBound(value: unknown, depth: number): number {
  switch (typeof value) {
    case "string":
      return strBound(value);
    case "number":
      return 9;
    case "boolean":
      return 1;
    case "undefined":
      return 3; // msgpackr writes undefined as a 3-byte fixext
    case "object":
      return value === null ? 1 : objectBound(value, depth);
    default:
      return encodedSize(value);
  }
}

function objectBound(value: object, depth: number): number {
  if (depth >= MAX_WALK_DEPTH) return encodedSize(value);
  if (Array.isArray(value)) {
    let n = 5;
    for (let i = 0; i < value.length; i++) n += walkBound(value[i], depth + 1);
    return n;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    let n = 5;
    for (const key in value)
      n += strBound(key) + walkBound((value as Record<string, unknown>)[key], depth + 1);
    return n;
  }
  if (value instanceof Uint8Array) return value.byteLength + 8;
  return encodedSize(value);
}

/**
 * Encodes frames and decodes wire messages, enforcing a maximum frame size both ways.
 * @category cluster
 */
export class Codec {
  private readonly packr = new Packr({ useRecords: false, moreTypes: true, writeFunction: refuseFunction });
  private readonly unpackr = new Unpackr({
    useRecords: false,
    moreTypes: true,
    mapsAsObjects: true,
    copyBuffers: true,
  });

  constructor(readonly maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES) {
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 64) {
      throw new InvalidOptionError("maxFrameBytes", "an integer >= 64", maxFrameBytes);
    }
  }

  /** Encodes one value (a frame). Throws `UnserialisableError` or `FrameTooLargeError`. */
  encode(value: unknown, what = "value"): Uint8Array {
    let bytes: Uint8Array;
    try {
      bytes = this.packr.pack(value);
    } catch (e) {
      throw new UnserialisableError(what, { cause: e });
    }
    if (bytes.length > this.maxFrameBytes) throw new FrameTooLargeError(bytes.length, this.maxFrameBytes);
    return bytes;
  }

  /**
   * Decodes a wire message into its frames. Never throws: on a truncated or garbled message the
   * frames before the damage are returned along with the problem.
   */
  decode(bytes: Uint8Array): DecodeResult {
    if (bytes.length > this.maxFrameBytes) {
      return { values: [], problem: "oversized", detail: `${bytes.length} bytes` };
    }
    const values: unknown[] = [];
    if (bytes.length === 0) return { values, problem: "truncated", detail: "empty message" };
    try {
      this.unpackr.unpackMultiple(bytes as Buffer, (value: unknown) => {
        values.push(value);
      });
      return { values, problem: null, detail: null };
    } catch (e) {
      const incomplete =
        typeof e === "object" && e !== null && (e as { incomplete?: unknown }).incomplete === true;
      const detail = e instanceof Error ? e.message : String(e);
      return { values, problem: incomplete ? "truncated" : "garbled", detail };
    }
  }
}
