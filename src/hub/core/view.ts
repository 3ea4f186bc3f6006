/**
 * `HubView`: the hub's members as this node sees them — who is in (with their hub incarnations),
 * who is about to join or leave, which behaviours each registered, and the hash ring over the
 * members (and, for a behaviour that only some of them registered, over those). The topology part is its
 * only writer; every other part reads it. Imports the hash ring and the redundancy and gossip
 * strategies.
 */
import { HashRing } from "../hash-ring.js";
import { pickRecipients } from "../strategies/gossip.js";
import type { HubStrategies } from "../strategies/options.js";
import { replicasOf } from "../strategies/redundancy.js";

export class HubView {
  /** Other hub nodes and their hub incarnations. */
  readonly members = new Map<string, number>();
  /** Nodes whose hello announced a (new) hub incarnation, admitted at the next topology change. */
  readonly pendingJoin = new Map<string, number>();
  /** Members (or nodes whose slice arrived) seen gone, removed at the next topology change. */
  readonly pendingLeave = new Set<string>();
  /** A topology change is scheduled (debounced) and not yet handled. */
  scheduled = false;
  ring: HashRing;
  /** The behaviours each node's hello announced (this node's own: `ownBehaviours`). */
  private readonly advertised = new Map<string, ReadonlySet<string>>();
  private readonly idempotentByBehaviour = new Map<string, ReadonlySet<string>>();
  /** Per behaviour: the ring of the nodes that registered it (null: all did; undefined: none). */
  private readonly rings = new Map<string, HashRing | null | undefined>();
  /** The same over the members alone (this node leaving: drains, graceful hand-overs). */
  private readonly ringsWithoutSelf = new Map<string, HashRing | undefined>();

  constructor(
    readonly self: string,
    private readonly vnodes: number,
    private readonly strategies: HubStrategies,
    private readonly ownBehaviours: ReadonlySet<string>,
  ) {
    this.ring = new HashRing([self], vnodes);
  }

  /** `node`'s hello announced these behaviours. */
  advertise(node: string, behaviours: readonly string[]): void {
    const before = this.advertised.get(node);
    if (before !== undefined && before.size === behaviours.length && behaviours.every((b) => before.has(b)))
      return;
    this.advertised.set(node, new Set(behaviours));
    this.rings.clear();
    this.ringsWithoutSelf.clear();
  }

  /**
   * Idempotent messages of behaviours as members' hellos declared them: for a behaviour this
   * node does not register (a client-only node), what a reference may deliver again.
   */
  learnIdempotent(declared: ReadonlyArray<[string, string[]]>): void {
    for (const [behaviour, names] of declared)
      if (!this.ownBehaviours.has(behaviour)) this.idempotentByBehaviour.set(behaviour, new Set(names));
  }

  /** The idempotent messages of `behaviour` a member declared (undefined: none heard of). */
  idempotentOf(behaviour: string): ReadonlySet<string> | undefined {
    return this.idempotentByBehaviour.get(behaviour);
  }

  /** Whether `node` registered `behaviour` (a node whose hello is not in yet is assumed to). */
  has(node: string, behaviour: string): boolean {
    if (node === this.self) return this.ownBehaviours.has(behaviour);
    return this.advertised.get(node)?.has(behaviour) ?? true;
  }

  /** Whether this node or a member registered `behaviour`. */
  anyHas(behaviour: string): boolean {
    return this.ringFor(behaviour) !== undefined;
  }

  /** This node and the members, sorted. */
  names(): string[] {
    return [this.self, ...this.members.keys()].sort();
  }

  /** Rebuilds the ring from the members (after a topology change). */
  rebuildRing(): void {
    this.ring = new HashRing(this.names(), this.vnodes);
    this.rings.clear();
    this.ringsWithoutSelf.clear();
    for (const n of this.advertised.keys()) if (!this.isMember(n)) this.advertised.delete(n);
  }

  /** Owner of `id` on the current ring. */
  ownerOf(id: string): string {
    return this.ring.owner(id) ?? this.self;
  }

  /** The nodes that should run `id` (redundancy strategy), owner first, on the ring of all members. */
  replicas(id: string): string[] {
    return replicasOf(this.ring, id, this.strategies.redundancy);
  }

  /**
   * The nodes that should run child `id` of `behaviour`: its replicas on the ring of the nodes
   * that registered the behaviour (the whole ring when all did, the usual case); none when no
   * node did.
   */
  replicasOf(id: string, behaviour: string): string[] {
    const ring = this.ringFor(behaviour);
    if (ring === undefined) return [];
    return replicasOf(ring ?? this.ring, id, this.strategies.redundancy);
  }

  /** `replicasOf` on the ring without this node (where its children go when it leaves); none when no member can run it. */
  replicasWithoutSelf(id: string, behaviour: string): string[] {
    if (!this.ringsWithoutSelf.has(behaviour)) {
      const able = [...this.members.keys()].filter((n) => this.has(n, behaviour));
      this.ringsWithoutSelf.set(behaviour, able.length === 0 ? undefined : new HashRing(able, this.vnodes));
    }
    const ring = this.ringsWithoutSelf.get(behaviour);
    return ring === undefined ? [] : replicasOf(ring, id, this.strategies.redundancy);
  }

  private ringFor(behaviour: string): HashRing | null | undefined {
    if (this.rings.has(behaviour)) return this.rings.get(behaviour);
    const names = this.names();
    const able = names.filter((n) => this.has(n, behaviour));
    const ring =
      able.length === names.length ? null : able.length === 0 ? undefined : new HashRing(able, this.vnodes);
    this.rings.set(behaviour, ring);
    return ring;
  }

  /** This node or a member. */
  isMember(node: string): boolean {
    return node === this.self || this.members.has(node);
  }

  /** A member, this node, or a node joining. */
  knows(node: string): boolean {
    return this.isMember(node) || this.pendingJoin.has(node);
  }

  /** A member or a node joining (not this node). */
  isPeer(node: string): boolean {
    return this.members.has(node) || this.pendingJoin.has(node);
  }

  /**
   * Whether departures are waiting to be handled here. Moves and adoptions are refused
   * meanwhile: a node that has just found its peers gone (it was frozen past the heartbeat
   * timeout) would otherwise start children it may be about to stop for lack of quorum. Pending
   * joins alone do not count: a join never costs quorum, and refusing every move during a heal
   * multiplies retries (each one a chance to act on a stale view).
   */
  changePending(): boolean {
    return this.pendingLeave.size > 0;
  }

  /**
   * Recipients of a delta: every peer, or a few random ones (gossip), and every node joining.
   * A joiner got our slice with our hello, but is admitted here only at the next topology
   * change; children started meanwhile (often the very ones moving to it) must reach it too,
   * or its copy of our slice lags until the next full sync and every later delta is a gap.
   */
  syncTargets(exclude: readonly string[] = []): Iterable<string> {
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
}
