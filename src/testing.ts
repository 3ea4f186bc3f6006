/**
 * `hubvisor/testing`: what tests of a hubvisor program need — the in-memory network with fault
 * injection (partition, delay, drop, kill, pause) and a convenience to build an in-program cluster.
 *
 * Faults reach the nodes themselves when the network knows them (`Cluster.join` hands each
 * transport its node; `network.transport(node)` does it outside `Cluster.join`):
 * - `network.kill(name)` is SIGKILL: the node's processes end at once without running exit hooks
 *   or `terminate`, its timers stop, it sends and hears nothing more, and whatever the program
 *   still asks of it (`send`, `spawn`, `call`) is dropped or never answered (`Node.kill`). Its
 *   peers see it down (`connection_lost`, or `timeout`) and their links and monitors fire
 *   `noconnection`.
 * - `network.pause(name)` / `resume(name)` are SIGSTOP / SIGCONT: while paused the node runs no
 *   process (mail accumulates), fires no receive or call timeout, and exchanges no frame, while
 *   its peers' failure detection runs on and drops it after `timeoutMs`. On resume it fires its
 *   overdue timeouts first, then handles its mail, then hears from the network — peers that gave
 *   up on it down (`timeout`) and up again — before any frame from them.
 *
 * Not frozen by a pause (JavaScript cannot stop code that is running): a process's code already
 * between two `await`s runs on to its next `receive` (or, for a GenServer callback, to the end of
 * the callback), `setTimeout` / `setInterval` timers of the program keep firing (what they send
 * waits in the paused node's mailboxes), and direct calls on the paused `Node` from outside it
 * take effect. The same holds after a kill, except that nothing they do has any effect.
 */
import { Cluster } from "./cluster/index.js";
import { Node } from "./process/index.js";
import { MemoryNetwork, type MemoryNetworkOptions } from "./transports/memory/index.js";
import { silentLogger } from "./logger.js";

export { MemoryNetwork, MemoryTransport } from "./transports/memory/index.js";

/**
 * Starts `names.length` nodes joined into one cluster over a fresh `MemoryNetwork`. Each node's
 * transport is made for it, so `network.kill(name)` and `network.pause(name)` act on the node
 * itself (its processes and timers), not only on its connection.
 */
export async function startMemoryCluster(
  names: string[],
  options: { cluster?: string; network?: MemoryNetworkOptions; quiet?: boolean } = {},
): Promise<{ network: MemoryNetwork; nodes: Node[]; clusters: Cluster[] }> {
  const network = new MemoryNetwork(options.network);
  const logger = options.quiet === false ? undefined : silentLogger;
  const nodes = names.map((name) => new Node({ name, logger }));
  const clusters = await Promise.all(
    nodes.map((node) =>
      Cluster.join({ node, cluster: options.cluster ?? "test", transport: network.transport(node), logger }),
    ),
  );
  return { network, nodes, clusters };
}
