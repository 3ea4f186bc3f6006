/**
 * `HubCore`: the process shell of one hub on one node. It runs inside the hub process (a
 * handler-driven process that traps exits), so every change is serialised through one mailbox;
 * an async step (starting a batch, stopping children, a topology change) suspends the process,
 * and messages arriving meanwhile wait their turn. That is the hub's "lock": overlapping topology
 * events queue up and are handled one debounced batch at a time.
 *
 * The shell owns identity, the mode (`HubMode`), timers, init and shutdown; `handle` only routes
 * each message to the part that owns what it is about (`./core/`): the view of the members
 * (`view`), requests as their sender sees them (`requests`), starts and stops as their receiver
 * sees them (`placement`), ensures and the rules against undoing a stop (`ensure`), who is in
 * (`topology`), moving children (`migration`), duplicates and heal merges (`merge`), quorum and
 * parking (`partition`), redundancy signals (`signals`). Each part is the only writer of its
 * state and asks the others yes/no questions. Imports the process messages, the hub registry,
 * local children, replicator, messages, wire checks, load strategy and `./core/`.
 */
import type { Logger } from "../logger.js";
import { DownMessage, ExitMessage } from "../process/messages.js";
import type { Node } from "../process/node.js";
import type { Pid } from "../process/pid.js";
import { type HubMode, type StartFence, timeouts } from "./core/context.js";
import { Ensurer } from "./core/ensure.js";
import { Duplicates } from "./core/merge.js";
import { Migration } from "./core/migration.js";
import { Partition } from "./core/partition.js";
import { Placement } from "./core/placement.js";
import { Requests } from "./core/requests.js";
import { RedundancySignals } from "./core/signals.js";
import { hubName, Topology } from "./core/topology.js";
import { HubView } from "./core/view.js";
import type { HubHooks } from "./hooks.js";
import { HubRegistry, type RegistryChange } from "./hub-registry.js";
import { type HubBehaviour, LocalChildren } from "./local-children.js";
import type { Checkpoints } from "./durable/checkpoints.js";
import type { ParkedHandovers } from "./durable/parked-handover.js";
import type { Durability } from "./durable/durability.js";
import type { HubMembership } from "./membership.js";
import {
  type DrainResult,
  type Failure,
  type HubLocalMsg,
  HubSignal,
  type HubWireMsg,
  isWireMsg,
  unsendable,
} from "./messages.js";
import type { HubTuning } from "./options.js";
import { Pacer } from "./pacing.js";
import { Replicator } from "./replicator.js";
import { measureLoad, type NodeLoad } from "./strategies/load.js";
import { type HubStrategies, parseStrategies } from "./strategies/options.js";
import { checkWire } from "./wire-check.js";
import { WireCounts } from "./wire-counts.js";

export type { HubMode } from "./core/context.js";
export { HubSignal } from "./messages.js";

/** The local process name of hub `hubId`'s process on every node. */
export const hubProcessName = hubName;

export class HubCore {
  readonly registry: HubRegistry;
  readonly self: string;
  readonly inc = 1 + Math.floor(Math.random() * 0x7ffffffe);
  readonly view: HubView;
  children!: LocalChildren;
  repl!: Replicator;
  pid!: Pid;
  /** Requests as their sender sees them: the one part callable from outside the process. */
  readonly requests: Requests;
  /** Measured load per hub node (load-aware distribution). */
  readonly loads = new Map<string, NodeLoad>();
  /** Messages dropped before handling: not a hub message, or malformed. */
  dropped = 0;
  /** Hub messages sent to and handled from each peer, by type (diagnostics: see `wire-counts.ts`). */
  readonly wire = new WireCounts();
  /** Fencing of a durable hub (set by the handle before the process starts), else null. */
  fence: (StartFence & { releaseLease(): Promise<void> }) | null = null;
  /** Told of every registry change after the hub's own handling (the entity router). */
  onRegistryChanges: ((changes: readonly RegistryChange[]) => void) | null = null;
  /** A durable hub's checkpoints on this node (set by the handle), else null. */
  checkpoints: Checkpoints | null = null;
  /** A fenced hub's parked hot-swap states (set by the handle), else null. */
  handovers: ParkedHandovers | null = null;
  /** A durable hub's declarations (set by the handle; the entity layer declares through it), else null. */
  durable: Durability | null = null;
  private currentMode: HubMode = "running";
  private readonly ensurer: Ensurer;
  private readonly signals: RedundancySignals;
  private readonly migration: Migration;
  private readonly duplicates: Duplicates;
  private readonly partition: Partition;
  private readonly placement: Placement;
  private readonly topology: Topology;
  private readonly timers: Array<ReturnType<typeof setInterval>> = [];
  private readonly unsubscribe: Array<() => void> = [];
  private readonly name: string;
  private lastDropLog = 0;
  /** Starts the static child specs; run once, after the first topology change or discovery round. */
  private staticStart: (() => void) | null = null;
  /** The graceful stop under way (`$stop`), once one was asked for. */
  private stopTask: Promise<void> | null = null;

  constructor(
    readonly hubId: string,
    readonly node: Node,
    private readonly membership: HubMembership,
    readonly behaviours: ReadonlyMap<string, HubBehaviour>,
    readonly tuning: HubTuning,
    readonly hooks: HubHooks,
    readonly logger: Logger,
    readonly strategies: HubStrategies = parseStrategies(),
  ) {
    this.self = node.name;
    this.name = hubProcessName(hubId);
    this.registry = new HubRegistry(this.self);
    this.view = new HubView(this.self, tuning.vnodes, strategies, new Set(behaviours.keys()));
    this.requests = new Requests(
      this,
      () => this.pacer.due(),
      () =>
        this.pacer.waiting +
        (this.pid === undefined ? 0 : (this.node.processInfo(this.pid)?.mailboxLength ?? 0)),
    );
    this.ensurer = new Ensurer(this, this.requests);
    this.signals = new RedundancySignals(this);
    this.migration = new Migration(this, this.requests, this.ensurer, this.signals);
    this.duplicates = new Duplicates(this, this.migration, this.ensurer, this.signals);
    this.partition = new Partition(this, (m) => this.setMode(m), this.requests, this.ensurer, this.signals);
    this.placement = new Placement(
      this,
      this.ensurer,
      this.migration,
      this.duplicates,
      this.partition,
      this.signals,
    );
    this.topology = new Topology(
      this,
      this.view,
      { changes: (c) => this.fireChanges(c), settled: () => this.runStaticStart() },
      this.requests,
      this.ensurer,
      this.partition,
      this.migration,
      this.signals,
    );
  }

  /** Wires the core to its freshly spawned process. Called once, from the process's init. */
  init(pid: Pid): void {
    this.pid = pid;
    this.children = new LocalChildren(
      this.node,
      pid,
      this.behaviours,
      this.tuning,
      this.logger,
      () => this.checkpoints,
    );
    this.repl = new Replicator(
      this.self,
      this.inc,
      this.registry,
      (n, m) => this.send(n, m),
      () => this.view.syncTargets(),
      (c) => this.fireChanges(c),
      () => this.pacer.yieldIfDue(),
    );
    this.unsubscribe.push(this.membership.onPeerUp((n) => this.post({ t: "$peer_up", node: n })));
    this.unsubscribe.push(this.membership.onPeerDown((n) => this.post({ t: "$peer_down", node: n })));
    const every = (ms: number, msg: HubLocalMsg) => {
      const t = setInterval(() => this.post(msg), ms);
      t.unref?.();
      this.timers.push(t);
    };
    const sync = this.strategies.synchronization;
    every(sync.type === "gossip" ? sync.intervalMs : this.tuning.syncIntervalMs, { t: "$sync" });
    every(this.tuning.discoverIntervalMs, { t: "$discover" });
    const dist = this.strategies.distribution;
    if (dist.type === "loadAware") every(dist.reportIntervalMs, { t: "$load" });
    this.partition.init();
    const peers = this.membership.peers();
    for (const peer of peers) this.topology.hello(peer, true);
    if (peers.length === 0) this.runStaticStart();
  }

  // ------------------------------------------------------------------ state, for the handle

  get mode(): HubMode {
    return this.currentMode;
  }

  /** Whether the hub process is still serving (not `stopped`). */
  get alive(): boolean {
    return this.currentMode !== "stopped";
  }

  /** A topology change is being applied. */
  get locked(): boolean {
    return this.topology.changing;
  }

  /** Without quorum (partition tolerance): no children, starts refused. */
  get partitioned(): boolean {
    return this.currentMode === "partitioned";
  }

  /** Other hub nodes and their hub incarnations. */
  get members(): ReadonlyMap<string, number> {
    return this.view.members;
  }

  /** Sets what to run once the hub first knows its peers (static children). */
  onFirstSettled(fn: () => void): void {
    this.staticStart = fn;
  }

  /** The hub process exited (however): nothing more is posted to it. */
  exited(): void {
    this.currentMode = "stopped";
  }

  // ------------------------------------------------------------------ the context of the parts

  /** Posts to the hub process: a local command (wrapped, see `HubSignal`) or a wire message as if received. */
  post(msg: HubLocalMsg | HubWireMsg): void {
    if (this.alive) this.node.send(this.pid, isWireMsg(msg) ? msg : new HubSignal(msg));
  }

  postLater(msg: HubLocalMsg): void {
    const t = setTimeout(() => this.post(msg), timeouts.retryMs(this.tuning));
    t.unref?.();
  }

  /** Sends `msg` to the hub on `node`, in order, paced in bounded batches (see `pacing.ts`). */
  send(node: string, msg: HubWireMsg): void {
    this.pacer.send(node, msg);
  }

  private readonly pacer = new Pacer((node, msg) => this.sendNow(node, msg as HubWireMsg));

  yieldIfDue(): Promise<void> | null {
    return this.pacer.yieldIfDue();
  }

  /** Messages waiting in the pacer's outbox (diagnostics). */
  get outboxLength(): number {
    return this.pacer.waiting;
  }

  private sendNow(node: string, msg: HubWireMsg): void {
    if (node === this.self) return this.post(msg);
    try {
      this.node.send({ name: this.name, node }, msg);
      this.wire.sent(node, msg);
    } catch (e) {
      // A start answer whose failure values do not encode goes again without them (their
      // printable details stay): the starter must hear the answer.
      if (msg.t === "started" && msg.failed.some((f) => f.length > 3)) {
        const bare = msg.failed.map((f) => [f[0], f[1], f[2]] as Failure);
        return this.send(node, { ...msg, failed: bare });
      }
      // A message that cannot be encoded (too large for a frame) is lost for good: a warning,
      // not a debug line, and a start this node waits for fails now instead of timing out.
      if (!unsendable(this, this.logger, this.hubId, node, msg, e))
        this.logger.debug({ hub: this.hubId, node, err: e }, "hub message not sent");
      else if (msg.t === "start" && msg.req !== null && msg.origin === this.self)
        this.requests.unsent(
          msg.req,
          node,
          msg.items.map((w) => [w[0], "start_failed", String(e)] as const),
        );
    }
  }

  private setMode(mode: HubMode): void {
    this.currentMode = mode;
  }

  // ------------------------------------------------------------------ the process handler

  /** The hub process's handler; past a bounded stretch of work it yields (see `pacing.ts`). */
  readonly handle = (msg: unknown): unknown => this.pacer.after(this.route(msg));

  private route(msg: unknown): unknown {
    if (msg instanceof HubSignal) return this.onLocal(msg.msg);
    if (msg instanceof ExitMessage) return this.placement.onExit(msg);
    if (msg instanceof DownMessage) return this.topology.onHubDown(msg);
    if (!isWireMsg(msg)) return this.drop("a message that is not a hub message");
    const bad = checkWire(msg);
    if (bad !== null) return this.drop("a malformed message", { field: bad });
    this.wire.received(msg);
    return this.onWire(msg);
  }

  private onWire(msg: HubWireMsg): unknown {
    const view = this.view;
    switch (msg.t) {
      case "start":
        return this.placement.onStart(msg);
      case "stop":
        return this.placement.onStop(msg);
      case "started":
        return this.requests.started(msg.req, msg.node, msg.ok, msg.failed);
      case "stopped":
        return this.requests.stopped(msg.req, msg.node, msg.ok, msg.missing);
      case "forwarded":
        return this.requests.forwarded(msg.req, msg.node, msg.to, msg.ids);
      case "hello":
        return this.topology.onHello(msg);
      case "bye":
        return this.topology.onBye(msg.from, msg.inc);
      case "delta":
        if (view.knows(msg.from) && this.repl.onDelta(msg) === "applied") {
          // Gossip: a node that learnt something new passes it on.
          if (this.strategies.synchronization.type === "gossip")
            for (const n of view.syncTargets([msg.from])) this.send(n, msg);
        }
        return;
      case "load":
        if (view.members.has(msg.from)) this.loads.set(msg.from, msg.load);
        return;
      case "slice":
        // A large slice is applied in paced steps; the hub waits for them (see `onSlice`).
        if (view.knows(msg.from)) return this.repl.onSlice(msg);
        return;
      case "version":
        if (view.knows(msg.from)) this.repl.onVersion(msg);
        return;
      case "syncreq":
        // A joiner gets our deltas before its join is handled here: a gap it sees must heal too.
        if (view.isPeer(msg.from)) this.repl.sendSlice([msg.from]);
        return;
      case "merge":
        return this.duplicates.onMerge(msg.from, msg.id, msg.epoch, msg.handover, msg.data);
      case "merged":
        // From the winner, or from the node a losing winner passed the data on to.
        return this.duplicates.merged(msg.id, msg.ok, msg.gone);
      case "migrate":
        if (view.isMember(msg.from)) return this.migration.migrateOne(msg.id, msg.to);
        return;
      case "claim":
        return this.partition.onClaim(msg.from, msg.req, msg.ids);
      case "claimed":
        return this.partition.onClaimed(msg.from, msg.req, msg.known);
    }
  }

  private onLocal(msg: HubLocalMsg): unknown {
    switch (msg.t) {
      case "$peer_up":
        return this.topology.hello(msg.node, true);
      case "$peer_down":
        return this.topology.gone(msg.node);
      case "$topology":
        return this.topology.onTopology();
      case "$sync":
        return this.onSync();
      case "$discover":
        this.runStaticStart();
        for (const p of this.membership.peers()) if (!this.view.members.has(p)) this.topology.hello(p, true);
        return;
      case "$stop":
        return this.onStop(msg.done);
      case "$drain":
        return this.onDrain(msg.deadlineMs, msg.done);
      case "$load":
        return this.reportLoad();
      case "$conflicts":
        return this.duplicates.resolve();
      case "$merge_timeout":
        return this.duplicates.timedOut(msg.id);
      case "$rebalance":
        return this.migration.rebalance();
      case "$quorum_reset":
        return this.partition.reset(msg.size);
    }
  }

  private onSync(): unknown {
    const lost = this.partition.sync();
    if (lost !== null) return lost;
    this.topology.sweep();
    // Anti-entropy: to every member, or under gossip to `recipients` random ones (what gossip is
    // for), where this node's slice is; a member whose copy is behind asks for the whole slice.
    this.repl.sendVersion(this.view.syncTargets());
    this.ensurer.tick(Date.now());
    return this.migration.rebalance();
  }

  private onStop(done: () => void): unknown {
    // A second stop (the supervisor's exit signal during `hub.stop()`) waits for the first.
    if (this.stopTask !== null) {
      void this.stopTask.then(done);
      return;
    }
    if (this.strategies.migration.type === "hotSwap" && this.view.members.size > 0 && !this.partitioned) {
      this.setMode("stopping");
      // Not awaited: the hub keeps reading its mailbox (start answers) while it hands over.
      this.stopTask = this.migration.handOverAll().then(() => this.shutdown());
      void this.stopTask.then(done);
      return;
    }
    this.stopTask = this.shutdown();
    return this.stopTask.then(done);
  }

  /** A drain: every local child to its next owner (by the migration strategy), then a stop. */
  private onDrain(deadlineMs: number, done: (r: DrainResult) => void): unknown {
    const total = this.children.size;
    if (this.stopTask !== null) {
      void this.stopTask.then(() => done({ migrated: 0, forced: 0 }));
      return;
    }
    if (this.view.members.size === 0 || this.partitioned) {
      this.stopTask = this.shutdown();
      void this.stopTask.then(() => done({ migrated: 0, forced: total }));
      return;
    }
    this.setMode("stopping");
    let migrated = 0;
    // Not awaited: the hub keeps reading its mailbox (start answers) while it drains.
    this.stopTask = this.migration
      .drainAll(deadlineMs)
      .then((n) => {
        migrated = n;
      })
      .then(() => this.shutdown());
    void this.stopTask.then(() => done({ migrated, forced: total - migrated }));
  }

  private reportLoad(): void {
    const load = measureLoad(this.children.size);
    this.loads.set(this.self, load);
    for (const n of this.view.members.keys()) this.send(n, { t: "load", from: this.self, load });
  }

  /** Counts a message dropped unhandled; warns at most once a second. */
  private drop(what: string, fields: Record<string, unknown> = {}): void {
    this.dropped++;
    const now = Date.now();
    if (now - this.lastDropLog < 1000) return;
    this.lastDropLog = now;
    this.logger.warn({ hub: this.hubId, ...fields, dropped: this.dropped }, `hub dropped ${what}`);
  }

  private runStaticStart(): void {
    const f = this.staticStart;
    this.staticStart = null;
    f?.();
  }

  /** Registry changes: ensures see them, local copies they may duplicate are checked, hooks fire. */
  private fireChanges(changes: RegistryChange[]): void {
    if (changes.length === 0) return;
    const h = this.hooks;
    for (const c of changes) {
      this.ensurer.noteChange(c);
      if (c.kind !== "unregistered" && c.node !== this.self && this.children.byId.has(c.id))
        this.duplicates.suspect(c.id);
      if (c.kind === "registered") {
        if (h.has("childRegistered")) h.dispatch("childRegistered", { id: c.id, node: c.node, pid: c.pid });
      } else if (c.kind === "unregistered") {
        if (h.has("childUnregistered")) h.dispatch("childUnregistered", { id: c.id, node: c.node });
      } else h.dispatch("pidUpdated", { id: c.id, node: c.node, pid: c.pid, previous: c.previous });
    }
    this.onRegistryChanges?.(changes);
  }

  /**
   * Graceful stop: the local children stop first, without retracting their registry entries;
   * then peers hear `bye` and adopt them (a cold swap for the whole node).
   */
  async shutdown(): Promise<void> {
    if (!this.alive) return;
    for (const t of this.timers) clearInterval(t);
    for (const u of this.unsubscribe) u();
    await this.children.stopAll();
    // Fenced: the lease is released once nothing runs here, so that peers adopt at once.
    if (this.fence !== null) await this.fence.releaseLease();
    for (const peer of this.view.members.keys())
      this.send(peer, { t: "bye", from: this.self, inc: this.inc });
    // The last words go now: the node may leave its cluster as soon as this resolves.
    this.pacer.flush();
    this.setMode("stopped");
    this.requests.failAll("hub_stopped");
  }
}
