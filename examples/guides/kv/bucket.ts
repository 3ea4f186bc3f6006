/**
 * KV.Bucket: one bucket of key/value pairs held by its own process, so that buckets are used
 * concurrently and a bucket that crashes loses only its own data.
 */
import { defineServer, ok, reply } from "hubvisor";

export interface BucketProtocol {
  calls: {
    get(key: string): string | undefined;
    put(entry: [key: string, value: string]): "ok";
    delete(key: string): string | undefined;
  };
}

export const Bucket = defineServer<BucketProtocol>()({
  name: "KV.Bucket",
  init: () => ok(new Map<string, string>()),
  handleCall: {
    get: (key, map) => reply(map.get(key), map),
    put: ([key, value], map) => reply("ok", map.set(key, value)),
    delete: (key, map) => {
      const value = map.get(key);
      map.delete(key);
      return reply(value, map);
    },
  },
});
