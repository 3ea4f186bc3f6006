/**
 * Fencing over NATS JetStream with three hub node processes (`examples/hub-node.ts`): one is
 * SIGSTOPped for longer than its lease. A sampler asks every node that answers, continuously,
 * which children it runs, and never finds a child on two nodes; the others take the frozen
 * node's children over only once its lease has ended (each takeover is later than the lease end
 * the frozen node itself reports); on SIGCONT the frozen node stops them before it runs or
 * reports any (it lost its lease), then begins a new session and gets its share back. Conditions
 * are polled.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { copiesAtOnce, HubNodeProcess } from "../../../examples/hub-node-process.js";
import { type NatsServer, startNatsServer, stopAllNatsServers } from "../../support/nats-server.js";

let server: NatsServer | undefined;
const procs: HubNodeProcess[] = [];
afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.kill()));
});
afterAll(stopAllNatsServers);

const LEASE_MS = 4000;

/** A reply within `ms`, or undefined (the node is frozen or too busy). */
async function ask(p: HubNodeProcess, cmd: string, ms: number): Promise<Record<string, unknown> | undefined> {
  let t: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((r) => {
    t = setTimeout(() => r(undefined), ms);
  });
  const r = await Promise.race([p.request(cmd), timeout]);
  clearTimeout(t);
  return r === undefined || "error" in r ? undefined : r;
}

describe("fenced durable hub over NATS, nodes as OS processes", () => {
  it("never runs a child twice while a node is SIGSTOPped past its lease, nor after it thaws", async () => {
    server ??= await startNatsServer("fencing-js", { jetStream: true });
    const cluster = `fencing${process.pid}`;
    const durable = {
      reconcileIntervalMs: 300,
      settleMs: 500,
      bucketPrefix: `f${process.pid}_`,
      fencing: { leaseMs: LEASE_MS, renewIntervalMs: 1000, stopMarginMs: 1000, takeoverMarginMs: 500 },
    };
    // Peers declare a silent node down well before its lease ends: the lease, not failure
    // detection, is what holds the adoption back.
    const timings = { heartbeatIntervalMs: 250, heartbeatTimeoutMs: 1500 };
    for (const name of ["a", "b", "c"])
      procs.push(
        new HubNodeProcess({ nats: server.url, node: name, cluster, hubId: "fenced", durable, timings }),
      );
    await Promise.all(procs.map((p) => p.ready));
    const [a, b, c] = procs as [HubNodeProcess, HubNodeProcess, HubNodeProcess];
    const N = 300;
    // Copies that ran at one instant: the answers come at different instants, and a child moved
    // between two of them is not two copies (`copiesAtOnce`).
    const running = async (nodes: HubNodeProcess[]) =>
      copiesAtOnce(await Promise.all(nodes.map((p) => ask(p, "locals", 2000))));
    const onceOn = async (nodes: HubNodeProcess[]) => {
      const m = await running(nodes);
      return m.size === N && [...m.values()].every((n) => n === 1);
    };
    await expect
      .poll(
        async () =>
          (await Promise.all(procs.map((p) => ask(p, "status", 2000)))).every(
            (v) => (v?.members as string[] | undefined)?.length === 3,
          ),
        { timeout: 30_000 },
      )
      .toBe(true);
    const r = await a.request("start", { n: N, prefix: "k" });
    expect(r).toMatchObject({ status: "ok", started: N, errors: 0 });
    await expect.poll(() => onceOn(procs), { timeout: 30_000, interval: 200 }).toBe(true);

    // The sampler: every node that answers, over and over; a frozen one does not answer (it runs nothing).
    let worst = 0;
    let samples = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const m = await running(procs);
        samples++;
        for (const n of m.values()) worst = Math.max(worst, n);
        await new Promise((res) => setTimeout(res, 20));
      }
    })();

    const onB = ((await ask(b, "locals", 2000))?.ids as string[]) ?? [];
    expect(onB.length).toBeGreaterThan(0);
    b.signal("SIGSTOP");
    // a and c take b's children over (once its lease lapsed), while b stays frozen.
    await expect.poll(() => onceOn([a, c]), { timeout: 30_000, interval: 200 }).toBe(true);
    b.signal("SIGCONT");
    // Thawed: b lost its lease and stopped its children itself (it reports when its lease ended).
    await expect.poll(() => b.events.some((e) => e.ev === "leaseLost"), { timeout: 10_000 }).toBe(true);
    const lost = b.events.find((e) => e.ev === "leaseLost")!;
    expect(lost).toMatchObject({ reason: "overdue", stopped: onB.length });
    const taken = [...a.events, ...c.events].filter((e) => e.ev === "claimTakenOver");
    expect(taken.map((e) => e.id).sort()).toEqual([...onB].sort());
    for (const e of taken) {
      expect(e.from).toBe("b");
      // Taken only after b's lease had ended (both are wall-clock ms on this machine).
      expect(e.at as number).toBeGreaterThan(lost.leaseEnd as number);
    }
    // b back in a new session, with its share again: every child once.
    await expect
      .poll(
        async () =>
          (((await ask(b, "locals", 2000))?.ids as string[] | undefined)?.length ?? 0) > 0 &&
          (await onceOn(procs)),
        { timeout: 60_000, interval: 250 },
      )
      .toBe(true);
    sampling = false;
    await sampler;
    expect(samples).toBeGreaterThan(0);
    expect(worst).toBe(1);
    const counters = await b.request("durable");
    expect(counters.fencing).toMatchObject({ leasesLost: 1 });
  }, 180_000);
});
