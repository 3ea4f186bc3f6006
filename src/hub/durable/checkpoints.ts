/**
 * `Checkpoints`: the crash-safe state of a durable hub's checkpointed children on one node. Before
 * such a child starts here, its last checkpoint is read (`open`) into a slot its `init` sees
 * (`ProcessHub.lastCheckpoint(ctx)`); `ProcessHub.checkpoint(ctx, state)` encodes the state at
 * once (size cap, named errors to the caller) and the slot writes it, at most once per
 * `debounceMs`, one write in flight per child.
 *
 * Writes are compare-and-set on the revision the instance read or last wrote, so that a copy
 * that is not the latest writer cannot silently overwrite: on a conflict the slot re-reads the
 * key; a deletion there means the child was stopped for good (its writes end), another value
 * means a concurrent copy wrote (a partition; the slot continues from that revision, and the
 * epoch rule will stop one of the copies). A child that exits (crash, move, passivation) has its
 * pending checkpoint written at once; a stop asks for it (`ended`) before the next instance
 * reads. A child stopped for good (`stopChildren`, a reconcile stop) has its key deleted here,
 * after its last write. Failures go to the hook `checkpointFailed` (and so to
 * `hubvisor:hub:hook`) and to `stats`.
 *
 * A record larger than one store entry (`DurableBlobs.inlineMax`: a NATS message) is written as
 * a blob first (JetStream's object store), under a fresh name, and the entry, written by the
 * same compare-and-set, points at it; the blob the entry pointed at before is deleted once the
 * new entry is in, and a blob whose entry lost its compare-and-set is deleted at once. Imports
 * the hub core type, the store, the record codec.
 */
import { randomBytes } from "node:crypto";
import { UnserialisableError } from "../../cluster/errors.js";
import type { HubCore } from "../hub-core.js";
import {
  checkpointKey,
  decodeCheckpoint,
  decodeState,
  encodeCheckpoint,
  encodeCheckpointRef,
  encodeState,
} from "./checkpoint-record.js";
import type { ResolvedCheckpointOptions } from "./checkpointed.js";
import { CheckpointTooLargeError, DurableConflictError, DurableStoreError } from "./errors.js";
import type { DurableBlobs, DurableBucket, StoreEntry } from "./store.js";

/** Why a checkpoint was not stored or restored (hook `checkpointFailed`). */
export type CheckpointFailure =
  /** Over the behaviour's `maxBytes` (thrown to the caller as `CheckpointTooLargeError`). */
  | "too_large"
  /** The state holds what cannot be encoded (thrown as `UnserialisableError`). */
  | "unserialisable"
  /** The store failed a read, write or delete; a write is retried with the newest state. */
  | "store"
  /** Other copies kept writing the key first, past the retries. */
  | "conflict"
  /** The key was deleted under this instance (its child was stopped for good): it writes no more. */
  | "deleted"
  /** The stored record is garbled or foreign: not restored; the next write replaces it. */
  | "refused";

/** Counters of checkpoints on one node. */
export interface CheckpointStats {
  /** Checkpoints stored, and their encoded bytes. */
  written: number;
  bytes: number;
  /** Starts that found a checkpoint and gave it to `init`. */
  restored: number;
  /** Keys deleted because their child was stopped for good. */
  deleted: number;
  /** Failures of every kind (see `CheckpointFailure`). */
  failures: number;
}

/** What a checkpointed child's `init` and callbacks reach through their context. */
export class CheckpointSlot {
  /** Encoded state waiting for its write. */
  pending: Uint8Array | null = null;
  timer: ReturnType<typeof setTimeout> | null = null;
  writing: Promise<void> | null = null;
  /** When the last write started (ms, performance clock). */
  lastAt = Number.NEGATIVE_INFINITY;
  /** Store failures in a row: the next try waits longer. */
  failures = 0;
  /** No more writes (deleted under it, or its child stopped for good). */
  closed = false;
  /** The blob the entry at `revision` points at (its state was too large for the entry), else null. */
  blob: string | null = null;

  constructor(
    readonly owner: Checkpoints,
    readonly id: string,
    readonly options: ResolvedCheckpointOptions,
    /** What `init` gets: the last checkpoint, if one was stored. */
    readonly restored: { readonly state: unknown } | undefined,
    /** The key's revision this instance is based on (null: never written). */
    public revision: number | null,
  ) {}
}

/** How long a stop waits for a child's last write before going on (the write may still land). */
const FLUSH_WAIT_MS = 1000;
/** Conflicting writers of one key in a row before a write is given up. */
const MAX_ATTEMPTS = 3;
/** Longest wait before retrying a write the store failed, in ms. */
const MAX_RETRY_MS = 30_000;
/**
 * Records up to this size are written in the entry without asking for the blobs, which are
 * opened (an object store created) only once a hub has a state this large.
 */
const SURELY_INLINE = 64 * 1024;

export class Checkpoints {
  readonly stats: CheckpointStats = { written: 0, bytes: 0, restored: 0, deleted: 0, failures: 0 };
  /** The slot of each checkpointed child's latest instance here. */
  private readonly slots = new Map<string, CheckpointSlot>();
  /** Ids stopped by this node to be started again (passivation): their checkpoint stays. */
  private readonly keeping = new Set<string>();
  private lastWarn = 0;

  constructor(
    private readonly core: HubCore,
    /** The durable hub's bucket once open, and a wait for it (bounded by the caller's deadline). */
    private readonly bucket: (timeoutMs: number) => Promise<DurableBucket | null>,
    /** The store's blobs for states too large for an entry; null if the store has none. Rejects with `DurableStoreError`. */
    private readonly blobs: () => Promise<DurableBlobs | null> = async () => null,
  ) {}

  /** Reads child `id`'s last checkpoint for the instance about to start here. Rejects with `DurableStoreError`. */
  async open(id: string, options: ResolvedCheckpointOptions, timeoutMs: number): Promise<CheckpointSlot> {
    // A previous instance here may still be writing its last state: read after it.
    await this.ended(id);
    const bucket = await this.bucket(timeoutMs);
    if (bucket === null) throw new DurableStoreError("get", checkpointKey(id), "store not open");
    const e = await bucket.get(checkpointKey(id));
    let slot: CheckpointSlot;
    if (e === null || e.value === null)
      slot = new CheckpointSlot(this, id, options, undefined, e?.revision ?? null);
    else {
      const d = await this.stateOf(id, e.value);
      if ("refused" in d) {
        this.fail(id, "refused", d.refused);
        slot = new CheckpointSlot(this, id, options, undefined, e.revision);
      } else {
        this.stats.restored++;
        slot = new CheckpointSlot(this, id, options, { state: d.state }, e.revision);
      }
      slot.blob = blobOf(this.core.hubId, id, e);
    }
    this.slots.set(id, slot);
    return slot;
  }

  /** The state a stored record holds or points at (reading its blob), or why it is refused. */
  private async stateOf(id: string, value: Uint8Array): Promise<{ state: unknown } | { refused: string }> {
    const d = decodeCheckpoint(this.core.hubId, id, value);
    if (!("obj" in d)) return d;
    const blobs = await this.blobs();
    if (blobs === null) return { refused: "its state is in a blob and the store has none" };
    const bytes = await blobs.get(d.obj);
    if (bytes === null) return { refused: `its blob ${d.obj} is missing` };
    if (bytes.length !== d.size)
      return { refused: `its blob ${d.obj} has ${bytes.length} bytes, not ${d.size}` };
    return decodeState(bytes);
  }

  /** `ProcessHub.checkpoint`: encodes now (throwing on misuse), writes when the debounce allows. */
  checkpoint(slot: CheckpointSlot, state: unknown): void {
    if (slot.closed) return;
    let bytes: Uint8Array;
    try {
      bytes = encodeState(state);
    } catch (err) {
      this.fail(slot.id, "unserialisable", String(err));
      throw err instanceof UnserialisableError ? err : new UnserialisableError("checkpoint state");
    }
    if (bytes.length > slot.options.maxBytes) {
      this.fail(slot.id, "too_large", `${bytes.length} bytes`);
      throw new CheckpointTooLargeError(slot.id, bytes.length, slot.options.maxBytes);
    }
    slot.pending = bytes;
    this.schedule(slot);
  }

  private schedule(slot: CheckpointSlot): void {
    if (slot.writing !== null || slot.timer !== null || slot.closed) return;
    const gap = slot.options.debounceMs * 2 ** Math.min(slot.failures, 16);
    const wait = Math.min(slot.lastAt + gap, performance.now() + MAX_RETRY_MS) - performance.now();
    if (wait <= 0) return this.writeNow(slot);
    slot.timer = setTimeout(() => this.writeNow(slot), wait);
    slot.timer.unref?.();
  }

  private writeNow(slot: CheckpointSlot): void {
    if (slot.timer !== null) clearTimeout(slot.timer);
    slot.timer = null;
    const bytes = slot.pending;
    if (bytes === null || slot.closed || slot.writing !== null) return;
    slot.pending = null;
    slot.lastAt = performance.now();
    slot.writing = this.put(slot, bytes).finally(() => {
      slot.writing = null;
      if (slot.pending !== null) this.schedule(slot);
    });
  }

  /** One write by compare-and-set, re-reading on conflicts. Never rejects. */
  private async put(slot: CheckpointSlot, state: Uint8Array): Promise<void> {
    const key = checkpointKey(slot.id);
    const hubId = this.core.hubId;
    let value = encodeCheckpoint(hubId, this.core.self, slot.id, state);
    /** The blob this write made, until an entry points at it. */
    let made: string | null = null;
    try {
      const bucket = await this.bucket(0);
      if (bucket === null) throw new DurableStoreError("update", key, "store not open");
      const blobs = value.length > SURELY_INLINE ? await this.blobs() : null;
      if (blobs !== null && value.length > blobs.inlineMax) {
        // A fresh name: the blob the entry points at now stays whole until the entry moves on.
        made = `${key}.${randomBytes(9).toString("base64url")}`;
        await blobs.put(made, state);
        value = encodeCheckpointRef(hubId, this.core.self, slot.id, made, state.length);
      }
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        try {
          slot.revision =
            slot.revision === null
              ? await bucket.create(key, value)
              : await bucket.update(key, value, slot.revision);
          const before = slot.blob;
          slot.blob = made;
          made = null;
          if (before !== null) this.dropBlob(slot.id, before);
          slot.failures = 0;
          this.stats.written++;
          this.stats.bytes += state.length;
          return;
        } catch (err) {
          if (!(err instanceof DurableConflictError)) throw err;
          const cur = await bucket.get(key);
          if (cur !== null && cur.value === null) {
            // Deleted under us: the child was stopped for good; this instance is on its way out.
            slot.closed = true;
            slot.pending = null;
            return this.fail(slot.id, "deleted", "key deleted since this instance read it");
          }
          slot.revision = cur?.revision ?? null;
          slot.blob = cur === null ? null : blobOf(hubId, slot.id, cur);
        }
      }
      this.fail(slot.id, "conflict", `${MAX_ATTEMPTS} other writers in a row`);
    } catch (err) {
      // Unreachable store: keep this state for the next try unless a newer one came meanwhile.
      slot.failures++;
      slot.pending ??= state;
      this.fail(slot.id, "store", err instanceof Error ? err.message : String(err));
    } finally {
      // Written for an entry that never pointed at it.
      if (made !== null) this.dropBlob(slot.id, made);
    }
  }

  /** Deletes a blob no entry points at any more (a failure leaves it behind, with a warning). */
  private dropBlob(id: string, name: string): void {
    void (async () => {
      try {
        await (await this.blobs())?.delete(name);
      } catch (err) {
        this.fail(
          id,
          "store",
          `blob ${name} not deleted: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    })();
  }

  /**
   * The instance of `id` here exited (or is stopping): its pending checkpoint is written now.
   * Resolves once the write settled, or after `FLUSH_WAIT_MS`.
   */
  ended(id: string): Promise<void> {
    const slot = this.slots.get(id);
    if (slot === undefined) return Promise.resolve();
    if (slot.timer !== null) this.writeNow(slot);
    const writing = slot.writing;
    if (writing === null) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, FLUSH_WAIT_MS);
      t.unref?.();
      void writing.then(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Child `id` will be stopped to start again later (passivation): its checkpoint stays. */
  keep(id: string): void {
    this.keeping.add(id);
  }

  /**
   * Child `id` was stopped for good here (a stop request) or runs nowhere and was declared
   * stopped: after its last write, its key is deleted, so that a later start begins afresh.
   * A child stopped to start again (`keep`) keeps its checkpoint.
   */
  stoppedForGood(id: string): void {
    if (this.keeping.delete(id)) return;
    const slot = this.slots.get(id);
    const last = slot === undefined ? Promise.resolve() : this.ended(id);
    if (slot !== undefined) {
      slot.closed = true;
      slot.pending = null;
    }
    void last.then(async () => {
      if (this.slots.get(id) === slot) this.slots.delete(id);
      try {
        const bucket = await this.bucket(0);
        if (bucket === null) throw new DurableStoreError("delete", checkpointKey(id), "store not open");
        // Without a slot here (it ran nowhere), the entry says whether a blob goes with it.
        const e = slot === undefined ? await bucket.get(checkpointKey(id)) : null;
        const blob = slot !== undefined ? slot.blob : e === null ? null : blobOf(this.core.hubId, id, e);
        await bucket.delete(checkpointKey(id));
        if (blob !== null) this.dropBlob(id, blob);
        this.stats.deleted++;
      } catch (err) {
        this.fail(id, "store", `delete: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
  }

  close(): void {
    for (const slot of this.slots.values()) {
      if (slot.timer !== null) clearTimeout(slot.timer);
      slot.closed = true;
    }
    this.slots.clear();
  }

  private fail(id: string, reason: CheckpointFailure, detail: string): void {
    this.stats.failures++;
    const core = this.core;
    core.hooks.dispatch("checkpointFailed", { id, reason, detail });
    const now = Date.now();
    if (now - this.lastWarn < 1000) return;
    this.lastWarn = now;
    core.logger.warn(
      { hub: core.hubId, id, reason, detail, failures: this.stats.failures },
      "hub checkpoint failed",
    );
  }
}

/** The blob a stored entry points at, else null (an inline state, a deletion, a refused record). */
function blobOf(hubId: string, id: string, e: StoreEntry): string | null {
  if (e.value === null) return null;
  const d = decodeCheckpoint(hubId, id, e.value);
  return "obj" in d ? d.obj : null;
}
