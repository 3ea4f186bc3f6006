/**
 * The bucket of a durable hub's checkpoints: its own, beside the declarations'
 * (`<hubId>.checkpoints`; a hub id has no dot). A checkpoint written in the declarations' bucket
 * moved the revision that reconcile compares its replica of the declarations with (its watch
 * reads declarations only), so a hub whose children checkpointed found its replica stale round
 * after round and never reconciled. Opened once the declarations' store is ready; closed with it.
 * Imports the store types and the durability's handle.
 */
import type { Durability } from "./durability.js";
import type { DurableBlobs, DurableBucket, DurableStore } from "./store.js";

export function checkpointsBucketName(hubId: string): string {
  return `${hubId}.checkpoints`;
}

/**
 * The store's blobs for checkpoints too large for an entry (JetStream's object store of the same
 * name), opened on first use; null if the store has none. A failed open is retried by the next
 * call. Rejects with `DurableStoreError`.
 */
export function checkpointBlobs(store: DurableStore, hubId: string): () => Promise<DurableBlobs | null> {
  let opening: Promise<DurableBlobs | null> | undefined;
  return () => {
    if (store.openBlobs === undefined) return Promise.resolve(null);
    opening ??= store.openBlobs(checkpointsBucketName(hubId)).catch((err: unknown) => {
      opening = undefined;
      throw err;
    });
    return opening;
  };
}

/** A wait for the checkpoints' bucket, bounded by the caller's deadline (null: not open). */
export function checkpointBucket(
  durable: Durability,
  store: DurableStore,
  hubId: string,
): (timeoutMs: number) => Promise<DurableBucket | null> {
  let opening: Promise<DurableBucket | null> | undefined;
  let bucket: DurableBucket | null = null;
  const open = () =>
    (opening ??= (async () => {
      // After the declarations' store: the same store, and a hub that never opens it checkpoints nothing.
      while ((await durable.openBucket(1000)) === null) if (durable.isClosed) return null;
      try {
        bucket = await store.open(checkpointsBucketName(hubId));
      } catch {
        // Retried by the next wait: a store not reachable now may be later.
        opening = undefined;
        return null;
      }
      if (durable.isClosed) {
        void bucket.close().catch(() => {});
        return null;
      }
      durable.onClose(() => void bucket?.close().catch(() => {}));
      return bucket;
    })());
  return async (timeoutMs) => {
    if (bucket !== null) return durable.isClosed ? null : bucket;
    const wait = open();
    if (timeoutMs <= 0) return null;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<null>((r) => {
      timer = setTimeout(() => r(null), timeoutMs);
    });
    try {
      return await Promise.race([wait, late]);
    } finally {
      clearTimeout(timer);
    }
  };
}
