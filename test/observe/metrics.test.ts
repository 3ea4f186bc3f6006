/**
 * Metrics as a scraper and an OpenTelemetry reader see them: the Prometheus text parses with a
 * real text-format parser, names follow each ecosystem's conventions, and the counters move with
 * what happens (spawns, exits by kind, restarts, hub adoptions and failover after a node is lost).
 */
import { createRequire } from "node:module";
import * as otel from "@opentelemetry/api";
import type { Meter } from "@opentelemetry/api";
import { describe, expect, it } from "vitest";
import {
  defineServer,
  GenServer,
  Node,
  ok,
  ProcessHub,
  reply,
  setDefaultNode,
  silentLogger,
  Supervisor,
} from "../../src/index.js";
import { METRICS, Metrics, type OtelMeter } from "../../src/observe.js";
import { hubChannel } from "../../src/diagnostics.js";
import { startMemoryCluster } from "../../src/testing.js";

const parse = createRequire(import.meta.url)("parse-prometheus-text-format") as (text: string) => Array<{
  name: string;
  help: string;
  type: string;
  metrics: Array<{
    value?: string;
    labels?: Record<string, string>;
    buckets?: Record<string, string>;
    count?: string;
  }>;
}>;

const Echo = defineServer<{ calls: { echo(x: number): number }; casts: { crash(r: string): void } }>()({
  name: "Echo",
  init: () => ok(null),
  handleCall: { echo: (x, s) => reply(x, s) },
  handleCast: { crash: (r, s) => ({ stop: r, state: s }) },
});

async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function value(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const family = parse(text).find((f) => f.name === name);
  // The parser keeps a histogram's buckets only (no labels): read its count from the +Inf bucket.
  const m = family?.metrics.find(
    (s) => s.labels === undefined || Object.entries(labels).every(([k, v]) => s.labels?.[k] === v),
  );
  return m === undefined ? undefined : Number(m.value ?? m.count ?? m.buckets?.["+Inf"]);
}

describe("Metrics", () => {
  it("declares each metric once with conventional Prometheus and OpenTelemetry names", () => {
    for (const f of Object.values(METRICS)) {
      expect(f.prom).toMatch(/^hubvisor_[a-z_]+$/);
      expect(f.otel).toMatch(/^hubvisor\.[a-z_.]+$/);
      if (f.kind === "counter") expect(f.prom).toMatch(/_total$/);
      else expect(f.prom).not.toMatch(/_total$/);
      if (f.unit === "s") expect(f.prom).toMatch(/_seconds$/);
      if (f.unit === "By") expect(f.prom).toMatch(/_bytes_total$|_bytes$/);
    }
    expect(new Set(Object.values(METRICS).map((f) => f.prom)).size).toBe(Object.keys(METRICS).length);
  });

  it("counts spawns, exits by kind, restarts by supervisor; the text parses", async () => {
    const node = new Node({ name: "metrics-1", logger: silentLogger });
    setDefaultNode(node);
    const metrics = new Metrics({ node });
    const sup = await Supervisor.start([{ id: "echo", start: () => GenServer.startLink(Echo, null) }], {
      strategy: "one_for_one",
      name: "workers",
    });
    if (!sup.ok) throw new Error("no supervisor");
    const child = (await Supervisor.whichChildren(sup.pid))[0]!.pid;
    GenServer.castOn(node, child as never, "crash", "boom");
    await until(async () => (await Supervisor.whichChildren(sup.pid))[0]!.pid !== child, "the restart");
    const text = await metrics.prometheus();
    const families = parse(text);
    expect(families.map((f) => f.name)).toEqual(Object.values(METRICS).map((f) => f.prom));
    expect(value(text, "hubvisor_process_spawns_total")).toBeGreaterThanOrEqual(3);
    expect(value(text, "hubvisor_process_exits_total", { reason: "abnormal" })).toBe(1);
    expect(value(text, "hubvisor_supervisor_restarts_total", { supervisor: "workers" })).toBe(1);
    expect(value(text, "hubvisor_processes", { node: "metrics-1" })).toBe(node.processCount);
    metrics.close();
  });

  it("a lost node shows as adoptions and a failover time on the survivors", async () => {
    const { network, clusters } = await startMemoryCluster(["ma", "mb", "mc"]);
    const metrics = clusters.map((cluster) => new Metrics({ node: cluster.node, cluster }));
    const hubs = clusters.map((cluster) =>
      ProcessHub.start({
        hubId: "m",
        cluster,
        behaviours: { Echo },
        logger: silentLogger,
        clusterEventDebounceMs: 5,
      }),
    );
    await until(() => hubs.every((h) => h.nodes().length === 2), "hub membership");
    const ids = Array.from({ length: 60 }, (_, i) => `c${i}`);
    await hubs[0]!
      .startChildren(
        ids.map((id) => ({ id, behaviour: "Echo" })),
        { awaitable: true },
      )
      .await(5000);
    const onC = hubs[2]!.localChildren().size;
    expect(onC).toBeGreaterThan(0);
    network.kill("mc");
    await until(
      () => hubs[0]!.localChildren().size + hubs[1]!.localChildren().size === ids.length,
      "adoption",
    );
    const texts = await Promise.all(metrics.slice(0, 2).map((m) => m.prometheus()));
    const adopted = texts.reduce(
      (n, t) => n + (value(t, "hubvisor_hub_adoptions_total", { hub: "m" }) ?? 0),
      0,
    );
    expect(adopted).toBe(onC);
    const failovers = texts.reduce(
      (n, t) => n + (value(t, "hubvisor_hub_failover_seconds", { hub: "m" }) ?? 0),
      0,
    );
    expect(failovers).toBe(2);
    expect(value(texts[0]!, "hubvisor_cluster_members")).toBe(2);
    expect(value(texts[0]!, "hubvisor_cluster_node_events_total", { event: "down" })).toBe(1);
    expect(value(texts[0]!, "hubvisor_transport_bytes_total", { direction: "out" })).toBeGreaterThan(0);
    for (const m of metrics) m.close();
    await Promise.all(hubs.slice(0, 2).map((h) => h.stop()));
  });

  it("counts a hub's reconcile rounds, fencing, checkpoint failures, activations and passivations from its hooks", async () => {
    const node = new Node({ name: "metrics-hooks", logger: silentLogger });
    const metrics = new Metrics({ node });
    // The hooks as the hub publishes them (HubHooks.dispatch), for nodes of this program.
    const hook = (n: string, hook: string, data: unknown) =>
      hubChannel.publish({ type: "hub:hook", node: n, hub: "d", hook, data });
    hook(node.name, "reconcileRound", { declared: 9, started: 2, stopped: 1, durationMs: 1 });
    hook(node.name, "reconcileRound", { declared: 9, started: 0, stopped: 0, durationMs: 1 });
    hook(node.name, "logFolded", { pages: 3, declarations: 40, failedPages: 0, durationMs: 5 });
    hook(node.name, "logFolded", { pages: 1, declarations: 2, failedPages: 2, durationMs: 5 });
    hook(node.name, "leaseLost", { session: "s1", reason: "overdue", stopped: 4 });
    hook(node.name, "fencedStartRefused", { id: "a", reason: "held", holder: "other" });
    hook(node.name, "fencedStartRefused", { id: "b", reason: "held", holder: "other" });
    hook(node.name, "fencedStartRefused", { id: "c", reason: "no_lease" });
    hook(node.name, "claimTakenOver", { id: "a", from: "other" });
    hook(node.name, "childActivated", { id: "e", pid: null, started: true, attempts: 1, durationMs: 2 });
    hook(node.name, "childActivated", { id: "f", pid: null, started: false, attempts: 1, durationMs: 2 });
    hook(node.name, "childrenPassivated", { idle: ["e", "g"], beyondMaxActive: ["h"] });
    hook(node.name, "checkpointFailed", { id: "e", reason: "too_large", detail: "" });
    hook("another-node", "fencedStartRefused", { id: "c", reason: "no_lease" });
    const text = await metrics.prometheus();
    const d = { hub: "d" };
    expect(value(text, "hubvisor_hub_reconcile_rounds_total", d)).toBe(2);
    expect(value(text, "hubvisor_hub_reconciled_total", { ...d, action: "started" })).toBe(2);
    expect(value(text, "hubvisor_hub_reconciled_total", { ...d, action: "stopped" })).toBe(1);
    expect(value(text, "hubvisor_hub_folded_declarations_total", d)).toBe(42);
    expect(value(text, "hubvisor_hub_fold_failures_total", d)).toBe(2);
    expect(value(text, "hubvisor_hub_leases_lost_total", { ...d, reason: "overdue" })).toBe(1);
    expect(value(text, "hubvisor_hub_fenced_starts_total", { ...d, reason: "held" })).toBe(2);
    expect(value(text, "hubvisor_hub_fenced_starts_total", { ...d, reason: "no_lease" })).toBe(1);
    expect(value(text, "hubvisor_hub_claims_taken_over_total", d)).toBe(1);
    expect(value(text, "hubvisor_hub_activations_total", d)).toBe(1);
    expect(value(text, "hubvisor_hub_checkpoint_failures_total", { ...d, reason: "too_large" })).toBe(1);
    expect(value(text, "hubvisor_hub_passivations_total", { ...d, reason: "idle" })).toBe(2);
    expect(value(text, "hubvisor_hub_passivations_total", { ...d, reason: "max_active" })).toBe(1);
    metrics.close();
  });

  it("exports through @opentelemetry/api: observable counters and gauges, recorded histograms", async () => {
    const node = new Node({ name: "metrics-otel", logger: silentLogger });
    const metrics = new Metrics({ node });
    const created: string[] = [];
    let batch: ((r: { observe(i: unknown, v: number, a: unknown): void }) => Promise<void>) | undefined;
    const observed: Array<[string, number]> = [];
    const instrument = (kind: string) => (name: string) => {
      created.push(`${kind} ${name}`);
      return { name, record: () => {} };
    };
    const meter = {
      createHistogram: instrument("histogram"),
      createObservableCounter: instrument("counter"),
      createObservableGauge: instrument("gauge"),
      addBatchObservableCallback: (cb: typeof batch) => {
        batch = cb;
      },
    };
    await metrics.bindOpenTelemetry(meter as never);
    expect(created).toContain("counter hubvisor.process.spawns");
    expect(created).toContain("gauge hubvisor.processes");
    expect(created).toContain("histogram hubvisor.call.duration");
    node.spawn(async (ctx) => {
      await ctx.receive(() => true);
    });
    await batch!({ observe: (i, v) => observed.push([(i as { name: string }).name, v]) });
    expect(observed).toContainEqual(["hubvisor.process.spawns", 1]);
    expect(observed).toContainEqual(["hubvisor.processes", node.processCount]);
    // The real API loads (an optional peer dependency, installed here): its no-op meter accepts all.
    await new Metrics({ node }).bindOpenTelemetry();
    // A real Meter is an OtelMeter (checked by the type-check of this file), and binds.
    const real: Meter = otel.metrics.getMeter("hubvisor-test");
    const asDeclared: OtelMeter = real;
    await new Metrics({ node }).bindOpenTelemetry(asDeclared);
    metrics.close();
  });
});
