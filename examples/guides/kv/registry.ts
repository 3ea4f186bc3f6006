/**
 * KV.Registry: bucket names to bucket pids. Buckets run under the `kv-buckets` DynamicSupervisor,
 * not under the registry, so a registry crash does not lose them (the one_for_all supervisor above
 * restarts both together instead, see `app.ts`). The registry monitors every bucket it created: a
 * bucket that stops, for whatever reason, leaves the registry with its DOWN message.
 */
import {
  childSpec,
  DynamicSupervisor,
  defineServer,
  isDownMessage,
  noreply,
  ok,
  type Pid,
  reply,
} from "hubvisor";
import { Bucket } from "./bucket.js";

export const BUCKETS = "kv-buckets";
export const REGISTRY = "kv-registry";

export interface RegistryProtocol {
  calls: {
    lookup(name: string): Pid | undefined;
    create(name: string): Pid;
  };
}

interface State {
  names: Map<string, Pid>;
  /** Monitor ref (its key) → bucket name: a DOWN names the ref, not the bucket. */
  refs: Map<string, string>;
}

export const BucketRegistry = defineServer<RegistryProtocol>()({
  name: "KV.Registry",
  init: () => ok<State>({ names: new Map(), refs: new Map() }),
  handleCall: {
    lookup: (name, s) => reply(s.names.get(name), s),
    create: async (name, s, ctx) => {
      const known = s.names.get(name);
      if (known !== undefined) return reply(known, s);
      // temporary: a crashed bucket is not restarted; its name is free for a new CREATE.
      const started = await DynamicSupervisor.startChild(
        BUCKETS,
        childSpec(Bucket, undefined, { restart: "temporary" }),
      );
      if (!started.ok || started.pid === undefined) throw new Error(`bucket ${name} did not start`);
      s.names.set(name, started.pid);
      s.refs.set(ctx.monitor(started.pid).key, name);
      return reply(started.pid, s);
    },
  },
  handleInfo: (msg, s) => {
    if (isDownMessage(msg)) {
      const name = s.refs.get(msg.ref.key);
      s.refs.delete(msg.ref.key);
      if (name !== undefined) s.names.delete(name);
    }
    return noreply(s);
  },
});
