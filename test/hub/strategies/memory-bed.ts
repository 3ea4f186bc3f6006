/**
 * Test bed of the shared strategy scenarios (`strategy-scenarios.ts`) over the memory transport:
 * the `StrategyHarness` of `harness.ts` (hubs on one `MemoryNetwork`), plus what the scenarios ask
 * of every bed (a hub by name, a graceful hub stop, calls, redundancy modes) and the network
 * faults only this transport offers in-process (`partition`, `heal`).
 */
import type { ProcessHub } from "../../../src/hub/process-hub.js";
import type { Pid } from "../../../src/process/pid.js";
import { GenServer } from "../../../src/server/index.js";
import { StrategyHarness } from "./harness.js";
import type { NetworkFaults, StrategyBed } from "./strategy-scenarios.js";

export class MemoryStrategyBed extends StrategyHarness implements StrategyBed, NetworkFaults {
  hub(name: string): ProcessHub {
    const hub = this.hubs.get(name);
    if (hub === undefined) throw new Error(`no hub on ${name}`);
    return hub;
  }

  /** Stops the node's hub gracefully (its node stays in the cluster, without a hub). */
  async stopHub(name: string): Promise<void> {
    const hub = this.hub(name);
    this.hubs.delete(name);
    await hub.stop();
  }

  async call(pid: Pid, name: string, arg?: unknown): Promise<unknown> {
    return GenServer.callOn(this.hub(pid.node).node, pid, name, arg);
  }

  async modes(id: string): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    const any = this.hubs.values().next().value as ProcessHub;
    for (const { node, pid } of any.childLookup(id)?.nodes ?? []) out[node] = await this.call(pid, "mode");
    return out;
  }

  partition(...groups: string[][]): void {
    this.network.partition(...groups);
  }

  heal(): void {
    this.network.heal();
  }
}
