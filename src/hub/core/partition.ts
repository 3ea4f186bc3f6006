/**
 * `Partition`: partition tolerance as this node lives it. A node that loses quorum (the
 * strategy's `QuorumTracker`) stops every local child, remembering it (`parked`), and refuses
 * starts and stops (mode `partitioned`); when quorum returns it restarts what nobody runs —
 * unless a member that kept quorum says (in its `hello`) that it adopted this node's children:
 * then the members' registries are the truth, and the parked children that run nowhere are only
 * claimed back (`claim`) once the registries agree, restarting those no member says it stopped.
 * Owns the quorum tracker, the parked children, the hub incarnations adopted here or parked,
 * the members that adopted this one, and the claim under way. Imports the quorum strategy, the
 * requests and ensure parts, and the context.
 */
import type { SliceEntry } from "../hub-registry.js";
import { chunksBy, type StartItem } from "../messages.js";
import { strBound } from "../../cluster/codec.js";
import { QuorumTracker } from "../strategies/quorum.js";
import { addTo, type HubContext, type HubMode, timeouts } from "./context.js";
import type { Ensurer } from "./ensure.js";
import type { Requests } from "./requests.js";
import type { RedundancySignals } from "./signals.js";

interface Claim {
  req: number;
  at: number;
  waiting: Set<string>;
  known: Set<string>;
}

export class Partition {
  readonly quorum: QuorumTracker;
  /** Children stopped for lack of quorum, restored when it returns. */
  private readonly parked = new Map<string, StartItem>();
  /** Departed hub incarnations whose children were parked here (adopted if quorum returns). */
  private readonly parkedFrom = new Map<string, number>();
  /** Departed hub incarnations whose children this hub adopted with quorum (told in `hello`). */
  private readonly adoptedFrom = new Map<string, number>();
  /** Members that said they adopted this hub's children while it was without quorum. */
  private readonly adoptedMe = new Set<string>();
  /** Parked children a member adopted that no registry showed running when quorum came back. */
  private readonly unclaimed = new Map<string, StartItem>();
  private unclaimedSince = 0;
  private claim: Claim | null = null;

  constructor(
    private readonly ctx: HubContext,
    private readonly setMode: (mode: HubMode) => void,
    private readonly requests: Requests,
    private readonly ensurer: Ensurer,
    private readonly signals: RedundancySignals,
  ) {
    this.quorum = new QuorumTracker(ctx.strategies.partition);
  }

  /** At start: a hub that needs more nodes than itself starts without quorum. */
  init(): void {
    if (!this.quorum.check(1)) this.setMode("partitioned");
  }

  /** The hub incarnations this hub adopted with quorum, for its `hello`. */
  adoptedList(): Array<[string, number]> | undefined {
    return this.adoptedFrom.size > 0 ? [...this.adoptedFrom] : undefined;
  }

  /** A member's hello listed what it adopted: did it adopt this hub's current incarnation? */
  heardHello(from: string, adopted: ReadonlyArray<[string, number]> | undefined): void {
    if (adopted?.some(([n, inc]) => n === this.ctx.self && inc === this.ctx.inc)) this.adoptedMe.add(from);
  }

  /** `node` joined this hub: whatever was adopted of an earlier incarnation of it is settled. */
  joined(node: string): void {
    this.adoptedFrom.delete(node);
  }

  /**
   * A topology change was applied (members, ring): quorum is re-evaluated, then the departed
   * nodes' orphans are parked (without quorum) or to be adopted (returned).
   */
  async changed(
    size: number,
    left: readonly string[],
    joined: readonly string[],
    leftIncs: ReadonlyMap<string, number>,
    orphans: ReadonlyMap<string, SliceEntry>,
  ): Promise<ReadonlyMap<string, SliceEntry>> {
    if (this.quorum.enabled) {
      const healthy = this.quorum.update(size, left, joined);
      if (!healthy && this.ctx.mode !== "partitioned") await this.enter();
      else if (healthy && this.ctx.mode === "partitioned") this.leave();
    }
    const partitioned = this.ctx.mode === "partitioned";
    for (const [n, inc] of leftIncs) (partitioned ? this.parkedFrom : this.adoptedFrom).set(n, inc);
    if (!partitioned) return orphans;
    for (const [id, e] of orphans) this.parked.set(id, { spec: e.spec, epoch: e.epoch, pinned: false });
    return new Map();
  }

  /** A child that stopped here after quorum was lost (its restart was under way then): parked too. */
  park(id: string, item: StartItem): void {
    this.parked.set(id, item);
  }

  /** The sync tick: quorum lost without a membership change (a dynamic window), claims. */
  sync(): Promise<void> | null {
    if (!this.quorum.check(this.ctx.view.members.size + 1) && this.ctx.mode !== "partitioned")
      return this.enter();
    this.claimParked();
    return null;
  }

  /** `resetClusterSize`: a new baseline, and quorum back if that is enough. */
  reset(size: number | undefined): void {
    this.quorum.reset(size ?? this.ctx.view.members.size + 1);
    if (this.ctx.mode === "partitioned" && this.quorum.check(this.ctx.view.members.size + 1)) this.leave();
  }

  /** Quorum lost: stop every local child (remembering it), refuse starts and stops. */
  private async enter(): Promise<void> {
    const ctx = this.ctx;
    this.setMode("partitioned");
    // What this node adopted it now parks (and restores itself): it no longer vouches for it.
    this.adoptedFrom.clear();
    ctx.hooks.dispatch("lockStateChanged", { locked: true, reason: "partition" });
    ctx.logger.warn(
      { hub: ctx.hubId, members: ctx.view.members.size + 1 },
      "hub lost quorum: stopping its children",
    );
    const ids = [...ctx.children.byId.keys()];
    for (const id of ids) {
      const c = ctx.children.byId.get(id)!;
      this.parked.set(id, { spec: c.spec, epoch: c.epoch, pinned: c.pinned });
    }
    await Promise.all(ids.map((id) => ctx.children.stop(id)));
    for (const id of ids) {
      ctx.repl.remove(id);
      this.signals.forget(id);
    }
    ctx.repl.flush();
  }

  /** Quorum back: restart (at their owners) the parked children nobody runs now. */
  private leave(): void {
    const ctx = this.ctx;
    this.setMode("running");
    ctx.hooks.dispatch("lockStateChanged", { locked: false, reason: "partition" });
    // A member that kept quorum adopted everything parked here and runs what it did not stop
    // since: restoring it would resurrect children stopped during the partition. What runs
    // nowhere is claimed back once the registries agree.
    const adoptedElsewhere = [...this.adoptedMe].some((n) => ctx.view.members.has(n));
    this.adoptedMe.clear();
    if (adoptedElsewhere) {
      for (const [id, it] of this.parked) if (!ctx.registry.exists(id)) this.unclaimed.set(id, it);
      this.unclaimedSince = Date.now();
      this.parked.clear();
      this.parkedFrom.clear();
      return;
    }
    for (const [n, inc] of this.parkedFrom) this.adoptedFrom.set(n, inc);
    this.parkedFrom.clear();
    this.restart([...this.parked].filter(([id]) => !ctx.registry.exists(id)));
    this.parked.clear();
  }

  /** Ensures `items` at their owners under a placement newer than any known (parked children back). */
  private restart(items: ReadonlyArray<[string, StartItem]>): void {
    const ctx = this.ctx;
    const groups = new Map<string, StartItem[]>();
    for (const [id, it] of items) {
      const item: StartItem = {
        spec: it.spec,
        epoch: Math.max(it.epoch, ctx.registry.epochOf(id)) + 1,
        pinned: false,
      };
      const owners = ctx.view.replicasOf(id, it.spec.behaviour);
      if (owners.length === 0) this.ensurer.unplaceable(item);
      for (const n of owners) addTo(groups, n, item);
    }
    if (groups.size > 0) this.ensurer.ensure(groups);
  }

  /**
   * Parked children a member adopted that still run nowhere, two sync rounds after the quorum came
   * back (every member's slice has arrived by then): the members are asked whether they stopped
   * them (a stop request since); those nobody knows are restarted at their owners. The rest is
   * forgotten, so a stop made during the partition is not undone as long as the node that made it
   * remembers it (`migrationTimeoutMs`; a durable store is what makes that forever).
   */
  private claimParked(): void {
    const ctx = this.ctx;
    if (this.unclaimed.size === 0 || ctx.mode === "partitioned") return;
    // A claim some member never answered (it left, the answer was lost) is asked again.
    if (this.claim !== null && Date.now() - this.claim.at < timeouts.migrationMs(ctx.tuning)) return;
    for (const id of [...this.unclaimed.keys()]) if (ctx.registry.exists(id)) this.unclaimed.delete(id);
    const interval = timeouts.syncMs(ctx.tuning, ctx.strategies);
    if (this.unclaimed.size === 0 || Date.now() - this.unclaimedSince < 2 * interval) return;
    const req = this.requests.number();
    const members = ctx.view.members;
    const ids: Array<[string, number]> = [...this.unclaimed].map(([id, it]) => [id, it.epoch]);
    this.claim = { req, at: Date.now(), waiting: new Set(members.keys()), known: new Set() };
    for (const n of members.keys())
      for (const part of chunksBy(ids, claimBytes))
        ctx.send(n, { t: "claim", from: ctx.self, req, ids: part });
    if (members.size === 0) this.onClaimed(ctx.self, req, []);
  }

  /** A member asks which of `ids` this node stopped since (or runs): it answers with those. */
  onClaim(from: string, req: number, ids: Array<[string, number]>): void {
    const ctx = this.ctx;
    if (!ctx.view.members.has(from)) return;
    const known: string[] = [];
    for (const [id, epoch] of ids)
      if (this.ensurer.stoppedSince(id, epoch) || this.ensurer.stopHeard(id) || ctx.children.byId.has(id))
        known.push(id);
    ctx.send(from, { t: "claimed", from: ctx.self, req, known });
  }

  onClaimed(from: string, req: number, known: string[]): void {
    const ctx = this.ctx;
    const c = this.claim;
    if (c === null || c.req !== req) return;
    for (const id of known) c.known.add(id);
    c.waiting.delete(from);
    for (const n of c.waiting) if (!ctx.view.members.has(n)) c.waiting.delete(n);
    if (c.waiting.size > 0) return;
    this.claim = null;
    const nowhere = [...this.unclaimed].filter(([id]) => !c.known.has(id) && !ctx.registry.exists(id));
    if (nowhere.length > 0)
      ctx.logger.warn(
        { hub: ctx.hubId, restarted: nowhere.length },
        "hub restarts parked children that ran nowhere after the partition",
      );
    this.unclaimed.clear();
    this.restart(nowhere);
  }
}

/** Bound of one `[id, epoch]` pair of a claim. */
function claimBytes(e: [string, number]): number {
  return 1 + strBound(e[0]) + 9;
}
