/**
 * `Ensurer`: starting children where they belong, idempotently, when nobody asked for it — moves,
 * adoptions, missing replicas, parked children coming back — and the rules that keep that from
 * undoing a stop. All of them in one place, because they only make sense together:
 *
 * 1. **Retry only what is truly gone.** An ensure that fails because its target is gone
 *    (`node_down`) or refused it (stopping, partitioned, settling its membership) is retried
 *    after the membership change that failure causes, at the owners then — unless the id was
 *    seen registered somewhere, at the ensured epoch or newer, since the ensure was sent
 *    (`ensuring`): seen and gone again means stopped, or adopted when its host leaves, and a
 *    retry would resurrect it; an older placement seen is a stale copy and proves nothing. A target that
 *    merely timed out is not retried: it lives and most likely runs the child. What a node that
 *    refused because it is stopping or without quorum shows in its slice does not count as
 *    running (it is stopping those children); a node settling its membership does run them.
 * 2. **Tombstones.** A child stopped here by a stop request is remembered (epoch, time) for
 *    `migrationTimeoutMs`, or until it is registered anywhere again: a later ensure of that
 *    placement or an older one (another survivor's adoption, a move overtaken by the stop) is
 *    refused with `not_found`.
 * 3. **Handed-off children.** A child handed to a node that answered before its slice here
 *    showed the child is an orphan too if that node leaves — unless a newer slice of it (push
 *    synchronization) no longer lists it: then it was stopped there.
 *
 * Imports the hub registry and messages, the requests part and the context.
 */
import type { RegistryChange, SliceEntry } from "../hub-registry.js";
import type { StartItem } from "../messages.js";
import type { StartResult } from "../results.js";
import { addTo, type HubContext, timeouts } from "./context.js";
import type { Requests } from "./requests.js";

/** How many `migrationTimeoutMs` a stop request is remembered for claims (`stopLog`). */
const STOP_LOG_FACTOR = 6;

/** A child handed to another node, and the version of that node's slice seen when it answered. */
interface HandedOff {
  entry: SliceEntry;
  incarnation: number;
  seq: number;
}

export class Ensurer {
  /** Per receiving node: children handed to it that its slice here does not show yet. */
  private readonly handedOff = new Map<string, Map<string, HandedOff>>();
  /** Ids of pending ensures, and the nodes a placement of the id was registered on since the latest one was sent. */
  private readonly ensuring = new Map<
    string,
    { pending: number; epoch: number; seenOn: Set<string> | null; stopRequested: boolean }
  >();
  /** Tombstones: children stopped here by a stop request. */
  private readonly stopped = new Map<string, { epoch: number; at: number }>();
  /**
   * When a stop request for each id last reached this node, kept `STOP_LOG_FACTOR` ×
   * `migrationTimeoutMs` and not dropped when the id registers again (unlike tombstones): a
   * node's stale slice after a heal re-registers what was stopped during the partition, and the
   * claim of a node that lost quorum must still hear that it was stopped.
   */
  private readonly stopLog = new Map<string, number>();
  /**
   * Children that must run but that no member can start (none registered their behaviour): kept,
   * and ensured again when the hub's membership changes.
   */
  private readonly homeless = new Map<string, StartItem>();

  constructor(
    private readonly ctx: HubContext,
    private readonly requests: Requests,
  ) {}

  /** Starts children at the nodes they are grouped by, idempotently; what is lost on the way is retried. */
  ensure(groups: ReadonlyMap<string, StartItem[]>): void {
    const byId = new Map<string, StartItem>();
    for (const list of groups.values()) for (const it of list) byId.set(it.spec.id, it);
    for (const [id, it] of byId) {
      const e = this.ensuring.get(id);
      if (e === undefined)
        this.ensuring.set(id, { pending: 1, epoch: it.epoch, seenOn: null, stopRequested: false });
      else {
        e.pending++;
        e.epoch = it.epoch;
        e.seenOn = null;
        e.stopRequested = false;
      }
    }
    this.requests.start(groups, {
      timeoutMs: timeouts.migrationMs(this.ctx.tuning),
      ensure: true,
      onDone: (r) => this.settled(byId, r),
    });
  }

  /** A placement was registered or replaced somewhere: not stopped after all, and seen. */
  noteChange(c: RegistryChange): void {
    if (c.kind === "unregistered") return;
    // Only the ensured placement or a newer one counts as seen: an older one is a stale copy (a
    // node frozen past the timeout still lists what its peers adopted since) and proves nothing.
    const e = this.ensuring.get(c.id);
    if (e !== undefined && (this.ctx.registry.sliceOf(c.node).get(c.id)?.epoch ?? -1) >= e.epoch)
      (e.seenOn ??= new Set()).add(c.node);
    this.stopped.delete(c.id);
  }

  /** `it` must run, but no node registered its behaviour: kept until one joins (`rehome`). */
  unplaceable(it: StartItem): void {
    if (this.homeless.has(it.spec.id)) return;
    this.homeless.set(it.spec.id, it);
    this.ctx.logger.error(
      { hub: this.ctx.hubId, id: it.spec.id, behaviour: it.spec.behaviour },
      "hub child kept without a node: no member registered its behaviour",
    );
  }

  /** After a membership change: the children kept without a node go to members that can run them now. */
  rehome(): void {
    if (this.homeless.size === 0) return;
    const groups = new Map<string, StartItem[]>();
    for (const [id, it] of this.homeless) {
      if (this.ctx.registry.exists(id)) {
        this.homeless.delete(id);
        continue;
      }
      const owners = this.ctx.view.replicasOf(id, it.spec.behaviour);
      if (owners.length === 0) continue;
      this.homeless.delete(id);
      for (const n of owners) addTo(groups, n, it);
    }
    if (groups.size > 0) this.ensure(groups);
  }

  /** Remembers that a stop request stopped `id` (placement `epoch`) here. */
  tombstone(id: string, epoch: number, at: number): void {
    this.stopped.set(id, { epoch, at });
    this.stopRequested(id);
  }

  /**
   * A stop request for `id` reached this node (every member hears every stop), whether or not a
   * copy ran here: an ensure of `id` this node sent before is not retried — its target refused
   * or was gone, so no placement of it registered, and "seen and gone again" cannot tell.
   */
  stopRequested(id: string): void {
    this.stopLog.set(id, Date.now());
    this.homeless.delete(id);
    const e = this.ensuring.get(id);
    if (e !== undefined) e.stopRequested = true;
  }

  /** Whether a stop request for `id` reached this node lately (see `stopLog`). */
  stopHeard(id: string): boolean {
    return this.stopLog.has(id);
  }

  /** Whether `id` was stopped here at placement `epoch` or a newer one. */
  stoppedSince(id: string, epoch: number): boolean {
    const t = this.stopped.get(id);
    return t !== undefined && t.epoch >= epoch;
  }

  /** The sync tick: tombstones past `migrationTimeoutMs` go, and hand-offs the receivers' slices confirm. */
  tick(now: number): void {
    const keep = timeouts.migrationMs(this.ctx.tuning);
    for (const [id, t] of this.stopped) if (now - t.at > keep) this.stopped.delete(id);
    for (const [id, at] of this.stopLog) if (now - at > STOP_LOG_FACTOR * keep) this.stopLog.delete(id);
    this.pruneHandedOff();
  }

  /**
   * `node` leaves: the children handed to it that its slice never showed (and that no newer
   * slice shows stopped), to be adopted with its own. Forgets them.
   */
  takeHandedOff(node: string): Array<[string, SliceEntry]> {
    const out: Array<[string, SliceEntry]> = [];
    for (const [id, h] of this.handedOff.get(node) ?? [])
      if (!this.superseded(node, id, h)) out.push([id, h.entry]);
    this.handedOff.delete(node);
    return out;
  }

  private settled(byId: ReadonlyMap<string, StartItem>, r: StartResult): void {
    this.recordHandOffs(byId, r);
    const retry = new Map<string, StartItem>();
    // Who refused: a node stopping or without quorum is stopping its children, so what its slice
    // shows proves nothing. A node settling its membership may be about to stop its copies (it
    // has just lost every peer): there only the ensured placement or a newer one counts.
    const stoppingBy = new Map<string, Set<string>>();
    const settlingBy = new Map<string, Set<string>>();
    for (const e of r.errors) {
      const stopping = e.reason === "hub_stopped" || e.reason === "partitioned";
      if (e.reason !== "node_down" && e.reason !== "topology_pending" && !stopping) continue;
      const it = byId.get(e.id);
      if (it !== undefined) retry.set(e.id, it);
      if (e.node === undefined || e.reason === "node_down") continue;
      note(stopping ? stoppingBy : settlingBy, e.id, e.node);
    }
    for (const id of byId.keys()) if (!retry.has(id)) this.ensured(id);
    if (retry.size === 0) return;
    // The failed node is leaving the ring (down, stopping, partitioned) or settling: retry after
    // that change, at the owners then — unless the id was seen running since the request was
    // sent (a start forwarded elsewhere can fail while the owner starts it on its own, and a
    // user stops it before the retry).
    const t = setTimeout(() => this.retry(retry, stoppingBy, settlingBy), timeouts.retryMs(this.ctx.tuning));
    t.unref?.();
  }

  private retry(
    retry: ReadonlyMap<string, StartItem>,
    stoppingBy: ReadonlyMap<string, ReadonlySet<string>>,
    settlingBy: ReadonlyMap<string, ReadonlySet<string>>,
  ): void {
    const ctx = this.ctx;
    const stopped = new Set([...retry.keys()].filter((id) => this.ensuring.get(id)?.stopRequested));
    const seen = new Set([...retry.keys()].filter((id) => this.ensured(id, stoppingBy.get(id))));
    if (ctx.mode === "stopped" || ctx.mode === "partitioned") return;
    const runsElsewhere = (id: string, epoch: number) =>
      (ctx.registry.lookup(id)?.nodes ?? []).some((np) => {
        if (stoppingBy.get(id)?.has(np.node)) return false;
        if (!settlingBy.get(id)?.has(np.node)) return true;
        return (ctx.registry.sliceOf(np.node).get(id)?.epoch ?? -1) >= epoch;
      });
    const groups = new Map<string, StartItem[]>();
    for (const [id, it] of retry) {
      // Stopped here by a stop request since (a replica's own copy, stopped while it asked for the
      // missing one): the stop stands, whoever else may have forgotten it (a restarted node).
      if (runsElsewhere(id, it.epoch) || seen.has(id) || stopped.has(id) || this.stoppedSince(id, it.epoch))
        continue;
      const owners = it.pinned ? [ctx.view.ownerOf(id)] : ctx.view.replicasOf(id, it.spec.behaviour);
      if (owners.length === 0) this.unplaceable(it);
      for (const owner of owners) addTo(groups, owner, it);
    }
    if (groups.size > 0) this.ensure(groups);
  }

  /** Children started on a node whose slice here does not show them yet. */
  private recordHandOffs(byId: ReadonlyMap<string, StartItem>, r: StartResult): void {
    const reg = this.ctx.registry;
    for (const s of r.started) {
      const it = byId.get(s.id);
      for (const np of s.nodes) {
        if (it === undefined || np.node === this.ctx.self || reg.sliceOf(np.node).has(s.id)) continue;
        let m = this.handedOff.get(np.node);
        if (m === undefined) this.handedOff.set(np.node, (m = new Map()));
        const v = reg.sliceVersion(np.node);
        m.set(s.id, {
          entry: { spec: it.spec, epoch: it.epoch, pid: np.pid },
          incarnation: v?.incarnation ?? -1,
          seq: v?.seq ?? -1,
        });
      }
    }
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

  /**
   * Forgets handed-off children the receiver's replicated slice now shows, and gone receivers.
   * With push synchronization the receiver's delta listing the child was sent (directly) before
   * its start answer, so a replica newer than the one seen when the answer came reflects the
   * child's start: if it no longer lists the child, the child was stopped since and must not be
   * adopted when the receiver leaves. (Gossip relays deltas out of order: there only the first
   * rule applies.)
   */
  private pruneHandedOff(): void {
    const { registry, view } = this.ctx;
    for (const [node, ids] of this.handedOff) {
      const slice = registry.sliceOf(node);
      for (const [id, h] of ids) if (slice.has(id) || this.superseded(node, id, h)) ids.delete(id);
      const known = view.members.has(node) || view.pendingLeave.has(node);
      if (ids.size === 0 || !known) this.handedOff.delete(node);
    }
  }

  /** True when `node`'s replicated slice, newer than at its start answer, no longer lists `id`. */
  private superseded(node: string, id: string, h: HandedOff): boolean {
    if (this.ctx.strategies.synchronization.type !== "push") return false;
    const v = this.ctx.registry.sliceVersion(node);
    if (v === undefined || v.incarnation !== h.incarnation || v.seq <= h.seq) return false;
    return !this.ctx.registry.sliceOf(node).has(id);
  }
}

function note(map: Map<string, Set<string>>, id: string, node: string): void {
  const s = map.get(id);
  if (s === undefined) map.set(id, new Set([node]));
  else s.add(node);
}
