/**
 * `Recorder`: what a node remembers of its recent past for the Observer — the last crash reports,
 * the last notable events (restarts, escalations, nodes up and down, hub moves, adoptions,
 * duplicates, locks, reconciles that acted, leases, fenced starts, passivations) and restart counts per supervised child — fed by the event stream of that
 * node. Every store is bounded (`RECORDER_LIMITS`). Imports `events`, `metrics` (`exitKind`), the
 * root `logger`.
 */
import { printTerm } from "../logger.js";
import { type HubvisorEvent, subscribe } from "./events.js";
import { exitKind } from "./metrics.js";

/** Caps of the recorder's stores. */
export const RECORDER_LIMITS = Object.freeze({ crashes: 20, events: 50, restartKeys: 1000 });

/** A process that ended abnormally. */
export interface CrashRow {
  at: number;
  pid: string;
  name: string | undefined;
  behaviour: string | undefined;
  reason: string;
}

/** One line of the recent-events list. */
export interface EventRow {
  at: number;
  type: string;
  text: string;
}

/** Restarts of one supervised child. */
export interface RestartRow {
  supervisor: string;
  id: string;
  restarts: number;
}

export class Recorder {
  readonly crashes: CrashRow[] = [];
  readonly events: EventRow[] = [];
  private readonly restartCounts = new Map<string, RestartRow>();
  private readonly stop: () => void;

  constructor(node: string) {
    this.stop = subscribe((e) => this.record(e), { node });
  }

  private record(e: HubvisorEvent): void {
    switch (e.type) {
      case "process:exit": {
        const kind = exitKind(e.reason);
        if (kind !== "abnormal" && kind !== "killed") return;
        const reason = printTerm(e.reason, 300);
        push(
          this.crashes,
          { at: Date.now(), pid: String(e.pid), name: e.name, behaviour: e.behaviour, reason },
          RECORDER_LIMITS.crashes,
        );
        return;
      }
      case "supervisor:restarted": {
        const supervisor = e.supervisorName ?? String(e.supervisor);
        const id = e.id === undefined ? String(e.child ?? "?") : printTerm(e.id, 80);
        this.countRestart(supervisor, id);
        return this.note(e.type, `${supervisor} restarted ${id}`);
      }
      case "supervisor:max_intensity":
        return this.note(e.type, `${e.supervisorName ?? String(e.supervisor)} reached max restart intensity`);
      case "cluster:nodeup":
        return this.note(e.type, `${e.peer} up`);
      case "cluster:nodedown":
        return this.note(e.type, `${e.peer} down (${e.reason})`);
      case "process:mailbox":
        return this.note(e.type, `${String(e.pid)} mailbox reached ${e.length}`);
      case "hub:hook":
        return this.hub(e);
    }
  }

  private hub(e: Extract<HubvisorEvent, { type: "hub:hook" }>): void {
    const h = e.hub;
    if (e.hook === "childrenMigrated")
      this.note("hub:moved", `${h}: ${e.data.ids.length} moved to ${e.data.to}`);
    else if (
      e.hook === "postRedistribution" &&
      (e.data.adopted > 0 || e.data.migrated > 0 || e.data.left.length > 0)
    )
      this.note(
        "hub:redistributed",
        `${h}: ${e.data.left.length > 0 ? `${e.data.left.join(",")} left` : `${e.data.joined.join(",")} joined`}, ` +
          `${e.data.adopted} adopted, ${e.data.migrated} moved in ${e.data.durationMs.toFixed(0)} ms`,
      );
    else if (e.hook === "duplicateStopped")
      this.note("hub:duplicate", `${h}: duplicate ${e.data.id} stopped`);
    else if (e.hook === "lockStateChanged" && e.data.reason === "partition")
      this.note("hub:partition", `${h}: ${e.data.locked ? "lost" : "regained"} quorum`);
    else if (e.hook === "reconcileRound" && (e.data.started > 0 || e.data.stopped > 0))
      this.note("hub:reconciled", `${h}: reconcile started ${e.data.started}, stopped ${e.data.stopped}`);
    else if (e.hook === "leaseLost")
      this.note("hub:lease_lost", `${h}: lease lost (${e.data.reason}), ${e.data.stopped} stopped`);
    else if (e.hook === "leaseAcquired")
      this.note("hub:lease", `${h}: lease acquired after ${e.data.waitedMs.toFixed(0)} ms`);
    else if (e.hook === "fencedStartRefused")
      this.note(
        "hub:fenced",
        `${h}: start of ${e.data.id} fenced (${e.data.reason}${e.data.holder === undefined ? "" : `, held by ${e.data.holder}`})`,
      );
    else if (e.hook === "claimTakenOver")
      this.note("hub:claim", `${h}: took ${e.data.id} over from ${e.data.from}`);
    else if (e.hook === "checkpointFailed")
      this.note("hub:checkpoint", `${h}: checkpoint of ${e.data.id} failed (${e.data.reason})`);
    else if (e.hook === "childrenPassivated")
      this.note(
        "hub:passivated",
        `${h}: passivated ${e.data.idle.length} idle, ${e.data.beyondMaxActive.length} beyond maxActive`,
      );
  }

  private note(type: string, text: string): void {
    push(this.events, { at: Date.now(), type, text }, RECORDER_LIMITS.events);
  }

  private countRestart(supervisor: string, id: string): void {
    const key = `${supervisor}\u0000${id}`;
    const row = this.restartCounts.get(key);
    if (row !== undefined) row.restarts++;
    else if (this.restartCounts.size < RECORDER_LIMITS.restartKeys)
      this.restartCounts.set(key, { supervisor, id, restarts: 1 });
  }

  /** The `n` children restarted most often. */
  topRestarts(n: number): RestartRow[] {
    return [...this.restartCounts.values()].sort((a, b) => b.restarts - a.restarts).slice(0, n);
  }

  close(): void {
    this.stop();
  }
}

function push<T>(ring: T[], item: T, cap: number): void {
  ring.push(item);
  if (ring.length > cap) ring.splice(0, ring.length - cap);
}
