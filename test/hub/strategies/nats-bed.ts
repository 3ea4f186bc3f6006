/**
 * Test bed of the hub strategy tests over a real `nats-server`: hubs on nodes of this process,
 * each with its own `NatsTransport` and `Cluster` (`NatsHubCluster`, short probe settings), with
 * the invariant checks of `StrategyHarness` run on `check.hubs`. Nodes join the bed's server
 * unless pinned to one server of a routed cluster, which is how the partition tests cut nodes off.
 */
import { type HubOptions, ProcessHub } from "../../../src/hub/process-hub.js";
import type { Pid } from "../../../src/process/pid.js";
import { GenServer } from "../../../src/server/index.js";
import { NatsHubCluster } from "../nats-cluster.js";
import { afterEach } from "vitest";
import { behaviours, StrategyHarness, TEST_TUNING } from "./harness.js";

export class NatsStrategyBed {
  readonly nats: NatsHubCluster;
  readonly check = new StrategyHarness();

  constructor(
    url: () => Promise<string>,
    private readonly options: Partial<HubOptions>,
  ) {
    this.nats = new NatsHubCluster(url);
  }

  async add(name: string, extra: Partial<HubOptions> = {}, server?: string): Promise<ProcessHub> {
    const { node, membership } = await this.nats.addNode(name, server);
    const hub = ProcessHub.start({
      hubId: "stratnats",
      node,
      membership,
      behaviours,
      ...TEST_TUNING,
      ...this.options,
      ...extra,
    });
    this.check.hubs.set(name, hub);
    return hub;
  }

  /** Closes the node's NATS connection without a leave: a crash, as the others see it. */
  async kill(name: string): Promise<void> {
    this.check.hubs.delete(name);
    await this.nats.killNode(name);
  }

  /** Stops the node's hub gracefully (its node stays in the cluster, without a hub). */
  async stopHub(name: string): Promise<void> {
    const hub = this.hub(name);
    this.check.hubs.delete(name);
    await hub.stop();
  }

  hub(name: string): ProcessHub {
    const hub = this.check.hubs.get(name);
    if (hub === undefined) throw new Error(`no hub on ${name}`);
    return hub;
  }

  async call(pid: Pid, name: string, arg?: unknown): Promise<unknown> {
    return GenServer.callOn(this.hub(pid.node).node, pid, name, arg);
  }

  /** The redundancy mode each replica of `id` reports, by node. */
  async modes(id: string): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    const any = this.check.hubs.values().next().value as ProcessHub;
    for (const { node, pid } of any.childLookup(id)?.nodes ?? []) out[node] = await this.call(pid, "mode");
    return out;
  }

  async close(): Promise<void> {
    await this.check.close();
    await this.nats.close();
  }
}

/**
 * One bed per test of the calling file, closed after each: returns the function that makes it.
 * Call at the top level of a test file.
 */
export function natsBeds(url: () => Promise<string>): (options?: Partial<HubOptions>) => NatsStrategyBed {
  let bed: NatsStrategyBed | undefined;
  afterEach(async () => {
    await bed?.close();
    bed = undefined;
  });
  return (options = {}) => (bed = new NatsStrategyBed(url, options));
}
