/**
 * `Topology`: who is in this hub. Hellos announce hub incarnations; node-down events, byes and
 * dead hub processes announce departures; both wait in the view's pending sets and are handled as
 * one debounced change: `diffTopology` (pure) says who joined and who left, then the change is
 * applied — members and ring, the departed nodes' registry slices dropped and their children
 * (and those handed to them) adopted, quorum re-evaluated, children rebalanced. While a change
 * is being applied the hub is locked (`changing`). Owns the view's writes, the lock, and the
 * monitors of the members' hub processes. Imports the process messages, the hub registry and
 * messages, and the other parts.
 */
import type { DownMessage } from "../../process/messages.js";
import type { Ref } from "../../process/pid.js";
import type { RegistryChange, SliceEntry } from "../hub-registry.js";
import { idempotentNames } from "../entities/entity.js";
import type { HelloMsg, HubWireMsg, StartItem } from "../messages.js";
import { addTo, type HubContext } from "./context.js";
import type { Ensurer } from "./ensure.js";
import type { Migration } from "./migration.js";
import type { Partition } from "./partition.js";
import type { Requests } from "./requests.js";
import type { RedundancySignals } from "./signals.js";
import type { HubView } from "./view.js";

/** The nodes that joined and left in one change. */
export interface TopologyDiff {
  joined: string[];
  left: string[];
}

/**
 * Who joined and who left, from the members (name → hub incarnation), the pending joins and
 * leaves, and whether a node is known to have a registry slice here. A pending leave counts if
 * the node is a member or has a slice; a pending join counts unless it is a member under the
 * same incarnation; a member joining under a new incarnation leaves first (a restart).
 */
export function diffTopology(
  members: ReadonlyMap<string, number>,
  pendingJoin: ReadonlyMap<string, number>,
  pendingLeave: ReadonlySet<string>,
  hasSlice: (node: string) => boolean,
): TopologyDiff {
  const joined: string[] = [];
  const left: string[] = [];
  for (const node of pendingLeave) if (members.has(node) || hasSlice(node)) left.push(node);
  for (const [node, inc] of pendingJoin) {
    const known = members.get(node);
    if (known === inc) continue;
    if (known !== undefined && !left.includes(node)) left.push(node);
    joined.push(node);
  }
  return { joined, left };
}

/** What the topology asks of the hub process shell. */
export interface TopologyHost {
  /** Registry changes to pass on (hooks, duplicates, ensures). */
  changes(changes: RegistryChange[]): void;
  /** After every change handled (static children start once). */
  settled(): void;
}

export class Topology {
  /** A change is being applied: the hub is locked. */
  changing = false;
  private readonly monitors = new Map<string, Ref>();
  /** The behaviours registered here, announced in every hello. */
  private readonly behaviours: string[];
  /** Their entity declarations' idempotent messages, announced with them (when any). */
  private readonly idempotent: Array<[string, string[]]> = [];

  constructor(
    private readonly ctx: HubContext,
    private readonly view: HubView,
    private readonly host: TopologyHost,
    private readonly requests: Requests,
    private readonly ensurer: Ensurer,
    private readonly partition: Partition,
    private readonly migration: Migration,
    private readonly signals: RedundancySignals,
  ) {
    this.behaviours = [...ctx.behaviours.keys()];
    for (const [name, b] of ctx.behaviours) {
      const names = idempotentNames(b);
      if (names.size > 0) this.idempotent.push([name, [...names]]);
    }
  }

  /** Announces this hub to `node`; `reply` asks for a hello back. */
  hello(node: string, reply: boolean): void {
    const ctx = this.ctx;
    const msg: HubWireMsg = { t: "hello", from: ctx.self, inc: ctx.inc, reply, behaviours: this.behaviours };
    if (this.idempotent.length > 0) msg.idempotent = this.idempotent;
    const adopted = this.partition.adoptedList();
    if (adopted !== undefined) msg.adopted = adopted;
    ctx.send(node, msg);
  }

  onHello(m: HelloMsg): void {
    const { ctx, view } = this;
    const { from, inc, reply } = m;
    if (from === ctx.self) return;
    this.partition.heardHello(from, m.adopted);
    if (m.behaviours !== undefined) view.advertise(from, m.behaviours);
    if (m.idempotent !== undefined) view.learnIdempotent(m.idempotent);
    if (reply) this.hello(from, false);
    if (view.members.get(from) === inc) {
      if (!this.monitors.has(from)) this.watchHub(from);
    } else {
      view.pendingJoin.set(from, inc);
      view.pendingLeave.delete(from);
      this.schedule();
    }
    ctx.repl.sendSlice([from]);
  }

  /** A member said goodbye (graceful stop): gone, if it is that incarnation. */
  onBye(from: string, inc: number): void {
    if (this.view.members.get(from) === inc) this.gone(from);
  }

  /** `node` is gone (its node went down, it stopped, or its hub process died). */
  gone(node: string): void {
    const { view, ctx } = this;
    view.pendingJoin.delete(node);
    const known = view.members.has(node) || ctx.registry.sliceVersion(node) !== undefined;
    if (known) view.pendingLeave.add(node);
    this.requests.nodeDown(node);
    // A node can be gone before it became a member here, yet its slice may have arrived.
    if (known) this.schedule();
  }

  /** The sync tick: a node with a slice here that is no member and not joining is gone. */
  sweep(): void {
    const { view, ctx } = this;
    for (const n of ctx.registry.nodes()) if (n !== ctx.self && !view.isPeer(n)) this.gone(n);
  }

  /** A member's hub process died (its node may live on): the same as that member leaving. */
  onHubDown(msg: DownMessage): void {
    for (const [node, ref] of this.monitors) {
      if (!ref.equals(msg.ref)) continue;
      this.monitors.delete(node);
      // The node itself went away: its membership event says so (and the monitor is re-armed at
      // the next hello if the session was only reset).
      if (msg.reason === "noconnection") return;
      this.ctx.logger.warn(
        { hub: this.ctx.hubId, node, reason: String(msg.reason) },
        "a member's hub process died",
      );
      this.gone(node);
      return;
    }
  }

  private schedule(): void {
    const view = this.view;
    if (view.scheduled) return;
    view.scheduled = true;
    const t = setTimeout(() => this.ctx.post({ t: "$topology" }), this.ctx.tuning.clusterEventDebounceMs);
    t.unref?.();
  }

  /** The debounced change: diff, then apply. */
  async onTopology(): Promise<void> {
    const { view, ctx } = this;
    view.scheduled = false;
    const diff = diffTopology(
      view.members,
      view.pendingJoin,
      view.pendingLeave,
      (n) => ctx.registry.sliceVersion(n) !== undefined,
    );
    const joins = new Map(view.pendingJoin);
    view.pendingJoin.clear();
    view.pendingLeave.clear();
    if (diff.joined.length === 0 && diff.left.length === 0) return;
    await this.apply(diff, joins);
  }

  private async apply({ joined, left }: TopologyDiff, joins: ReadonlyMap<string, number>): Promise<void> {
    const { view, ctx } = this;
    const t0 = performance.now();
    this.setLocked(true);
    for (const n of joined) ctx.hooks.dispatch("preNodeJoin", { node: n });
    for (const n of left) ctx.hooks.dispatch("preNodeLeave", { node: n });
    const leftIncs = new Map<string, number>();
    const orphans = new Map<string, SliceEntry>();
    for (const node of left) {
      leftIncs.set(node, view.members.get(node) ?? ctx.registry.sliceVersion(node)?.incarnation ?? 0);
      this.drop(node, orphans);
    }
    for (const node of joined) {
      view.members.set(node, joins.get(node)!);
      this.partition.joined(node);
      this.watchHub(node);
    }
    view.rebuildRing();
    const change = { joined, left, members: view.names() };
    const toAdopt = await this.partition.changed(change.members.length, left, joined, leftIncs, orphans);
    ctx.hooks.dispatch("preRedistribution", change);
    const adopted = this.adopt(toAdopt);
    this.ensurer.rehome();
    const migrated = await this.migration.rebalance();
    this.signals.resignal();
    for (const n of joined) ctx.hooks.dispatch("postNodeJoin", { node: n });
    for (const n of left) ctx.hooks.dispatch("postNodeLeave", { node: n });
    ctx.hooks.dispatch("postRedistribution", {
      ...change,
      migrated,
      adopted,
      durationMs: performance.now() - t0,
    });
    this.setLocked(false);
    this.host.settled();
  }

  /** `node` leaves: out of the members and the registry; what ran only there is an orphan. */
  private drop(node: string, orphans: Map<string, SliceEntry>): void {
    const ctx = this.ctx;
    this.view.members.delete(node);
    this.unwatchHub(node);
    ctx.repl.forget(node);
    // Before its slice goes: whether a hand-off was superseded reads that slice's version.
    const handed = this.ensurer.takeHandedOff(node);
    const changes: RegistryChange[] = [];
    const held = ctx.registry.dropNode(node, changes);
    this.host.changes(changes);
    for (const [id, e] of held) if (!ctx.registry.exists(id)) orphans.set(id, e);
    for (const [id, e] of handed) if (!ctx.registry.exists(id)) orphans.set(id, e);
  }

  /** Children that ran only on departed nodes: every survivor asks the new owners to ensure them. */
  private adopt(orphans: ReadonlyMap<string, SliceEntry>): number {
    if (orphans.size === 0) return 0;
    const groups = new Map<string, StartItem[]>();
    for (const [id, e] of orphans) {
      const item: StartItem = { spec: e.spec, epoch: e.epoch + 1, pinned: false };
      const owners = this.view.replicasOf(id, e.spec.behaviour);
      if (owners.length === 0) this.ensurer.unplaceable(item);
      for (const owner of owners) addTo(groups, owner, item);
    }
    this.ensurer.ensure(groups);
    return groups.get(this.ctx.self)?.length ?? 0;
  }

  private setLocked(locked: boolean): void {
    this.changing = locked;
    this.ctx.hooks.dispatch("lockStateChanged", { locked, reason: "topology" });
  }

  /** Watches `node`'s hub process from now on (a new member, or a member under a new incarnation). */
  private watchHub(node: string): void {
    const ctx = this.ctx;
    const old = this.monitors.get(node);
    if (old !== undefined) ctx.node.demonitor(old, {}, ctx.pid);
    this.monitors.delete(node);
    // A hub over a membership of its own (no cluster router: tests, embedding) has nothing to watch.
    if (ctx.node.router === null) return;
    this.monitors.set(node, ctx.node.monitor({ name: hubName(ctx.hubId), node }, ctx.pid));
  }

  private unwatchHub(node: string): void {
    const ref = this.monitors.get(node);
    if (ref === undefined) return;
    this.monitors.delete(node);
    this.ctx.node.demonitor(ref, {}, this.ctx.pid);
  }
}

/** The local process name of hub `hubId`'s process on every node. */
export function hubName(hubId: string): string {
  return `hubvisor.hub.${hubId}`;
}
