/**
 * `Replicator`: keeps the other hub nodes' copies of this node's registry slice current. Local
 * changes are buffered and flushed as numbered deltas; the whole slice is sent to a node that
 * joins, to one that reports a gap, and to everyone on every anti-entropy tick. Deltas and slice
 * parts are split by count and by bytes (`Chunker`), so that no message outgrows a frame.
 * Incoming deltas and slice parts are applied to the local `HubRegistry` (see its header for why
 * this converges). Imports `hub-registry`, `messages`.
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
  type WireEntry,
} from "./messages.js";

/** After this long without the slice asked for, a gap asks again (the request or reply was lost). */
const RESYNC_AGAIN_MS = 1000;

export class Replicator {
  private seq = 0;
  private readonly up = new Map<string, SliceEntry>();
  private readonly rm = new Set<string>();
  /** Slice parts being assembled, per sender. */
  private readonly partial = new Map<
    string,
    { inc: number; seq: number; got: number; entries: Array<[string, SliceEntry]> }
  >();

  /** When we last asked each sender for its whole slice after a gap (until the slice comes). */
  private readonly asked = new Map<string, number>();

  constructor(
    private readonly self: string,
    private readonly inc: number,
    private readonly registry: HubRegistry,
    private readonly send: (node: string, msg: HubWireMsg) => void,
    private readonly peers: () => Iterable<string>,
    private readonly onChanges: (changes: RegistryChange[]) => void,
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

  /** Sends buffered changes to every peer as numbered deltas. */
  flush(): void {
    if (this.up.size === 0 && this.rm.size === 0) return;
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

  /** Sends the whole slice (after flushing) to `nodes`. */
  sendSlice(nodes: Iterable<string>): void {
    this.flush();
    const targets = [...nodes];
    if (targets.length === 0) return;
    const wire = new Chunker<WireEntry>();
    for (const [id, e] of this.registry.localSlice()) wire.add(entryOut(id, e), entryBytes(e));
    const parts = wire.finish();
    if (parts.length === 0) parts.push([]);
    parts.forEach((entries, part) => {
      const m: SliceMsg = {
        t: "slice",
        from: this.self,
        inc: this.inc,
        seq: this.seq,
        part,
        parts: parts.length,
        entries,
      };
      for (const n of targets) this.send(n, m);
    });
  }

  onDelta(m: DeltaMsg): DeltaOutcome {
    const changes: RegistryChange[] = [];
    const r = this.registry.applyDelta(m.from, m.inc, m.seq, m.up.map(entryIn), m.rm, changes);
    this.onChanges(changes);
    // One request per gap episode: every further delta of the same burst is a gap too, and
    // each request would cost the sender a whole slice.
    if (r === "gap") {
      const at = this.asked.get(m.from);
      const now = performance.now();
      if (at === undefined || now - at > RESYNC_AGAIN_MS) {
        this.asked.set(m.from, now);
        this.send(m.from, { t: "syncreq", from: this.self });
      }
    }
    return r;
  }

  onSlice(m: SliceMsg): void {
    let p = this.partial.get(m.from);
    if (p === undefined || p.inc !== m.inc || p.seq !== m.seq || m.part === 0) {
      p = { inc: m.inc, seq: m.seq, got: 0, entries: [] };
      this.partial.set(m.from, p);
    }
    if (m.part !== p.got) return; // a part went missing: wait for the next full slice
    p.got++;
    for (const e of m.entries) p.entries.push(entryIn(e));
    if (p.got < m.parts) return;
    this.partial.delete(m.from);
    this.asked.delete(m.from);
    const changes: RegistryChange[] = [];
    this.registry.replaceSlice(m.from, m.inc, m.seq, p.entries, changes);
    this.onChanges(changes);
  }

  /** Forgets partial state of a node that left. */
  forget(node: string): void {
    this.partial.delete(node);
    this.asked.delete(node);
  }
}
