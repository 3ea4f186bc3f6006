/**
 * `MemoryDurableStore`: the durable store in one program, for the memory transport and tests,
 * with the semantics of a JetStream key-value bucket: one revision counter per bucket,
 * compare-and-set on a key's last revision, deletions kept as entries, watches that deliver the
 * current values and then every write in order, asynchronously (never inside the writer's call).
 * It outlives the hubs that use it, which is what a full-cluster restart test needs; `down`
 * makes every operation fail as an unreachable server would. Imports the store interface and
 * errors.
 */
import { DurableConflictError, DurableStoreError } from "./errors.js";
import type {
  DurableBlobs,
  DurableBucket,
  DurableStore,
  OpenBucketOptions,
  StoreEntry,
  StoreWatch,
} from "./store.js";

interface MemoryBucketData {
  revision: number;
  readonly keys: Map<string, StoreEntry>;
  readonly watchers: Set<Watcher>;
}

interface Watcher {
  readonly prefix: string;
  readonly fn: (e: StoreEntry) => void;
}

/**
 * A durable store in this program's memory, with the JetStream store's semantics (revisions,
 * compare-and-set, watches): for the memory transport and tests (`down` and `inject` simulate an
 * unreachable store and foreign entries).
 * @category hub
 */
export class MemoryDurableStore implements DurableStore {
  readonly kind = "memory";
  /** While true every operation fails with `DurableStoreError` (a store that cannot be reached). */
  down = false;
  /** Writes and reads so far (for tests and benchmarks). */
  readonly stats = { reads: 0, writes: 0 };
  private readonly buckets = new Map<string, MemoryBucketData>();
  private readonly blobs = new Map<string, Map<string, Uint8Array>>();

  constructor(
    /**
     * The largest bucket entry (bytes): a larger write is refused, and checkpoints past it go to
     * the blobs, as past a NATS server's message size. @default 1044480 (1 MiB less 4 KiB)
     */
    readonly inlineMax = 1_044_480,
  ) {}

  /** Named large values beside the buckets, like JetStream's object store. */
  async openBlobs(name: string): Promise<DurableBlobs> {
    this.check("open", name);
    let m = this.blobs.get(name);
    if (m === undefined) this.blobs.set(name, (m = new Map()));
    const named = m;
    return {
      inlineMax: this.inlineMax,
      put: async (k, v) => {
        this.check("put", k);
        this.stats.writes++;
        named.set(k, v.slice());
      },
      get: async (k) => {
        this.check("get", k);
        this.stats.reads++;
        return named.get(k) ?? null;
      },
      delete: async (k) => {
        this.check("delete", k);
        this.stats.writes++;
        named.delete(k);
      },
    };
  }

  /** The names of blob set `name` (tests: what was left behind). */
  blobNames(name: string): string[] {
    return [...(this.blobs.get(name)?.keys() ?? [])];
  }

  /** Every read of the memory store is current: `currentReads` changes nothing. */
  async open(hubId: string, _options?: OpenBucketOptions): Promise<DurableBucket> {
    this.check("open", undefined);
    let data = this.buckets.get(hubId);
    if (data === undefined)
      this.buckets.set(hubId, (data = { revision: 0, keys: new Map(), watchers: new Set() }));
    return new MemoryBucket(this, data);
  }

  /**
   * Writes raw bytes under a key of hub `hubId`'s bucket, bypassing every check: what a foreign
   * or broken writer could leave there (tests of rejection).
   */
  inject(hubId: string, key: string, value: Uint8Array): void {
    const data = this.buckets.get(hubId);
    if (data === undefined) throw new DurableStoreError("inject", key, "no such bucket");
    write(data, key, value);
  }

  /** @internal */
  check(op: string, key: string | undefined): void {
    if (this.down) throw new DurableStoreError(op, key, "store unavailable");
  }
}

function write(data: MemoryBucketData, key: string, value: Uint8Array | null): number {
  const entry: StoreEntry = { key, value, revision: ++data.revision };
  data.keys.set(key, entry);
  for (const w of data.watchers) if (key.startsWith(w.prefix)) queueMicrotask(() => w.fn(entry));
  return entry.revision;
}

class MemoryBucket implements DurableBucket {
  private closed = false;
  private readonly mine = new Set<Watcher>();

  constructor(
    private readonly store: MemoryDurableStore,
    private readonly data: MemoryBucketData,
  ) {}

  async get(key: string): Promise<StoreEntry | null> {
    this.check("get", key);
    this.store.stats.reads++;
    return this.data.keys.get(key) ?? null;
  }

  /** A value larger than the store's largest entry is refused, as a NATS server refuses a message past its `max_payload`. */
  private fits(op: string, key: string, value: Uint8Array): void {
    if (value.length > this.store.inlineMax)
      throw new DurableStoreError(
        op,
        key,
        `${value.length} bytes: past the largest entry (${this.store.inlineMax})`,
      );
  }

  async lastRevision(): Promise<number> {
    this.check("status", undefined);
    this.store.stats.reads++;
    return this.data.revision;
  }

  async create(key: string, value: Uint8Array): Promise<number> {
    this.check("create", key);
    this.fits("create", key, value);
    const cur = this.data.keys.get(key);
    if (cur !== undefined && cur.value !== null) throw new DurableConflictError(key, null);
    this.store.stats.writes++;
    return write(this.data, key, value.slice());
  }

  async update(key: string, value: Uint8Array, revision: number): Promise<number> {
    this.check("update", key);
    this.fits("update", key, value);
    const cur = this.data.keys.get(key);
    if (cur === undefined || cur.revision !== revision) throw new DurableConflictError(key, revision);
    this.store.stats.writes++;
    return write(this.data, key, value.slice());
  }

  async delete(key: string, revision?: number): Promise<void> {
    this.check("delete", key);
    const cur = this.data.keys.get(key);
    if (revision !== undefined && cur?.revision !== revision) throw new DurableConflictError(key, revision);
    this.store.stats.writes++;
    write(this.data, key, null);
  }

  watch(prefix: string, onEntry: (entry: StoreEntry) => void): StoreWatch {
    this.check("watch", prefix);
    // The current values go out first, in revision order, then later writes.
    const current = [...this.data.keys.values()]
      .filter((e) => e.key.startsWith(prefix))
      .sort((a, b) => a.revision - b.revision);
    const w: Watcher = { prefix, fn: (e) => this.closed || onEntry(e) };
    // Added now: a write made after this call queues its delivery behind `ready`'s.
    this.data.watchers.add(w);
    this.mine.add(w);
    const ready = Promise.resolve().then(() => {
      for (const e of current) w.fn(e);
    });
    return {
      ready,
      stop: () => {
        this.data.watchers.delete(w);
        this.mine.delete(w);
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.mine) this.data.watchers.delete(w);
    this.mine.clear();
  }

  private check(op: string, key: string | undefined): void {
    if (this.closed) throw new DurableStoreError(op, key, "bucket closed");
    this.store.check(op, key);
  }
}
