/**
 * Public exports of the NATS transport. Imports this folder.
 */
export {
  NatsAlreadyConnectedError,
  NatsConnectError,
  NatsInvalidNameError,
  NatsTransportClosedError,
} from "./errors.js";
export type { NatsTransportStats } from "./connection.js";
export { NatsTransport } from "./nats-transport.js";
export {
  DEFAULT_NATS_CONNECTION_OPTIONS,
  DEFAULT_NATS_TRANSPORT_OPTIONS,
  type NatsTransportOptions,
  parseNatsTransportOptions,
} from "./options.js";
