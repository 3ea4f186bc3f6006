/**
 * `Replicator`: keeps the other hub nodes' copies of this node's registry slice current. Local
 * changes are buffered and flushed as numbered deltas; the whole slice is sent to a node that
 * joins and to one that asks for it (a gap in the deltas, or a `version` that showed its copy
 * behind). Anti-entropy is that `version`: every round each node tells the others where its
 * slice is, a few bytes instead of the whole slice (at a million children, 25 MB to each peer
 * every round, and seconds of CPU to encode and apply, was most of what a steady hub did). Deltas
 * and slice parts are split by count and by bytes (`Chunker`), so that no message outgrows a
 * frame. A large slice is built and applied in bounded steps (`steps.ts`): built from a copy
 * taken at its `seq`, with the deltas of changes made meanwhile held back until its parts are
 * out, so that a replica receives it before them. Incoming deltas and slice parts are applied to
 * the local `HubRegistry` (see its header for why this converges). Imports `hub-registry`,
 * `messages`, `steps`.
 */
import type { DeltaOutcome, HubRegistry, RegistryChange, SliceEntry } from "./hub-registry.js";
import {
  Chunker,
  type DeltaMsg,
  entryBytes,
  entryIn,
  entryOut,
  type HubWireMsg,
  idChunks,
  type SliceMsg,
  type VersionMsg,
  type WireEntry,
} from "./messages.js";
import { paced, runAll, STEP, type Steps } from "./steps.js";

/**
 * After this long without the slice asked for, a gap asks again (the request or reply was lost);
 * each further ask of the same episode waits twice as long, up to `RESYNC_MAX_MS`. A slice of a
 * million entries takes seconds to build, send and read, and every delta meanwhile is a gap:
 * asking each second made a node send a peer its whole slice 17 times in a 1M start (issue 21).
 */
export const RESYNC_AGAIN_MS = 1000;
const RESYNC_MAX_MS = 16_000;

/** A slice of more entries than this is built and applied in paced steps. */
const PACED_SLICE = 4 * STEP;

export class Replicator {
  private seq = 0;
  private readonly up = new Map<string, SliceEntry>();
  private readonly rm = new Set<string>();
  /** Slice parts being assembled, per sender. */
  private readonly partial = new Map<
    string,
    { inc: number; seq: number; got: number; at: number; entries: Array<[string, SliceEntry]> }
  >();

  /** The nodes a slice being built goes to (null: none being built; deltas wait meanwhile). */
  private building: Set<string> | null = null;

  /**
   * When we last asked each sender for its whole slice after a gap, and how long to wait before
   * asking again (until the slice comes).
   */
  private readonly asked = new Map<string, { at: number; wait: number }>();

  constructor(
    private readonly self: string,
    private readonly inc: number,
    private readonly registry: HubRegistry,
    private readonly send: (node: string, msg: HubWireMsg) => void,
    private readonly peers: () => Iterable<string>,
    private readonly onChanges: (changes: RegistryChange[]) => void,
    /** The hub's pacer: null within its bound, else a promise of the next turn. */
    private readonly yieldIfDue: () => Promise<void> | null = () => null,
  ) {}

  /** Records a child running here (new, restarted or migrated in). */
  put(id: string, entry: SliceEntry): void {
    const changes: RegistryChange[] = [];
    this.registry.putLocal(id, entry, changes);
    this.rm.delete(id);
    this.up.set(id, entry);
    this.onChanges(changes);
  }

  /** Records a child no longer running here. */
  remove(id: string): void {
    const changes: RegistryChange[] = [];
    if (this.registry.removeLocal(id, changes) === undefined) return;
    this.up.delete(id);
    this.rm.add(id);
    this.onChanges(changes);
  }

  /**
   * Sends buffered changes to every peer as numbered deltas; while a slice is being built they
   * wait for it (it goes first, at the `seq` its copy was taken).
   */
  flush(): void {
    if (this.building !== null || (this.up.size === 0 && this.rm.size === 0)) return;
    const msgs: DeltaMsg[] = [];
    for (const rm of idChunks(this.rm))
      msgs.push({ t: "delta", from: this.self, inc: this.inc, seq: ++this.seq, up: [], rm });
    const wire = new Chunker<WireEntry>();
    for (const [id, e] of this.up) wire.add(entryOut(id, e), entryBytes(e));
    for (const up of wire.finish())
      msgs.push({ t: "delta", from: this.self, inc: this.inc, seq: ++this.seq, up, rm: [] });
    this.up.clear();
    this.rm.clear();
    for (const peer of this.peers()) for (const m of msgs) this.send(peer, m);
  }

  /** Anti-entropy: tells `nodes` where this slice is (they ask for it if their copy is behind). */
  sendVersion(nodes: Iterable<string>): void {
    this.flush();
    // A slice being built is this round's news for its targets; the others hear next round.
    if (this.building !== null) return;
    const m: VersionMsg = { t: "version", from: this.self, inc: this.inc, seq: this.seq };
    for (const n of nodes) this.send(n, m);
  }

  /** Sends the whole slice (after flushing) to `nodes`: at once if small, else in paced steps. */
  sendSlice(nodes: Iterable<string>): void {
    this.flush();
    const targets = [...nodes];
    if (targets.length === 0) return;
    if (this.building !== null) {
      // The copy being built is as good for them: the deltas after it reach every peer.
      for (const n of targets) this.building.add(n);
      return;
    }
    const slice = this.registry.localSlice();
    const seq = this.seq;
    if (slice.size <= PACED_SLICE) return this.sendParts(runAll(sliceParts(slice)), targets, seq);
    const to = new Set(targets);
    this.building = to;
    void paced(sliceParts([...slice]), this.yieldIfDue, (parts) => {
      this.building = null;
      this.sendParts(parts, [...to], seq);
      this.flush();
    });
  }

  private sendParts(parts: WireEntry[][], targets: readonly string[], seq: number): void {
    if (parts.length === 0) parts.push([]);
    parts.forEach((entries, part) => {
      const m: SliceMsg = {
        t: "slice",
        from: this.self,
        inc: this.inc,
        seq,
        part,
        parts: parts.length,
        entries,
      };
      for (const n of targets) this.send(n, m);
    });
  }

  /** A peer's `version`: asks for its slice when this copy is behind (and not arriving now). */
  onVersion(m: VersionMsg): void {
    const v = this.registry.sliceVersion(m.from);
    if (v !== undefined && v.incarnation === m.inc && v.seq >= m.seq) return;
    const p = this.partial.get(m.from);
    if (p !== undefined && p.inc === m.inc && performance.now() - p.at < RESYNC_AGAIN_MS) return;
    this.ask(m.from);
  }

  /**
   * Asks `node` for its whole slice: not while its parts are arriving, and again in the same
   * episode only after a wait that doubles each time (see `RESYNC_AGAIN_MS`).
   */
  private ask(node: string): void {
    const now = performance.now();
    const p = this.partial.get(node);
    if (p !== undefined && p.got > 0 && now - p.at < RESYNC_AGAIN_MS) return;
    const last = this.asked.get(node);
    if (last !== undefined && now - last.at <= last.wait) return;
    const wait = last === undefined ? RESYNC_AGAIN_MS : Math.min(2 * last.wait, RESYNC_MAX_MS);
    this.asked.set(node, { at: now, wait });
    this.send(node, { t: "syncreq", from: this.self });
  }

  onDelta(m: DeltaMsg): DeltaOutcome {
    const changes: RegistryChange[] = [];
    const r = this.registry.applyDelta(m.from, m.inc, m.seq, m.up.map(entryIn), m.rm, changes);
    this.onChanges(changes);
    // One request per gap episode: every further delta of the same burst is a gap too, and
    // each request would cost the sender a whole slice.
    if (r === "gap") this.ask(m.from);
    return r;
  }

  /**
   * One part of a peer's slice; the last one replaces this replica's copy, in paced steps when
   * large (the promise then settles once it is applied: the hub process waits for it, so no
   * delta of that peer is applied to a half-replaced copy).
   */
  onSlice(m: SliceMsg): Promise<void> | undefined {
    let p = this.partial.get(m.from);
    if (p === undefined || p.inc !== m.inc || p.seq !== m.seq || m.part === 0) {
      p = { inc: m.inc, seq: m.seq, got: 0, at: 0, entries: [] };
      this.partial.set(m.from, p);
    }
    if (m.part !== p.got) return; // a part went missing: wait for the next full slice
    p.got++;
    p.at = performance.now();
    for (const e of m.entries) p.entries.push(entryIn(e));
    if (p.got < m.parts) return;
    this.partial.delete(m.from);
    this.asked.delete(m.from);
    const changes: RegistryChange[] = [];
    const steps = this.registry.replaceSliceSteps(m.from, m.inc, m.seq, p.entries, changes);
    if (p.entries.length <= PACED_SLICE) {
      runAll(steps);
      this.onChanges(changes);
      return;
    }
    return paced(steps, this.yieldIfDue, () => this.onChanges(changes));
  }

  /** Forgets partial state of a node that left. */
  forget(node: string): void {
    this.partial.delete(node);
    this.asked.delete(node);
  }
}

/** The wire parts of a slice's entries, built `STEP` entries at a time. */
function* sliceParts(entries: Iterable<readonly [string, SliceEntry]>): Steps<WireEntry[][]> {
  const wire = new Chunker<WireEntry>();
  let i = 0;
  for (const [id, e] of entries) {
    wire.add(entryOut(id, e), entryBytes(e));
    if (++i % STEP === 0) yield;
  }
  return wire.finish();
}
