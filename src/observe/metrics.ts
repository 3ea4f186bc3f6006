/**
 * `Metrics`: the counters, gauges and histograms of one node, fed by the event stream (restarts,
 * exits, moves, failovers, sampled call latency) and read from the layers at collection
 * (processes, mailbox length, hub children, cluster traffic, NATS round trip). Exported as
 * Prometheus text (`prometheus()`) and through `@opentelemetry/api` (`bindOpenTelemetry`), an
 * optional peer dependency loaded only when asked for. The meter's type is declared here
 * (`OtelMeter`), not imported, so that the published declarations compile without the package.
 *
 * Imports `events`, `metric-set`, `node-view`; types of `process`, `cluster`, `hub`.
 */
import type { Cluster } from "../cluster/cluster.js";
import { isNormalOrShutdown } from "../process/exit-reason.js";
import type { Node } from "../process/node.js";
import { type HubvisorEvent, subscribe } from "./events.js";
import { type Labels, type MetricFamily, MetricSet, SECONDS_BUCKETS } from "./metric-set.js";
import { hubsOf, maxMailbox, natsRttMs } from "./node-view.js";

const f = (
  kind: MetricFamily["kind"],
  prom: string,
  otel: string,
  unit: string,
  help: string,
  buckets?: readonly number[],
): MetricFamily => Object.freeze({ kind, prom, otel, unit, help, ...(buckets ? { buckets } : {}) });

/**
 * Every metric `Metrics` exports, by its role. Prometheus names follow its conventions (base
 * units, `_total` counters); OpenTelemetry names are the dotted form with the unit apart.
 * @category observe
 */
export const METRICS = Object.freeze({
  spawns: f(
    "counter",
    "hubvisor_process_spawns_total",
    "hubvisor.process.spawns",
    "{process}",
    "Processes spawned.",
  ),
  exits: f(
    "counter",
    "hubvisor_process_exits_total",
    "hubvisor.process.exits",
    "{process}",
    "Processes ended, by kind of reason (normal, shutdown, killed, noconnection, abnormal).",
  ),
  processes: f("gauge", "hubvisor_processes", "hubvisor.processes", "{process}", "Live processes."),
  mailboxMax: f(
    "gauge",
    "hubvisor_mailbox_length_max",
    "hubvisor.mailbox.length.max",
    "{message}",
    "Longest mailbox of any process.",
  ),
  mailboxCrossings: f(
    "counter",
    "hubvisor_mailbox_threshold_crossings_total",
    "hubvisor.mailbox.threshold_crossings",
    "{event}",
    "Times a mailbox grew to the watched threshold.",
  ),
  restarts: f(
    "counter",
    "hubvisor_supervisor_restarts_total",
    "hubvisor.supervisor.restarts",
    "{restart}",
    "Children restarted, by supervisor (its registered name, or unnamed).",
  ),
  escalations: f(
    "counter",
    "hubvisor_supervisor_max_intensity_total",
    "hubvisor.supervisor.max_intensity",
    "{event}",
    "Supervisors that reached their restart intensity and shut down.",
  ),
  callDuration: f(
    "histogram",
    "hubvisor_call_duration_seconds",
    "hubvisor.call.duration",
    "s",
    "GenServer call round trip (sampled: see sampleCalls), by call name.",
    SECONDS_BUCKETS,
  ),
  hubChildren: f(
    "gauge",
    "hubvisor_hub_children",
    "hubvisor.hub.children",
    "{process}",
    "Hub children on this node.",
  ),
  hubPartitioned: f(
    "gauge",
    "hubvisor_hub_partitioned",
    "hubvisor.hub.partitioned",
    "1",
    "1 while the hub lacks its partition-tolerance quorum.",
  ),
  hubMoves: f(
    "counter",
    "hubvisor_hub_moves_total",
    "hubvisor.hub.moves",
    "{process}",
    "Hub children moved away from this node.",
  ),
  hubAdoptions: f(
    "counter",
    "hubvisor_hub_adoptions_total",
    "hubvisor.hub.adoptions",
    "{process}",
    "Hub children this node took over from a node that left.",
  ),
  hubDuplicates: f(
    "counter",
    "hubvisor_hub_duplicates_stopped_total",
    "hubvisor.hub.duplicates_stopped",
    "{process}",
    "Duplicate hub children stopped after a partition healed.",
  ),
  reconcileRounds: f(
    "counter",
    "hubvisor_hub_reconcile_rounds_total",
    "hubvisor.hub.reconcile_rounds",
    "{round}",
    "Reconcile rounds of a durable hub on this node.",
  ),
  reconciled: f(
    "counter",
    "hubvisor_hub_reconciled_total",
    "hubvisor.hub.reconciled",
    "{process}",
    "Children a durable hub's reconcile started (ran nowhere) or stopped (declared stopped), by action.",
  ),
  foldedDeclarations: f(
    "counter",
    "hubvisor_hub_folded_declarations_total",
    "hubvisor.hub.folded_declarations",
    "{declaration}",
    "Declarations a durable hub's folds on this node wrote from the log into pages.",
  ),
  foldFailures: f(
    "counter",
    "hubvisor_hub_fold_failures_total",
    "hubvisor.hub.fold_failures",
    "{page}",
    "Pages a durable hub's folds on this node could not write (the log keeps their declarations).",
  ),
  leasesLost: f(
    "counter",
    "hubvisor_hub_leases_lost_total",
    "hubvisor.hub.leases_lost",
    "{event}",
    "Leases this node lost (fencing), by reason: overdue, overwritten.",
  ),
  startsFenced: f(
    "counter",
    "hubvisor_hub_fenced_starts_total",
    "hubvisor.hub.fenced_starts",
    "{process}",
    "Child starts on this node refused by fencing, by reason: no_lease, held, store_failed.",
  ),
  claimsTakenOver: f(
    "counter",
    "hubvisor_hub_claims_taken_over_total",
    "hubvisor.hub.claims_taken_over",
    "{process}",
    "Child claims this node took over from a node whose lease had lapsed or ended (fencing).",
  ),
  activations: f(
    "counter",
    "hubvisor_hub_activations_total",
    "hubvisor.hub.activations",
    "{process}",
    "Children this node's activations (ensure, a reference with activate) started on their owner.",
  ),
  passivations: f(
    "counter",
    "hubvisor_hub_passivations_total",
    "hubvisor.hub.passivations",
    "{process}",
    "Children this node passivated, by reason: idle, max_active.",
  ),
  checkpointFailures: f(
    "counter",
    "hubvisor_hub_checkpoint_failures_total",
    "hubvisor.hub.checkpoint_failures",
    "{event}",
    "Checkpoints of a child's state not stored or restored on this node, by reason.",
  ),
  failover: f(
    "histogram",
    "hubvisor_hub_failover_seconds",
    "hubvisor.hub.failover.duration",
    "s",
    "Time this node took to handle a node leaving (restarts and adoptions).",
    SECONDS_BUCKETS,
  ),
  members: f(
    "gauge",
    "hubvisor_cluster_members",
    "hubvisor.cluster.members",
    "{node}",
    "Connected nodes, this one included.",
  ),
  nodeEvents: f(
    "counter",
    "hubvisor_cluster_node_events_total",
    "hubvisor.cluster.node_events",
    "{event}",
    "Sessions with peers opened (up) and ended (down).",
  ),
  bytes: f(
    "counter",
    "hubvisor_transport_bytes_total",
    "hubvisor.transport.bytes",
    "By",
    "Bytes sent and received, by direction.",
  ),
  frames: f(
    "counter",
    "hubvisor_transport_frames_total",
    "hubvisor.transport.frames",
    "{frame}",
    "Cluster frames sent and received, by direction.",
  ),
  rejected: f(
    "counter",
    "hubvisor_transport_rejected_frames_total",
    "hubvisor.transport.rejected_frames",
    "{frame}",
    "Incoming frames refused, by kind.",
  ),
  natsRtt: f(
    "gauge",
    "hubvisor_nats_rtt_seconds",
    "hubvisor.nats.rtt",
    "s",
    "Round trip to the NATS server.",
  ),
});

/** An OpenTelemetry instrument created by `OtelMeter` (opaque: only passed back to the meter). */
export type OtelObservable = object;

/** The options hubvisor gives an OpenTelemetry instrument. */
export interface OtelInstrumentOptions {
  description?: string;
  unit?: string;
}

/** A histogram of `OtelMeter`: `record` is all hubvisor calls. */
export interface OtelHistogram {
  record(value: number, attributes?: Labels): void;
}

/** What a batch observable callback reports into. */
export interface OtelBatchResult {
  observe(instrument: OtelObservable, value: number, attributes?: Labels): void;
}

/**
 * The part of `@opentelemetry/api`'s `Meter` that `bindOpenTelemetry` uses, declared
 * structurally so that the published types need no `@opentelemetry/api` (an optional peer
 * dependency): any real `Meter` is one.
 * @category observe
 */
export interface OtelMeter {
  createHistogram(name: string, options?: OtelInstrumentOptions): OtelHistogram;
  createObservableCounter(name: string, options?: OtelInstrumentOptions): OtelObservable;
  createObservableGauge(name: string, options?: OtelInstrumentOptions): OtelObservable;
  addBatchObservableCallback(
    callback: (result: OtelBatchResult) => void | Promise<void>,
    observables: OtelObservable[],
  ): void;
}

/** Options of `new Metrics`. */
export interface MetricsOptions {
  /** The node to measure (its events, processes and hubs). */
  node: Node;
  /** The node's cluster, for membership and traffic. @default undefined (none: those metrics are absent) */
  cluster?: Cluster | undefined;
}

/** The kind of an exit reason, a bounded label. */
export function exitKind(reason: unknown): string {
  if (reason === "normal") return "normal";
  if (isNormalOrShutdown(reason)) return "shutdown";
  if (reason === "killed" || reason === "kill") return "killed";
  if (reason === "noconnection") return "noconnection";
  return "abnormal";
}

/**
 * The metrics of one node. Counting starts at construction; `close()` stops it.
 * @category observe
 */
export class Metrics {
  private readonly set = new MetricSet(Object.values(METRICS));
  private readonly node: Node;
  private readonly cluster: Cluster | undefined;
  private readonly unsubscribe: () => void;
  private readonly base: Labels;
  private otelRecord: ((family: MetricFamily, value: number, labels: Labels) => void) | null = null;

  constructor(options: MetricsOptions) {
    this.node = options.node;
    this.cluster = options.cluster;
    this.base = { node: this.node.name };
    this.unsubscribe = subscribe((e) => this.count(e), { node: this.node.name });
  }

  private count(e: HubvisorEvent): void {
    const s = this.set;
    const node = this.base.node!;
    switch (e.type) {
      case "process:spawn":
        return s.add(METRICS.spawns, this.base);
      case "process:exit":
        return s.add(METRICS.exits, { node, reason: exitKind(e.reason) });
      case "process:mailbox":
        return s.add(METRICS.mailboxCrossings, this.base);
      case "server:call":
        return this.histogram(METRICS.callDuration, e.durationMs / 1000, { node, name: e.name });
      case "supervisor:restarted":
        return s.add(METRICS.restarts, { node, supervisor: e.supervisorName ?? "unnamed" });
      case "supervisor:max_intensity":
        return s.add(METRICS.escalations, { node, supervisor: e.supervisorName ?? "unnamed" });
      case "cluster:nodeup":
        return s.add(METRICS.nodeEvents, { node, event: "up" });
      case "cluster:nodedown":
        return s.add(METRICS.nodeEvents, { node, event: "down" });
      case "hub:hook":
        return this.countHub(e);
    }
  }

  private countHub(e: Extract<HubvisorEvent, { type: "hub:hook" }>): void {
    const s = this.set;
    const node = this.base.node!;
    const labels = { node, hub: e.hub };
    switch (e.hook) {
      case "childrenMigrated":
        return s.add(METRICS.hubMoves, labels, e.data.ids.length);
      case "duplicateStopped":
        return s.add(METRICS.hubDuplicates, labels);
      case "postRedistribution":
        if (e.data.adopted > 0) s.add(METRICS.hubAdoptions, labels, e.data.adopted);
        if (e.data.left.length > 0) this.histogram(METRICS.failover, e.data.durationMs / 1000, labels);
        return;
      case "reconcileRound":
        s.add(METRICS.reconcileRounds, labels);
        if (e.data.started > 0)
          s.add(METRICS.reconciled, { node, hub: e.hub, action: "started" }, e.data.started);
        if (e.data.stopped > 0)
          s.add(METRICS.reconciled, { node, hub: e.hub, action: "stopped" }, e.data.stopped);
        return;
      case "logFolded":
        if (e.data.declarations > 0) s.add(METRICS.foldedDeclarations, labels, e.data.declarations);
        if (e.data.failedPages > 0) s.add(METRICS.foldFailures, labels, e.data.failedPages);
        return;
      case "leaseLost":
        return s.add(METRICS.leasesLost, { node, hub: e.hub, reason: e.data.reason });
      case "fencedStartRefused":
        return s.add(METRICS.startsFenced, { node, hub: e.hub, reason: e.data.reason });
      case "claimTakenOver":
        return s.add(METRICS.claimsTakenOver, labels);
      case "checkpointFailed":
        return s.add(METRICS.checkpointFailures, { node, hub: e.hub, reason: e.data.reason });
      case "childActivated":
        if (e.data.started) s.add(METRICS.activations, labels);
        return;
      case "childrenPassivated":
        if (e.data.idle.length > 0)
          s.add(METRICS.passivations, { node, hub: e.hub, reason: "idle" }, e.data.idle.length);
        if (e.data.beyondMaxActive.length > 0)
          s.add(
            METRICS.passivations,
            { node, hub: e.hub, reason: "max_active" },
            e.data.beyondMaxActive.length,
          );
        return;
    }
  }

  private histogram(family: MetricFamily, value: number, labels: Labels): void {
    this.set.observe(family, labels, value);
    this.otelRecord?.(family, value, labels);
  }

  /** Reads the gauges and the layers' own counters now (called by every export). */
  async collect(): Promise<void> {
    const s = this.set;
    const node = this.node;
    const base = this.base;
    s.set(METRICS.processes, base, node.processCount);
    s.set(METRICS.mailboxMax, base, maxMailbox(node));
    s.clear(METRICS.hubChildren);
    s.clear(METRICS.hubPartitioned);
    for (const hub of hubsOf(node)) {
      const labels = { node: node.name, hub: hub.hubId };
      s.set(METRICS.hubChildren, labels, hub.localChildren().size);
      s.set(METRICS.hubPartitioned, labels, hub.isPartitioned() ? 1 : 0);
    }
    const c = this.cluster;
    if (c === undefined || c.isClosed) return;
    s.set(METRICS.members, base, c.nodes().length + 1);
    const st = c.stats;
    s.set(METRICS.bytes, { node: node.name, direction: "in" }, st.bytesIn);
    s.set(METRICS.bytes, { node: node.name, direction: "out" }, st.bytesOut);
    s.set(METRICS.frames, { node: node.name, direction: "in" }, st.framesIn);
    s.set(METRICS.frames, { node: node.name, direction: "out" }, st.framesOut);
    for (const [kind, n] of Object.entries(st.rejected))
      s.set(METRICS.rejected, { node: node.name, kind }, n);
    const rtt = await natsRttMs(c);
    if (rtt !== undefined) s.set(METRICS.natsRtt, base, rtt / 1000);
  }

  /** Every metric as Prometheus text (exposition format 0.0.4). */
  async prometheus(): Promise<string> {
    await this.collect();
    return this.set.prometheus();
  }

  /** The current series of one metric (after the last collection). */
  read(family: MetricFamily): ReturnType<MetricSet["read"]> {
    return this.set.read(family);
  }

  /**
   * Exports every metric through OpenTelemetry: histograms are recorded as they happen, counters
   * and gauges observed at each collection of `meter`'s reader. Without `meter`, uses
   * `metrics.getMeter("hubvisor")` of `@opentelemetry/api` (install it: an optional peer
   * dependency; without it this rejects).
   */
  async bindOpenTelemetry(meter?: OtelMeter): Promise<void> {
    const m: OtelMeter = meter ?? (await import("@opentelemetry/api")).metrics.getMeter("hubvisor");
    const observables = new Map<MetricFamily, OtelObservable>();
    const histograms = new Map<MetricFamily, OtelHistogram>();
    for (const family of Object.values(METRICS)) {
      const opts = { description: family.help, unit: family.unit };
      if (family.kind === "histogram") histograms.set(family, m.createHistogram(family.otel, opts));
      else if (family.kind === "counter")
        observables.set(family, m.createObservableCounter(family.otel, opts));
      else observables.set(family, m.createObservableGauge(family.otel, opts));
    }
    this.otelRecord = (family, value, labels) => histograms.get(family)?.record(value, labels);
    m.addBatchObservableCallback(
      async (result) => {
        await this.collect();
        for (const [family, instrument] of observables) {
          for (const s of this.set.read(family)) result.observe(instrument, s.value, s.labels);
        }
      },
      [...observables.values()],
    );
  }

  /** Stops counting events. */
  close(): void {
    this.unsubscribe();
    this.otelRecord = null;
  }
}
