/**
 * Hub messages split by bytes fit in a frame whatever the children carry: each message the
 * splitters build, encoded by the cluster codec as the hub sends it (a `SendNamed` frame to the
 * hub's process), stays under the default `maxFrameBytes`, holds at most `CHUNK` entries, and
 * is not split needlessly small.
 */
import { describe, expect, it } from "vitest";
import { Codec, DEFAULT_MAX_FRAME_BYTES, FrameTag } from "../../src/cluster/index.js";
import { normalizeChildSpec } from "../../src/hub/child-spec.js";
import {
  CHUNK,
  Chunker,
  entryBytes,
  entryOut,
  FRAME_BUDGET,
  HUB_FRAME_LIMIT,
  idChunks,
  itemOut,
  MAX_DETAIL_CHARS,
  MAX_SPEC_BYTES,
  type StartItem,
  type StartMsg,
  specBytes,
  startChunks,
  startedMsgs,
  type WireEntry,
} from "../../src/hub/messages.js";
import { Pid } from "../../src/process/pid.js";

const codec = new Codec(DEFAULT_MAX_FRAME_BYTES);
/** Encodes `msg` as the hub sends it; throws `FrameTooLargeError` above the default limit. */
const frame = (msg: unknown) => codec.encode([FrameTag.SendNamed, "hubvisor.hub.some-hub-id", msg]).length;

const pid = new Pid("node-with-a-longish-name", 2 ** 31, 2 ** 31);

/** Children whose arguments and metadata are in several scripts and shapes. */
function items(n: number, argBytes: number): StartItem[] {
  const shapes = [
    (i: number) => "x".repeat(argBytes + (i % 7)),
    (i: number) => "é€😀".repeat(Math.ceil(argBytes / 9) + (i % 3)),
    (i: number) => ({ n: i, f: i / 3, list: Array.from({ length: argBytes / 16 }, (_, k) => k * 1.5) }),
    (i: number) => [new Date(i), new Uint8Array(argBytes), null, true],
  ];
  return Array.from({ length: n }, (_, i) => ({
    spec: normalizeChildSpec({
      id: `child-${i}-${"ü".repeat(i % 5)}`,
      behaviour: "worker",
      args: shapes[i % shapes.length]!(i),
      restart: "transient",
      shutdown: i % 2 === 0 ? "brutal_kill" : 12.5,
      metadata: i % 3 === 0 ? {} : { tag: `t${i}`, owner: "ops" },
    }),
    epoch: 2 ** 40 + i,
    pinned: i % 2 === 0,
  }));
}

describe("hub messages split by bytes", () => {
  it("starts: every part fits a frame, holds at most CHUNK items, and parts are well filled", () => {
    for (const [n, argBytes] of [
      [3000, 16],
      [1500, 2048],
      [40, 100_000],
    ] as const) {
      const list = items(n, argBytes);
      const parts = startChunks(list);
      expect(parts.flat()).toEqual(list);
      for (const part of parts) {
        expect(part.length).toBeLessThanOrEqual(CHUNK);
        const msg: StartMsg = {
          t: "start",
          req: 1,
          origin: "a",
          items: part.map(itemOut),
          hops: 0,
          ensure: true,
        };
        expect(frame(msg)).toBeLessThanOrEqual(HUB_FRAME_LIMIT);
      }
      // Not needlessly small: every part but the last is full by count or at least half full by bytes.
      for (const part of parts.slice(0, -1)) {
        const used = part.reduce((s, it) => s + frame(itemOut(it)), 0);
        expect(part.length === CHUNK || used > FRAME_BUDGET / 2).toBe(true);
      }
    }
  });

  it("starts with hot-swap states count the states", () => {
    const list = items(400, 1000);
    const states = new Map(list.map((it) => [it.spec.id, { data: "s".repeat(3000) }] as const));
    const parts = startChunks(list, states);
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) {
      const msg: StartMsg = {
        t: "start",
        req: null,
        origin: "a",
        items: part.map(itemOut),
        hops: 0,
        ensure: true,
        states: part.map((it) => [it.spec.id, states.get(it.spec.id)]),
      };
      expect(frame(msg)).toBeLessThanOrEqual(HUB_FRAME_LIMIT);
    }
  });

  it("deltas and slices: registry entries split with a Chunker fit a frame", () => {
    const c = new Chunker<WireEntry>();
    for (const [i, it] of items(1500, 2048).entries()) {
      // Every other one pinned: its entry is one element longer.
      const e = { spec: it.spec, epoch: it.epoch, pid, pinned: i % 2 === 0 };
      c.add(entryOut(it.spec.id, e), entryBytes(e));
    }
    const parts = c.finish();
    expect(parts.length).toBeGreaterThanOrEqual(4);
    for (const up of parts) {
      expect(frame({ t: "delta", from: "a", inc: 2 ** 31, seq: 2 ** 40, up, rm: [] })).toBeLessThanOrEqual(
        HUB_FRAME_LIMIT,
      );
      expect(
        frame({ t: "slice", from: "a", inc: 1, seq: 1, part: 0, parts: 9, entries: up }),
      ).toBeLessThanOrEqual(HUB_FRAME_LIMIT);
    }
  });

  it("a spec at MAX_SPEC_BYTES still fits a frame as a start item and as a registry entry", () => {
    const spec = normalizeChildSpec({ id: "edge", behaviour: "worker", args: "€".repeat(300_000) });
    expect(specBytes(spec)).toBeLessThanOrEqual(MAX_SPEC_BYTES);
    const it: StartItem = { spec, epoch: 1, pinned: false };
    const [part] = startChunks([it]);
    expect(
      frame({ t: "start", req: 1, origin: "a", items: part!.map(itemOut), hops: 0, ensure: false }),
    ).toBeLessThan(HUB_FRAME_LIMIT);
    expect(
      frame({
        t: "delta",
        from: "a",
        inc: 1,
        seq: 1,
        up: [entryOut("edge", { spec, epoch: 1, pid })],
        rm: [],
      }),
    ).toBeLessThan(HUB_FRAME_LIMIT);
  });

  it("stops and removals: ids split by bytes", () => {
    const ids = Array.from({ length: 5000 }, (_, i) => `${i}-${"i".repeat(600)}`);
    const parts = idChunks(ids);
    expect(parts.flat()).toEqual(ids);
    for (const p of parts) {
      expect(p.length).toBeLessThanOrEqual(CHUNK);
      expect(frame({ t: "stop", req: 1, origin: "a", ids: p })).toBeLessThanOrEqual(HUB_FRAME_LIMIT);
    }
  });

  it("start answers: split by bytes, at least one message, long details cut", () => {
    expect(startedMsgs(7, "b", [], [])).toEqual([{ t: "started", req: 7, node: "b", ok: [], failed: [] }]);
    const ok = Array.from({ length: 2500 }, (_, i) => [`ok-${i}-${"k".repeat(500)}`, pid] as [string, Pid]);
    const failed = Array.from(
      { length: 300 },
      (_, i) => [`bad-${i}`, "start_failed", "boom ".repeat(5000)] as [string, "start_failed", string],
    );
    const msgs = startedMsgs(7, "b", ok, failed);
    expect(msgs.flatMap((m) => m.ok)).toEqual(ok);
    expect(msgs.flatMap((m) => m.failed.map((f) => f[0]))).toEqual(failed.map((f) => f[0]));
    for (const m of msgs) {
      expect(m.ok.length + m.failed.length).toBeLessThanOrEqual(CHUNK);
      expect(frame(m)).toBeLessThanOrEqual(HUB_FRAME_LIMIT);
      for (const f of m.failed) expect(f[2]!.length).toBe(MAX_DETAIL_CHARS + 1);
    }
  });
});
