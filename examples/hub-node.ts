/**
 * One hub node as its own OS process over NATS, driven by a controller (the NATS demo, the
 * multi-process test, the NATS benchmark) through JSON lines: commands on stdin, answers and
 * events on stdout. Usage:
 *
 *   node --import tsx examples/hub-node.ts '{"nats":"nats://127.0.0.1:4333","node":"node-a","cluster":"demo"}'
 *
 * Commands (`{ cmd, id, ... }`, every answer carries the same `id`):
 * - `start { n, prefix, behaviour?, timeoutMs?, separate? }`: starts `n` counters (or `tally`s) `<prefix><i>`
 *   from this node in one call (awaited: answers with the StartResult's status and counts, timed
 *   here); `separate: true`, in a call per child, all at once.
 * - `stop { ids? | prefix, n, timeoutMs? }`: stops children in one awaited call, timed here.
 * - `locals`: the ids of the children running on this node (with when each copy began, `since`,
 *   and the answer's time `at`, wall-clock ms), whether it lost quorum, and how many hub members
 *   it sees.
 * - `status`: this node's view: hub members, local children, registry size, whether it lost
 *   quorum, and the number of ids not running exactly once or not on their owner, placed off
 *   their replicas, or out of step between the local registry slice and the local children
 *   (cheap: no digest unless `digest: true`).
 * - `placed { n, exclude?, audit? }`: answers once this node's registry holds `n` children, each
 *   exactly once and none on `exclude` (checked on every registry change, from the hub's registry
 *   hooks): the wall-clock `at` lets the controller time a failover across processes
 *   (`performance.timeOrigin + performance.now()`); with `audit: false` without `status`'s audit.
 * - `settled { timeoutMs? }`: answers once `hub.awaitSettled` resolves (`settled: true`, `at`), or
 *   with the problem it reported.
 * - `registered { ids }`: how many of `ids` this node's registry holds.
 * - `durable`: a durable hub's counters (declarations known, reconcile rounds, starts, stops;
 *   `fencing`: the fence's, when fenced; `checkpoints`: the checkpoints').
 * - `visit { child }`: calls `visit` on child `child` through a reference (a `tally` keeps its
 *   count in checkpoints).
 * - `visits { prefix, n, ms }`: calls `visit` on children `<prefix>0` … `<prefix><n-1>` for `ms`
 *   ms, each child's calls one after the other, all children at once; answers with the calls made.
 * - `block { ms }`: blocks the event loop for `ms` right after answering (a busy node).
 * - `reconnect`: the transport's NATS connection drops and reconnects (frames in flight are lost).
 * - `load`: the longest event-loop delay since the last `load` (ms), the heap used and the RSS
 *   (bytes, after a full collection when run with `--expose-gc`), the children running here,
 *   what the hub waits for (`hub`: its requests per node, its unsent outbox, the hub messages
 *   sent and handled per type and peer), and the cluster's and the transport's counters: what a
 *   scale benchmark reads around a huge start, and prints when a step fails.
 * - `profile { file?, heap? }`: starts the V8 CPU profiler in this process (with `heap: true`, the
 *   sampling heap profiler, counting what was collected since too); with `file`, stops it and
 *   writes the profile there (a `.cpuprofile` or `.heapprofile` of the span between the two).
 * - `exit`: stops the hub gracefully and leaves the cluster.
 * With `observe: true` it runs the observer agent of `hubvisor/observe`.
 * It prints `{"ev":"ready"}` once joined, `{"ev":"members",...}` when its hub view changes, and
 * `{"ev":"nodedown","node","reason","by","at"}` when the cluster reports a peer down; fenced, `{"ev":"leaseLost",...}`
 * (with `leaseEnd`, wall-clock ms) and `{"ev":"claimTakenOver","id","from","at"}`.
 * It imports the package as a user does (`hubvisor`, `hubvisor/nats`); in this repository tsx maps
 * those names to `src/` through `tsconfig.json`'s `paths`. Its audit (`status`) reads the
 * hub's registry replica through `hub.core`, a member the published types leave out: a check for
 * tests and benchmarks, not something a program needs.
 */
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { Session as InspectorSession } from "node:inspector/promises";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { createInterface } from "node:readline";
import {
  Cluster,
  consoleLogger,
  defineServer,
  type FencingOptions,
  type HubOptions,
  HubStartResult,
  Node,
  noreply,
  ok,
  ProcessHub,
  reply,
  silentLogger,
  withCheckpoints,
} from "hubvisor";
import { JetStreamDurableStore, NatsTransport } from "hubvisor/nats";
import { startObserverAgent } from "hubvisor/observe";
import { connect } from "@nats-io/transport-node";
import { nodeTrace } from "./hub-node-trace.js";

/** What the controller passes as the first argument (JSON). */
export interface HubNodeConfig {
  nats: string;
  /**
   * The NATS URL of the durable store's connection; default `nats`. The chaos run gives each
   * connection a relay of its own, to cut a node off from its peers alone or from JetStream too.
   */
  storeNats?: string;
  node: string;
  cluster: string;
  hubId?: string;
  /** NATS transport timings (probe and heartbeat), merged over fast-failover defaults. */
  timings?: Record<string, number>;
  /** Extra hub options (strategies: partition, migration, ...), merged over the ones below. */
  hub?: Partial<HubOptions>;
  /** Start the observer agent (`hubvisor/observe`), so that an Observer can see this node. */
  observe?: boolean;
  /**
   * A durable hub whose declarations live in JetStream (the server must run with `-js`), with
   * these durability options (all but the store).
   */
  durable?: {
    reconcileIntervalMs?: number;
    settleMs?: number;
    bucketPrefix?: string;
    /** `durability.foldDelayMs`. */
    foldDelayMs?: number;
    /** Fencing (`durability.fencing`): `true` or lease timings. */
    fencing?: boolean | FencingOptions;
  };
}

const cfg = JSON.parse(process.argv[2] ?? "{}") as HubNodeConfig;

/**
 * When each local child's current copy began (its `init`, wall-clock ms): `locals` reports it, so
 * that a controller comparing answers taken at different instants can tell two copies that ran
 * at once from a child that moved between two answers.
 */
const startedAt = new Map<string, number>();

/** A stateful process: a counter that remembers its visits. */
const counter = defineServer<{ calls: { visit(): number } }>()({
  name: "counter",
  init: (start: number | null, ctx) => {
    const id = ProcessHub.childId(ctx);
    if (id !== undefined) startedAt.set(id, now());
    return ok(start ?? 0);
  },
  handleCall: { visit: (_a, n) => reply(n + 1, n + 1) },
  handleInfo: (_m, n) => noreply(n),
});

/**
 * The same counter with crash-safe state (in a durable hub): each visit is checkpointed, and an
 * instance started after a crash or a failover resumes from the last checkpoint.
 */
const tally = withCheckpoints(
  defineServer<{ calls: { visit(): number } }>()({
    name: "tally",
    init: (start: number | null, ctx) => ok(ProcessHub.lastCheckpoint<number>(ctx) ?? start ?? 0),
    handleCall: {
      visit: (_a, n, ctx) => {
        ProcessHub.checkpoint(ctx, n + 1);
        return reply(n + 1, n + 1);
      },
    },
  }),
  { debounceMs: 50 },
);

const out = (obj: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(obj)}\n`);
const now = () => performance.timeOrigin + performance.now();

// HUBVISOR_TRACE_DIR: every hook and log line of this node to a file (diagnosing chaos runs).
const trace = nodeTrace(cfg.node);
// HUBVISOR_NODE_WARN=1: warnings and errors to stderr (a benchmark prints them when a step fails).
const warnLogger = { ...consoleLogger, info: () => {}, debug: () => {} };
const logger = trace?.logger ?? (process.env.HUBVISOR_NODE_WARN === "1" ? warnLogger : silentLogger);
const node = new Node({ name: cfg.node, logger });
const transport = new NatsTransport({
  heartbeatIntervalMs: 500,
  heartbeatTimeoutMs: 5000,
  probeIntervalMs: 50,
  // A probe sent just before the peer died can be routed to its dying connection and wait for
  // its timeout; a timeout proves nothing (busy peers are left to the heartbeat timeout), so a
  // short one only lets the next probes see "no responders" sooner.
  probeTimeoutMs: 150,
  probeMisses: 2,
  ...cfg.timings,
  logger,
  connection: { servers: cfg.nats, reconnectTimeWait: 100 },
});
const cluster = await Cluster.join({ node, cluster: cfg.cluster, transport, logger });
// The observer agent, for an Observer anywhere in the cluster (the NATS demo serves one).
if (cfg.observe === true) await startObserverAgent({ node, cluster });
cluster.on("nodedown", (e) =>
  out({ ev: "nodedown", node: e.node, reason: e.reason, by: cfg.node, at: now() }),
);
let lastMembers = "";
// The store gets a connection of its own: the transport's carries the cluster's frames.
const durability =
  cfg.durable === undefined
    ? undefined
    : {
        store: new JetStreamDurableStore({
          connection: await connect({
            servers: cfg.storeNats ?? cfg.nats,
            reconnectTimeWait: 100,
            maxReconnectAttempts: -1,
          }),
          bucketPrefix: cfg.durable.bucketPrefix,
        }),
        reconcileIntervalMs: cfg.durable.reconcileIntervalMs,
        settleMs: cfg.durable.settleMs,
        foldDelayMs: cfg.durable.foldDelayMs,
        fencing: cfg.durable.fencing,
      };
const hub = ProcessHub.start({
  hubId: cfg.hubId ?? "demo",
  cluster,
  behaviours: { counter, tally },
  clusterEventDebounceMs: 10,
  logger,
  durability,
  ...cfg.hub,
  hooks: {
    ...(trace ? tracedHooks(trace.line) : {}),
    // Fencing, for the controller: a lost lease (with when it ended, in wall-clock ms) and
    // every claim taken over from a node whose lease lapsed.
    leaseLost: (d) =>
      out({
        ev: "leaseLost",
        node: cfg.node,
        ...d,
        at: now(),
        leaseEnd: performance.timeOrigin + (hub.fence?.leaseEnd ?? 0),
      }),
    claimTakenOver: (d) => out({ ev: "claimTakenOver", node: cfg.node, ...d, at: now() }),
    postRedistribution: (c) => {
      trace?.line("postRedistribution", { ...c });
      const members = hub.nodes({ includeLocal: true }).join(",");
      if (members !== lastMembers) out({ ev: "members", node: cfg.node, members: members.split(",") });
      lastMembers = members;
    },
  },
});

/**
 * Ids of the registry not running exactly once, and not on their ring owner (singularity); ids
 * whose placements are not exactly their replicas (any redundancy); local registry entries with
 * no live local child, and local children the registry does not hold.
 */
function audit(exclude?: string): {
  size: number;
  dupes: number;
  misplaced: number;
  onExcluded: number;
  offReplicas: number;
  localMismatch: number;
} {
  const reg = hub.core.registry;
  const seen = new Map<string, string>();
  const placed = new Map<string, string[]>();
  let dupes = 0;
  let onExcluded = 0;
  for (const n of reg.nodes()) {
    const slice = reg.sliceOf(n);
    if (n === exclude) onExcluded += slice.size;
    for (const id of slice.keys()) {
      if (seen.has(id)) dupes++;
      else seen.set(id, n);
      const at = placed.get(id);
      if (at === undefined) placed.set(id, [n]);
      else at.push(n);
    }
  }
  let misplaced = 0;
  for (const [id, n] of seen) if (hub.ownerOf(id) !== n) misplaced++;
  let offReplicas = 0;
  for (const [id, at] of placed)
    if (at.sort().join() !== [...hub.replicasOf(id)].sort().join()) offReplicas++;
  const mine = reg.sliceOf(cfg.node);
  const running = hub.core.children.byId;
  let localMismatch = 0;
  for (const [id, e] of mine) if (!running.has(id) || !node.isAlive(e.pid)) localMismatch++;
  for (const id of running.keys()) if (!mine.has(id)) localMismatch++;
  return { size: reg.size, dupes, misplaced, onExcluded, offReplicas, localMismatch };
}

function status(digest: boolean): Record<string, unknown> {
  const a = audit();
  return {
    node: cfg.node,
    members: hub.nodes({ includeLocal: true }),
    local: hub.core.children.size,
    partitioned: hub.isPartitioned(),
    ...a,
    ...(digest ? { digest: createHash("sha1").update(hub.registryDigest()).digest("hex") } : {}),
  };
}

/**
 * Placements in this node's registry replica, counted from the hub's registry hooks as they
 * change (no polling, no scan): how many ids, how many placements in all and per node; `until`
 * resolves at the first change after which a condition holds.
 */
class Placements {
  private readonly perId = new Map<string, number>();
  private readonly perNode = new Map<string, number>();
  private readonly waiters = new Set<() => void>();
  total = 0;

  constructor(h: ProcessHub) {
    for (const [id, l] of h.registryDump()) for (const p of l.nodes) this.add(id, p.node);
    h.registerHook("childRegistered", ({ id, node }) => this.add(id, node), { id: "placements" });
    h.registerHook("childUnregistered", ({ id, node }) => this.drop(id, node), { id: "placements" });
  }

  get size(): number {
    return this.perId.size;
  }

  on(node: string | undefined): number {
    return node === undefined ? 0 : (this.perNode.get(node) ?? 0);
  }

  until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const check = () => {
        if (!cond()) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        resolve(false);
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  private add(id: string, node: string): void {
    this.perId.set(id, (this.perId.get(id) ?? 0) + 1);
    this.perNode.set(node, (this.perNode.get(node) ?? 0) + 1);
    this.total++;
    this.changed();
  }

  private drop(id: string, node: string): void {
    const k = (this.perId.get(id) ?? 1) - 1;
    if (k === 0) this.perId.delete(id);
    else this.perId.set(id, k);
    this.perNode.set(node, (this.perNode.get(node) ?? 1) - 1);
    this.total--;
    this.changed();
  }

  private changed(): void {
    for (const w of [...this.waiters]) w();
  }
}

const placements = new Placements(hub);
// The longest stretch the event loop did not turn, for `load`.
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
// The longest stalls since the last `load`, as [start, end] on the CPU profile's clock (µs of
// process.hrtime), to find what ran then in a `--cpu-prof` profile.
let stalls: Array<[number, number]> = [];
let lastTurn = process.hrtime.bigint();
setInterval(() => {
  const t = process.hrtime.bigint();
  if (t - lastTurn > 300_000_000n) {
    stalls.push([Number(lastTurn / 1000n), Number(t / 1000n)]);
    stalls = stalls.sort((x, y) => y[1] - y[0] - (x[1] - x[0])).slice(0, 5);
  }
  lastTurn = t;
}, 10).unref();

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

type Command = { cmd: string; id: number } & Record<string, unknown>;

/**
 * A failed call's errors in brief: how many per reason and per node, and the first few (without
 * pids or error values), so a controller sees why without receiving a million entries.
 */
function errorSummary(errors: ReadonlyArray<{ id: string; node?: string | undefined; reason: string }>) {
  if (errors.length === 0) return {};
  const reasons: Record<string, number> = {};
  const nodes: Record<string, number> = {};
  for (const e of errors) {
    reasons[e.reason] = (reasons[e.reason] ?? 0) + 1;
    const n = e.node ?? "-";
    nodes[n] = (nodes[n] ?? 0) + 1;
  }
  const firstErrors = errors.slice(0, 3).map((e) => ({ id: e.id, node: e.node, reason: e.reason }));
  return { errors: errors.length, reasons, nodes, firstErrors };
}

/** The CPU profiler's session while `profile` runs. */
let profiler: InspectorSession | undefined;

async function handle(c: Command): Promise<Record<string, unknown>> {
  switch (c.cmd) {
    case "start": {
      const behaviour = String(c.behaviour ?? "counter");
      const specs = ids(String(c.prefix ?? "c"), Number(c.n)).map((id) => ({ id, behaviour }));
      const t0 = performance.now();
      const timeoutMs = Number(c.timeoutMs ?? 120_000);
      // `separate: true`: a call per child, all at once (as entity activations arrive).
      const r =
        c.separate === true
          ? await Promise.all(
              specs.map((s) => hub.startChildren([s], { awaitable: true, timeoutMs }).await()),
            ).then(
              (rs) =>
                new HubStartResult(
                  rs.flatMap((x) => x.started),
                  rs.flatMap((x) => x.errors),
                ),
            )
          : await hub.startChildren(specs, { awaitable: true, timeoutMs }).await();
      return {
        ms: performance.now() - t0,
        status: r.status,
        started: r.started.length,
        errors: r.errors.length,
        ...errorSummary(r.errors),
        nodes: r.nodes().length,
      };
    }
    case "stop": {
      const list = Array.isArray(c.ids) ? (c.ids as string[]) : ids(String(c.prefix ?? "c"), Number(c.n));
      const t0 = performance.now();
      const r = await hub
        .stopChildren(list, { awaitable: true, timeoutMs: Number(c.timeoutMs ?? 120_000) })
        .await();
      return {
        ms: performance.now() - t0,
        status: r.status,
        stopped: r.stopped.length,
        ...errorSummary(r.errors),
      };
    }
    case "status":
      return status(c.digest === true);
    case "locals":
      // A fenced node asks its fence first, as its scheduler does before running any process:
      // thawed past its lease, it stops its children before it could run (or report) them.
      hub.fence?.check();
      return {
        node: cfg.node,
        ids: [...hub.core.children.byId.keys()],
        since: [...hub.core.children.byId.keys()].map((id) => startedAt.get(id) ?? 0),
        at: now(),
        partitioned: hub.isPartitioned(),
        members: hub.nodes({ includeLocal: true }).length,
      };
    case "placed": {
      const n = Number(c.n);
      const exclude = typeof c.exclude === "string" ? c.exclude : undefined;
      const done = () => placements.size === n && placements.total === n && placements.on(exclude) === 0;
      // The audit of `status` holds the loop for tens of seconds at a million children.
      const view = () =>
        c.audit === false ? { size: placements.size, total: placements.total } : status(false);
      if (done()) return { at: now(), ...view() };
      const ok = await placements.until(done, Number(c.timeoutMs ?? 60_000));
      return ok ? { at: now(), ...view() } : { timeout: true, ...view() };
    }
    case "settled":
      try {
        await hub.awaitSettled({ timeoutMs: Number(c.timeoutMs ?? 60_000) });
        return { settled: true, at: now() };
      } catch (e) {
        return { settled: false, problem: String(e) };
      }
    case "registered": {
      const list = c.ids as string[];
      return { count: hub.containsChildren(list).length };
    }
    case "durable": {
      const d = hub.durable;
      const checkpoints = hub.core.checkpoints?.stats ?? null;
      return d === null
        ? { error: "not durable" }
        : { declared: d.declared.size, ...d.stats, fencing: hub.fence?.stats ?? null, checkpoints };
    }
    case "block": {
      // A long synchronous computation, started once this answer is out.
      const ms = Number(c.ms);
      setTimeout(() => {
        const end = performance.now() + ms;
        while (performance.now() < end) {
          // the event loop does not turn
        }
      }, 0);
      return { blocking: ms };
    }
    case "reconnect":
      // The NATS client drops its connection and reconnects: what it had in flight is lost (the
      // hub's recovery of lost start and stop messages is tested with it).
      await transport.connection?.reconnect();
      return { reconnected: true };
    case "load": {
      // The histogram records a stretch at its own next tick, which may come after this
      // command: the stalls seen by the 10 ms timer count too (each is reported once, either way).
      const longest = stalls;
      stalls = [];
      const maxLoopDelayMs = Math.max(loopDelay.max / 1e6, ...longest.map(([a, b]) => (b - a) / 1000));
      loopDelay.reset();
      (globalThis as { gc?: () => void }).gc?.();
      const m = process.memoryUsage();
      return {
        node: cfg.node,
        pid: process.pid,
        maxLoopDelayMs,
        stalls: longest,
        heapUsed: m.heapUsed,
        rss: m.rss,
        local: hub.core.children.size,
        // What the hub still waits for: requests awaiting answers, handle calls still being sent.
        hub: {
          pending: hub.core.requests.pending,
          queuedCalls: hub.core.requests.queuedCalls,
          registry: hub.core.registry.size,
          // Unsent messages of the hub's pacer, what each request waits for on which node, and
          // the hub messages sent and handled per type and peer (a's out.start.c against c's
          // in.start.a tells a message lost on the way from one never sent).
          outbox: hub.core.outboxLength,
          resentIds: hub.core.requests.resentIds,
          requests: hub.core.requests.describe(),
          wire: hub.core.wire.snapshot(),
        },
        cluster: cluster.stats,
        transport: transport.stats(),
      };
    }
    case "visits": {
      const end = Date.now() + (c.ms as number);
      let calls = 0;
      await Promise.all(
        Array.from({ length: c.n as number }, async (_, i) => {
          const ref = hub.ref<typeof tally>(`${String(c.prefix)}${i}`, { timeoutMs: 10_000 });
          while (Date.now() < end) {
            await ref.call("visit");
            calls++;
          }
        }),
      );
      return { calls };
    }
    case "visit":
      return { value: await hub.ref<typeof tally>(String(c.child), { timeoutMs: 10_000 }).call("visit") };
    case "profile": {
      // `heap: true`: the sampling heap profiler, every allocation sampled (also those collected
      // since), instead of the CPU profiler.
      const heap = c.heap === true;
      profiler ??= new InspectorSession();
      if (c.file === undefined) {
        profiler.connect();
        if (heap)
          await profiler.post("HeapProfiler.startSampling", {
            samplingInterval: 4096,
            includeObjectsCollectedByMajorGC: true,
            includeObjectsCollectedByMinorGC: true,
          });
        else {
          await profiler.post("Profiler.enable");
          await profiler.post("Profiler.start");
        }
        return { profiling: true };
      }
      const { profile } = heap
        ? await profiler.post("HeapProfiler.stopSampling")
        : await profiler.post("Profiler.stop");
      profiler.disconnect();
      writeFileSync(String(c.file), JSON.stringify(profile));
      return { written: String(c.file) };
    }
    case "exit":
      await hub.stop();
      await cluster.leave();
      setImmediate(() => process.exit(0));
      return {};
    default:
      return { error: `unknown command ${c.cmd}` };
  }
}

createInterface({ input: process.stdin }).on("line", (line) => {
  let c: Command;
  try {
    c = JSON.parse(line) as Command;
  } catch {
    return;
  }
  handle(c).then(
    (r) => out({ ev: "reply", id: c.id, ...r }),
    (e: unknown) => out({ ev: "reply", id: c.id, error: String(e) }),
  );
});
process.once("SIGTERM", () => {
  void handle({ cmd: "exit", id: 0 });
});
out({ ev: "ready", node: cfg.node, pid: process.pid });

/** The hub hooks a trace records (the membership ones, and every child placed, moved or stopped). */
function tracedHooks(line: (kind: string, data: Record<string, unknown>) => void): HubOptions["hooks"] {
  // HUBVISOR_TRACE_CHILDREN=0: not the hooks of every child (a million children's registrations
  // are millions of synchronous writes per node, which stall it), only batches and membership.
  const perChild =
    process.env.HUBVISOR_TRACE_CHILDREN === "0"
      ? []
      : (["childRegistered", "childUnregistered", "pidUpdated"] as const);
  const names = [
    ...perChild,
    "childrenMigrated",
    "startForwarded",
    "lockStateChanged",
    "preRedistribution",
    "preNodeJoin",
    "preNodeLeave",
    "handoverReceived",
    "duplicateStopped",
  ] as const;
  const hooks: Record<string, (d: Record<string, unknown>) => void> = {};
  for (const n of names) hooks[n] = (d) => line(n, d);
  hooks.postChildrenStart = (d) =>
    line("postChildrenStart", { started: (d.started as unknown[]).length, failed: d.failed });
  return hooks as HubOptions["hooks"];
}
