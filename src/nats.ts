/**
 * `hubvisor/nats`: the NATS transport, kept off the root entry so that programs on the memory
 * transport never load the NATS client.
 */
export * from "./transports/nats/index.js";
// The durable hub's store in JetStream; its client libraries load when a bucket is opened.
export {
  JetStreamDurableStore,
  type JetStreamDurableStoreOptions,
} from "./hub/durable/kv-store.js";
