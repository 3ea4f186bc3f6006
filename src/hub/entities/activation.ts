/**
 * `Activations`: starting ids on demand (`hub.ensure`, a reference with `activate`). An
 * activation is an awaited start sent to the id's owner, where the hub process handles starts
 * one at a time: of concurrent activations of one id from every node, one starts it and the
 * others are answered with the running copy's pid (`already_started`, read as success), so
 * exactly one copy runs and no caller sees `already_started`. Concurrent activations of one id on
 * this node share one start. A start that is refused for a passing reason (the owner left, the
 * ring is changing) is sent again after the change, until the deadline. Imports the hub core
 * type, its start requests and errors, and the entity errors.
 */
import type { Pid } from "../../process/pid.js";
import type { NormalizedChildSpec } from "../child-spec.js";
import { HubStoppedError } from "../errors.js";
import type { HubCore } from "../hub-core.js";
import type { StartResult } from "../results.js";
import { groupStarts } from "../start-request.js";
import { EntityActivationError } from "./errors.js";

/** How long a partitioned node waits before it looks again whether it may start, in ms. */
const PARTITIONED_RETRY_MS = 25;

/** What activations need of the router. */
export interface ActivationHost {
  /** A reachable pid of `id`, if any. */
  pick(id: string): Pid | undefined;
  /** The error of a message that found no instance of `id` in time. */
  expired(id: string, timeoutMs: number): Error;
  /** Whether the hub stopped on this node. */
  readonly closed: boolean;
  /** `id` runs now, at `pid`: its waiting messages may go. */
  started(id: string, pid: Pid): void;
  /** The activation of `id` failed for good with `e`. */
  failed(id: string, e: unknown): void;
}

export class Activations {
  private readonly running = new Map<string, Promise<Pid>>();

  constructor(
    private readonly core: HubCore,
    private readonly host: ActivationHost,
    private readonly stats: { activations: number },
  ) {}

  /**
   * The pid of `spec.id` once it runs, started on its owner if needed; one start per id on this
   * node at a time. Rejects with `EntityActivationError` (the start failed), the host's
   * `expired` error (not running by `deadline`) or `HubStoppedError`.
   */
  start(spec: NormalizedChildSpec, deadline: number, timeoutMs: number): Promise<Pid> {
    const id = spec.id;
    let p = this.running.get(id);
    if (p !== undefined) return p;
    p = this.activate(spec, deadline, timeoutMs);
    this.running.set(id, p);
    const done = () => {
      if (this.running.get(id) === p) this.running.delete(id);
    };
    p.then(
      (pid) => {
        done();
        this.host.started(id, pid);
      },
      (e: unknown) => {
        done();
        this.host.failed(id, e);
      },
    );
    return p;
  }

  private async activate(spec: NormalizedChildSpec, deadline: number, timeoutMs: number): Promise<Pid> {
    const core = this.core;
    const id = spec.id;
    // A durable hub declares it running first (a passivated one was declared dormant), so that
    // it survives a restart of the whole hub like any started child.
    if (core.durable !== null && this.host.pick(id) === undefined)
      await core.durable.declareRunning(spec, timeoutMs).catch((err: unknown) => {
        throw new EntityActivationError(id, "store_failed", String(err));
      });
    let attempts = 0;
    let t0 = 0;
    for (;;) {
      const found = this.host.pick(id);
      if (found !== undefined) {
        if (attempts > 0) this.activated(id, found, false, attempts, t0);
        return found;
      }
      if (this.host.closed) throw new HubStoppedError(core.hubId);
      const remaining = deadline - performance.now();
      if (remaining <= 0) throw this.host.expired(id, timeoutMs);
      if (core.partitioned) {
        await sleep(Math.min(remaining, PARTITIONED_RETRY_MS));
        continue;
      }
      this.stats.activations++;
      if (attempts++ === 0) t0 = performance.now();
      const r = await this.startOnOwner(spec, remaining);
      const pid = this.startedPid(id, r);
      if (pid !== undefined) {
        this.activated(id, pid, r.started.length > 0, attempts, t0);
        return pid;
      }
      const hard = r.errors.find((e) => e.reason === "start_failed" || e.reason === "unknown_behaviour");
      if (hard !== undefined) throw new EntityActivationError(id, hard.reason, hard.detail);
      // Gone, timed out, settling, stopping: the ring changes; try again after the change.
      await sleep(
        Math.min(Math.max(0, deadline - performance.now()), core.tuning.clusterEventDebounceMs + 50),
      );
    }
  }

  private activated(id: string, pid: Pid, started: boolean, attempts: number, t0: number): void {
    const hooks = this.core.hooks;
    if (hooks.has("childActivated"))
      hooks.dispatch("childActivated", { id, pid, started, attempts, durationMs: performance.now() - t0 });
  }

  private startOnOwner(spec: NormalizedChildSpec, remainingMs: number): Promise<StartResult> {
    const core = this.core;
    return new Promise<StartResult>((resolve) =>
      core.requests.start(groupStarts(core, [spec], undefined), {
        timeoutMs: Math.ceil(remainingMs),
        onDone: resolve,
      }),
    );
  }

  /** The pid a start answered with: the owner's copy, else any started, else the running one. */
  private startedPid(id: string, r: StartResult): Pid | undefined {
    const started = r.started[0]?.nodes ?? [];
    const at = started.find((np) => np.node === this.core.view.ownerOf(id)) ?? started[0];
    if (at !== undefined) return at.pid;
    return r.errors.find((e) => e.reason === "already_started" && e.pid !== undefined)?.pid;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
