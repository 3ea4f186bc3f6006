/**
 * Fuzzing of the NATS transport's decoders, in process: the control-message reader
 * (`decodeControl`: heartbeats, leaves, probe answers) and the sealed envelope (`WireAuth.open`).
 * Nothing throws; what `decodeControl` accepts is well-formed; a sealed message with any bit
 * flipped, cut short, re-addressed or given to another kind never opens; random bytes never open;
 * and a window of sequence numbers accepts each one once.
 */
import { createHmac, randomBytes } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { decodeControl } from "../../../src/transports/nats/control.js";
import { isNodeName } from "../../../src/transports/nats/membership.js";
import {
  MacKey,
  type ResolvedAuth,
  SealKind,
  WIRE_VERSION,
  WireAuth,
} from "../../../src/transports/nats/wire-auth.js";

const settings = (encrypt: boolean): ResolvedAuth => ({
  secret: new TextEncoder().encode("fuzzing secret of some length"),
  acceptSecrets: [],
  encrypt,
  maxClockSkewMs: 30_000,
  joinCheckMs: 0,
});
const me = (node: string, incarnation = 7) => ({ cluster: "fz", node, incarnation });
/** What `make` returns, made as if at `time`: a receiver listening since then. */
function listeningSince<T>(time: number, make: () => T): T {
  const spy = vi.spyOn(Date, "now").mockReturnValue(time);
  try {
    return make();
  } finally {
    spy.mockRestore();
  }
}
const kinds = [SealKind.Direct, SealKind.Broadcast, SealKind.Heartbeat, SealKind.Leave, SealKind.Pong];

describe("decodeControl", () => {
  it("never throws, and what it accepts is a control message of the declared shape", () => {
    const enc = new TextEncoder();
    const nearMiss = fc.record(
      {
        t: fc.constantFrom("hb", "leave", "x", 1, null),
        n: fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.constant(undefined)),
        i: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(null)),
        s: fc.oneof(fc.integer(), fc.double(), fc.constant(undefined), fc.string()),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 100 }),
          nearMiss.map((o) => enc.encode(JSON.stringify(o))),
          fc.jsonValue({ maxDepth: 3 }).map((v) => enc.encode(JSON.stringify(v))),
        ),
        (bytes) => {
          const m = decodeControl(bytes);
          if (m === undefined) return;
          expect(m.kind === "hb" || m.kind === "leave").toBe(true);
          expect(typeof m.node === "string" && m.node.length > 0).toBe(true);
          expect(Number.isFinite(m.incarnation) && Number.isSafeInteger(m.session)).toBe(true);
        },
      ),
      { numRuns: 3000, seed: 1 },
    );
  });

  it("names that are not one subject token are refused by the membership check the transport applies", () => {
    for (const n of ["a.b", "*", "a>", "", "x".repeat(256), "tab\tx"]) expect(isNodeName(n)).toBe(false);
    expect(isNodeName("x".repeat(255))).toBe(true);
  });
});

describe("MacKey", () => {
  it("computes HMAC-SHA256 as createHmac does, for messages of any length (the reused buffer grows, then gives way)", () => {
    const key = randomBytes(32);
    const mac = new MacKey(key);
    fc.assert(
      fc.property(fc.oneof(fc.nat(2000), fc.constantFrom(0, 64 * 1024, 64 * 1024 + 1, 200_000)), (n) => {
        const message = randomBytes(n);
        const expected = createHmac("sha256", key).update(message).digest();
        const input = mac.input(n);
        if (input === undefined) return; // too long for the buffer: the caller uses createHmac
        message.copy(input, 64);
        expect(Buffer.from(mac.digest(n), "latin1").equals(expected)).toBe(true);
      }),
      { numRuns: 300, seed: 5 },
    );
    expect(mac.input(200_000)).toBeUndefined();
  });

  it("a frame too long for the reused buffer seals and opens (through createHmac) and a flipped bit does not", () => {
    const tx = new WireAuth(me("a"), settings(false));
    const rx = new WireAuth(me("b"), settings(false));
    const payload = randomBytes(100_000);
    const sealed = tx.seal(SealKind.Direct, "b", 7, payload);
    const bad = Uint8Array.from(sealed);
    bad[50_000]! ^= 4;
    expect(rx.open(SealKind.Direct, "a", "b", bad)).toBe("mac");
    const ok = rx.open(SealKind.Direct, "a", "b", sealed);
    expect(typeof ok === "object" && Buffer.from(ok.payload).equals(payload)).toBe(true);
  });
});

describe.each([
  ["authenticated", false],
  ["encrypted", true],
])("WireAuth (%s)", (_label, encrypt) => {
  it("never opens random bytes, and never throws", () => {
    const rx = new WireAuth(me("b"), settings(encrypt));
    fc.assert(
      fc.property(fc.constantFrom(...kinds), fc.uint8Array({ maxLength: 200 }), (kind, bytes) => {
        expect(typeof rx.open(kind, "a", "b", bytes)).toBe("string");
      }),
      { numRuns: 3000, seed: 2 },
    );
  });

  it("never opens a sealed message with a bit flipped, cut, re-addressed or read as another kind", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...kinds),
        fc.uint8Array({ maxLength: 120 }),
        fc.nat(),
        fc.nat(7),
        fc.nat(5),
        (kind, payload, at, bit, change) => {
          // Fresh ends each run: a replay window must not be what refuses the mutation.
          const tx = new WireAuth(me("a"), settings(encrypt));
          const rx = new WireAuth(me("b"), settings(encrypt));
          const to = kind === SealKind.Direct ? "b" : "";
          const bind = kind === SealKind.Pong ? new Uint8Array([1, 2, 3]) : undefined;
          const sealed = tx.seal(kind, to, kind === SealKind.Direct ? 7 : 0, payload, bind);
          const bad = Uint8Array.from(sealed);
          let opened: unknown;
          if (change === 0) {
            bad[at % bad.length]! ^= 1 << bit;
            opened = rx.open(kind, "a", to, bad, bind);
          } else if (change === 1) {
            opened = rx.open(kind, "a", to, bad.subarray(0, at % bad.length), bind);
          } else if (change === 2) {
            opened = rx.open(kind, "c", to, bad, bind); // another sender token
          } else if (change === 3) {
            opened = rx.open(kinds[(kinds.indexOf(kind) + 1) % kinds.length]!, "a", to, bad, bind);
          } else if (change === 4) {
            opened = rx.open(
              kind,
              "a",
              to,
              bad,
              bind === undefined ? new Uint8Array([9]) : new Uint8Array([1, 2]),
            );
          } else {
            // A frame sealed for another incarnation of b.
            const other = new WireAuth(me("b", 8), settings(encrypt));
            opened = kind === SealKind.Direct ? other.open(kind, "a", to, bad, bind) : "misaddressed";
          }
          expect(typeof opened).toBe("string");
          // The untouched message opens, once.
          const ok = rx.open(kind, "a", to, sealed, bind);
          expect(typeof ok === "object" && Buffer.from(ok.payload).equals(Buffer.from(payload))).toBe(true);
          expect(rx.open(kind, "a", to, sealed, bind)).toBe("replay");
        },
      ),
      { numRuns: 1500, seed: 3 },
    );
  });

  it("refuses a message of another wire version as `version`, not as malformed", () => {
    const tx = new WireAuth(me("a"), settings(encrypt));
    const rx = new WireAuth(me("b"), settings(encrypt));
    for (const kind of kinds) {
      const to = kind === SealKind.Direct ? "b" : "";
      const sealed = Uint8Array.from(tx.seal(kind, to, 7, new Uint8Array([1, 2, 3]), new Uint8Array([9])));
      for (const version of [1, WIRE_VERSION + 1]) {
        sealed[0] = version;
        expect(WireAuth.kindOf(sealed)).toBeUndefined();
        expect(WireAuth.otherVersionIn(sealed)).toBe(version);
        expect(rx.open(kind, "a", to, sealed, new Uint8Array([9]))).toBe("version");
      }
    }
    // Unsealed messages are not taken for another version: a control message, a frame, nothing.
    expect(
      WireAuth.otherVersionIn(new TextEncoder().encode(`{"t":"hb","n":"a","i":1,"s":1}${" ".repeat(64)}`)),
    ).toBeUndefined();
    expect(WireAuth.otherVersionIn(new Uint8Array(80).fill(0x94))).toBeUndefined();
    expect(WireAuth.otherVersionIn(new Uint8Array(80))).toBeUndefined();
  });

  it("refuses a message stamped beyond maxClockSkewMs and one under another key", () => {
    const tx = new WireAuth(me("a"), settings(encrypt));
    const rx = new WireAuth(me("b"), settings(encrypt));
    const other = new WireAuth(me("a"), {
      ...settings(encrypt),
      secret: new TextEncoder().encode("another secret, long enough"),
    });
    const now = Date.now();
    const spy = vi.spyOn(Date, "now").mockReturnValue(now - 31_000);
    const old = tx.seal(SealKind.Heartbeat, "", 0, new Uint8Array([1]));
    spy.mockRestore();
    expect(rx.open(SealKind.Heartbeat, "a", "", old)).toBe("stale");
    expect(
      rx.open(SealKind.Heartbeat, "a", "", other.seal(SealKind.Heartbeat, "", 0, new Uint8Array([1]))),
    ).toBe("key");
  });

  it("refuses what a sender stamped before the receiver listened, or in a window it has forgotten", () => {
    const now = Date.now();
    const tx = new WireAuth(me("a"), settings(encrypt));
    const before = listeningSince(now - 1000, () => tx.seal(SealKind.Heartbeat, "", 0, new Uint8Array([1])));
    const rx = listeningSince(now, () => new WireAuth(me("b"), settings(encrypt)));
    // Within the clock skew, and the first message of a's session that rx sees: a replay all the same.
    expect(rx.open(SealKind.Heartbeat, "a", "", before)).toBe("replay");
    expect(
      typeof rx.open(SealKind.Heartbeat, "a", "", tx.seal(SealKind.Heartbeat, "", 0, new Uint8Array([2]))),
    ).toBe("object");
    const first = tx.seal(SealKind.Heartbeat, "", 0, new Uint8Array([3]));
    expect(typeof rx.open(SealKind.Heartbeat, "a", "", first)).toBe("object");
    // a takes eight more sessions: rx keeps eight windows, so the first session's is forgotten.
    for (let session = 1; session <= 8; session++) {
      tx.session = session;
      const later = listeningSince(now + session, () =>
        tx.seal(SealKind.Heartbeat, "", 0, new Uint8Array([4])),
      );
      expect(typeof rx.open(SealKind.Heartbeat, "a", "", later)).toBe("object");
    }
    expect(rx.open(SealKind.Heartbeat, "a", "", first)).toBe("replay");
  });

  it("accepts each sequence number once within a 64-wide window, in any order", () => {
    const since = Date.now();
    const tx = new WireAuth(me("a"), settings(encrypt));
    const rx = new WireAuth(me("b"), settings(encrypt));
    const sealed = Array.from({ length: 100 }, (_, i) =>
      tx.seal(SealKind.Broadcast, "", 0, new Uint8Array([i])),
    );
    fc.assert(
      fc.property(
        fc.shuffledSubarray(
          Array.from({ length: 60 }, (_, i) => i + 40),
          { minLength: 60 },
        ),
        (order) => {
          const fresh = listeningSince(since, () => new WireAuth(me("b"), settings(encrypt)));
          fresh.open(SealKind.Broadcast, "a", "", sealed[99]!);
          for (const i of order) {
            if (i === 99) continue;
            expect(typeof fresh.open(SealKind.Broadcast, "a", "", sealed[i]!)).toBe("object");
          }
          for (const i of order) expect(fresh.open(SealKind.Broadcast, "a", "", sealed[i]!)).toBe("replay");
          // Older than the window.
          expect(fresh.open(SealKind.Broadcast, "a", "", sealed[10]!)).toBe("replay");
        },
      ),
      { numRuns: 200, seed: 4 },
    );
    expect(typeof rx.open(SealKind.Broadcast, "a", "", sealed[0]!)).toBe("object");
  });
});
