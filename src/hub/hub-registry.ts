/**
 * `HubRegistry`: one node's replica of a hub's registry, child id → spec, placements
 * [(node, pid)] and metadata, answering every query locally (seed 002).
 *
 * Convergence model: the registry is the union of one *slice* per hub node, and each node is the
 * only writer of its own slice (the children it really runs). A node streams changes to its
 * slice as numbered deltas and, periodically, where its slice is (anti-entropy: `version`). A
 * replica applies a delta only in sequence; a gap, or a version ahead of its copy, makes it ask
 * for the whole slice, which replaces its copy. A node
 * that leaves takes its slice with it. So once the messages stop, every replica holds exactly the
 * slices their writers hold: all registries are identical. Entries carry an `epoch` (raised on
 * every fresh start of the id) so that when two nodes briefly both list an id, everyone agrees on
 * which spec and metadata are newest. Imports `process/pid`, `child-spec`, `results`, `steps`.
 */
import type { Pid } from "../process/pid.js";
import type { ChildMetadata, NormalizedChildSpec } from "./child-spec.js";
import type { NodePid } from "./results.js";
import { runAll, STEP, type Steps } from "./steps.js";

/** One placement of one child in one node's slice. */
export interface SliceEntry {
  spec: NormalizedChildSpec;
  pid: Pid;
  epoch: number;
  /**
   * Pinned on this node (a guided start's `childMapping`, `hub.migrate`): placed here whatever
   * the ring says, so that another node can tell a pinned child from a misplaced one.
   */
  pinned?: boolean | undefined;
}

/** A lookup answer: the spec, every placement (sorted by node) and the metadata. */
export interface ChildLookup {
  spec: NormalizedChildSpec;
  nodes: NodePid[];
  metadata: ChildMetadata;
}

/** What a change did to this replica; the hub turns these into hooks. */
export type RegistryChange =
  | { kind: "registered"; id: string; node: string; pid: Pid }
  | { kind: "unregistered"; id: string; node: string }
  | { kind: "pid_updated"; id: string; node: string; pid: Pid; previous: Pid };

/** Outcome of applying a delta from a peer. */
export type DeltaOutcome = "applied" | "duplicate" | "gap";

interface SliceState {
  incarnation: number;
  seq: number;
  entries: Map<string, SliceEntry>;
}

/**
 * A replica of the hub registry.
 * @category hub
 */
export class HubRegistry {
  private readonly slices = new Map<string, SliceState>();
  /** id → node → entry, the index every query reads. */
  private readonly index = new Map<string, Placements>();

  constructor(readonly self: string) {
    this.slices.set(self, { incarnation: 0, seq: 0, entries: new Map() });
  }

  // ------------------------------------------------------------------ queries (seed 002)

  /** Spec, placements and metadata of `id`, or undefined. */
  lookup(id: string): ChildLookup | undefined {
    const byNode = this.index.get(id);
    if (byNode === undefined || byNode.size === 0) return undefined;
    const best = newest(byNode);
    return { spec: best.spec, nodes: placements(byNode), metadata: best.spec.metadata };
  }

  /** First pid of `id` (placements sorted by node name). */
  getPid(id: string): Pid | undefined {
    const byNode = this.index.get(id);
    if (byNode === undefined) return undefined;
    return placements(byNode)[0]?.pid;
  }

  /** The pid of `id` when it has exactly one placement (the common case), read without allocating. */
  onlyPid(id: string): Pid | undefined {
    const byNode = this.index.get(id);
    return byNode !== undefined && byNode.size === 1 ? byNode.first()?.pid : undefined;
  }

  getPids(id: string): Pid[] {
    const byNode = this.index.get(id);
    return byNode === undefined ? [] : placements(byNode).map((p) => p.pid);
  }

  /** The pid of `id` on this node, if it runs here. */
  localPid(id: string): Pid | undefined {
    return this.slices.get(this.self)!.entries.get(id)?.pid;
  }

  exists(id: string): boolean {
    return this.index.has(id);
  }

  /** Which of `ids` are registered. */
  containsChildren(ids: Iterable<string>): string[] {
    const out: string[] = [];
    for (const id of ids) if (this.index.has(id)) out.push(id);
    return out;
  }

  get size(): number {
    return this.index.size;
  }

  ids(): string[] {
    return [...this.index.keys()];
  }

  /** The whole registry: id → lookup. */
  dump(): Map<string, ChildLookup> {
    const out = new Map<string, ChildLookup>();
    for (const id of this.index.keys()) out.set(id, this.lookup(id)!);
    return out;
  }

  /** Children whose metadata tag equals `tag`, with their placements. */
  matchTag(tag: string): Array<{ id: string; nodes: NodePid[] }> {
    const out: Array<{ id: string; nodes: NodePid[] }> = [];
    for (const [id, byNode] of this.index) {
      if (newest(byNode).spec.metadata.tag === tag) out.push({ id, nodes: placements(byNode) });
    }
    return out;
  }

  /** Children running on this node: id → lookup. */
  localChildren(): Map<string, ChildLookup> {
    const out = new Map<string, ChildLookup>();
    for (const id of this.slices.get(this.self)!.entries.keys()) out.set(id, this.lookup(id)!);
    return out;
  }

  /** Specs of the children running on this node. */
  localChildSpecs(): NormalizedChildSpec[] {
    return [...this.slices.get(this.self)!.entries.values()].map((e) => e.spec);
  }

  /** `global`: every id with its placements; `local`: ids running here with the local pid. */
  processList(scope: "global"): Array<{ id: string; nodes: NodePid[] }>;
  processList(scope: "local"): Array<{ id: string; pid: Pid }>;
  processList(scope: "global" | "local"): Array<{ id: string; nodes: NodePid[] } | { id: string; pid: Pid }> {
    if (scope === "local") {
      return [...this.slices.get(this.self)!.entries].map(([id, e]) => ({ id, pid: e.pid }));
    }
    return [...this.index].map(([id, byNode]) => ({ id, nodes: placements(byNode) }));
  }

  /** Per node, the children it runs (what `which_children` answered, from the replica). */
  whichChildren(scope: "local" | "global"): Map<string, Array<{ id: string; pid: Pid; behaviour: string }>> {
    const out = new Map<string, Array<{ id: string; pid: Pid; behaviour: string }>>();
    for (const [node, slice] of this.slices) {
      if (scope === "local" && node !== this.self) continue;
      out.set(
        node,
        [...slice.entries].map(([id, e]) => ({ id, pid: e.pid, behaviour: e.spec.behaviour })),
      );
    }
    return out;
  }

  /** Highest epoch known for `id` (0 if unknown); a fresh start uses this plus one. */
  epochOf(id: string): number {
    const byNode = this.index.get(id);
    if (byNode === undefined) return 0;
    let max = 0;
    byNode.each((_n, e) => {
      if (e.epoch > max) max = e.epoch;
    });
    return max;
  }

  /** Nodes whose slices this replica holds. */
  nodes(): string[] {
    return [...this.slices.keys()].sort();
  }

  /** The local slice, for pushing to peers. */
  localSlice(): Map<string, SliceEntry> {
    return this.slices.get(this.self)!.entries;
  }

  /** The slice of `node` held here (empty if unknown). */
  sliceOf(node: string): ReadonlyMap<string, SliceEntry> {
    return this.slices.get(node)?.entries ?? new Map();
  }

  /**
   * A canonical string of the whole content; two replicas are identical iff their digests are.
   * For tests and invariant checks, O(n log n).
   */
  digest(): string {
    const rows: string[] = [];
    for (const [node, slice] of this.slices) {
      for (const [id, e] of slice.entries) rows.push(`${id}|${node}|${e.pid.key}|${e.epoch}`);
    }
    return rows.sort().join("\n");
  }

  // ------------------------------------------------------------------ local writes

  /** Records that `id` runs here as `entry`. */
  putLocal(id: string, entry: SliceEntry, changes?: RegistryChange[]): void {
    this.put(this.self, id, entry, changes);
  }

  /** Records that `id` no longer runs here; returns the removed entry. */
  removeLocal(id: string, changes?: RegistryChange[]): SliceEntry | undefined {
    return this.remove(this.self, id, changes);
  }

  // ------------------------------------------------------------------ replication

  /** Applies a numbered delta from `node`'s slice. Out of order ⇒ `gap` (ask for the full slice). */
  applyDelta(
    node: string,
    incarnation: number,
    seq: number,
    upserts: ReadonlyArray<readonly [string, SliceEntry]>,
    removes: readonly string[],
    changes?: RegistryChange[],
  ): DeltaOutcome {
    if (node === this.self) return "duplicate";
    let slice = this.slices.get(node);
    if (slice === undefined || slice.incarnation !== incarnation) {
      // The first delta of an incarnation needs no history; any later one does.
      if (seq !== 1) return "gap";
      if (slice !== undefined) this.dropNode(node, changes);
      slice = { incarnation, seq: 0, entries: new Map() };
      this.slices.set(node, slice);
    }
    if (seq <= slice.seq) return "duplicate";
    if (seq !== slice.seq + 1) return "gap";
    slice.seq = seq;
    for (const id of removes) this.remove(node, id, changes);
    for (const [id, e] of upserts) this.put(node, id, e, changes);
    return "applied";
  }

  /** Replaces this replica's copy of `node`'s slice with its full content at `seq`. */
  replaceSlice(
    node: string,
    incarnation: number,
    seq: number,
    entries: ReadonlyArray<readonly [string, SliceEntry]>,
    changes?: RegistryChange[],
  ): boolean {
    return runAll(this.replaceSliceSteps(node, incarnation, seq, entries, changes));
  }

  /**
   * `replaceSlice` in steps of `STEP` entries (a slice of a million-child hub takes seconds to
   * apply). Between steps the copy is part old, part new, as while deltas arrive; the caller
   * applies nothing else of `node` until the steps are done.
   */
  *replaceSliceSteps(
    node: string,
    incarnation: number,
    seq: number,
    entries: ReadonlyArray<readonly [string, SliceEntry]>,
    changes?: RegistryChange[],
  ): Steps<boolean> {
    if (node === this.self) return false;
    const slice = this.slices.get(node);
    if (slice !== undefined && slice.incarnation === incarnation && seq < slice.seq) return false;
    if (slice === undefined || slice.incarnation !== incarnation) {
      if (slice !== undefined) this.dropNode(node, changes);
      this.slices.set(node, { incarnation, seq, entries: new Map() });
    }
    const s = this.slices.get(node)!;
    s.seq = seq;
    const incoming = new Set<string>();
    for (let i = 0; i < entries.length; i++) {
      incoming.add(entries[i]![0]);
      if (i % STEP === STEP - 1) yield;
    }
    let i = 0;
    for (const id of [...s.entries.keys()]) {
      if (!incoming.has(id)) this.remove(node, id, changes);
      if (++i % STEP === 0) yield;
    }
    // In order, the last of a repeated id winning (as a Map built from them would).
    for (let j = 0; j < entries.length; j++) {
      const [id, e] = entries[j]!;
      this.put(node, id, e, changes);
      if (j % STEP === STEP - 1) yield;
    }
    return true;
  }

  /** Forgets `node` and its slice; returns the entries it held (the hub restarts them elsewhere). */
  dropNode(node: string, changes?: RegistryChange[]): Map<string, SliceEntry> {
    if (node === this.self) return new Map();
    const slice = this.slices.get(node);
    if (slice === undefined) return new Map();
    const held = new Map(slice.entries);
    for (const id of held.keys()) this.remove(node, id, changes);
    this.slices.delete(node);
    return held;
  }

  /** The incarnation and last sequence number applied from `node`. */
  sliceVersion(node: string): { incarnation: number; seq: number } | undefined {
    const s = this.slices.get(node);
    return s === undefined ? undefined : { incarnation: s.incarnation, seq: s.seq };
  }

  private put(node: string, id: string, entry: SliceEntry, changes?: RegistryChange[]): void {
    const slice = this.slices.get(node)!;
    const prev = slice.entries.get(id);
    slice.entries.set(id, entry);
    let byNode = this.index.get(id);
    if (byNode === undefined) this.index.set(id, (byNode = new Placements()));
    byNode.set(node, entry);
    if (changes === undefined) return;
    if (prev === undefined) changes.push({ kind: "registered", id, node, pid: entry.pid });
    else if (!prev.pid.equals(entry.pid))
      changes.push({ kind: "pid_updated", id, node, pid: entry.pid, previous: prev.pid });
  }

  private remove(node: string, id: string, changes?: RegistryChange[]): SliceEntry | undefined {
    const slice = this.slices.get(node);
    const prev = slice?.entries.get(id);
    if (prev === undefined) return undefined;
    slice!.entries.delete(id);
    const byNode = this.index.get(id)!;
    byNode.delete(node);
    if (byNode.size === 0) this.index.delete(id);
    changes?.push({ kind: "unregistered", id, node });
    return prev;
  }
}

/**
 * The entries of one id by node. Almost every id runs on one node, so the first placement is
 * held inline and only further ones go to arrays: a start or stop of 100k children creates and
 * drops 100k of these on every replica, and a `Map` each made the garbage collector the top cost.
 */
class Placements {
  private node0: string | undefined = undefined;
  private entry0: SliceEntry | undefined = undefined;
  private nodes: string[] | null = null;
  private entries: SliceEntry[] | null = null;

  get size(): number {
    return (this.node0 === undefined ? 0 : 1) + (this.nodes?.length ?? 0);
  }

  set(node: string, entry: SliceEntry): void {
    if (this.node0 === node || this.node0 === undefined) {
      this.node0 = node;
      this.entry0 = entry;
      return;
    }
    if (this.nodes === null) {
      this.nodes = [node];
      this.entries = [entry];
      return;
    }
    const i = this.nodes.indexOf(node);
    if (i >= 0) this.entries![i] = entry;
    else {
      this.nodes.push(node);
      this.entries!.push(entry);
    }
  }

  delete(node: string): void {
    if (this.node0 === node) {
      // Keep the inline slot filled while others remain.
      if (this.nodes !== null && this.nodes.length > 0) {
        this.node0 = this.nodes.pop();
        this.entry0 = this.entries!.pop();
      } else {
        this.node0 = undefined;
        this.entry0 = undefined;
      }
      return;
    }
    const i = this.nodes?.indexOf(node) ?? -1;
    if (i < 0) return;
    this.nodes!.splice(i, 1);
    this.entries!.splice(i, 1);
  }

  /** The inline placement's entry (the only one when `size` is 1). */
  first(): SliceEntry | undefined {
    return this.entry0;
  }

  values(): SliceEntry[] {
    const out: SliceEntry[] = [];
    this.each((_n, e) => out.push(e));
    return out;
  }

  *[Symbol.iterator](): IterableIterator<[string, SliceEntry]> {
    if (this.node0 !== undefined) yield [this.node0, this.entry0!];
    const ns = this.nodes;
    if (ns !== null) for (let i = 0; i < ns.length; i++) yield [ns[i]!, this.entries![i]!];
  }

  /** Calls `fn` for each (node, entry) without allocating an iterator. */
  each(fn: (node: string, entry: SliceEntry) => void): void {
    if (this.node0 !== undefined) fn(this.node0, this.entry0!);
    const ns = this.nodes;
    if (ns !== null) for (let i = 0; i < ns.length; i++) fn(ns[i]!, this.entries![i]!);
  }
}

function placements(byNode: Placements): NodePid[] {
  const out: NodePid[] = [];
  byNode.each((node, e) => out.push({ node, pid: e.pid }));
  if (out.length > 1) out.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  return out;
}

/** The entry with the highest epoch; ties go to the smallest node name, so every replica agrees. */
function newest(byNode: Placements): SliceEntry {
  let best: SliceEntry | undefined;
  let bestNode = "";
  byNode.each((node, e) => {
    if (best === undefined || e.epoch > best.epoch || (e.epoch === best.epoch && node < bestNode)) {
      best = e;
      bestNode = node;
    }
  });
  return best!;
}
