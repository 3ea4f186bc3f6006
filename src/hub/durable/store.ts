/**
 * The store a durable hub keeps what must outlive its nodes in: one bucket per hub of keys with
 * revisions, written by compare-and-set, with a watch that first delivers every current value
 * and then every change. This is the shape of a NATS JetStream key-value bucket (the production
 * store, `kv-store.ts`); `memory-store.ts` has the same semantics in one program. Values are
 * opaque bytes here: what they mean, and which ones are refused, is `declared.ts`'s business.
 * Imports nothing.
 */

/** One key's value at one revision; `value: null` is a deletion. */
export interface StoreEntry {
  readonly key: string;
  readonly value: Uint8Array | null;
  /** Increases with every write to the bucket (any key); a key's revision is its last write's. */
  readonly revision: number;
}

/** A running watch. */
export interface StoreWatch {
  /** Resolves once every value current when the watch began was delivered. */
  readonly ready: Promise<void>;
  stop(): void;
}

/** A hub's bucket. Every failing operation rejects with `DurableStoreError`. */
export interface DurableBucket {
  /** The key's last entry, or null if never written (a deletion is an entry with `value: null`). */
  get(key: string): Promise<StoreEntry | null>;
  /** Writes a key that has no value (never written, or deleted); else `DurableConflictError`. */
  create(key: string, value: Uint8Array): Promise<number>;
  /** Writes a key whose last revision is `revision`; else `DurableConflictError`. */
  update(key: string, value: Uint8Array, revision: number): Promise<number>;
  /**
   * Deletes a key (a deletion entry replaces its value; a key never written gets one too), or,
   * with `revision`, only if the key's last revision is that one (else `DurableConflictError`).
   */
  delete(key: string, revision?: number): Promise<void>;
  /**
   * Delivers, for keys starting with `prefix`, each one's current entry (deletions included), then
   * every later write in revision order. Keys are `[A-Za-z0-9_=.-]`; `prefix` ends with a dot.
   */
  watch(prefix: string, onEntry: (entry: StoreEntry) => void): StoreWatch;
  /**
   * The revision of the bucket's last write (0 if none): a replica that has applied it is
   * current as of this read.
   */
  lastRevision(): Promise<number>;
  /** Releases what the bucket holds on this node (not the data). */
  close(): Promise<void>;
}

/** How a bucket is opened. */
export interface OpenBucketOptions {
  /**
   * Every `get` returns the value of the bucket's last acknowledged write (default false). A
   * replicated JetStream bucket otherwise lets any replica answer a get ("direct get"), and a
   * lagging follower answers with an older value: harmless where a compare-and-set write decides
   * (declarations, checkpoints), not where a read alone decides (fencing: "this lease has not
   * been renewed for its whole term").
   */
  currentReads?: boolean;
}

/**
 * Named values too large for a bucket's entries, written whole (JetStream's object store): where
 * checkpoints over `inlineMax` go, their bucket entry pointing at them. Every failing operation
 * rejects with `DurableStoreError`.
 */
export interface DurableBlobs {
  /** The largest value a bucket entry of this store holds, in bytes; larger ones go here. */
  readonly inlineMax: number;
  put(name: string, value: Uint8Array): Promise<void>;
  /** The value, or null if there is none under `name`. */
  get(name: string): Promise<Uint8Array | null>;
  /** Deletes `name` (nothing if there is none). */
  delete(name: string): Promise<void>;
}

/** Opens one bucket per hub id. */
export interface DurableStore {
  /** A short name for logs. */
  readonly kind: string;
  /** The blobs of `name` (a bucket name), for a store that has a place for large values. */
  openBlobs?(name: string): Promise<DurableBlobs>;
  open(hubId: string, options?: OpenBucketOptions): Promise<DurableBucket>;
}
