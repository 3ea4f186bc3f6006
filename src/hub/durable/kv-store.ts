/**
 * `JetStreamDurableStore`: a durable hub's store in NATS JetStream, one key-value bucket per hub
 * (`hubvisor_<hubId>` by default). Compare-and-set is the bucket's own (`create` / `update` on
 * a key's last revision, JetStream's expected-last-subject-sequence), the watch is its ordered
 * consumer over the last value of every key and then every write. Uses only what nats-server
 * 2.9 supports (no per-key TTL, no multi-key watch, no compression). Values larger than one
 * message (checkpoints past the server's `max_payload`) go to a JetStream object store of the
 * same name (`openBlobs`, `@nats-io/obj`: chunked, with a digest the client checks on reading).
 * The client libraries (`@nats-io/kv`, `@nats-io/obj`, over `@nats-io/jetstream`) are optional
 * peer dependencies, loaded when a bucket is first opened, so `hubvisor/nats` loads without
 * them. Imports the store interface and errors; the NATS types are types only.
 */
import type { KV, KvEntry } from "@nats-io/kv";
import type { ObjectStore } from "@nats-io/obj";
import type { NatsConnection } from "@nats-io/transport-node";
import { InvalidOptionError } from "../../errors.js";
import { DurableConflictError, DurableStoreError } from "./errors.js";
import type {
  DurableBlobs,
  DurableBucket,
  DurableStore,
  OpenBucketOptions,
  StoreEntry,
  StoreWatch,
} from "./store.js";

/**
 * Options of `JetStreamDurableStore`.
 * @category nats
 */
export interface JetStreamDurableStoreOptions {
  /** A connection to a JetStream-enabled server (its own, or the transport's). */
  connection: NatsConnection;
  /** Bucket name of hub `hubId` is this prefix then the id (base64url if the id has other characters than `[A-Za-z0-9_-]`). @default "hubvisor_" */
  bucketPrefix?: string | undefined;
  /** Copies of the bucket in a JetStream cluster (1, 3 or 5). @default 1 */
  replicas?: number | undefined;
  /** Values kept per key (the latest first; history is for operators, the hub reads the latest). @default 1 */
  history?: number | undefined;
  /** `"file"` survives a server restart; `"memory"` does not. @default "file" */
  storage?: "file" | "memory" | undefined;
  /** Deadline of each read and write, in ms. @default 5000 */
  timeoutMs?: number | undefined;
}

const VALID_BUCKET = /^[A-Za-z0-9_-]+$/;

/**
 * The durable store of a hub on NATS JetStream: one key-value bucket per hub, written with
 * compare-and-set on revisions (nats-server 2.9 features only).
 * @category nats
 */
export class JetStreamDurableStore implements DurableStore {
  readonly kind = "jetstream";
  private readonly o: Required<Omit<JetStreamDurableStoreOptions, "connection">> & {
    connection: NatsConnection;
  };

  constructor(options: JetStreamDurableStoreOptions) {
    if (typeof options !== "object" || options === null || typeof options.connection?.request !== "function")
      throw new InvalidOptionError("connection", "a NatsConnection", options?.connection);
    this.o = {
      connection: options.connection,
      bucketPrefix: options.bucketPrefix ?? "hubvisor_",
      replicas: options.replicas ?? 1,
      history: options.history ?? 1,
      storage: options.storage ?? "file",
      timeoutMs: options.timeoutMs ?? 5000,
    };
    if (!VALID_BUCKET.test(this.o.bucketPrefix))
      throw new InvalidOptionError("bucketPrefix", "characters of [A-Za-z0-9_-]", this.o.bucketPrefix);
    if (![1, 3, 5].includes(this.o.replicas))
      throw new InvalidOptionError("replicas", "1, 3 or 5", this.o.replicas);
  }

  /** The bucket name of hub `hubId`. */
  bucketName(hubId: string): string {
    const id = VALID_BUCKET.test(hubId) ? hubId : `b64_${Buffer.from(hubId).toString("base64url")}`;
    return this.o.bucketPrefix + id;
  }

  async open(hubId: string, options: OpenBucketOptions = {}): Promise<DurableBucket> {
    const name = this.bucketName(hubId);
    try {
      const [{ Kvm }, { jetstream }] = await Promise.all([
        import("@nats-io/kv"),
        import("@nats-io/jetstream"),
      ]);
      const js = jetstream(this.o.connection, { timeout: this.o.timeoutMs });
      const kv = await new Kvm(js).create(name, {
        replicas: this.o.replicas,
        history: this.o.history,
        storage: this.o.storage as never,
        // Without direct gets, a get is a request to the stream's leader: current on a
        // replicated bucket. The client honours this even for a bucket created with them.
        ...(options.currentReads === true ? { allow_direct: false } : {}),
      });
      return new KvBucket(kv, this.o.timeoutMs);
    } catch (err) {
      throw new DurableStoreError("open", name, describe(err));
    }
  }

  /** The object store of `name` (a hub's bucket id, as for `open`), created if missing. */
  async openBlobs(name: string): Promise<DurableBlobs> {
    const bucket = this.bucketName(name);
    try {
      const [{ Objm }, { jetstream }] = await Promise.all([
        import("@nats-io/obj"),
        import("@nats-io/jetstream"),
      ]);
      const js = jetstream(this.o.connection, { timeout: this.o.timeoutMs });
      const os = await new Objm(js).create(bucket, {
        replicas: this.o.replicas,
        storage: this.o.storage as never,
      });
      const maxPayload = this.o.connection.info?.max_payload ?? 1024 * 1024;
      return new ObjBlobs(os, Math.max(1024, maxPayload - MESSAGE_MARGIN));
    } catch (err) {
      throw new DurableStoreError("open", bucket, describe(err));
    }
  }
}

class ObjBlobs implements DurableBlobs {
  constructor(
    private readonly os: ObjectStore,
    readonly inlineMax: number,
  ) {}

  async put(name: string, value: Uint8Array): Promise<void> {
    try {
      await this.os.putBlob({ name }, value);
    } catch (err) {
      throw new DurableStoreError("put", name, describe(err));
    }
  }

  async get(name: string): Promise<Uint8Array | null> {
    try {
      return await this.os.getBlob(name);
    } catch (err) {
      throw new DurableStoreError("get", name, describe(err));
    }
  }

  async delete(name: string): Promise<void> {
    try {
      await this.os.delete(name);
    } catch (err) {
      // Already gone is what a deletion wants.
      if (/not found/i.test(describe(err))) return;
      throw new DurableStoreError("delete", name, describe(err));
    }
  }
}

/** Room left in a message for its headers and the record around a value (bytes). */
const MESSAGE_MARGIN = 4096;

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** JetStream's "wrong last sequence": another revision than the one a write was based on. */
/**
 * Calls `fn` (a request of the NATS client) without capturing stack traces. Unless its connection
 * was made with `noAsyncTraces`, the client builds two errors with stack traces for every request
 * before sending it (for a timeout or a failure that may come later); under a durable start they
 * were 4 % of the calling node's CPU (a profile of `bench/hub-durable.ts`). A failure is reported
 * as a `DurableStoreError` carrying the message, which needs no stack.
 */
function untraced<T>(fn: () => Promise<T>): Promise<T> {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return fn();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

function isConflict(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return (
    code === 10071 || code === 10164 || (err instanceof Error && /wrong last sequence/i.test(err.message))
  );
}

function toEntry(
  key: string,
  e: KvEntry | { key: string; value: Uint8Array; revision: number; operation: string },
): StoreEntry {
  return { key, value: e.operation === "PUT" ? e.value : null, revision: e.revision };
}

class KvBucket implements DurableBucket {
  constructor(
    private readonly kv: KV,
    private readonly timeoutMs: number,
  ) {}

  async get(key: string): Promise<StoreEntry | null> {
    try {
      const e = await untraced(() => this.kv.get(key));
      return e === null ? null : toEntry(key, e);
    } catch (err) {
      throw new DurableStoreError("get", key, describe(err));
    }
  }

  async lastRevision(): Promise<number> {
    try {
      return (await untraced(() => this.kv.status())).streamInfo.state.last_seq;
    } catch (err) {
      throw new DurableStoreError("status", undefined, describe(err));
    }
  }

  async create(key: string, value: Uint8Array): Promise<number> {
    try {
      return await untraced(() => this.kv.create(key, value));
    } catch (err) {
      if (isConflict(err)) throw new DurableConflictError(key, null);
      throw new DurableStoreError("create", key, describe(err));
    }
  }

  async update(key: string, value: Uint8Array, revision: number): Promise<number> {
    try {
      return await untraced(() => this.kv.update(key, value, revision, this.timeoutMs));
    } catch (err) {
      if (isConflict(err)) throw new DurableConflictError(key, revision);
      throw new DurableStoreError("update", key, describe(err));
    }
  }

  async delete(key: string, revision?: number): Promise<void> {
    try {
      await this.kv.delete(key, revision === undefined ? undefined : { previousSeq: revision });
    } catch (err) {
      if (revision !== undefined && isConflict(err)) throw new DurableConflictError(key, revision);
      throw new DurableStoreError("delete", key, describe(err));
    }
  }

  watch(prefix: string, onEntry: (entry: StoreEntry) => void): StoreWatch {
    let stopped = false;
    let stop: () => void = () => {
      stopped = true;
    };
    const ready = (async () => {
      try {
        // With no key yet, nothing will come to say the current values are in: ready at once.
        const keys = await this.kv.keys(`${prefix}>`);
        let any = false;
        for await (const _ of keys) {
          any = true;
          break;
        }
        keys.stop();
        const iter = await this.kv.watch({ key: `${prefix}>` });
        if (stopped) return iter.stop();
        stop = () => iter.stop();
        let signal!: () => void;
        const initial = new Promise<void>((r) => (signal = r));
        if (!any) signal();
        void (async () => {
          for await (const e of iter) {
            onEntry(toEntry(e.key, e));
            // `delta`: how many messages the consumer still had to deliver after this one.
            if (e.delta === 0) signal();
          }
        })();
        await initial;
      } catch (err) {
        throw new DurableStoreError("watch", prefix, describe(err));
      }
    })();
    return { ready, stop: () => stop() };
  }

  async close(): Promise<void> {
    // The bucket lives on in JetStream; watches are stopped by their owners.
  }
}
