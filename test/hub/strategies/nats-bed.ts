/**
 * Test bed of the hub strategy tests over a real `nats-server`: hubs on nodes of this process,
 * each with its own `NatsTransport` and `Cluster` (`NatsHubCluster`, short probe settings), with
 * the invariant checks of `StrategyHarness` run on `check.hubs`. Nodes join the bed's server
 * unless pinned to one server of a routed cluster, which is how the partition tests cut nodes off.
 * Implements the `StrategyBed` of the shared scenarios (`strategy-scenarios.ts`).
 */
import { afterEach } from "vitest";
import type { HubMembership } from "../../../src/hub/membership.js";
import { type HubOptions, ProcessHub } from "../../../src/hub/process-hub.js";
import type { Node } from "../../../src/process/node.js";
import type { Pid } from "../../../src/process/pid.js";
import { GenServer } from "../../../src/server/index.js";
import { Supervisor } from "../../../src/supervision/index.js";
import { NatsHubCluster } from "../nats-cluster.js";
import { behaviours, StrategyHarness, TEST_TUNING } from "./harness.js";
import type { StrategyBed } from "./strategy-scenarios.js";

const HUB_ID = "stratnats";

export class NatsStrategyBed implements StrategyBed {
  readonly nats: NatsHubCluster;
  readonly check = new StrategyHarness();

  constructor(
    url: () => Promise<string>,
    private readonly options: Partial<HubOptions> = {},
  ) {
    this.nats = new NatsHubCluster(url);
  }

  /** The live hubs by node name (those of `check`). */
  get hubs(): Map<string, ProcessHub> {
    return this.check.hubs;
  }

  async add(name: string, extra: Partial<HubOptions> = {}, server?: string): Promise<ProcessHub> {
    const { node, membership } = await this.nats.addNode(name, server);
    const hub = ProcessHub.start(this.hubOptions(node, membership, extra));
    this.check.hubs.set(name, hub);
    return hub;
  }

  /** Adds a hub node whose hub runs under a Supervisor (`ProcessHub.childSpec`). */
  async addSupervised(name: string, extra: Partial<HubOptions> = {}): Promise<{ hub: ProcessHub; sup: Pid }> {
    const { node, membership } = await this.nats.addNode(name);
    const options = this.hubOptions(node, membership, extra);
    const r = await Supervisor.startLink([ProcessHub.childSpec(options)], { strategy: "one_for_one", node });
    if (!r.ok) throw new Error("supervisor did not start");
    const hub = ProcessHub.get(options.hubId, node);
    this.check.hubs.set(name, hub);
    return { hub, sup: r.pid };
  }

  private hubOptions(node: Node, membership: HubMembership, extra: Partial<HubOptions>): HubOptions {
    return { hubId: HUB_ID, node, membership, behaviours, ...TEST_TUNING, ...this.options, ...extra };
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

  formed(groups?: string[][], timeout?: number): Promise<void> {
    return this.check.formed(groups, timeout);
  }

  placementProblem(ids: readonly string[], names?: string[], placed?: boolean): string {
    return this.check.placementProblem(ids, names, placed);
  }

  converged(ids: readonly string[], names?: string[], placed?: boolean, timeout?: number): Promise<void> {
    return this.check.converged(ids, names, placed, timeout);
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
