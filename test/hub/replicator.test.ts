/**
 * Registry replication (`src/hub/replicator.ts`) as a peer sees it, with one real hub node `a`
 * beside scripted peers (see `scriptedHub`): anti-entropy sends where a slice is (`version`), and
 * a replica asks for the whole slice only when its copy is behind; a large slice goes out before
 * the deltas of the changes made while it was built, so the peer applies them in sequence.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { HubWireMsg } from "../../src/hub/messages.js";
import type { ProcessHub } from "../../src/hub/process-hub.js";
import { scriptedHub, specs } from "./strategies/harness.js";

let hub: ProcessHub | undefined;
let lose: ((n: string) => void) | undefined;
let peers: string[] = [];
afterEach(async () => {
  for (const p of peers) lose?.(p);
  if (hub !== undefined) await expect.poll(() => hub!.nodes().length).toBe(0);
  await hub?.stop();
  hub = undefined;
  lose = undefined;
  peers = [];
});

type Sent = Array<{ to: string; msg: HubWireMsg }>;
const to = (sent: Sent, node: string, t: HubWireMsg["t"]) =>
  sent.filter((m) => m.to === node && m.msg.t === t).map((m) => m.msg);

/** Hub `a` (`hubId`, no sync rounds of its own) once scripted peer `x` (incarnation `inc`) joined it. */
async function withPeerX(hubId: string, inc: number): Promise<ReturnType<typeof scriptedHub>> {
  const s = scriptedHub(hubId, { syncIntervalMs: 60_000 });
  ({ hub, lose } = s);
  peers = ["x"];
  s.core.post({ t: "hello", from: "x", inc, reply: false });
  await expect.poll(() => hub!.nodes().join()).toBe("x");
  return s;
}

describe("anti-entropy by version", () => {
  it("a replica asks for a peer's whole slice when the peer's version is ahead of its copy, not when it is current", async () => {
    const { core, sent } = await withPeerX("replicator-version", 30);
    core.post({ t: "slice", from: "x", inc: 30, seq: 3, part: 0, parts: 1, entries: [] });
    core.post({ t: "version", from: "x", inc: 30, seq: 3 });
    // x's syncreq is handled after both (one mailbox, in order): its answer marks the point.
    const slices = to(sent, "x", "slice").length;
    core.post({ t: "syncreq", from: "x" });
    await expect.poll(() => to(sent, "x", "slice").length).toBeGreaterThan(slices);
    expect(to(sent, "x", "syncreq")).toHaveLength(0);
    core.post({ t: "version", from: "x", inc: 30, seq: 4 });
    await expect.poll(() => to(sent, "x", "syncreq").length).toBe(1);
  });

  it("a round sends this node's version, not its slice", async () => {
    const { core, sent } = await withPeerX("replicator-round", 31);
    const slices = to(sent, "x", "slice").length;
    core.post({ t: "$sync" } as never);
    await expect.poll(() => to(sent, "x", "version").length).toBe(1);
    expect(to(sent, "x", "slice")).toHaveLength(slices);
  });
});

describe("asking for a slice after a gap", () => {
  it("a replica does not ask again while the slice it asked for is arriving, however many deltas show the gap", async () => {
    const { core, sent } = await withPeerX("replicator-gap", 33);
    core.post({ t: "slice", from: "x", inc: 33, seq: 3, part: 0, parts: 1, entries: [] });
    const delta = (seq: number) => core.post({ t: "delta", from: "x", inc: 33, seq, up: [], rm: [] });
    // A gap (4 is missing): a asks for x's whole slice.
    delta(5);
    await expect.poll(() => to(sent, "x", "syncreq").length).toBe(1);
    // x's slice (taken at 20) comes in 10 parts, 250 ms apart, with older deltas (gaps, sent
    // before x had the request) in between: 2.5 s, in which asking every second would have made
    // x build and send its whole slice twice more. The deltas after the slice apply in sequence.
    const parts = 10;
    for (let part = 0; part < parts; part++) {
      delta(6 + part);
      core.post({ t: "slice", from: "x", inc: 33, seq: 20, part, parts, entries: [] });
      await new Promise((r) => setTimeout(r, 250));
    }
    delta(21);
    delta(22);
    await expect.poll(() => hub!.core.registry.sliceVersion("x")?.seq).toBe(22);
    expect(to(sent, "x", "syncreq")).toHaveLength(1);
  });
});

describe("a large slice", () => {
  it("goes out whole before the deltas of changes made while it was built, which follow in sequence", {
    timeout: 120_000,
  }, async () => {
    const s = scriptedHub("replicator-large", { syncIntervalMs: 60_000 });
    ({ hub, lose } = s);
    const { core, sent } = s;
    const n = 20_000;
    const r = await hub!.startChildren(specs(n), { awaitable: true }).await(60_000);
    expect(r.started).toHaveLength(n);
    peers = ["x"];
    // x joins, running no behaviour (nothing moves to it), and a sends it the whole slice;
    // right behind, children stop here (deltas).
    core.post({ t: "hello", from: "x", inc: 32, reply: false, behaviours: [] });
    hub!.stopChildren(
      specs(200).map((c) => c.id),
      { awaitable: false },
    );
    await expect.poll(() => hub!.localChildren().size, { timeout: 30_000 }).toBe(n - 200);
    const parts = () => to(sent, "x", "slice") as Array<Extract<HubWireMsg, { t: "slice" }>>;
    await expect.poll(() => parts().length, { timeout: 30_000 }).toBeGreaterThan(0);
    await expect.poll(() => parts().length).toBe(parts()[0]!.parts);
    const seq = parts()[0]!.seq;
    // Taken when x's hello was handled, before the stops: every child.
    expect(parts().reduce((k, p) => k + p.entries.length, 0)).toBe(n);
    // Every delta x got before the slice's last part is at or below the slice's seq; the ones
    // after it continue from there without a gap.
    const x = sent.filter((m) => m.to === "x").map((m) => m.msg);
    const last = x.lastIndexOf(parts().at(-1)!);
    const deltas = (from: number, until: number) =>
      x.slice(from, until).filter((m): m is Extract<HubWireMsg, { t: "delta" }> => m.t === "delta");
    for (const d of deltas(0, last)) expect(d.seq).toBeLessThanOrEqual(seq);
    await expect.poll(() => deltas(last, sent.length).length, { timeout: 30_000 }).toBeGreaterThan(0);
    expect(deltas(last, sent.length).map((d) => d.seq)).toEqual(
      deltas(last, sent.length).map((_d, i) => seq + 1 + i),
    );
  });
});
