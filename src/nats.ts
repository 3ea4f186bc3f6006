/**
 * `hubvisor/nats`: the NATS transport, kept off the root entry so that programs on the memory
 * transport never load the NATS client.
 */
export * from "./transports/nats/index.js";
