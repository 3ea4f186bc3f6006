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
import { ExitMessage } from "../process/messages.js";
import type { Node } from "../process/node.js";
import type { Pid } from "../process/pid.js";
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
  isWireMsg,
  itemIn,
  itemOut,
  type StartItem,
  type StartMsg,
  type StopMsg,
} from "./messages.js";
import type { HubTuning } from "./options.js";
import { Replicator } from "./replicator.js";
import type { HubErrorReason, StartResult, StopResult } from "./results.js";

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
  private topologyScheduled = false;
  private readonly timers: Array<ReturnType<typeof setInterval>> = [];
  private readonly unsubscribe: Array<() => void> = [];
  private readonly name: string;
  /** Starts the static child specs; run once, after the first topology change or discovery round. */
  staticStart: (() => void) | null = null;

  constructor(
    readonly hubId: string,
    readonly node: Node,
    private readonly membership: HubMembership,
    private readonly behaviours: ReadonlyMap<string, HubBehaviour>,
    readonly tuning: HubTuning,
    readonly hooks: HubHooks,
    private readonly logger: Logger,
  ) {
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
      () => this.members.keys(),
      (c) => this.fireChanges(c),
    );
    this.unsubscribe.push(this.membership.onPeerUp((n) => this.post({ t: "$peer_up", node: n })));
    this.unsubscribe.push(this.membership.onPeerDown((n) => this.post({ t: "$peer_down", node: n })));
    const every = (ms: number, msg: HubLocalMsg) => {
      const t = setInterval(() => this.post(msg), ms);
      t.unref?.();
      this.timers.push(t);
    };
    every(this.tuning.syncIntervalMs, { t: "$sync" });
    every(this.tuning.discoverIntervalMs, { t: "$discover" });
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

  isMember(node: string): boolean {
    return node === this.self || this.members.has(node);
  }

  post(msg: HubLocalMsg | HubWireMsg): void {
    if (this.alive) this.node.send(this.pid, msg);
  }

  private send(node: string, msg: HubWireMsg): void {
    if (node === this.self) return this.post(msg);
    try {
      this.node.send({ name: this.name, node }, msg);
    } catch (e) {
      this.logger.debug({ hub: this.hubId, node, err: e }, "hub message not sent");
    }
  }

  private hello(node: string, reply: boolean): void {
    this.send(node, { t: "hello", from: this.self, inc: this.inc, reply });
  }

  // ------------------------------------------------------------------ requests from the handle

  /** Sends starts grouped by target node; with `onDone`, collects the answers. */
  dispatchStart(
    groups: Map<string, StartItem[]>,
    timeoutMs: number,
    onDone: ((r: StartResult) => void) | null,
    ensure = false,
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
      col.maybeFinish();
    }
    for (const [node, list] of groups) {
      for (const items of chunks(list)) {
        this.send(node, { t: "start", req, origin: this.self, items: items.map(itemOut), hops: 0, ensure });
      }
    }
  }

  dispatchStop(ids: readonly string[], timeoutMs: number, onDone: ((r: StopResult) => void) | null): void {
    const groups = new Map<string, string[]>();
    for (const id of ids) {
      const targets = new Set<string>([this.ownerOf(id)]);
      for (const np of this.registry.lookup(id)?.nodes ?? [])
        if (this.isMember(np.node)) targets.add(np.node);
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
      col.maybeFinish();
    }
    for (const [node, list] of groups) {
      for (const part of chunks(list)) this.send(node, { t: "stop", req, origin: this.self, ids: part });
    }
  }

  // ------------------------------------------------------------------ the process handler

  readonly handle = (msg: unknown): unknown => {
    if (msg instanceof ExitMessage) return this.onExit(msg);
    if (!isWireMsg(msg)) return this.onLocal(msg as HubLocalMsg);
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
        return this.onHello(msg.from, msg.inc, msg.reply);
      case "bye":
        if (this.members.get(msg.from) === msg.inc) this.peerGone(msg.from);
        return;
      case "delta":
        if (this.isMember(msg.from) || this.pendingJoin.has(msg.from)) this.repl.onDelta(msg);
        return;
      case "slice":
        if (this.isMember(msg.from) || this.pendingJoin.has(msg.from)) this.repl.onSlice(msg);
        return;
      case "syncreq":
        if (this.members.has(msg.from)) this.repl.sendSlice([msg.from]);
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
        for (const n of this.registry.nodes()) {
          if (n !== this.self && !this.members.has(n) && !this.pendingJoin.has(n)) this.peerGone(n);
        }
        this.repl.sendSlice(this.members.keys());
        return this.rebalance();
      case "$discover":
        this.runStaticStart();
        for (const p of this.membership.peers()) if (!this.members.has(p)) this.hello(p, true);
        return;
      case "$stop":
        return this.shutdown().then(msg.done);
    }
  }

  private async onStart(m: StartMsg): Promise<void> {
    const local: StartItem[] = [];
    const forward = new Map<string, StartItem[]>();
    const ok: Array<[string, Pid]> = [];
    const failed: Array<[string, HubErrorReason, string | undefined]> = [];
    for (const w of m.items) {
      const it = itemIn(w);
      const owner = it.pinned ? this.self : this.ownerOf(it.spec.id);
      const running = this.children.byId.get(it.spec.id);
      if (owner !== this.self && m.hops < this.tuning.maxForwards && this.members.has(owner)) {
        const f = forward.get(owner);
        if (f === undefined) forward.set(owner, [it]);
        else f.push(it);
      } else if (running !== undefined) {
        if (m.ensure) ok.push([it.spec.id, running.pid]);
        else failed.push([it.spec.id, "already_started", String(running.pid)]);
      } else local.push(it);
    }
    for (const [to, items] of forward) {
      const ids = items.map((i) => i.spec.id);
      this.hooks.dispatch("startForwarded", { to, ids });
      if (m.req === null) this.send(to, { ...m, items: items.map(itemOut), hops: m.hops + 1 });
      else this.send(m.origin, { t: "forwarded", req: m.req, node: this.self, to, ids });
    }
    if (local.length > 0) {
      this.hooks.dispatch("preChildrenStart", { ids: local.map((i) => i.spec.id) });
      const started: Array<{ id: string; node: string; pid: Pid }> = [];
      for (const batch of chunks(local, this.tuning.startBatchSize)) {
        const outcomes = await this.children.startMany(batch);
        outcomes.forEach((o, i) => {
          const it = batch[i]!;
          if ("pid" in o) {
            this.repl.put(o.id, { spec: it.spec, pid: o.pid, epoch: it.epoch });
            ok.push([o.id, o.pid]);
            started.push({ id: o.id, node: this.self, pid: o.pid });
          } else failed.push([o.id, o.reason, o.detail]);
        });
        this.repl.flush();
      }
      this.hooks.dispatch("postChildrenStart", { started, failed: failed.map((f) => f[0]) });
    }
    if (m.req !== null) {
      const req = m.req;
      const parts = Math.max(1, Math.ceil((ok.length + failed.length) / 1000));
      for (let i = 0; i < parts; i++) {
        this.send(m.origin, {
          t: "started",
          req,
          node: this.self,
          ok: ok.slice(i * 1000, (i + 1) * 1000),
          failed: failed.slice(i * 1000, (i + 1) * 1000),
        });
      }
    }
  }

  private onForwarded(req: number, node: string, to: string, ids: string[]): void {
    const col = this.collectors.get(req);
    const items = this.reqItems.get(req);
    if (!(col instanceof StartCollector) || items === undefined) return;
    col.forwarded(node, to, ids);
    const list = ids.map((id) => items.get(id)).filter((i): i is StartItem => i !== undefined);
    for (const part of chunks(list)) {
      this.send(to, { t: "start", req, origin: this.self, items: part.map(itemOut), hops: 1, ensure: false });
    }
  }

  private async onStop(m: StopMsg): Promise<void> {
    const ok: string[] = [];
    const missing: string[] = [];
    await Promise.all(
      m.ids.map(async (id) => {
        if (await this.children.stop(id)) ok.push(id);
        else missing.push(id);
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
    if (d.kind === "remove") {
      this.repl.remove(child.spec.id);
      this.repl.flush();
      return;
    }
    return this.children.startOne(child.spec).then((o) => {
      if ("pid" in o) {
        this.children.record(child.spec, o.pid, child.epoch, child.pinned, child.restarts);
        this.repl.put(child.spec.id, { spec: child.spec, pid: o.pid, epoch: child.epoch });
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
    if (this.members.get(from) !== inc) {
      this.pendingJoin.set(from, inc);
      this.pendingLeave.delete(from);
      this.scheduleTopology();
    }
    this.repl.sendSlice([from]);
  }

  private peerGone(node: string): void {
    this.pendingJoin.delete(node);
    // A node can be gone before it became a member here, yet its slice may have arrived.
    if (!this.members.has(node) && this.registry.sliceVersion(node) === undefined) return;
    this.pendingLeave.add(node);
    for (const col of this.collectors.values()) col.fail(node, "node_down");
    this.scheduleTopology();
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
    for (const node of left) {
      this.members.delete(node);
      this.repl.forget(node);
      const changes: RegistryChange[] = [];
      const held = this.registry.dropNode(node, changes);
      this.fireChanges(changes);
      for (const [id, e] of held) if (!this.registry.exists(id)) orphans.set(id, e);
    }
    for (const node of joined) this.members.set(node, joins.get(node)!);
    this.ring = new HashRing(members(), this.tuning.vnodes);
    const change = { joined, left, members: members() };
    this.hooks.dispatch("preRedistribution", change);
    const adopted = this.adopt(orphans);
    const migrated = await this.rebalance();
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
      const owner = this.ownerOf(id);
      const item: StartItem = { spec: e.spec, epoch: e.epoch + 1, pinned: false };
      const g = groups.get(owner);
      if (g === undefined) groups.set(owner, [item]);
      else g.push(item);
    }
    this.ensure(groups);
    return groups.get(this.self)?.length ?? 0;
  }

  /** Starts children at their owners, idempotently; anything lost on the way is retried. */
  private ensure(groups: Map<string, StartItem[]>): void {
    const byId = new Map<string, StartItem>();
    for (const list of groups.values()) for (const it of list) byId.set(it.spec.id, it);
    this.dispatchStart(
      groups,
      this.tuning.migrationTimeoutMs,
      (r) => {
        const retry = new Map<string, StartItem[]>();
        for (const e of r.errors) {
          if (e.reason !== "node_down" && e.reason !== "node_receive_timeout") continue;
          const it = byId.get(e.id);
          if (it === undefined || this.registry.exists(e.id) || !this.alive) continue;
          const owner = this.ownerOf(e.id);
          const g = retry.get(owner);
          if (g === undefined) retry.set(owner, [it]);
          else g.push(it);
        }
        if (retry.size > 0) this.ensure(retry);
      },
      true,
    );
  }

  /** Cold-swaps local children whose ring owner is another hub node; returns how many moved. */
  private async rebalance(): Promise<number> {
    const moving = new Map<string, StartItem[]>();
    for (const [id, c] of this.children.byId) {
      if (c.pinned) continue;
      const owner = this.ownerOf(id);
      if (owner === this.self || !this.members.has(owner)) continue;
      const g = moving.get(owner);
      const item: StartItem = { spec: c.spec, epoch: c.epoch + 1, pinned: false };
      if (g === undefined) moving.set(owner, [item]);
      else g.push(item);
    }
    if (moving.size === 0) return 0;
    let n = 0;
    for (const [to, items] of moving) {
      await Promise.all(items.map((it) => this.children.stop(it.spec.id)));
      for (const it of items) this.repl.remove(it.spec.id);
      n += items.length;
      this.hooks.dispatch("childrenMigrated", { to, ids: items.map((i) => i.spec.id) });
    }
    this.repl.flush();
    this.ensure(moving);
    return n;
  }

  private setLocked(locked: boolean): void {
    this.locked = locked;
    this.hooks.dispatch("lockStateChanged", { locked });
  }

  private fireChanges(changes: RegistryChange[]): void {
    if (changes.length === 0) return;
    const h = this.hooks;
    for (const c of changes) {
      if (c.kind === "registered") h.dispatch("childRegistered", { id: c.id, node: c.node, pid: c.pid });
      else if (c.kind === "unregistered") h.dispatch("childUnregistered", { id: c.id, node: c.node });
      else h.dispatch("pidUpdated", { id: c.id, node: c.node, pid: c.pid, previous: c.previous });
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
