/**
 * Named errors of the NATS transport. Each has a stable `HV_ERR_NATS_…` code. Misuse (connecting
 * twice, connecting after close, bad names) throws; runtime trouble on the wire (oversized frames,
 * dropped connections) is logged and counted, never thrown into the cluster layer.
 * Imports `src/errors.ts`.
 */
import { HubvisorError } from "../../errors.js";

/** The first connection to NATS could not be established. `cause` holds the client's error. */
export class NatsConnectError extends HubvisorError {
  constructor(servers: string, cause: unknown) {
    super("HV_ERR_NATS_CONNECT", `could not connect to NATS at ${servers}`, { cause });
  }
}

/** `connect()` was called on a transport that is already connected or connecting. */
export class NatsAlreadyConnectedError extends HubvisorError {
  constructor() {
    super("HV_ERR_NATS_ALREADY_CONNECTED", "this NATS transport is already connected; create one per node");
  }
}

/** `connect()` was called on a transport that was closed; transports are single-use. */
export class NatsTransportClosedError extends HubvisorError {
  constructor() {
    super("HV_ERR_NATS_CLOSED", "this NATS transport was closed; create a new one to rejoin");
  }
}

/** A cluster or node name cannot be used as a NATS subject token. */
export class NatsInvalidNameError extends HubvisorError {
  readonly field: string;
  readonly value: string;
  constructor(field: string, value: string) {
    super(
      "HV_ERR_NATS_INVALID_NAME",
      `${field} ${JSON.stringify(value)} cannot be a NATS subject token (non-empty, no '.', '*', '>' or whitespace)`,
    );
    this.field = field;
    this.value = value;
  }
}
