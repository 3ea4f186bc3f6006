/**
 * The KV application: the tree of the Elixir "Mix and OTP" guide, in one program.
 *
 *   root (one_for_one)
 *   ├── kv (one_for_all)      the buckets and their registry restart together: a registry
 *   │   ├── kv-buckets        restarted alone would not know the buckets still running
 *   │   └── kv-registry
 *   ├── kv-tasks              TaskSupervisor: one task per connection (temporary)
 *   └── kv-acceptor           the listening socket
 *
 * `startKv` runs it as an application: SIGTERM (or SIGINT) stops the tree youngest first — the
 * acceptor closes the listener and the open connections, then the tasks, then the buckets — and
 * ends the program with code 0.
 */
import {
  type ApplicationOptions,
  childSpec,
  DynamicSupervisor,
  GenServer,
  type Node,
  Supervisor,
  startApplication,
  TaskSupervisor,
} from "hubvisor";
import { BUCKETS, BucketRegistry, REGISTRY } from "./registry.js";
import { ACCEPTOR, Acceptor, TASKS } from "./server.js";

export interface KvOptions {
  /** TCP port; 0 picks a free one. */
  port: number;
  host?: string | undefined;
  /** The node the tree runs on. */
  node: Node;
  /** How the application ends the program, and where its signals come from (tests). */
  application?: ApplicationOptions | undefined;
}

export interface Kv {
  port: number;
  /** Stops the tree in order, as SIGTERM does; resolves the exit code. */
  stop(): Promise<number>;
  /** The exit code, once the application has ended (stopped or a signal). */
  stopped: Promise<number>;
}

export async function startKv(options: KvOptions): Promise<Kv> {
  const { node } = options;
  const app = await startApplication(
    [
      {
        id: "kv",
        type: "supervisor",
        start: () =>
          Supervisor.startLink(
            [
              {
                id: BUCKETS,
                type: "supervisor",
                start: () => DynamicSupervisor.startLink({ name: BUCKETS }),
              },
              childSpec(BucketRegistry, undefined, { id: REGISTRY, startOptions: { name: REGISTRY } }),
            ],
            { strategy: "one_for_all", name: "kv" },
          ),
      },
      TaskSupervisor.childSpec({ name: TASKS }),
      // trapExit: the acceptor's terminate (closing the sockets) runs when the root stops it.
      childSpec(
        Acceptor,
        { port: options.port, host: options.host },
        { id: ACCEPTOR, startOptions: { name: ACCEPTOR, trapExit: true } },
      ),
    ],
    { strategy: "one_for_one", node },
    { node, ...options.application },
  );
  const port = (await GenServer.callOn(node, ACCEPTOR, "port", undefined)) as number;
  return { port, stop: app.stop, stopped: app.stopped };
}
