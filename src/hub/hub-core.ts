/**
 * `HubCore`: the state and message handling of one hub on one node: membership of the hub, the
 * ring, the local children, replication, collectors of pending requests and topology changes.
 * It runs inside the hub process (a handler-driven process that traps exits), so every change is
 * serialised through one mailbox; an async step (starting a batch, stopping children, a topology
 * change) suspends the process, and messages arriving meanwhile wait their turn. That is the
 * hub's "lock": overlapping topology events queue up and are handled one debounced batch at a
 * time. Imports `process`, and the hub's `hash-ring`, `hub-registry`, `hooks`, `local-children`,
 * `replicator`, `collector`, `messages`, `membership`, `options`.
 */
import type { Logger } from "../logger.js";
import { DownMessage, ExitMessage } from "../process/messages.js";
import type { Node } from "../process/node.js";
import type { Pid, Ref } from "../process/pid.js";
import { StartCollector, StopCollector } from "./collector.js";
import { HashRing } from "./hash-ring.js";
import type { HubHooks } from "./hooks.js";
import { HubRegistry, type RegistryChange, type SliceEntry } from "./hub-registry.js";
import { type HubBehaviour, LocalChildren } from "./local-children.js";
import type { HubMembership } from "./membership.js";
import {
  chunks,
  type HubLocalMsg,
  type HubWireMsg,
  idChunks,
  isWireMsg,
  itemIn,
  itemOut,
  type StartItem,
  type StartMsg,
  type StopMsg,
  startChunks,
  startedMsgs,
  unsendable,
} from "./messages.js";
import type { HubTuning } from "./options.js";
import { Replicator } from "./replicator.js";
import type { HubErrorReason, StartResult, StopResult } from "./results.js";
import { pickRecipients } from "./strategies/gossip.js";
import { giveHandoverState, supportsHandover, takeHandoverState } from "./strategies/handover.js";
import { measureLoad, type NodeLoad } from "./strategies/load.js";
import { type HubStrategies, parseStrategies } from "./strategies/options.js";
import { QuorumTracker } from "./strategies/quorum.js";
import { checkWire } from "./wire-check.js";
import {
  modeOf,
  type RedundancyMode,
  type RedundancySignal,
  replicasOf,
  wantsSignal,
} from "./strategies/redundancy.js";

/** A child handed to another node, and the version of that node's slice seen when it answered. */
interface HandedOff {
  entry: SliceEntry;
  incarnation: number;
  seq: number;
}

/**
 * A message the hub process sends itself (ticks, membership events, `$stop` from its handle).
 * Only these are read as local commands: nothing decoded off the wire is an instance of a class,
 * so a peer (or anyone publishing on the cluster's subjects) cannot send `$stop` or `$peer_down`.
 */
export class HubSignal {
  constructor(readonly msg: HubLocalMsg) {}
}

/** The local process name of hub `hubId`'s process on every node. */
export function hubProcessName(hubId: string): string {
  return `hubvisor.hub.${hubId}`;
}

export class HubCore {
  readonly registry: HubRegistry;
  readonly self: string;
  readonly inc = 1 + Math.floor(Math.random() * 0x7ffffffe);
  /** Other hub nodes and their hub incarnations. */
  readonly members = new Map<string, number>();
  ring: HashRing;
  children!: LocalChildren;
  pid!: Pid;
  alive = true;
  locked = false;
  private repl!: Replicator;
  private readonly collectors = new Map<number, StartCollector | StopCollector>();
  /** Items of pending start requests, so a redirect can re-send them. */
  private readonly reqItems = new Map<number, Map<string, StartItem>>();
  private nextReq = 1;
  private readonly pendingJoin = new Map<string, number>();
  private readonly pendingLeave = new Set<string>();
  /**
   * Children this node handed to another node (migration, adoption) that are not yet in that
   * node's replicated slice here: if it dies before its delta arrives, they are orphans too.
   */
  private readonly handedOff = new Map<string, Map<string, HandedOff>>();
  /**
   * Ids of pending ensures, and whether a placement of the id was registered since the latest
   * one was sent. A failed ensure (`node_down`) is retried only for ids not seen running since:
   * an id seen and gone again was stopped (or is adopted when its host leaves), and retrying it
   * would resurrect a stopped child.
   */
  private readonly ensuring = new Map<string, { pending: number; seenOn: Set<string> | null }>();
  private topologyScheduled = false;
  private readonly timers: Array<ReturnType<typeof setInterval>> = [];
  private readonly unsubscribe: Array<() => void> = [];
  private readonly name: string;
  /** Starts the static child specs; run once, after the first topology change or discovery round. */
  staticStart: (() => void) | null = null;
  /** True while this node has no quorum (partition tolerance): no children, starts refused. */
  partitioned = false;
  /** True while a graceful stop hands children over: starts here are refused. */
  stopping = false;
  /** The graceful stop under way (`$stop`), once one was asked for. */
  private stopTask: Promise<void> | null = null;
  readonly quorum: QuorumTracker;
  /** Children stopped for lack of quorum, restored when it returns. */
  private readonly parked = new Map<string, StartItem>();
  /** Departed hub incarnations whose children were parked here (adopted if quorum returns). */
  private readonly parkedFrom = new Map<string, number>();
  /** Departed hub incarnations whose children this hub adopted with quorum (told in `hello`). */
  private readonly adoptedFrom = new Map<string, number>();
  /**
   * Children stopped here by a stop request: epoch and time. An ensure of the same placement
   * (epoch not newer) that arrives later — another survivor's adoption, a migration overtaken by
   * the stop — is refused, or it would resurrect the child. Kept `migrationTimeoutMs`, and
   * dropped as soon as the id is registered anywhere again.
   */
  private readonly stopped = new Map<string, { epoch: number; at: number }>();
  /** Members that said they adopted this hub's children while it was without quorum. */
  private readonly adoptedMe = new Set<string>();
  /** Last redundancy mode signalled to each local child. */
  private readonly signalled = new Map<string, RedundancyMode>();
  /** Local children being hot-swapped out (the epoch rule leaves them to the handover). */
  private readonly handingOver = new Set<string>();
  /**
   * Losing copies of a heal under hot swap, waiting for the winner to take their data (`merged`)
   * before they stop; each stops anyway after `retentionMs`.
   */
  private readonly merging = new Map<
    string,
    { winner: string; epoch: number; stoppedEpoch: number; timer: ReturnType<typeof setTimeout> }
  >();
  /** Local children that may be duplicates of a newer placement, checked on the next turn. */
  private conflicts: Set<string> | null = null;
  /** Measured load per hub node (load-aware distribution). */
  readonly loads = new Map<string, NodeLoad>();
  /**
   * Children parked during a quorum loss that a member said it adopted, not yet seen running
   * anywhere since: forgotten only once each runs somewhere or the members say it was stopped
   * (see `claimParked`), restarted otherwise. Parked epoch and when the quorum came back.
   */
  private readonly unclaimed = new Map<string, StartItem>();
  private unclaimedSince = 0;
  /** The claim under way: its number and the members yet to answer, with what they know. */
  private claim: { req: number; at: number; waiting: Set<string>; known: Set<string> } | null = null;
  /** Monitors of the members' hub processes: a hub that dies while its node lives is a leave. */
  private readonly hubMonitors = new Map<string, Ref>();
  /** Messages dropped before handling: not a hub message, malformed, or from outside the hub. */
  dropped = 0;
  private lastDropLog = 0;

  constructor(
    readonly hubId: string,
    readonly node: Node,
    private readonly membership: HubMembership,
    private readonly behaviours: ReadonlyMap<string, HubBehaviour>,
    readonly tuning: HubTuning,
    readonly hooks: HubHooks,
    private readonly logger: Logger,
    readonly strategies: HubStrategies = parseStrategies(),
  ) {
    this.quorum = new QuorumTracker(strategies.partition);
    this.self = node.name;
    this.name = hubProcessName(hubId);
    this.registry = new HubRegistry(this.self);
    this.ring = new HashRing([this.self], tuning.vnodes);
  }

  /** Wires the core to its freshly spawned process. Called once, from the process's init. */
  init(pid: Pid): void {
    this.pid = pid;
    this.children = new LocalChildren(this.node, pid, this.behaviours, this.tuning, this.logger);
    this.repl = new Replicator(
      this.self,
      this.inc,
      this.registry,
      (n, m) => this.send(n, m),
      () => this.syncTargets(),
      (c) => this.fireChanges(c),
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
    if (!this.quorum.check(1)) this.partitioned = true;
    const peers = this.membership.peers();
    for (const peer of peers) this.hello(peer, true);
    if (peers.length === 0) this.runStaticStart();
  }

  private runStaticStart(): void {
    const f = this.staticStart;
    this.staticStart = null;
    f?.();
  }

  /** Owner of `id` on the current ring. */
  ownerOf(id: string): string {
    return this.ring.owner(id) ?? this.self;
  }

  /** The nodes that should run `id` (redundancy strategy), owner first. */
  replicas(id: string): string[] {
    return replicasOf(this.ring, id, this.strategies.redundancy);
  }

  /**
   * Recipients of a delta: every peer, or a few random ones (gossip), and every node joining.
   * A joiner got our slice with our hello, but is admitted here only at the next topology
   * change; children started meanwhile (often the very ones moving to it) must reach it too,
   * or its copy of our slice lags until the next full sync and every later delta is a gap.
   */
  private syncTargets(exclude: readonly string[] = []): Iterable<string> {
    const s = this.strategies.synchronization;
    const peers =
      s.type === "gossip"
        ? pickRecipients(this.members.keys(), s.recipients, exclude)
        : exclude.length === 0
          ? this.members.keys()
          : [...this.members.keys()].filter((n) => !exclude.includes(n));
    if (this.pendingJoin.size === 0) return peers;
    const out = new Set(peers);
    for (const n of this.pendingJoin.keys()) if (!exclude.includes(n)) out.add(n);
    return out;
  }

  isMember(node: string): boolean {
    return node === this.self || this.members.has(node);
  }

  /** Posts to the hub process: a local command (wrapped, see `HubSignal`) or a wire message as if received. */
  post(msg: HubLocalMsg | HubWireMsg): void {
    if (this.alive) this.node.send(this.pid, isWireMsg(msg) ? msg : new HubSignal(msg));
  }

  /** Counts a message dropped unhandled; warns at most once a second. */
  private drop(what: string, fields: Record<string, unknown> = {}): void {
    this.dropped++;
    const now = Date.now();
    if (now - this.lastDropLog < 1000) return;
    this.lastDropLog = now;
    this.logger.warn({ hub: this.hubId, ...fields, dropped: this.dropped }, `hub dropped ${what}`);
  }

  private send(node: string, msg: HubWireMsg): void {
    if (node === this.self) return this.post(msg);
    try {
      this.node.send({ name: this.name, node }, msg);
    } catch (e) {
      // A message that cannot be encoded (too large for a frame) is lost for good: a warning,
      // not a debug line, and a start this node waits for fails now instead of timing out.
      if (!unsendable(this, this.logger, this.hubId, node, msg, e))
        this.logger.debug({ hub: this.hubId, node, err: e }, "hub message not sent");
      else if (msg.t === "start" && msg.req !== null && msg.origin === this.self) {
        const col = this.collectors.get(msg.req);
        const failed = msg.items.map((w) => [w[0], "start_failed", String(e)] as const);
        if (col instanceof StartCollector) col.started(node, [], failed);
      }
    }
  }

  private hello(node: string, reply: boolean): void {
    const msg: HubWireMsg = { t: "hello", from: this.self, inc: this.inc, reply };
    if (this.adoptedFrom.size > 0) msg.adopted = [...this.adoptedFrom];
    this.send(node, msg);
  }

  // ------------------------------------------------------------------ requests from the handle

  /** Sends starts grouped by target node; with `onDone`, collects the answers. */
  dispatchStart(
    groups: Map<string, StartItem[]>,
    timeoutMs: number,
    onDone: ((r: StartResult) => void) | null,
    ensure = false,
    extra: { states?: Map<string, unknown>; noForward?: boolean } = {},
  ): void {
    let req: number | null = null;
    if (onDone !== null) {
      req = this.nextReq++;
      const items = new Map<string, StartItem>();
      for (const list of groups.values()) for (const it of list) items.set(it.spec.id, it);
      this.reqItems.set(req, items);
      const r = req;
      const col = new StartCollector(timeoutMs, (res) => {
        this.collectors.delete(r);
        this.reqItems.delete(r);
        onDone(res);
      });
      this.collectors.set(req, col);
      for (const [node, list] of groups)
        col.expect(
          node,
          list.map((i) => i.spec.id),
        );
      this.failGone(col, groups.keys());
      col.maybeFinish();
    }
    for (const [node, list] of groups) {
      for (const items of startChunks(list, extra.states)) {
        const states = extra.states;
        const msg: StartMsg = {
          t: "start",
          req,
          origin: this.self,
          items: items.map(itemOut),
          hops: extra.noForward ? this.tuning.maxForwards : 0,
          ensure,
        };
        if (states !== undefined && states.size > 0) {
          const st: Array<[string, unknown]> = [];
          for (const it of items) if (states.has(it.spec.id)) st.push([it.spec.id, states.get(it.spec.id)]);
          if (st.length > 0) msg.states = st;
        }
        this.send(node, msg);
      }
    }
  }

  /**
   * Sends stops to every node that may run each id: its replicas on the current ring, the
   * members this registry lists it on, and the nodes of `also` (a rollback names the nodes a
   * start went to, which the registry may not show yet); with `onDone`, collects the answers.
   */
  dispatchStop(
    ids: readonly string[],
    timeoutMs: number,
    onDone: ((r: StopResult) => void) | null,
    also?: ReadonlyMap<string, Iterable<string>>,
  ): void {
    const groups = new Map<string, string[]>();
    for (const id of ids) {
      const targets = new Set<string>(this.replicas(id));
      for (const np of this.registry.lookup(id)?.nodes ?? [])
        if (this.isMember(np.node)) targets.add(np.node);
      for (const n of also?.get(id) ?? []) targets.add(n);
      for (const n of targets) {
        const g = groups.get(n);
        if (g === undefined) groups.set(n, [id]);
        else g.push(id);
      }
    }
    let req: number | null = null;
    if (onDone !== null) {
      req = this.nextReq++;
      const r = req;
      const col = new StopCollector(ids, timeoutMs, (res) => {
        this.collectors.delete(r);
        onDone(res);
      });
      this.collectors.set(req, col);
      for (const [node, list] of groups) col.expect(node, list);
      this.failGone(col, groups.keys());
      col.maybeFinish();
    }
    for (const [node, list] of groups) {
      for (const part of idChunks(list)) this.send(node, { t: "stop", req, origin: this.self, ids: part });
    }
  }

  // ------------------------------------------------------------------ the process handler

  readonly handle = (msg: unknown): unknown => {
    if (msg instanceof HubSignal) return this.onLocal(msg.msg);
    if (msg instanceof ExitMessage) return this.onExit(msg);
    if (msg instanceof DownMessage) return this.onHubDown(msg);
    if (!isWireMsg(msg)) return this.drop("a message that is not a hub message");
    const bad = checkWire(msg);
    if (bad !== null) return this.drop("a malformed message", { field: bad });
    switch (msg.t) {
      case "start":
        return this.onStart(msg);
      case "stop":
        return this.onStop(msg);
      case "started": {
        const col = this.collectors.get(msg.req);
        if (col instanceof StartCollector) col.started(msg.node, msg.ok, msg.failed);
        return;
      }
      case "stopped": {
        const col = this.collectors.get(msg.req);
        if (col instanceof StopCollector) col.answeredStop(msg.node, msg.ok, msg.missing);
        return;
      }
      case "forwarded":
        return this.onForwarded(msg.req, msg.node, msg.to, msg.ids);
      case "hello":
        if (msg.adopted?.some(([n, inc]) => n === this.self && inc === this.inc))
          this.adoptedMe.add(msg.from);
        return this.onHello(msg.from, msg.inc, msg.reply);
      case "bye":
        if (this.members.get(msg.from) === msg.inc) this.peerGone(msg.from);
        return;
      case "delta":
        if (this.isMember(msg.from) || this.pendingJoin.has(msg.from)) {
          const r = this.repl.onDelta(msg);
          // Gossip: a node that learnt something new passes it on.
          if (r === "applied" && this.strategies.synchronization.type === "gossip")
            for (const n of this.syncTargets([msg.from])) this.send(n, msg);
        }
        return;
      case "load":
        if (this.members.has(msg.from)) this.loads.set(msg.from, msg.load);
        return;
      case "slice":
        if (this.isMember(msg.from) || this.pendingJoin.has(msg.from)) this.repl.onSlice(msg);
        return;
      case "syncreq":
        // A joiner gets our deltas before its join is handled here: a gap it sees must heal too.
        if (this.members.has(msg.from) || this.pendingJoin.has(msg.from)) this.repl.sendSlice([msg.from]);
        return;
      case "merge":
        this.onMerge(msg.from, msg.id, msg.epoch, msg.data);
        return;
      case "claim":
        if (this.members.has(msg.from)) this.onClaim(msg.from, msg.req, msg.ids);
        return;
      case "claimed":
        return this.onClaimed(msg.from, msg.req, msg.known);
      case "merged":
        // From the winner, or from the node a losing winner passed the data on to.
        this.finishMerge(msg.id, msg.ok);
        return;
    }
  };

  private onLocal(msg: HubLocalMsg): unknown {
    switch (msg.t) {
      case "$peer_up":
        this.hello(msg.node, true);
        return;
      case "$peer_down":
        this.peerGone(msg.node);
        return;
      case "$topology":
        this.topologyScheduled = false;
        return this.onTopology();
      case "$sync":
        if (!this.quorum.check(this.members.size + 1) && !this.partitioned) return this.enterPartitioned();
        for (const n of this.registry.nodes()) {
          if (n !== this.self && !this.members.has(n) && !this.pendingJoin.has(n)) this.peerGone(n);
        }
        this.repl.sendSlice(this.members.keys());
        this.pruneHandedOff();
        for (const [id, t] of this.stopped)
          if (Date.now() - t.at > this.tuning.migrationTimeoutMs) this.stopped.delete(id);
        this.claimParked();
        return this.rebalance();
      case "$discover":
        this.runStaticStart();
        for (const p of this.membership.peers()) if (!this.members.has(p)) this.hello(p, true);
        return;
      case "$stop":
        // A second stop (the supervisor's exit signal during `hub.stop()`) waits for the first.
        if (this.stopTask !== null) {
          void this.stopTask.then(msg.done);
          return;
        }
        if (this.strategies.migration.type === "hotSwap" && this.members.size > 0 && !this.partitioned) {
          // Not awaited: the hub keeps reading its mailbox (start answers) while it hands over.
          this.stopTask = this.handOverAll().then(() => this.shutdown());
          void this.stopTask.then(msg.done);
          return;
        }
        this.stopTask = this.shutdown();
        return this.stopTask.then(msg.done);
      case "$load": {
        const load = measureLoad(this.children.size);
        this.loads.set(this.self, load);
        for (const n of this.members.keys()) this.send(n, { t: "load", from: this.self, load });
        return;
      }
      case "$conflicts":
        return this.resolveConflicts();
      case "$merge_timeout":
        return this.finishMerge(msg.id, false);
      case "$rebalance":
        return this.rebalance();
      case "$quorum_reset": {
        this.quorum.reset(msg.size ?? this.members.size + 1);
        if (this.partitioned && this.quorum.check(this.members.size + 1)) this.leavePartitioned();
        return;
      }
    }
  }

  private async onStart(m: StartMsg): Promise<void> {
    const local: StartItem[] = [];
    const forward = new Map<string, StartItem[]>();
    const ok: Array<[string, Pid]> = [];
    const failed: Array<[string, HubErrorReason, string | undefined]> = [];
    const refuse: HubErrorReason | null = this.partitioned
      ? "partitioned"
      : this.stopping
        ? "hub_stopped"
        : m.ensure && m.req !== null && this.changePending()
          ? "topology_pending"
          : null;
    const absorb: StartItem[] = [];
    for (const w of m.items) {
      const it = itemIn(w);
      if (refuse !== null) {
        failed.push([it.spec.id, refuse, undefined]);
        continue;
      }
      const owners = it.pinned ? [this.self] : this.replicas(it.spec.id);
      const owner = owners[0] ?? this.self;
      const running = this.children.byId.get(it.spec.id);
      // Replicated children are started where asked (rebalance moves a misplaced copy).
      if (
        owners.length === 1 &&
        owner !== this.self &&
        m.hops < this.tuning.maxForwards &&
        this.members.has(owner)
      ) {
        const f = forward.get(owner);
        if (f === undefined) forward.set(owner, [it]);
        else f.push(it);
      } else if (running !== undefined && m.ensure && this.merging.has(it.spec.id)) {
        // Our copy is handing its data to the winner and stops: answering with its pid would
        // make the sender stop the winner too. The sender keeps its copy and retries later.
        failed.push([it.spec.id, "start_failed", "a duplicate here is handing over"]);
      } else if (running !== undefined && m.ensure && this.handingOver.has(it.spec.id)) {
        // Our copy is being hot-swapped out: its state was taken already and it stops once the
        // new owner confirms, so data the sender hands it now would be lost. The sender keeps
        // its copy and retries later.
        failed.push([it.spec.id, "start_failed", "a copy here is handing over"]);
      } else if (running !== undefined) {
        if (m.ensure) absorb.push(it);
        else failed.push([it.spec.id, "already_started", String(running.pid)]);
      } else if (m.ensure && it.epoch <= (this.stopped.get(it.spec.id)?.epoch ?? -1)) {
        failed.push([it.spec.id, "not_found", "stopped since"]);
      } else local.push(it);
    }
    if (absorb.length > 0) await this.absorb(absorb, m, ok, failed);
    for (const [to, items] of forward) {
      const ids = items.map((i) => i.spec.id);
      this.hooks.dispatch("startForwarded", { to, ids });
      if (m.req === null)
        this.send(to, { ...m, items: items.map(itemOut), hops: m.hops + 1, states: m.states });
      else this.send(m.origin, { t: "forwarded", req: m.req, node: this.self, to, ids });
    }
    if (local.length > 0) {
      this.hooks.dispatch("preChildrenStart", { ids: local.map((i) => i.spec.id) });
      const started: Array<{ id: string; node: string; pid: Pid }> = [];
      for (const batch of chunks(local, this.tuning.startBatchSize)) {
        const outcomes = await this.children.startMany(batch);
        const refused = m.states === undefined ? null : await this.receiveHandover(outcomes, m.states);
        outcomes.forEach((o, i) => {
          const it = batch[i]!;
          if ("pid" in o && refused?.has(o.id)) {
            // The state was not taken: the new copy goes, the old one (with the state) stays.
            void this.children.stop(o.id);
            failed.push([o.id, "start_failed", "handover state not received"]);
          } else if ("pid" in o) {
            this.repl.put(o.id, { spec: it.spec, pid: o.pid, epoch: it.epoch });
            ok.push([o.id, o.pid]);
            started.push({ id: o.id, node: this.self, pid: o.pid });
            this.signal(o.id, o.pid, true);
          } else failed.push([o.id, o.reason, o.detail]);
        });
        this.repl.flush();
      }
      this.hooks.dispatch("postChildrenStart", { started, failed: failed.map((f) => f[0]) });
    }
    if (m.req !== null) for (const msg of startedMsgs(m.req, this.self, ok, failed)) this.send(m.origin, msg);
  }

  private onForwarded(req: number, node: string, to: string, ids: string[]): void {
    const col = this.collectors.get(req);
    const items = this.reqItems.get(req);
    if (!(col instanceof StartCollector) || items === undefined) return;
    col.forwarded(node, to, ids);
    this.failGone(col, [to]);
    const list = ids.map((id) => items.get(id)).filter((i): i is StartItem => i !== undefined);
    for (const part of chunks(list)) {
      this.send(to, { t: "start", req, origin: this.self, items: part.map(itemOut), hops: 1, ensure: false });
    }
  }

  private async onStop(m: StopMsg): Promise<void> {
    const ok: string[] = [];
    const missing: string[] = [];
    const now = Date.now();
    await Promise.all(
      m.ids.map(async (id) => {
        const epoch = this.children.byId.get(id)?.epoch;
        if (await this.children.stop(id)) {
          ok.push(id);
          if (epoch !== undefined) this.stopped.set(id, { epoch, at: now });
        } else missing.push(id);
      }),
    );
    for (const id of ok) this.repl.remove(id);
    this.repl.flush();
    if (m.req !== null) this.send(m.origin, { t: "stopped", req: m.req, node: this.self, ok, missing });
  }

  private onExit(msg: ExitMessage): unknown {
    const d = this.children.onExit(msg.from, msg.reason);
    if (d.kind === "ignore") return;
    const child = d.child;
    this.signalled.delete(child.spec.id);
    if (d.kind === "remove") {
      this.repl.remove(child.spec.id);
      this.repl.flush();
      return;
    }
    return this.children.startOne(child.spec).then((o) => {
      if ("pid" in o) {
        this.children.record(child.spec, o.pid, child.epoch, child.pinned, child.restarts);
        this.repl.put(child.spec.id, { spec: child.spec, pid: o.pid, epoch: child.epoch });
        this.signal(child.spec.id, o.pid, true);
      } else {
        this.logger.error(
          { hub: this.hubId, id: child.spec.id, reason: o.reason, detail: o.detail },
          "hub child restart failed",
        );
        this.repl.remove(child.spec.id);
      }
      this.repl.flush();
    });
  }

  // ------------------------------------------------------------------ membership and topology

  private onHello(from: string, inc: number, reply: boolean): void {
    if (from === this.self) return;
    if (reply) this.hello(from, false);
    if (this.members.get(from) === inc && !this.hubMonitors.has(from)) this.watchHub(from);
    if (this.members.get(from) !== inc) {
      this.pendingJoin.set(from, inc);
      this.pendingLeave.delete(from);
      this.scheduleTopology();
    }
    this.repl.sendSlice([from]);
  }

  /**
   * A request to a node already seen gone (its leave not yet handled, or a start forwarded to a
   * node not, or no longer, in this hub) fails at once: its `node_down` was signalled before this
   * request existed, so waiting would end only by timeout.
   */
  private failGone(col: StartCollector | StopCollector, nodes: Iterable<string>): void {
    for (const node of nodes) {
      const unknown = !this.isMember(node) && !this.pendingJoin.has(node);
      if (unknown || this.pendingLeave.has(node)) col.fail(node, "node_down");
    }
  }

  /**
   * Whether a membership change is waiting to be handled here. Moves and adoptions are refused
   * meanwhile: a node that has just found every peer gone (it was frozen past the heartbeat
   * timeout) would otherwise start children it is about to stop for lack of quorum.
   */
  private changePending(): boolean {
    return this.topologyScheduled || this.pendingJoin.size > 0 || this.pendingLeave.size > 0;
  }

  /** Posts `msg` to this hub after the topology debounce (and a little more). */
  private postLater(msg: HubLocalMsg): void {
    const t = setTimeout(() => this.post(msg), this.tuning.clusterEventDebounceMs + 50);
    t.unref?.();
  }

  /** A member's hub process died (its node may live on): the same as that member leaving. */
  private onHubDown(msg: DownMessage): void {
    for (const [node, ref] of this.hubMonitors) {
      if (!ref.equals(msg.ref)) continue;
      this.hubMonitors.delete(node);
      // The node itself went away: its membership event says so (and the monitor is re-armed at
      // the next hello if the session was only reset).
      if (msg.reason === "noconnection") return;
      this.logger.warn({ hub: this.hubId, node, reason: String(msg.reason) }, "a member's hub process died");
      this.peerGone(node);
      return;
    }
  }

  /** Watches `node`'s hub process from now on (a new member, or a member under a new incarnation). */
  private watchHub(node: string): void {
    const old = this.hubMonitors.get(node);
    if (old !== undefined) this.node.demonitor(old, {}, this.pid);
    // A hub over a membership of its own (no cluster router: tests, embedding) has nothing to watch.
    if (this.node.router === null) return;
    this.hubMonitors.set(node, this.node.monitor({ name: this.name, node }, this.pid));
  }

  private unwatchHub(node: string): void {
    const ref = this.hubMonitors.get(node);
    if (ref === undefined) return;
    this.hubMonitors.delete(node);
    this.node.demonitor(ref, {}, this.pid);
  }

  private peerGone(node: string): void {
    this.pendingJoin.delete(node);
    const known = this.members.has(node) || this.registry.sliceVersion(node) !== undefined;
    if (known) this.pendingLeave.add(node);
    // A snapshot: failing a collector can start a retry, which adds a collector. Requests may
    // wait on a node that never became a member here (a start forwarded to it by a peer).
    for (const col of [...this.collectors.values()]) col.fail(node, "node_down");
    // A node can be gone before it became a member here, yet its slice may have arrived.
    if (known) this.scheduleTopology();
  }

  private scheduleTopology(): void {
    if (this.topologyScheduled) return;
    this.topologyScheduled = true;
    const t = setTimeout(() => this.post({ t: "$topology" }), this.tuning.clusterEventDebounceMs);
    t.unref?.();
  }

  private async onTopology(): Promise<void> {
    const joined: string[] = [];
    const left: string[] = [];
    for (const node of this.pendingLeave) {
      if (this.members.has(node) || this.registry.sliceVersion(node) !== undefined) left.push(node);
    }
    for (const [node, inc] of this.pendingJoin) {
      const known = this.members.get(node);
      if (known === inc) continue;
      if (known !== undefined && !left.includes(node)) left.push(node);
      joined.push(node);
    }
    const joins = new Map(this.pendingJoin);
    this.pendingJoin.clear();
    this.pendingLeave.clear();
    if (joined.length === 0 && left.length === 0) return;
    const t0 = performance.now();
    this.setLocked(true);
    for (const n of joined) this.hooks.dispatch("preNodeJoin", { node: n });
    for (const n of left) this.hooks.dispatch("preNodeLeave", { node: n });
    const members = () => [this.self, ...this.members.keys()].sort();
    const orphans = new Map<string, SliceEntry>();
    const leftIncs = new Map<string, number>();
    for (const node of left) {
      leftIncs.set(node, this.members.get(node) ?? this.registry.sliceVersion(node)?.incarnation ?? 0);
      this.members.delete(node);
      this.unwatchHub(node);
      this.repl.forget(node);
      const changes: RegistryChange[] = [];
      const handed = [...(this.handedOff.get(node) ?? [])].filter(([id, h]) => !this.superseded(node, id, h));
      const held = this.registry.dropNode(node, changes);
      this.fireChanges(changes);
      for (const [id, e] of held) if (!this.registry.exists(id)) orphans.set(id, e);
      for (const [id, h] of handed) if (!this.registry.exists(id)) orphans.set(id, h.entry);
      this.handedOff.delete(node);
    }
    for (const node of joined) {
      this.members.set(node, joins.get(node)!);
      this.adoptedFrom.delete(node);
      this.watchHub(node);
    }
    this.ring = new HashRing(members(), this.tuning.vnodes);
    const change = { joined, left, members: members() };
    if (this.quorum.enabled) {
      const healthy = this.quorum.update(members().length, left, joined);
      if (!healthy && !this.partitioned) await this.enterPartitioned();
      else if (healthy && this.partitioned) this.leavePartitioned();
    }
    this.hooks.dispatch("preRedistribution", change);
    if (this.partitioned)
      for (const [id, e] of orphans) this.parked.set(id, { spec: e.spec, epoch: e.epoch, pinned: false });
    for (const [n, inc] of leftIncs) (this.partitioned ? this.parkedFrom : this.adoptedFrom).set(n, inc);
    const adopted = this.partitioned ? 0 : this.adopt(orphans);
    const migrated = await this.rebalance();
    this.resignal();
    for (const n of joined) this.hooks.dispatch("postNodeJoin", { node: n });
    for (const n of left) this.hooks.dispatch("postNodeLeave", { node: n });
    this.hooks.dispatch("postRedistribution", {
      ...change,
      migrated,
      adopted,
      durationMs: performance.now() - t0,
    });
    this.setLocked(false);
    this.runStaticStart();
  }

  /** Children that ran only on departed nodes: every survivor asks the new owner to ensure them. */
  private adopt(orphans: Map<string, SliceEntry>): number {
    if (orphans.size === 0) return 0;
    const groups = new Map<string, StartItem[]>();
    for (const [id, e] of orphans) {
      const item: StartItem = { spec: e.spec, epoch: e.epoch + 1, pinned: false };
      for (const owner of this.replicas(id)) {
        const g = groups.get(owner);
        if (g === undefined) groups.set(owner, [item]);
        else g.push(item);
      }
    }
    this.ensure(groups);
    return groups.get(this.self)?.length ?? 0;
  }

  /**
   * Forgets handed-off children the receiver's replicated slice now shows, and gone receivers.
   * With push synchronization the receiver's delta listing the child was sent (directly) before
   * its start answer, so a replica newer than the one seen when the answer came reflects the
   * child's start: if it no longer lists the child, the child was stopped since and must not be
   * adopted when the receiver leaves. (Gossip relays deltas out of order: there only the first
   * rule applies.)
   */
  private pruneHandedOff(): void {
    for (const [node, ids] of this.handedOff) {
      const slice = this.registry.sliceOf(node);
      for (const [id, h] of ids) if (slice.has(id) || this.superseded(node, id, h)) ids.delete(id);
      const known = this.members.has(node) || this.pendingLeave.has(node);
      if (ids.size === 0 || !known) this.handedOff.delete(node);
    }
  }

  /** True when `node`'s replicated slice, newer than at its start answer, no longer lists `id`. */
  private superseded(node: string, id: string, h: HandedOff): boolean {
    if (this.strategies.synchronization.type !== "push") return false;
    const v = this.registry.sliceVersion(node);
    if (v === undefined || v.incarnation !== h.incarnation || v.seq <= h.seq) return false;
    return !this.registry.sliceOf(node).has(id);
  }

  /** One ensure of `id` settled: whether the id was seen registered (not on `ignore`) since it was sent. */
  private ensured(id: string, ignore?: ReadonlySet<string>): boolean {
    const e = this.ensuring.get(id);
    if (e === undefined) return false;
    if (--e.pending === 0) this.ensuring.delete(id);
    if (e.seenOn === null) return false;
    for (const n of e.seenOn) if (!ignore?.has(n)) return true;
    return false;
  }

  /** Starts children at their owners, idempotently; anything lost on the way is retried. */
  private ensure(groups: Map<string, StartItem[]>): void {
    const byId = new Map<string, StartItem>();
    for (const list of groups.values()) for (const it of list) byId.set(it.spec.id, it);
    for (const id of byId.keys()) {
      const e = this.ensuring.get(id);
      if (e === undefined) this.ensuring.set(id, { pending: 1, seenOn: null });
      else {
        e.pending++;
        e.seenOn = null;
      }
    }
    this.dispatchStart(
      groups,
      this.tuning.migrationTimeoutMs,
      (r) => {
        for (const s of r.started) {
          const it = byId.get(s.id);
          for (const np of s.nodes) {
            const known = np.node === this.self || this.registry.sliceOf(np.node).has(s.id);
            if (it === undefined || known) continue;
            let m = this.handedOff.get(np.node);
            if (m === undefined) this.handedOff.set(np.node, (m = new Map()));
            const v = this.registry.sliceVersion(np.node);
            m.set(s.id, {
              entry: { spec: it.spec, epoch: it.epoch, pid: np.pid },
              incarnation: v?.incarnation ?? -1,
              seq: v?.seq ?? -1,
            });
          }
        }
        const retry = new Map<string, StartItem>();
        // Who refused: a node refusing because it is stopping or without quorum is stopping its
        // children, so what its (possibly stale) slice shows of the id proves nothing.
        const refusedBy = new Map<string, Set<string>>();
        for (const e of r.errors) {
          // Not on `node_receive_timeout`: the node lives and most likely runs the child; a
          // late retry could resurrect a child stopped meanwhile.
          const refused =
            e.reason === "hub_stopped" || e.reason === "partitioned" || e.reason === "topology_pending";
          if (e.reason !== "node_down" && !refused) continue;
          const it = byId.get(e.id);
          if (it !== undefined) retry.set(e.id, it);
          // A node settling its membership runs what its slice shows; only a stopping one does not.
          if (refused && e.reason !== "topology_pending" && e.node !== undefined) {
            const s = refusedBy.get(e.id);
            if (s === undefined) refusedBy.set(e.id, new Set([e.node]));
            else s.add(e.node);
          }
        }
        for (const id of byId.keys()) if (!retry.has(id)) this.ensured(id);
        if (retry.size === 0) return;
        // The failed node is leaving the ring (down, stopping, partitioned): retry after the
        // topology change it causes, at the owners of the ring then — unless the id was seen
        // running since the request was sent (until the retry: a start forwarded elsewhere can
        // fail while the owner starts it on its own, and a user stops it before the retry).
        const t = setTimeout(() => {
          const seen = new Set([...retry.keys()].filter((id) => this.ensured(id, refusedBy.get(id))));
          if (!this.alive) return;
          const groups = new Map<string, StartItem[]>();
          const runsElsewhere = (id: string) =>
            (this.registry.lookup(id)?.nodes ?? []).some((np) => !refusedBy.get(id)?.has(np.node));
          for (const [id, it] of retry) {
            if (runsElsewhere(id) || this.partitioned || seen.has(id)) continue;
            for (const owner of it.pinned ? [this.ownerOf(id)] : this.replicas(id)) {
              const g = groups.get(owner);
              if (g === undefined) groups.set(owner, [it]);
              else g.push(it);
            }
          }
          if (groups.size > 0) this.ensure(groups);
        }, this.tuning.clusterEventDebounceMs + 50);
        t.unref?.();
      },
      true,
    );
  }

  /**
   * Moves local children that are not on one of their replicas (ring owners) to them, by the
   * migration strategy, and asks missing replicas of children that stay here to start; returns
   * how many children left this node.
   */
  private async rebalance(): Promise<number> {
    if (this.partitioned || this.stopping) return 0;
    const moving = new Map<string, StartItem[]>();
    const missing = new Map<string, StartItem[]>();
    const leaving: string[] = [];
    const add = (m: Map<string, StartItem[]>, node: string, it: StartItem) => {
      const g = m.get(node);
      if (g === undefined) m.set(node, [it]);
      else g.push(it);
    };
    for (const [id, c] of this.children.byId) {
      if (c.pinned || this.handingOver.has(id)) continue;
      const replicas = this.replicas(id);
      if (replicas.includes(this.self)) {
        if (replicas.length === 1) continue;
        const holders = new Set((this.registry.lookup(id)?.nodes ?? []).map((np) => np.node));
        for (const n of replicas)
          if (n !== this.self && !holders.has(n) && this.members.has(n))
            add(missing, n, { spec: c.spec, epoch: c.epoch, pinned: false });
        continue;
      }
      const targets = replicas.filter((n) => this.members.has(n));
      if (targets.length === 0) continue;
      leaving.push(id);
      for (const n of targets) add(moving, n, { spec: c.spec, epoch: c.epoch + 1, pinned: false });
    }
    if (missing.size > 0) this.ensure(missing);
    if (leaving.length === 0) return 0;
    if (this.strategies.migration.type === "hotSwap") {
      // Not awaited: the start answers it waits for arrive through this process's mailbox.
      void this.hotSwap(leaving, moving);
      return leaving.length;
    }
    await Promise.all(leaving.map((id) => this.children.stop(id)));
    for (const id of leaving) {
      this.repl.remove(id);
      this.signalled.delete(id);
    }
    for (const [to, items] of moving)
      this.hooks.dispatch("childrenMigrated", { to, ids: items.map((i) => i.spec.id) });
    this.repl.flush();
    this.ensure(moving);
    return leaving.length;
  }

  /**
   * Hot swap: the new instances start first, receiving the old ones' handover state inside
   * their start; each old instance stops once its id started somewhere (confirmed by the start
   * answer, which comes after the state was given to the new child). An id whose start failed
   * or was not confirmed within `retentionMs` keeps running here (the next rebalance retries).
   * Resolves when every id is settled.
   */
  private async hotSwap(ids: string[], groups: Map<string, StartItem[]>): Promise<void> {
    const m = this.strategies.migration;
    if (m.type !== "hotSwap") return;
    for (const id of ids) this.handingOver.add(id);
    const states = new Map<string, unknown>();
    const unprepared = new Set<string>();
    await Promise.all(
      ids.map(async (id) => {
        const c = this.children.byId.get(id);
        if (c === undefined || !supportsHandover(this.behaviours.get(c.spec.behaviour))) return;
        const s = await takeHandoverState(this.node, c.pid, m.handoverTimeoutMs);
        if (s !== undefined) states.set(id, s.data);
        else unprepared.add(id);
      }),
    );
    // No state to hand over (prepare threw or timed out): the child is not moved now, so its
    // state is not lost; the next rebalance tries again.
    if (unprepared.size > 0) {
      this.logger.warn({ hub: this.hubId, ids: [...unprepared] }, "hub handover state not prepared");
      for (const [n, items] of groups)
        groups.set(
          n,
          items.filter((i) => !unprepared.has(i.spec.id)),
        );
    }
    const pids = new Map(ids.map((id) => [id, this.children.byId.get(id)?.pid]));
    await new Promise<void>((resolve) =>
      this.dispatchStart(
        groups,
        m.retentionMs,
        (r) => {
          const ok = new Set(r.started.map((s) => s.id));
          const moved: string[] = [];
          // A receiver still settling its own membership keeps nothing: try again once it has.
          if (r.errors.some((e) => e.reason === "topology_pending")) this.postLater({ t: "$rebalance" });
          for (const id of ids) {
            this.handingOver.delete(id);
            const c = this.children.byId.get(id);
            if (!ok.has(id) || c === undefined || !c.pid.equals(pids.get(id) ?? c.pid)) continue;
            void this.children.stop(id);
            this.repl.remove(id);
            this.signalled.delete(id);
            moved.push(id);
          }
          this.repl.flush();
          for (const [to, items] of groups) {
            const here = items.map((i) => i.spec.id).filter((id) => moved.includes(id));
            if (here.length > 0) this.hooks.dispatch("childrenMigrated", { to, ids: here });
          }
          resolve();
        },
        true,
        { states, noForward: true },
      ),
    );
  }

  /** Graceful stop with hot swap: every local child goes to its owner on the ring without this node. */
  private async handOverAll(): Promise<void> {
    this.stopping = true;
    const ring = new HashRing([...this.members.keys()], this.tuning.vnodes);
    const groups = new Map<string, StartItem[]>();
    const ids: string[] = [];
    for (const [id, c] of this.children.byId) {
      ids.push(id);
      for (const n of replicasOf(ring, id, this.strategies.redundancy)) {
        const it: StartItem = { spec: c.spec, epoch: c.epoch + 1, pinned: false };
        const g = groups.get(n);
        if (g === undefined) groups.set(n, [it]);
        else g.push(it);
      }
    }
    if (ids.length > 0) await this.hotSwap(ids, groups);
  }

  /**
   * Gives handed-over states to freshly started children (before the start is answered);
   * returns the ids whose child did not take its state (threw, timed out).
   */
  private async receiveHandover(
    outcomes: ReadonlyArray<{ id: string; pid?: Pid }>,
    states: Array<[string, unknown]>,
  ): Promise<Set<string>> {
    const byId = new Map(states);
    const timeout = this.handoverTimeoutMs();
    const refused = new Set<string>();
    await Promise.all(
      outcomes.map(async (o) => {
        if (o.pid === undefined || !byId.has(o.id)) return;
        const ok = await giveHandoverState(this.node, o.pid, byId.get(o.id), timeout);
        if (!ok) refused.add(o.id);
        this.hooks.dispatch("handoverReceived", { id: o.id, pid: o.pid, ok });
      }),
    );
    return refused;
  }

  /**
   * An ensure (a move or an adoption) of ids already running here. The sender gives us each id
   * at `it.epoch` and has stopped its copy, or stops it once we answer (hot swap). Ours takes
   * that epoch: a copy we have not yet seen stopped (the sender's own, after a heal) must lose
   * to ours under the epoch rule, not stop it and leave the id running nowhere. A hot-swap
   * sender's state is a second copy's data: our copy gets it as after a heal, and only if it
   * took it do we answer success (otherwise the sender keeps its copy and its state). Under
   * replication the state is not given (a running replica is not a diverged copy): the epoch
   * is raised and the answer is success.
   */
  private async absorb(
    items: StartItem[],
    m: StartMsg,
    ok: Array<[string, Pid]>,
    failed: Array<[string, HubErrorReason, string | undefined]>,
  ): Promise<void> {
    const states = m.states === undefined ? undefined : new Map(m.states);
    const timeout = this.handoverTimeoutMs();
    const taken = await Promise.all(
      items.map(async (it) => {
        const c = this.children.byId.get(it.spec.id);
        if (c === undefined || states === undefined || !states.has(it.spec.id)) return true;
        // Replicated: the sender hands its state to every replica, for the ones starting fresh;
        // a replica already running has its own copy of the data, and taking it would count it twice.
        if (this.replicas(it.spec.id).length !== 1) return true;
        const info = { reason: "heal", from: m.origin } as const;
        const took = await giveHandoverState(this.node, c.pid, states.get(it.spec.id), timeout, info);
        this.hooks.dispatch("handoverReceived", { id: it.spec.id, pid: c.pid, ok: took });
        return took;
      }),
    );
    let bumped = false;
    items.forEach((it, i) => {
      const c = this.children.byId.get(it.spec.id);
      if (c === undefined) failed.push([it.spec.id, "start_failed", "stopped meanwhile"]);
      else if (!taken[i]) failed.push([it.spec.id, "start_failed", "handover state not received"]);
      else {
        if (it.epoch > c.epoch) {
          c.epoch = it.epoch;
          this.repl.put(it.spec.id, { spec: c.spec, pid: c.pid, epoch: it.epoch });
          bumped = true;
        }
        ok.push([it.spec.id, c.pid]);
      }
    });
    if (bumped) this.repl.flush();
  }

  // ------------------------------------------------------------------ partition tolerance

  /** Quorum lost: stop every local child (remembering it), refuse starts and stops. */
  private async enterPartitioned(): Promise<void> {
    this.partitioned = true;
    // What this node adopted it now parks (and restores itself): it no longer vouches for it.
    this.adoptedFrom.clear();
    this.hooks.dispatch("lockStateChanged", { locked: true, reason: "partition" });
    this.logger.warn(
      { hub: this.hubId, members: this.members.size + 1 },
      "hub lost quorum: stopping its children",
    );
    const ids = [...this.children.byId.keys()];
    for (const id of ids) {
      const c = this.children.byId.get(id)!;
      this.parked.set(id, { spec: c.spec, epoch: c.epoch, pinned: c.pinned });
    }
    await Promise.all(ids.map((id) => this.children.stop(id)));
    for (const id of ids) {
      this.repl.remove(id);
      this.signalled.delete(id);
    }
    this.repl.flush();
  }

  /** Quorum back: restart (at their owners) the parked children nobody runs now. */
  private leavePartitioned(): void {
    this.partitioned = false;
    this.hooks.dispatch("lockStateChanged", { locked: false, reason: "partition" });
    // A member that kept quorum adopted everything parked here and runs what it did not stop
    // since: restoring it would resurrect children stopped during the partition.
    const adoptedElsewhere = [...this.adoptedMe].some((n) => this.members.has(n));
    this.adoptedMe.clear();
    if (adoptedElsewhere) {
      // Most of them run there now; what does not is claimed back once the registries agree.
      for (const [id, it] of this.parked) if (!this.registry.exists(id)) this.unclaimed.set(id, it);
      this.unclaimedSince = Date.now();
      this.parked.clear();
      this.parkedFrom.clear();
      return;
    }
    for (const [n, inc] of this.parkedFrom) this.adoptedFrom.set(n, inc);
    this.parkedFrom.clear();
    const groups = new Map<string, StartItem[]>();
    for (const [id, it] of this.parked) {
      if (this.registry.exists(id)) continue;
      const item: StartItem = {
        spec: it.spec,
        epoch: Math.max(it.epoch, this.registry.epochOf(id)) + 1,
        pinned: false,
      };
      for (const n of this.replicas(id)) {
        const g = groups.get(n);
        if (g === undefined) groups.set(n, [item]);
        else g.push(item);
      }
    }
    this.parked.clear();
    if (groups.size > 0) this.ensure(groups);
  }

  /**
   * Parked children a member adopted that still run nowhere, two sync rounds after the quorum came
   * back (every member's slice has arrived by then): the members are asked whether they stopped
   * them (a stop request since); those nobody knows are restarted at their owners. The rest is
   * forgotten, so a stop made during the partition is not undone as long as the node that made it
   * remembers it (`migrationTimeoutMs`; a durable store is what makes that forever).
   */
  private claimParked(): void {
    if (this.unclaimed.size === 0 || this.partitioned) return;
    // A claim some member never answered (it left, the answer was lost) is asked again.
    if (this.claim !== null && Date.now() - this.claim.at < this.tuning.migrationTimeoutMs) return;
    for (const id of [...this.unclaimed.keys()]) if (this.registry.exists(id)) this.unclaimed.delete(id);
    const sync = this.strategies.synchronization;
    const interval = sync.type === "gossip" ? sync.intervalMs : this.tuning.syncIntervalMs;
    if (this.unclaimed.size === 0 || Date.now() - this.unclaimedSince < 2 * interval) return;
    const req = this.nextReq++;
    const ids: Array<[string, number]> = [...this.unclaimed].map(([id, it]) => [id, it.epoch]);
    this.claim = { req, at: Date.now(), waiting: new Set(this.members.keys()), known: new Set() };
    for (const n of this.members.keys())
      for (const part of chunks(ids)) this.send(n, { t: "claim", from: this.self, req, ids: part });
    if (this.members.size === 0) this.onClaimed(this.self, req, []);
  }

  /** A member asks which of `ids` it stopped since (or runs): it answers with those. */
  private onClaim(from: string, req: number, ids: Array<[string, number]>): void {
    const known: string[] = [];
    for (const [id, epoch] of ids) {
      const st = this.stopped.get(id);
      if ((st !== undefined && st.epoch >= epoch) || this.children.byId.has(id)) known.push(id);
    }
    this.send(from, { t: "claimed", from: this.self, req, known });
  }

  private onClaimed(from: string, req: number, known: string[]): void {
    const c = this.claim;
    if (c === null || c.req !== req) return;
    for (const id of known) c.known.add(id);
    c.waiting.delete(from);
    for (const n of c.waiting) if (!this.members.has(n)) c.waiting.delete(n);
    if (c.waiting.size > 0) return;
    this.claim = null;
    const groups = new Map<string, StartItem[]>();
    for (const [id, it] of this.unclaimed) {
      if (c.known.has(id) || this.registry.exists(id)) continue;
      const item: StartItem = {
        spec: it.spec,
        epoch: Math.max(it.epoch, this.registry.epochOf(id)) + 1,
        pinned: false,
      };
      for (const n of this.replicas(id)) {
        const g = groups.get(n);
        if (g === undefined) groups.set(n, [item]);
        else g.push(item);
      }
    }
    const restarted = [...groups.values()].reduce((k, g) => k + g.length, 0);
    if (restarted > 0)
      this.logger.warn(
        { hub: this.hubId, restarted },
        "hub restarts parked children that ran nowhere after the partition",
      );
    this.unclaimed.clear();
    if (groups.size > 0) this.ensure(groups);
  }

  // ------------------------------------------------------------------ redundancy signals, epochs

  /** Tells a local child its redundancy mode if it changed (or `force`, after a (re)start). */
  private signal(id: string, pid: Pid, force = false): void {
    const r = this.strategies.redundancy;
    if (r.factor === 1 || r.signal === "none") return;
    const mode = modeOf(r, this.replicas(id), this.self);
    if (!force && this.signalled.get(id) === mode) return;
    this.signalled.set(id, mode);
    if (!wantsSignal(r, mode)) return;
    const msg: RedundancySignal = { $hub: "redundancy", id, mode };
    this.node.send(pid, msg);
  }

  /** After a topology change: re-signal every local child whose mode changed. */
  private resignal(): void {
    if (this.strategies.redundancy.factor === 1) return;
    for (const [id, c] of this.children.byId) this.signal(id, c.pid);
  }

  /**
   * The epoch rule: a local child that learns of a newer placement of its id stops. Newer means
   * a higher epoch, or the same epoch on a smaller node name (every node decides the same way).
   * With replication, a copy on a node outside the replicas stops when a replica runs the id
   * with an epoch at least as high; replicas never stop each other.
   */
  private resolveConflicts(): void {
    const ids = this.conflicts;
    this.conflicts = null;
    if (ids === null || this.partitioned) return;
    let stopped = false;
    for (const id of ids) {
      const mine = this.children.byId.get(id);
      if (mine === undefined || this.handingOver.has(id)) continue;
      const replicas = this.replicas(id);
      const replicated = replicas.length > 1;
      if (replicated && replicas.includes(this.self)) continue;
      for (const np of this.registry.lookup(id)?.nodes ?? []) {
        if (np.node === this.self || !(this.members.has(np.node) || this.pendingJoin.has(np.node))) continue;
        const e = this.registry.sliceOf(np.node).get(id);
        if (e === undefined) continue;
        const wins = replicated
          ? replicas.includes(np.node) && e.epoch >= mine.epoch
          : e.epoch > mine.epoch || (e.epoch === mine.epoch && np.node < this.self);
        if (!wins) continue;
        if (!replicated && this.canMerge(mine.spec.behaviour)) {
          void this.mergeInto(id, mine.pid, np.node, e.epoch, mine.epoch);
          break;
        }
        this.stopDuplicate(id, np.node, e.epoch, mine.epoch, false);
        stopped = true;
        break;
      }
    }
    if (stopped) this.repl.flush();
  }

  private stopDuplicate(
    id: string,
    winner: string,
    epoch: number,
    stoppedEpoch: number,
    handedOver: boolean,
  ) {
    void this.children.stop(id);
    this.repl.remove(id);
    this.signalled.delete(id);
    this.hooks.dispatch("duplicateStopped", { id, winner, epoch, stoppedEpoch, handedOver });
  }

  /** How long a child may take to receive handed-over data (a peer may hot-swap when we do not). */
  private handoverTimeoutMs(): number {
    const m = this.strategies.migration;
    return m.type === "hotSwap" ? m.handoverTimeoutMs : 3000;
  }

  /** Under hot swap, a losing duplicate hands its data to the winner before it stops. */
  private canMerge(behaviour: string): boolean {
    return this.strategies.migration.type === "hotSwap" && supportsHandover(this.behaviours.get(behaviour));
  }

  /**
   * Hands the losing copy's data to the winner's running copy (`merge`), then stops it once the
   * winner answered (`merged`) or after `retentionMs`. Until then the id stays out of the epoch
   * rule and of rebalancing, and ensures of it here are refused (see `onStart`).
   */
  private async mergeInto(id: string, pid: Pid, winner: string, epoch: number, stoppedEpoch: number) {
    const m = this.strategies.migration;
    if (m.type !== "hotSwap") return;
    this.handingOver.add(id);
    const timer = setTimeout(() => this.post({ t: "$merge_timeout", id }), m.retentionMs);
    timer.unref?.();
    this.merging.set(id, { winner, epoch, stoppedEpoch, timer });
    const s = await takeHandoverState(this.node, pid, m.handoverTimeoutMs);
    if (this.merging.get(id)?.timer !== timer) return;
    if (s === undefined) {
      this.logger.warn({ hub: this.hubId, id }, "hub duplicate's handover state not prepared");
      return this.finishMerge(id, false);
    }
    this.send(winner, { t: "merge", from: this.self, id, epoch, data: s.data });
  }

  private finishMerge(id: string, handedOver: boolean): void {
    const g = this.merging.get(id);
    if (g === undefined) return;
    clearTimeout(g.timer);
    this.merging.delete(id);
    this.handingOver.delete(id);
    const mine = this.children.byId.get(id);
    if (mine === undefined || mine.epoch !== g.stoppedEpoch) return;
    if (!handedOver)
      this.logger.warn({ hub: this.hubId, id, winner: g.winner }, "hub duplicate stopped without handover");
    this.stopDuplicate(id, g.winner, g.epoch, g.stoppedEpoch, handedOver);
    this.repl.flush();
  }

  /** The winner's side of a heal merge: gives the loser's data to the local copy of `epoch`. */
  private onMerge(from: string, id: string, epoch: number, data: unknown): void {
    // Three or more copies: this winner loses to another one itself; the data goes on there.
    const g = this.merging.get(id);
    if (g !== undefined) {
      this.send(g.winner, { t: "merge", from, id, epoch: g.epoch, data });
      return;
    }
    const c = this.children.byId.get(id);
    if (c === undefined || c.epoch < epoch) {
      this.send(from, { t: "merged", from: this.self, id, ok: false });
      return;
    }
    // Not awaited: the hub keeps reading its mailbox while the child takes the data.
    void giveHandoverState(this.node, c.pid, data, this.handoverTimeoutMs(), { reason: "heal", from }).then(
      (ok) => {
        this.hooks.dispatch("handoverReceived", { id, pid: c.pid, ok });
        this.send(from, { t: "merged", from: this.self, id, ok });
      },
    );
  }

  private setLocked(locked: boolean): void {
    this.locked = locked;
    this.hooks.dispatch("lockStateChanged", { locked, reason: "topology" });
  }

  private fireChanges(changes: RegistryChange[]): void {
    if (changes.length === 0) return;
    const h = this.hooks;
    for (const c of changes) {
      if (c.kind !== "unregistered") {
        const e = this.ensuring.get(c.id);
        if (e !== undefined) (e.seenOn ??= new Set()).add(c.node);
        this.stopped.delete(c.id);
      }
      if (c.kind !== "unregistered" && c.node !== this.self && this.children.byId.has(c.id)) {
        if (this.conflicts === null) {
          this.conflicts = new Set();
          this.post({ t: "$conflicts" });
        }
        this.conflicts.add(c.id);
      }
      if (c.kind === "registered") {
        if (h.has("childRegistered")) h.dispatch("childRegistered", { id: c.id, node: c.node, pid: c.pid });
      } else if (c.kind === "unregistered") {
        if (h.has("childUnregistered")) h.dispatch("childUnregistered", { id: c.id, node: c.node });
      } else h.dispatch("pidUpdated", { id: c.id, node: c.node, pid: c.pid, previous: c.previous });
    }
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
    for (const peer of this.members.keys()) this.send(peer, { t: "bye", from: this.self, inc: this.inc });
    this.alive = false;
    for (const col of [...this.collectors.values()]) col.failAll("hub_stopped");
  }
}
