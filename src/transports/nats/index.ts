/**
 * Public exports of the NATS transport (`hubvisor/nats`). The authenticators of the NATS client
 * are re-exported, so that token, user/password, nkey and credentials-file authentication need no
 * direct import of `@nats-io/transport-node`. Imports this folder and `@nats-io/transport-node`.
 */
export {
  type Authenticator,
  credsAuthenticator,
  jwtAuthenticator,
  nkeyAuthenticator,
  tokenAuthenticator,
  usernamePasswordAuthenticator,
} from "@nats-io/transport-node";
export type { NatsTransportStats } from "./connection.js";
export {
  NatsAlreadyConnectedError,
  NatsAuthError,
  NatsConnectError,
  NatsInvalidNameError,
  NatsTransportClosedError,
  NatsWireVersionError,
} from "./errors.js";
export {
  type NatsNodeUser,
  type NatsOtherUser,
  type NatsServerConfigOptions,
  natsServerConfig,
  nodeInboxPrefix,
  nodePermissions,
} from "./nats-config.js";
export { NatsTransport } from "./nats-transport.js";
export {
  DEFAULT_NATS_AUTH_OPTIONS,
  DEFAULT_NATS_CONNECTION_OPTIONS,
  DEFAULT_NATS_TRANSPORT_OPTIONS,
  type NatsAuthOptions,
  type NatsTransportOptions,
} from "./options.js";
export type { AuthRejectKind } from "./wire-auth.js";
