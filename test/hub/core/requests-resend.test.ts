/**
 * A start or stop whose messages to one node are lost on the way (issue 21: a 1M start over NATS
 * where node c's client reconnected within the heartbeat timeout, so nobody saw a node down,
 * and the start messages in flight to it were gone; the call waited for its timeout with
 * 205,268 ids unanswered). On three hub nodes over the memory transport, every frame from a to c
 * is dropped while a's start (or stop) goes out, then the link heals: the caller sends c's part
 * again once c has been silent for `quietMs`, warns naming c, and the call answers with every
 * child, each running once.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { ProcessHub } from "../../../src/hub/process-hub.js";
import { type Logger, silentLogger } from "../../../src/logger.js";
import type { MemoryHubCluster } from "../memory-cluster.js";
import { counterHubs, counterSpecs, stopCounterHubs } from "./counter-hubs.js";

let cluster: MemoryHubCluster | undefined;
let hubs: ProcessHub[] = [];
afterEach(stopCounterHubs);

interface Warning {
  msg: string;
  fields: Record<string, unknown>;
}

async function threeHubs(hubId: string, warnings: Warning[]): Promise<ProcessHub[]> {
  const logger: Logger = { ...silentLogger, warn: (fields, msg) => warnings.push({ msg, fields }) };
  ({ cluster, hubs } = await counterHubs(hubId, logger));
  return hubs;
}

const specs = counterSpecs;

/**
 * Drops every frame between a and c until a has handed all its messages of type `t` for c to
 * the transport (and a little longer), then heals the link.
 */
async function loseToC(a: ProcessHub, t: "start" | "stop", msgs: () => number): Promise<void> {
  const net = cluster!.network;
  net.setDropRate(1, "a", "c");
  await expect
    .poll(() => (a.core.wire.out[t]?.c?.msgs ?? 0) >= msgs() && a.core.outboxLength === 0, {
      timeout: 10_000,
    })
    .toBe(true);
  await new Promise((r) => setTimeout(r, 50));
  net.setDropRate(0, "a", "c");
}

describe("Requests: a node's part lost on the way is sent again", () => {
  it("a start whose messages to c were lost answers with every child once c's part is sent again", async () => {
    const warnings: Warning[] = [];
    const [a, b, c] = await threeHubs("resend-start", warnings);
    a!.core.requests.quietMs = 200;
    const n = 3000;
    const call = a!.startChildren(specs(n), { awaitable: true, timeoutMs: 8000 });
    await loseToC(a!, "start", () => 1);
    const r = await call.await();
    // Before the fix: c's ids failed with `node_receive_timeout` after 8 s.
    expect(r.errors).toEqual([]);
    expect(r.status).toBe("ok");
    expect(r.started).toHaveLength(n);
    const onC = r.started.filter((s) => s.nodes.some((np) => np.node === "c")).length;
    expect(onC).toBeGreaterThan(0);
    expect(c!.localChildren().size).toBe(onC);
    expect(a!.localChildren().size + b!.localChildren().size + c!.localChildren().size).toBe(n);
    const w = warnings.find((x) => x.msg.startsWith("hub request waits on a node"));
    expect(w?.fields).toMatchObject({ node: "c", call: "start", resent: true });
    expect(a!.core.requests.pending).toBe(0);
  });

  it("a stop whose messages to c were lost answers with every child stopped once c's part is sent again", async () => {
    const warnings: Warning[] = [];
    const [a, b, c] = await threeHubs("resend-stop", warnings);
    a!.core.requests.quietMs = 200;
    const n = 3000;
    const started = await a!.startChildren(specs(n), { awaitable: true, timeoutMs: 20_000 }).await();
    expect(started.status).toBe("ok");
    const call = a!.stopChildren(
      specs(n).map((s) => s.id),
      { awaitable: true, timeoutMs: 8000 },
    );
    await loseToC(a!, "stop", () => 1);
    const r = await call.await();
    expect(r.errors).toEqual([]);
    expect(r.stopped).toHaveLength(n);
    expect(a!.localChildren().size + b!.localChildren().size + c!.localChildren().size).toBe(0);
    const w = warnings.find((x) => x.msg.startsWith("hub request waits on a node"));
    expect(w?.fields).toMatchObject({ node: "c", call: "stop", resent: true });
  });
});
