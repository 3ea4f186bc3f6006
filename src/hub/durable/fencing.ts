/**
 * `Fence`: fencing of one durable hub on one node — at no instant do two nodes run the same
 * child. One lease per node (`fl.<node>` in the hub's fencing bucket, `fencingBucket`),
 * renewed by compare-and-set every `renewIntervalMs`, and one claim per child (`fc.<id>`),
 * written by compare-and-set only when the child is placed (a start, a move, an adoption). The
 * rules:
 *
 * - A node runs a child only while its lease is valid and the child's claim names it (this
 *   session of it). A lease is valid until `leaseMs` after the *send* of its last renewal whose
 *   acknowledgement arrived before the node's stop point; a renewal acknowledged later does not
 *   extend it (the chain is broken: the node starts a new session once the old one has ended).
 * - A node that cannot renew stops every child when `stopMarginMs` of its lease is left, and
 *   kills what still runs when the lease ends. A node that was frozen (SIGSTOP, a blocked loop)
 *   cannot do that on time, so its node's scheduler asks `check` before it runs any process:
 *   past the stop point the children are stopped before they handle a single message.
 * - A node takes a claim from another node only when that node's lease is released, belongs
 *   to another session than the claim's, or has lapsed: the taker saw the same revision of it
 *   for `leaseMs * (1 + clockDriftRate) + takeoverMarginMs` on its own clock, and a fresh read at
 *   the end still shows that revision. Why that is enough: the holder's last renewal was sent
 *   before the taker first saw it, so its lease ended before that wait did; any later renewal
 *   was stored after the fresh read and so acknowledged after the old lease had ended — too
 *   late to count.
 *
 * Clock assumptions: each node's monotonic clock runs at real rate within `clockDriftRate`,
 * including while the process is stopped (Linux CLOCK_MONOTONIC does, a suspended machine does
 * not); no clock is compared with another node's, and the store's clock is not used. Reads must
 * be current (a single server, or a replicated bucket read from its leader).
 *
 * Imports the store interface, the fencing records and options, the hub hooks and the logger.
 */
import { randomBytes } from "node:crypto";
import type { Logger } from "../../logger.js";
import type { HubHooks } from "../hooks.js";
import { DurableConflictError } from "./errors.js";
import type { ParsedFencing } from "./fencing-options.js";
import {
  CLAIM_PREFIX,
  type Claim,
  claimKey,
  decodeClaim,
  decodeLease,
  encodeClaim,
  encodeLease,
  idOfClaimKey,
  LEASE_PREFIX,
  type Lease,
  leaseKey,
  nodeOfLeaseKey,
} from "./lease.js";
import type { DurableBucket, DurableStore, StoreEntry, StoreWatch } from "./store.js";

/** What the fence needs from the hub on its node. */
export interface FenceHost {
  readonly hubId: string;
  readonly self: string;
  readonly logger: Logger;
  readonly hooks: HubHooks;
  /** Whether the hub still runs here (a node killed outright runs no exit hook to say it does not). */
  alive(): boolean;
  /** Whether a child `id` runs or is starting on this node. */
  holds(id: string): boolean;
  /**
   * Stops every local child now (the lease is being lost), without waiting; `kill` kills those
   * still alive (called when the lease ends).
   */
  stopAll(): { count: number; kill: () => void };
  /** Whether this node may give up its claim of `id`, which it does not run (it will not start it itself soon). */
  releasable(id: string): boolean;
}

/** Why a fenced start was refused. */
export type FenceRefusal =
  /** This node holds no valid lease (the store unreachable, or its lease lost and not yet renewed). */
  | "no_lease"
  /** Another node's claim, and that node's lease is live. */
  | "held"
  /** The claim could not be written. */
  | "store_failed";

/** Counters of one node's fence. */
export interface FencingStats {
  /** Lease writes acknowledged in time (sessions begun and renewals). */
  renewals: number;
  /** Lease writes that failed (the store unreachable or slow). */
  renewFailures: number;
  /** Sessions lost (the lease not renewed in time, or overwritten). */
  leasesLost: number;
  /** Claim writes (placements, takeovers, hand-overs, releases). */
  claimWrites: number;
  /** Claims taken from another node after its lease lapsed or ended. */
  takeovers: number;
  /** Starts refused. */
  refused: number;
  /** Store entries refused (garbled, foreign). */
  rejected: number;
}

type FenceState = "opening" | "establishing" | "valid" | "lost" | "closed";

interface SeenLease {
  readonly lease: Lease;
  /** When this node first saw this revision, on its own clock. */
  readonly seenAt: number;
}

/**
 * The bucket of a hub's leases and claims: its own, beside the declarations' (`<hubId>.fencing`;
 * a hub id has no dot), so that lease renewals do not move the revision a durable hub's
 * reconcile compares its replica of the declarations with.
 */
export function fencingBucket(hubId: string): string {
  return `${hubId}.fencing`;
}

const MAX_CAS_ATTEMPTS = 8;
/** Releases of claims this node no longer needs, per renewal (a background trickle). */
const SWEEP_PER_ROUND = 128;

export class Fence {
  readonly stats: FencingStats = {
    renewals: 0,
    renewFailures: 0,
    leasesLost: 0,
    claimWrites: 0,
    takeovers: 0,
    refused: 0,
    rejected: 0,
  };
  private state: FenceState = "opening";
  private bucket: DurableBucket | null = null;
  private readonly watches: StoreWatch[] = [];
  private readonly leases = new Map<string, SeenLease>();
  private readonly claims = new Map<string, Claim>();
  /** Revisions of claim keys holding something else than a claim (refused entries). */
  private readonly unreadable = new Map<string, number>();
  /** Ids whose claim names this node (any session). */
  private readonly named = new Set<string>();
  /** The current session (null unless `valid`), and the last one this node had. */
  private session: string | null = null;
  private lastSession: string | null = null;
  /** Revision of this node's lease key as last written or read here. */
  private leaseRev: number | null = null;
  private validUntil = Number.NEGATIVE_INFINITY;
  private stopAt = Number.NEGATIVE_INFINITY;
  private cancelRenew: (() => void) | null = null;
  private cancelStop: (() => void) | null = null;
  private pendingKill: (() => void) | null = null;
  private renewing = false;
  private readonly lapses = new Map<string, Promise<boolean>>();
  private readonly leaseWatchers = new Map<string, Set<() => void>>();
  private readonly validWaiters = new Set<() => void>();
  private readonly serials = new Map<string, Promise<unknown>>();
  /** Ids between a successful claim and the host starting them. */
  private readonly acquiring = new Map<string, number>();
  private slots: number;
  private readonly slotWaiters: Array<() => void> = [];
  private lastRejectLog = 0;

  constructor(
    private readonly host: FenceHost,
    private readonly store: DurableStore,
    readonly options: ParsedFencing,
  ) {
    this.slots = options.writeConcurrency;
    void this.open();
  }

  /** The session this node runs its children under, while its lease is valid. */
  get currentSession(): string | null {
    return this.valid() ? this.session : null;
  }

  /**
   * When the current lease ends (or the last one ended), on the fence's clock: `leaseMs` after
   * the send of its last renewal acknowledged in time.
   */
  get leaseEnd(): number {
    return this.validUntil;
  }

  /** Whether this node may run fenced children now. */
  valid(): boolean {
    return this.state === "valid" && this.options.clock.now() < this.stopAt;
  }

  /**
   * The scheduler's check before it runs processes: a node past its stop point (a timer that did
   * not fire in time: the process was stopped or its loop blocked) stops its children first.
   */
  readonly check = (): void => {
    if (this.state === "valid") {
      if (this.options.clock.now() >= this.stopAt) this.lose("overdue");
    } else if (this.pendingKill !== null && this.options.clock.now() >= this.validUntil) this.killNow();
  };

  // ------------------------------------------------------------------ opening and the replicas

  private async open(): Promise<void> {
    let delay = 100;
    while (this.state === "opening") {
      try {
        const bucket = await this.store.open(fencingBucket(this.host.hubId), { currentReads: true });
        if (this.state !== "opening") return void bucket.close();
        this.bucket = bucket;
        this.watches.push(bucket.watch(LEASE_PREFIX, (e) => this.applyLease(e)));
        this.watches.push(bucket.watch(CLAIM_PREFIX, (e) => this.applyClaim(e)));
        await Promise.all(this.watches.map((w) => w.ready));
        break;
      } catch (err) {
        this.host.logger.warn(
          { hub: this.host.hubId, err: String(err) },
          "fencing store not opened; retrying",
        );
        for (const w of this.watches.splice(0)) w.stop();
        await this.bucket?.close().catch(() => {});
        this.bucket = null;
        await this.sleep(delay);
        delay = Math.min(delay * 2, 5000);
      }
    }
    if (this.state === "opening") void this.establish();
  }

  close(): void {
    this.state = "closed";
    this.session = null;
    this.cancelTimers();
    for (const w of this.watches.splice(0)) w.stop();
    void this.bucket?.close().catch(() => {});
    for (const w of [...this.validWaiters]) w();
  }

  private applyLease(e: StoreEntry): void {
    const node = nodeOfLeaseKey(e.key);
    if (node === null) return this.reject(e, "not a lease key");
    const known = this.leases.get(node);
    if (known !== undefined && known.lease.revision >= e.revision) return;
    const lease: Lease | { refused: string } =
      e.value === null
        ? { node, session: null, leaseMs: 0, revision: e.revision }
        : decodeLease(this.host.hubId, e.key, e.value, e.revision);
    if ("refused" in lease) return this.reject(e, lease.refused);
    this.leases.set(node, { lease, seenAt: this.options.clock.now() });
    if (node === this.host.self) {
      if (this.leaseRev === null || e.revision > this.leaseRev) this.leaseRev = e.revision;
      // Someone else wrote this node's lease key (another process under this node's name).
      if (this.state === "valid" && lease.session !== this.session) this.lose("overwritten");
    }
    const ws = this.leaseWatchers.get(node);
    if (ws !== undefined) for (const w of [...ws]) w();
  }

  private applyClaim(e: StoreEntry): void {
    const id = idOfClaimKey(e.key);
    if (id === null) return this.reject(e, "not a claim key");
    const known = this.claims.get(id);
    if (known !== undefined && known.revision >= e.revision) return;
    if (e.value === null) {
      this.unreadable.delete(id);
      this.claims.delete(id);
      this.named.delete(id);
      return;
    }
    const c = decodeClaim(this.host.hubId, e.key, e.value, e.revision);
    if ("refused" in c) {
      // Not a claim of any node of this hub: a write may replace it (at this revision).
      this.claims.delete(id);
      this.named.delete(id);
      this.unreadable.set(id, e.revision);
      return this.reject(e, c.refused);
    }
    this.unreadable.delete(id);
    this.claims.set(id, c);
    if (c.node === this.host.self) this.named.add(id);
    else this.named.delete(id);
  }

  private reject(e: StoreEntry, why: string): void {
    this.stats.rejected++;
    const now = Date.now();
    if (now - this.lastRejectLog < 1000) return;
    this.lastRejectLog = now;
    this.host.logger.warn(
      {
        hub: this.host.hubId,
        key: e.key.slice(0, 80),
        revision: e.revision,
        why,
        rejected: this.stats.rejected,
      },
      "fencing store entry refused",
    );
  }

  // ------------------------------------------------------------------ this node's lease

  /**
   * Begins a session: after a lost one, once it has ended (its children are dead by then); over
   * another incarnation's live-looking lease of this node, once that lapsed.
   */
  private async establish(): Promise<void> {
    const clock = this.options.clock;
    const t0 = clock.now();
    this.state = "establishing";
    let delay = 50;
    while (this.state === "establishing") {
      const bucket = this.bucket!;
      try {
        if (clock.now() < this.validUntil) await this.sleep(this.validUntil - clock.now());
        if (this.pendingKill !== null) this.killNow();
        const key = leaseKey(this.host.self);
        const cur = await bucket.get(key);
        if (cur !== null) this.applyLease(cur);
        const seen = this.leases.get(this.host.self);
        const prev = seen?.lease;
        if (prev !== undefined && prev.session !== null && prev.session !== this.lastSession) {
          // An earlier process under this name may be frozen, not dead: wait for its lease to end.
          if (!(await this.lapsed(this.host.self, seen!))) {
            await this.sleep(this.options.renewIntervalMs);
            continue;
          }
        }
        if (this.state !== "establishing") return;
        const session = randomBytes(9).toString("base64url");
        const value = encodeLease(this.host.hubId, this.host.self, session, this.options.leaseMs);
        const sent = clock.now();
        const rev =
          cur === null ? await bucket.create(key, value) : await bucket.update(key, value, cur.revision);
        this.leaseRev = rev;
        if (this.state !== "establishing") return;
        // Acknowledged too late to be of use: write another.
        if (clock.now() >= sent + this.options.leaseMs - this.options.stopMarginMs) continue;
        this.session = session;
        this.lastSession = session;
        this.state = "valid";
        this.stats.renewals++;
        this.extend(sent);
        this.host.hooks.dispatch("leaseAcquired", { session, waitedMs: clock.now() - t0 });
        for (const w of [...this.validWaiters]) w();
        return;
      } catch (err) {
        this.stats.renewFailures++;
        if (!(err instanceof DurableConflictError))
          this.host.logger.debug({ hub: this.host.hubId, err: String(err) }, "fencing lease not written");
        await this.sleep(delay);
        delay = Math.min(delay * 2, this.options.renewIntervalMs);
      }
    }
  }

  /** A write of the lease sent at `sent` was acknowledged in time: the lease runs from it. */
  private extend(sent: number): void {
    const { clock, leaseMs, stopMarginMs, renewIntervalMs } = this.options;
    this.validUntil = sent + leaseMs;
    this.stopAt = this.validUntil - stopMarginMs;
    this.armStop();
    this.scheduleRenew(sent + renewIntervalMs - clock.now());
  }

  /** The stop timer: a timer may fire a little before its time on this clock, so it re-arms until due. */
  private armStop(): void {
    const clock = this.options.clock;
    this.cancelStop?.();
    this.cancelStop = clock.after(this.stopAt - clock.now(), () => {
      this.cancelStop = null;
      if (this.state !== "valid") return;
      if (clock.now() >= this.stopAt) this.lose("overdue");
      else this.armStop();
    });
  }

  private scheduleRenew(inMs: number): void {
    this.cancelRenew?.();
    this.cancelRenew = this.options.clock.after(inMs, () => void this.renew());
  }

  private async renew(): Promise<void> {
    if (this.state !== "valid" || this.renewing) return;
    // Its hub is gone (the node was killed): the lease must lapse, not be kept alive by a timer.
    if (!this.host.alive()) return this.close();
    const clock = this.options.clock;
    const session = this.session;
    const sent = clock.now();
    this.renewing = true;
    let rev: number;
    try {
      const value = encodeLease(this.host.hubId, this.host.self, session, this.options.leaseMs);
      rev = await this.bucket!.update(leaseKey(this.host.self), value, this.leaseRev ?? 0);
    } catch (err) {
      this.renewing = false;
      this.stats.renewFailures++;
      if (this.state !== "valid" || this.session !== session) return;
      if (err instanceof DurableConflictError) return this.lose("overwritten");
      this.host.logger.warn(
        { hub: this.host.hubId, err: String(err) },
        "fencing lease not renewed; retrying",
      );
      // Again soon: the lease still runs, and the stop timer guards its end.
      return this.scheduleRenew(Math.min(500, this.options.renewIntervalMs / 4));
    }
    this.renewing = false;
    if (this.leaseRev === null || rev > this.leaseRev) this.leaseRev = rev;
    // Too late (the session was lost meanwhile): the chain is broken; a new session follows.
    if (this.state !== "valid" || this.session !== session) return;
    if (clock.now() >= this.stopAt) return this.lose("overdue");
    this.stats.renewals++;
    this.extend(sent);
    this.sweep();
  }

  private lose(reason: "overdue" | "overwritten"): void {
    if (this.state !== "valid") return;
    const session = this.session!;
    this.state = "lost";
    this.session = null;
    this.cancelTimers();
    const { count, kill } = this.host.stopAll();
    this.pendingKill = kill;
    this.stats.leasesLost++;
    this.host.logger.warn(
      { hub: this.host.hubId, reason, stopped: count },
      "fencing lease lost: children stopped until it is renewed",
    );
    this.host.hooks.dispatch("leaseLost", { session, reason, stopped: count });
    const left = this.validUntil - this.options.clock.now();
    if (left <= 0) this.killNow();
    else this.options.clock.after(left, () => this.killNow());
    void this.establish();
  }

  private killNow(): void {
    const k = this.pendingKill;
    this.pendingKill = null;
    k?.();
  }

  private cancelTimers(): void {
    this.cancelRenew?.();
    this.cancelStop?.();
    this.cancelRenew = null;
    this.cancelStop = null;
  }

  /**
   * A graceful stop (its children stopped already): the lease is written released, so other
   * nodes take this node's claims at once instead of waiting for the lease to lapse.
   */
  async releaseLease(): Promise<void> {
    const bucket = this.bucket;
    const wasValid = this.state === "valid";
    this.state = "closed";
    this.session = null;
    this.cancelTimers();
    if (bucket === null || !wasValid || this.leaseRev === null) return;
    try {
      await bucket.update(
        leaseKey(this.host.self),
        encodeLease(this.host.hubId, this.host.self, null, this.options.leaseMs),
        this.leaseRev,
      );
    } catch (err) {
      this.host.logger.warn({ hub: this.host.hubId, err: String(err) }, "fencing lease not released");
    }
  }

  // ------------------------------------------------------------------ other nodes' leases

  /**
   * Whether the claim of `node` (session `session`, or any if null) is dead: that node's lease
   * is released, of another session, or lapsed.
   */
  private async holderGone(node: string, session: string | null): Promise<boolean> {
    for (let i = 0; i < 3; i++) {
      let seen = this.leases.get(node);
      if (seen === undefined) {
        const e = await this.bucket!.get(leaseKey(node));
        if (e !== null) this.applyLease(e);
        seen = this.leases.get(node);
      }
      if (seen === undefined || seen.lease.session === null) return true;
      if (session !== null && seen.lease.session !== session) return true;
      const renewedSince = !(await this.lapsed(node, seen));
      if (!renewedSince) return true;
      const now = this.leases.get(node)?.lease;
      // Renewed by the same session: alive. Released or a new session: look again.
      if (now !== undefined && now.session !== null && (session === null || now.session === session))
        return false;
    }
    return false;
  }

  /**
   * Resolves true once `node`'s lease has stayed at `seen`'s revision for the lapse wait (checked
   * by a fresh read), false as soon as another revision shows up. One wait per revision.
   */
  private lapsed(node: string, seen: SeenLease): Promise<boolean> {
    const key = `${node}\u0000${seen.lease.revision}`;
    let p = this.lapses.get(key);
    if (p !== undefined) return p;
    const { clock, leaseMs, clockDriftRate, takeoverMarginMs } = this.options;
    const wait = Math.max(leaseMs, seen.lease.leaseMs) * (1 + clockDriftRate) + takeoverMarginMs;
    p = new Promise<boolean>((resolve) => {
      let watchers = this.leaseWatchers.get(node);
      if (watchers === undefined) this.leaseWatchers.set(node, (watchers = new Set()));
      let cancel = () => {};
      let finished = false;
      const done = (gone: boolean) => {
        if (finished) return;
        finished = true;
        watchers!.delete(changed);
        cancel();
        this.lapses.delete(key);
        resolve(gone);
      };
      const changed = () => {
        if (this.leases.get(node)?.lease.revision !== seen.lease.revision) done(false);
      };
      watchers.add(changed);
      const due = seen.seenAt + wait;
      const confirm = () => {
        if (this.state === "closed") return done(false);
        // A timer may fire a little early on this clock: never take over before the wait is over.
        if (clock.now() < due) return void (cancel = clock.after(due - clock.now(), confirm));
        this.bucket!.get(leaseKey(node)).then(
          (e) => {
            if (e !== null) this.applyLease(e);
            // `changed` has resolved it if the read found a newer revision.
            done(e === null || e.revision === seen.lease.revision);
          },
          () => done(false),
        );
      };
      cancel = clock.after(due - clock.now(), confirm);
    });
    this.lapses.set(key, p);
    return p;
  }

  // ------------------------------------------------------------------ claims

  /**
   * Claims `id` for this node's session before it starts here: null when the claim names this
   * node's current session (written now if it did not), else why not. Waits for a previous
   * holder's lease to lapse when that holder stopped renewing.
   */
  acquire(id: string): Promise<FenceRefusal | null> {
    return this.serial(id, async () => {
      const r = await this.acquireNow(id);
      if (r === null) this.acquiring.set(id, (this.acquiring.get(id) ?? 0) + 1);
      else {
        this.stats.refused++;
        const c = this.claims.get(id);
        this.host.hooks.dispatch("fencedStartRefused", {
          id,
          reason: r,
          holder: r === "held" ? (c?.node ?? undefined) : undefined,
        });
      }
      return r;
    });
  }

  /** The host has started `id` (or given up on starting it): the claim is the host's business now. */
  settled(id: string): void {
    const n = (this.acquiring.get(id) ?? 1) - 1;
    if (n <= 0) this.acquiring.delete(id);
    else this.acquiring.set(id, n);
  }

  private async acquireNow(id: string): Promise<FenceRefusal | null> {
    if (!(await this.whenValid())) return "no_lease";
    const self = this.host.self;
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const c = this.claims.get(id);
      const session = this.session;
      if (session === null) return "no_lease";
      if (c !== undefined && c.node === self && c.session === session)
        return this.valid() ? null : "no_lease";
      let takeover = false;
      if (c !== undefined && c.node !== null && c.node !== self) {
        if (!(await this.holderGone(c.node, c.session).catch(() => false))) return "held";
        // The claim may have moved while this node waited: decide again on the newest.
        if (this.claims.get(id) !== c) continue;
        takeover = true;
      }
      if (!this.valid() || this.session !== session) return "no_lease";
      try {
        await this.writeClaim(id, c, self, session);
        if (takeover) {
          this.stats.takeovers++;
          this.host.hooks.dispatch("claimTakenOver", { id, from: c!.node! });
        }
        return this.valid() ? null : "no_lease";
      } catch (err) {
        if (!(err instanceof DurableConflictError)) return "store_failed";
        const cur = await this.bucket!.get(claimKey(id)).catch(() => null);
        if (cur !== null) this.applyClaim(cur);
      }
    }
    return "held";
  }

  /**
   * This node stopped its copy of `id` and moves it to `to` (a cold or hot swap, a drain): the
   * claim is written to `to` (any session of it), so that it does not wait for this node's lease.
   */
  handOver(id: string, to: string): Promise<void> {
    return this.serial(id, async () => {
      const c = this.claims.get(id);
      if (c === undefined || c.node !== this.host.self || this.host.holds(id)) return;
      try {
        await this.writeClaim(id, c, to, null);
      } catch (err) {
        this.host.logger.warn(
          { hub: this.host.hubId, id, to, err: String(err) },
          "fencing claim not handed over",
        );
      }
    });
  }

  /** Claims this node holds but neither runs nor needs: released a few at a time. */
  private sweep(): void {
    let n = 0;
    for (const id of this.named) {
      if (n >= SWEEP_PER_ROUND) break;
      if (this.serials.has(id) || !this.idle(id)) continue;
      n++;
      void this.serial(id, async () => {
        // Checked again in its turn, but not for queued claim work: this task is that work now
        // (checking `serials` here too released nothing, ever: a node kept the claims of children
        // it had stopped, and their new owners were refused as long as it lived).
        const c = this.claims.get(id);
        if (c === undefined || c.node !== this.host.self || !this.idle(id)) return;
        await this.writeClaim(id, c, null, null).catch(() => {});
      });
    }
  }

  /** Neither being claimed, nor run (or started) here, nor needed here by the declarations. */
  private idle(id: string): boolean {
    return !this.acquiring.has(id) && !this.host.holds(id) && this.host.releasable(id);
  }

  private async writeClaim(id: string, prev: Claim | undefined, node: string | null, session: string | null) {
    await this.slot();
    try {
      const key = claimKey(id);
      const value = encodeClaim(this.host.hubId, id, node, session, this.host.self);
      const base = prev?.revision ?? this.unreadable.get(id);
      const revision =
        base === undefined
          ? await this.bucket!.create(key, value)
          : await this.bucket!.update(key, value, base);
      this.stats.claimWrites++;
      this.applyClaim({ key, value, revision });
    } finally {
      this.unslot();
    }
  }

  // ------------------------------------------------------------------ small machinery

  /** Resolves true once the lease is valid (false if it is not within a lease's length). */
  private whenValid(): Promise<boolean> {
    if (this.valid()) return Promise.resolve(true);
    if (this.state === "closed") return Promise.resolve(false);
    const { leaseMs, takeoverMarginMs, clockDriftRate } = this.options;
    return new Promise((resolve) => {
      let cancel = () => {};
      const done = () => {
        this.validWaiters.delete(done);
        cancel();
        resolve(this.valid());
      };
      this.validWaiters.add(done);
      cancel = this.options.clock.after(leaseMs * (1 + clockDriftRate) + takeoverMarginMs, done);
    });
  }

  /** Runs `task` after the tasks already queued for `id` (claim writes of one id never cross). */
  private serial<T>(id: string, task: () => Promise<T>): Promise<T> {
    const prev = this.serials.get(id) ?? Promise.resolve();
    const run = prev.then(task, task);
    const tail = run.then(
      () => {},
      () => {},
    );
    this.serials.set(id, tail);
    void tail.then(() => {
      if (this.serials.get(id) === tail) this.serials.delete(id);
    });
    return run;
  }

  private slot(): Promise<void> {
    if (this.slots > 0) {
      this.slots--;
      return Promise.resolve();
    }
    return new Promise((r) => this.slotWaiters.push(r));
  }

  private unslot(): void {
    const next = this.slotWaiters.shift();
    if (next !== undefined) next();
    else this.slots++;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((r) => this.options.clock.after(ms, r));
  }

  /** The lease and claim replicas, for tests and diagnostics. */
  snapshot(): { session: string | null; leases: Lease[]; claims: Claim[] } {
    return {
      session: this.currentSession,
      leases: [...this.leases.values()].map((s) => s.lease),
      claims: [...this.claims.values()],
    };
  }
}
