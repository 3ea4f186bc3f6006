/**
 * `ParkedHandovers`: the live state of a fenced hot swap, kept in the store while it travels.
 * A fenced hot swap stops the old copy before the new one starts (two copies never run at once),
 * so a new copy that then fails to start — its node dies, its `init` or `receiveHandoverState`
 * throws, its claim is refused — would leave the state nowhere. The old node therefore **parks**
 * the handed-over data in the store (key `h.<base64url id>` of the hub's checkpoints bucket)
 * before it stops its copy, and a child moves only once that write is acknowledged. The state
 * leaves the store when a copy has taken it: every start of a handover behaviour in a fenced hub
 * that carries no handed-over data looks for a parked one and gives it to the new child as the
 * hot swap would have, and a start counts as done only once the parked record is deleted (one
 * child takes it, once). A child stopped for good drops its parked state, so a later start begins
 * afresh. Records are checked like every stored record (garbled or foreign ones are refused with
 * the warning "hub parked handover refused"). Imports the cluster codec, the record envelope and
 * the store types.
 */
import { Codec } from "../../cluster/codec.js";
import type { Logger } from "../../logger.js";
import { DurableConflictError, DurableStoreError } from "./errors.js";
import type { DurableBucket } from "./store.js";
import { openRecord, recordPackr } from "./stored-record.js";

const PREFIX = "h.";
const FORMAT = "hubvisor/handover";
const VERSION = 1;
/** Handed-over data is bounded by the wire's message size already; this is a backstop. */
const codec = new Codec(64 * 1024 * 1024);
/** How long a stop for good waits for the bucket before giving up its deletion. */
const DROP_WAIT_MS = 5000;

export function parkedHandoverKey(id: string): string {
  return PREFIX + Buffer.from(id, "utf8").toString("base64url");
}

/** A parked state found for a start: its data and the revision to delete it at. */
export interface ParkedState {
  readonly data: unknown;
  readonly revision: number;
}

export class ParkedHandovers {
  /** Counters: states parked, taken by a new copy, dropped by a stop for good, records refused. */
  readonly stats = { parked: 0, taken: 0, dropped: 0, refused: 0 };
  private lastWarn = 0;

  constructor(
    private readonly hubId: string,
    private readonly self: string,
    private readonly logger: Logger,
    /** The hub's checkpoints bucket once open, and a wait for it (bounded by the caller's deadline). */
    private readonly bucket: (timeoutMs: number) => Promise<DurableBucket | null>,
  ) {}

  /**
   * Stores `data` as child `id`'s parked state, over any earlier one. Resolves true once the
   * store acknowledged it; false when it could not (the caller keeps its copy running).
   */
  async park(id: string, data: unknown, timeoutMs: number): Promise<boolean> {
    const key = parkedHandoverKey(id);
    let value: Uint8Array;
    try {
      value = recordPackr.pack({
        f: FORMAT,
        v: VERSION,
        hub: this.hubId,
        id,
        by: this.self,
        at: Date.now(),
        data: codec.encode(data, "handover state"),
      });
    } catch {
      // The data cannot be stored (the hot swap's own start would fail to send it too).
      return false;
    }
    try {
      const bucket = await this.bucket(timeoutMs);
      if (bucket === null) return false;
      // Another writer between the read and the write is another move of the same child: retry.
      for (let attempt = 0; attempt < 3; attempt++) {
        const cur = await bucket.get(key);
        try {
          if (cur === null || cur.value === null) await bucket.create(key, value);
          else await bucket.update(key, value, cur.revision);
          this.stats.parked++;
          return true;
        } catch (err) {
          if (!(err instanceof DurableConflictError)) throw err;
        }
      }
      return false;
    } catch {
      return false;
    }
  }

  /**
   * Child `id`'s parked state, undefined if none (or a refused record). Rejects with
   * `DurableStoreError` when the store cannot tell: the start must not go on without it.
   */
  async find(id: string, timeoutMs: number): Promise<ParkedState | undefined> {
    const key = parkedHandoverKey(id);
    const bucket = await this.bucket(timeoutMs);
    if (bucket === null) throw new DurableStoreError("get", key, "store not open");
    const e = await bucket.get(key);
    if (e === null || e.value === null) return undefined;
    const opened = openRecord(e.value, {
      format: FORMAT,
      version: VERSION,
      hubId: this.hubId,
      id,
      kind: "parked handover",
    });
    if ("refused" in opened) return this.refused(id, opened.refused);
    const bytes = opened.record.data;
    if (!(bytes instanceof Uint8Array)) return this.refused(id, "bad fields");
    const d = codec.decode(bytes);
    if (d.problem !== null || d.values.length !== 1) return this.refused(id, "state does not decode");
    return { data: d.values[0], revision: e.revision };
  }

  /**
   * Deletes child `id`'s parked state once a new copy took it: at `revision` when a start found
   * it (a newer park is another move's, which stays), unconditionally after a hot swap's own
   * start. Resolves whether the state is gone.
   */
  async taken(id: string, revision: number | undefined, timeoutMs: number): Promise<boolean> {
    try {
      const bucket = await this.bucket(timeoutMs);
      if (bucket === null) return false;
      await bucket.delete(parkedHandoverKey(id), revision);
      this.stats.taken++;
      return true;
    } catch {
      return false;
    }
  }

  /** Child `id` was stopped for good: a parked state must not reach a later, fresh start. */
  dropped(id: string): void {
    void this.bucket(DROP_WAIT_MS).then(async (bucket) => {
      try {
        await bucket?.delete(parkedHandoverKey(id));
        this.stats.dropped++;
      } catch (err) {
        this.logger.warn(
          { hub: this.hubId, id, cause: err instanceof Error ? err.message : String(err) },
          "hub parked handover not dropped",
        );
      }
    });
  }

  /** A record that is garbled or foreign: never given to a child (a later park replaces it). */
  private refused(id: string, reason: string): undefined {
    this.stats.refused++;
    const now = Date.now();
    if (now - this.lastWarn >= 1000) {
      this.lastWarn = now;
      this.logger.warn({ hub: this.hubId, id, reason }, "hub parked handover refused");
    }
    return undefined;
  }
}
