/**
 * What `WireAuth.open` keeps between messages, checked against interleavings the transport
 * produces: the replay windows of each sender (by incarnation, session and stream), and the
 * MAC's reused buffer with each message's context (any state kept there from one message to the
 * next must not let another's pass). Senders
 * that alternate between the event loop's stream and the heartbeat thread's, between sessions,
 * and between names must open each message once and refuse every replay, re-attribution and bit
 * flip, in any order of arrival.
 */
import { createHmac } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  HEADER_BYTES,
  type ResolvedAuth,
  SealKind,
  STREAM,
  TAG_BYTES,
  type ThreadSealing,
  WIRE_VERSION,
  WireAuth,
} from "../../../src/transports/nats/wire-auth.js";

const settings: ResolvedAuth = {
  secret: new TextEncoder().encode("window and context secret"),
  acceptSecrets: [],
  encrypt: false,
  maxClockSkewMs: 30_000,
  joinCheckMs: 0,
};
const me = (node: string, incarnation = 7) => ({ cluster: "wa", node, incarnation });

/** A heartbeat as the heartbeat thread seals it (`heartbeat-thread.ts`): stream 1, number `n`. */
function threadSeal(s: ThreadSealing, n: number, payload: Uint8Array): Uint8Array {
  const tagAt = HEADER_BYTES + payload.length;
  const out = Buffer.alloc(tagAt + TAG_BYTES);
  out[0] = WIRE_VERSION;
  out[1] = SealKind.Heartbeat;
  out.writeUInt32BE(s.keyId, 2);
  out.writeDoubleBE(s.incarnation, 6);
  out.writeUInt32BE(s.session >>> 0, 14);
  out.writeDoubleBE(STREAM + n, 18);
  out.writeDoubleBE(Date.now(), 26);
  out.writeDoubleBE(0, 34);
  out.set(payload, HEADER_BYTES);
  createHmac("sha256", s.macKey)
    .update(s.context)
    .update(out.subarray(0, tagAt))
    .digest()
    .copy(out, tagAt, 0, TAG_BYTES);
  return out;
}

interface Sent {
  from: string;
  kind: SealKind;
  bytes: Uint8Array;
}

describe("WireAuth across interleaved senders, streams and sessions", () => {
  it("opens each message once and refuses its replays, whatever the interleaving", () => {
    fc.assert(
      fc.property(
        // Which source sends next: sender a or c, its event loop (heartbeats and broadcasts) or
        // its heartbeat thread, and whether a takes a new session first.
        fc.array(fc.record({ sender: fc.constantFrom("a", "c"), source: fc.nat(3) }), {
          minLength: 1,
          maxLength: 120,
        }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (steps, replays) => {
          const rx = new WireAuth(me("b"), settings);
          const tx = { a: new WireAuth(me("a", 3), settings), c: new WireAuth(me("c", 5), settings) };
          const threadSeq = { a: 0, c: 0 };
          const sent: Sent[] = [];
          for (const { sender, source } of steps) {
            const t = tx[sender as "a" | "c"];
            const payload = new Uint8Array([sent.length & 0xff, sent.length >> 8]);
            let s: Sent;
            if (source === 0) {
              s = {
                from: sender,
                kind: SealKind.Heartbeat,
                bytes: t.seal(SealKind.Heartbeat, "", 0, payload),
              };
            } else if (source === 1) {
              s = {
                from: sender,
                kind: SealKind.Broadcast,
                bytes: t.seal(SealKind.Broadcast, "", 0, payload),
              };
            } else if (source === 2) {
              const n = threadSeq[sender as "a" | "c"]++;
              s = { from: sender, kind: SealKind.Heartbeat, bytes: threadSeal(t.forThread(), n, payload) };
            } else {
              // A new session (at most 4 in all: with the thread's stream, the 8 windows a
              // receiver keeps per sender; past that a forgotten window's floor can refuse a new
              // one stamped in the same millisecond, which is another test's matter).
              if (t.session < 3) {
                t.session++;
                threadSeq[sender as "a" | "c"] = 0;
              }
              s = {
                from: sender,
                kind: SealKind.Heartbeat,
                bytes: t.seal(SealKind.Heartbeat, "", 0, payload),
              };
            }
            sent.push(s);
            const opened = rx.open(s.kind, s.from, "", s.bytes);
            expect(typeof opened === "object" && opened.payload[0] === payload[0]).toBe(true);
            // Replays of earlier messages (this one included), and one of them as the other sender.
            for (const r of replays.splice(0, 2)) {
              const old = sent[r % sent.length]!;
              expect(rx.open(old.kind, old.from, "", old.bytes)).toBe("replay");
              expect(rx.open(old.kind, old.from === "a" ? "c" : "a", "", old.bytes)).toBe("mac");
            }
          }
          for (const s of sent) expect(typeof rx.open(s.kind, s.from, "", s.bytes)).toBe("string");
        },
      ),
      { numRuns: 300, seed: 20 },
    );
  });

  it("checks each message under its own context when senders, kinds and probe answers alternate", () => {
    const rx = new WireAuth(me("b"), settings);
    const a = new WireAuth(me("a", 3), settings);
    const c = new WireAuth(me("c", 5), settings);
    const nonce = new Uint8Array([9, 9, 9, 9]);
    for (let i = 0; i < 50; i++) {
      const payload = new Uint8Array([i]);
      const fromA = a.seal(SealKind.Direct, "b", 7, payload);
      const fromC = c.seal(SealKind.Direct, "b", 7, payload);
      // Attributed to the other sender, or read as a broadcast, just after that sender's context
      // was used: refused.
      expect(rx.open(SealKind.Direct, "c", "b", fromA)).toBe("mac");
      expect(typeof rx.open(SealKind.Direct, "a", "b", fromA)).toBe("object");
      expect(rx.open(SealKind.Direct, "a", "b", fromC)).toBe("mac");
      expect(rx.open(SealKind.Broadcast, "c", "", fromC)).toBe("malformed");
      expect(typeof rx.open(SealKind.Direct, "c", "b", fromC)).toBe("object");
      // A probe answer (bound to its nonce, sealed through the MAC's buffer) between frames.
      const pong = a.seal(SealKind.Pong, "", 0, payload, nonce);
      expect(rx.open(SealKind.Pong, "a", "", pong, new Uint8Array([9, 9, 9, 8]))).toBe("mac");
      expect(typeof rx.open(SealKind.Pong, "a", "", pong, nonce)).toBe("object");
      const flipped = Uint8Array.from(a.seal(SealKind.Direct, "b", 7, payload));
      flipped[HEADER_BYTES]! ^= 1;
      expect(rx.open(SealKind.Direct, "a", "b", flipped)).toBe("mac");
    }
  });
});
