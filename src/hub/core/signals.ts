/**
 * `RedundancySignals`: under replication with signals on, tells each local child whether it is
 * the active copy or a passive one (`{ $hub: "redundancy", id, mode }`), again whenever a
 * topology change makes that differ from what it was last told. Owns the last mode told per
 * child. Imports the redundancy strategy and the context.
 */
import type { Pid } from "../../process/pid.js";
import { modeOf, type RedundancyMode, type RedundancySignal, wantsSignal } from "../strategies/redundancy.js";
import type { HubContext } from "./context.js";

export class RedundancySignals {
  private readonly told = new Map<string, RedundancyMode>();

  constructor(private readonly ctx: HubContext) {}

  /** Tells a local child its mode if it changed (or `force`, after a (re)start). */
  signal(id: string, pid: Pid, force = false): void {
    const r = this.ctx.strategies.redundancy;
    if (r.factor === 1 || r.signal === "none") return;
    const behaviour = this.ctx.children.byId.get(id)?.spec.behaviour;
    const replicas =
      behaviour === undefined ? this.ctx.view.replicas(id) : this.ctx.view.replicasOf(id, behaviour);
    const mode = modeOf(r, replicas, this.ctx.self);
    if (!force && this.told.get(id) === mode) return;
    this.told.set(id, mode);
    if (!wantsSignal(r, mode)) return;
    const msg: RedundancySignal = { $hub: "redundancy", id, mode };
    this.ctx.node.send(pid, msg);
  }

  /** After a topology change: re-signals every local child whose mode changed. */
  resignal(): void {
    if (this.ctx.strategies.redundancy.factor === 1) return;
    for (const [id, c] of this.ctx.children.byId) this.signal(id, c.pid);
  }

  /** `id` no longer runs here. */
  forget(id: string): void {
    this.told.delete(id);
  }
}
