/**
 * What each node thread of `demo-threads.ts` runs once its node has joined: a hub node of the
 * `rooms` hub with the `counter` behaviour. Functions do not cross threads, so the behaviour is
 * defined here and every thread (and the main thread's node-d) imports it.
 */
import { defineServer, type NodeThreadContext, noreply, ok, ProcessHub, reply, silentLogger } from "hubvisor";

/** A stateful process: a counter that remembers its visits. */
export const counter = defineServer<{ calls: { visit(): number } }>()({
  name: "counter",
  init: (start: number | null) => ok(start ?? 0),
  handleCall: { visit: (_a, n) => reply(n + 1, n + 1) },
  handleInfo: (_m, n) => noreply(n),
});

export function startHub(cluster: NodeThreadContext["cluster"], behaviours: { counter?: typeof counter }) {
  return ProcessHub.start({
    hubId: "rooms",
    cluster,
    behaviours,
    clusterEventDebounceMs: 10,
    logger: silentLogger,
  });
}

export default function start({ cluster }: NodeThreadContext): void {
  startHub(cluster, { counter });
}
