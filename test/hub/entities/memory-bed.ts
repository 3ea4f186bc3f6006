/**
 * The entity scenarios' bed over the memory transport: hub nodes in this process on one
 * `MemoryNetwork` (the strategy tests' `StrategyHarness`), with `room` registered; a kill is
 * `MemoryNetwork.kill` (the node and all its processes die at once).
 */
import { StrategyHarness } from "../strategies/harness.js";
import type { EntityBed } from "./entity-scenarios.js";
import { type DriveOptions, type DriveStats, driveCalls, room } from "./room.js";

export class MemoryEntityBed implements EntityBed {
  readonly h = new StrategyHarness({ behaviours: { room } });

  async start(names: string[]): Promise<void> {
    for (const n of names) await this.h.add(n);
    await this.h.formed();
  }

  private hub(node: string) {
    const hub = this.h.hubs.get(node);
    if (hub === undefined) throw new Error(`no hub on ${node}`);
    return hub;
  }

  async ensure(node: string, ids: string[]): Promise<string[]> {
    const hub = this.hub(node);
    const pids = await Promise.all(
      ids.map((id) => hub.ensure({ id, behaviour: "room" }, { timeoutMs: 10_000 })),
    );
    return pids.map(String);
  }

  drive(node: string, o: DriveOptions): Promise<DriveStats> {
    return driveCalls(this.hub(node), o);
  }

  async settled(node: string, timeoutMs: number): Promise<string> {
    try {
      await this.hub(node).awaitSettled({ timeoutMs });
      return "ok";
    } catch (e) {
      return String(e);
    }
  }

  async census(node: string) {
    const hub = this.hub(node);
    let placements = 0;
    for (const l of hub.registryDump().values()) placements += l.nodes.length;
    return { local: hub.localChildren().size, placements, size: hub.registryDump().size };
  }

  async crash(node: string, ids: string[]): Promise<number> {
    const hub = this.hub(node);
    let n = 0;
    for (const id of ids) {
      const pid = hub.localPid(id);
      if (pid === undefined) continue;
      hub.node.exit(pid, "kill");
      n++;
    }
    return n;
  }

  async kill(node: string): Promise<void> {
    this.h.kill(node);
  }

  close(): Promise<void> {
    return this.h.close();
  }
}
