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
import {
  createInbox,
  headers,
  type Msg,
  type NatsConnection,
  type Subscription,
} from "@nats-io/transport-node";
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
      return new KvBucket(
        kv,
        this.o.timeoutMs,
        new CasWriter(this.o.connection, `$KV.${name}`, this.o.timeoutMs),
      );
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

/** JetStream's error codes of "wrong last sequence": another revision than the one a write was based on. */
const WRONG_LAST_SEQUENCE: ReadonlySet<unknown> = new Set([10071, 10164]);

/** JetStream's "wrong last sequence": another revision than the one a write was based on. */
function isConflict(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return WRONG_LAST_SEQUENCE.has(code) || (err instanceof Error && /wrong last sequence/i.test(err.message));
}

function toEntry(
  key: string,
  e: KvEntry | { key: string; value: Uint8Array; revision: number; operation: string },
): StoreEntry {
  // A deletion or purge carries no value: a value says "PUT" without the headers being parsed,
  // which cost more than anything else the client does with each page a watch brings.
  const value = e.value;
  return { key, value: value.length > 0 || e.operation === "PUT" ? value : null, revision: e.revision };
}

/** Keys the KV client takes as they are (`validateKey`): the others go through it. */
const PLAIN_KEY = /^[-/=\w]+(\.[-/=\w]+)*$/;
/** JetStream's header for a compare-and-set on a subject's last sequence (0: no value yet). */
const EXPECTED_LAST = "Nats-Expected-Last-Subject-Sequence";

/**
 * Compare-and-set writes to one bucket, published straight to the bucket's stream with a reply
 * subject of one subscription of its own, and matched by a number: the hub writes its pages of
 * declarations through this. The KV client's `update` made each write a request with a timer, a
 * deferred and three errors with stack traces (one built on every success, when the request is
 * cleaned up): half of what a page write cost the calling node (a profile of
 * `bench/hub-durable.ts`). A reply that is not an acknowledgement, or none within the timeout,
 * fails the write with a `DurableStoreError`; a lost compare-and-set with `DurableConflictError`.
 * The reply subject is a fresh inbox (random, as the client's own): another publisher cannot aim
 * at it without reading this connection's traffic.
 */
class CasWriter {
  private sub: Subscription | null = null;
  private readonly inbox = `${createInbox()}.`;
  private next = 0;
  private readonly waiting = new Map<
    number,
    {
      key: string;
      expected: number;
      resolve: (seq: number) => void;
      reject: (e: Error) => void;
      deadline: number;
    }
  >();
  private sweeper: ReturnType<typeof setInterval> | null = null;
  private readonly decoder = new TextDecoder();

  constructor(
    private readonly nc: NatsConnection,
    private readonly subjectPrefix: string,
    private readonly timeoutMs: number,
  ) {}

  /** Whether `key` can be written here (else: through the KV client). */
  takes(key: string): boolean {
    return PLAIN_KEY.test(key) && !this.nc.isClosed();
  }

  /** Writes `value` at `key` if its last revision is `expected` (0: none); resolves with the new revision. */
  write(key: string, value: Uint8Array, expected: number): Promise<number> {
    if (this.sub === null) {
      this.sub = this.nc.subscribe(`${this.inbox}*`, { callback: (_err, msg) => this.answer(msg) });
      this.sweeper = setInterval(() => this.sweep(), Math.max(50, Math.min(1000, this.timeoutMs / 4)));
      this.sweeper.unref?.();
    }
    const n = ++this.next;
    const h = headers();
    h.set(EXPECTED_LAST, String(expected));
    return new Promise((resolve, reject) => {
      this.waiting.set(n, { key, expected, resolve, reject, deadline: Date.now() + this.timeoutMs });
      try {
        this.nc.publish(`${this.subjectPrefix}.${key}`, value, { reply: `${this.inbox}${n}`, headers: h });
      } catch (err) {
        this.waiting.delete(n);
        reject(new DurableStoreError("update", key, describe(err)));
      }
    });
  }

  private answer(msg: Msg): void {
    const n = Number(msg.subject.slice(this.inbox.length));
    const w = this.waiting.get(n);
    if (w === undefined) return;
    this.waiting.delete(n);
    if (msg.data.length === 0) {
      const why = msg.headers?.code === 503 ? "no responders (JetStream unavailable)" : "empty reply";
      return w.reject(new DurableStoreError("update", w.key, why));
    }
    let ack: { seq?: unknown; error?: { err_code?: unknown; description?: unknown } };
    try {
      ack = JSON.parse(this.decoder.decode(msg.data));
    } catch {
      return w.reject(new DurableStoreError("update", w.key, "garbled acknowledgement"));
    }
    if (ack.error !== undefined) {
      if (WRONG_LAST_SEQUENCE.has(ack.error.err_code))
        return w.reject(new DurableConflictError(w.key, w.expected === 0 ? null : w.expected));
      return w.reject(new DurableStoreError("update", w.key, String(ack.error.description ?? "refused")));
    }
    if (typeof ack.seq !== "number") return w.reject(new DurableStoreError("update", w.key, "no sequence"));
    w.resolve(ack.seq);
  }

  private sweep(): void {
    const now = Date.now();
    for (const [n, w] of this.waiting) {
      if (w.deadline > now) continue;
      this.waiting.delete(n);
      w.reject(new DurableStoreError("update", w.key, `no acknowledgement within ${this.timeoutMs} ms`));
    }
  }

  close(): void {
    this.sub?.unsubscribe();
    this.sub = null;
    if (this.sweeper !== null) clearInterval(this.sweeper);
    this.sweeper = null;
    for (const w of this.waiting.values()) w.reject(new DurableStoreError("update", w.key, "bucket closed"));
    this.waiting.clear();
  }
}

class KvBucket implements DurableBucket {
  constructor(
    private readonly kv: KV,
    private readonly timeoutMs: number,
    private readonly writer: CasWriter,
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
    if (this.writer.takes(key)) {
      try {
        return await this.writer.write(key, value, 0);
      } catch (err) {
        // A key whose last entry is a deletion has a revision: the KV client's create handles it.
        if (!(err instanceof DurableConflictError)) throw err;
      }
    }
    try {
      return await untraced(() => this.kv.create(key, value));
    } catch (err) {
      if (isConflict(err)) throw new DurableConflictError(key, null);
      throw new DurableStoreError("create", key, describe(err));
    }
  }

  async update(key: string, value: Uint8Array, revision: number): Promise<number> {
    if (this.writer.takes(key)) return this.writer.write(key, value, revision);
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
    this.writer.close();
  }
}
