/**
 * The entity scenarios' bed over the memory transport: hub nodes in this process on one
 * `MemoryNetwork` (the strategy tests' `StrategyHarness`), with `room` registered; a kill is
 * `MemoryNetwork.kill` (the node and all its processes die at once).
 */
import { expect } from "vitest";
import { StrategyHarness } from "../strategies/harness.js";
import type { EntityBed } from "./entity-scenarios.js";
import { type DriveOptions, type DriveStats, driveCalls, room } from "./room.js";

export class MemoryEntityBed implements EntityBed {
  readonly h = new StrategyHarness({ behaviours: { room } });
  private readonly drained = new Set<string>();
  private stop: (() => void) | undefined;
  private stopped = new Promise<void>((r) => (this.stop = r));

  async start(names: string[], clientOnly: string[] = []): Promise<void> {
    for (const n of names) await this.h.add(n, clientOnly.includes(n) ? { behaviours: {} } : {});
    await this.h.formed();
  }

  async join(node: string): Promise<void> {
    await this.h.add(node);
    const live = () => [...this.h.hubs].filter(([n]) => !this.drained.has(n)).map(([, hub]) => hub);
    await expect
      .poll(() => live().every((hub) => hub.nodes({ includeLocal: true }).includes(node)), {
        timeout: 10_000,
      })
      .toBe(true);
  }

  async drain(node: string, deadlineMs: number) {
    this.drained.add(node);
    return this.hub(node).drain({ deadlineMs });
  }

  async stopDrives(): Promise<void> {
    this.stop?.();
    this.stopped = new Promise<void>((r) => (this.stop = r));
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

  drive(node: string, o: DriveOptions & { untilStopped?: boolean }): Promise<DriveStats> {
    return driveCalls(this.hub(node), o, o.untilStopped === true ? this.stopped : undefined);
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
