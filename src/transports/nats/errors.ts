/**
 * Named errors of the NATS transport. Each has a stable `HV_ERR_NATS_…` code. Misuse (connecting
 * twice, connecting after close, bad names) throws; runtime trouble on the wire (oversized frames,
 * dropped connections) is logged and counted, never thrown into the cluster layer.
 * Imports `src/errors.ts` only: the codec registers these classes, and the root entry must not load
 * the NATS client through it.
 */
import { HubvisorError } from "../../errors.js";

/**
 * The first connection to NATS could not be established. The message names the client's error
 * (`Authorization Violation`, `connection refused`…), which is also the `cause`; `attempts` is
 * how many connections were tried (more than one when no server answered and the transport
 * waited, see `connectTimeoutMs`).
 */
export class NatsConnectError extends HubvisorError {
  readonly servers: string;
  readonly attempts: number;
  constructor(
    servers: string,
    cause: unknown,
    tried: { attempts: number; elapsedMs: number } = { attempts: 1, elapsedMs: 0 },
  ) {
    const retried = tried.attempts > 1 ? ` (${tried.attempts} attempts in ${tried.elapsedMs} ms)` : "";
    super("HV_ERR_NATS_CONNECT", `could not connect to NATS at ${servers}: ${causeText(cause)}${retried}`, {
      cause,
    });
    this.servers = servers;
    this.attempts = tried.attempts;
  }
}

/** An error as one line: its message, and its own cause's when that says more. */
export function causeText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const inner = err.cause instanceof Error ? err.cause.message : undefined;
  return inner !== undefined && inner !== err.message ? `${err.message} (${inner})` : err.message;
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

/**
 * With `auth`, `connect()` heard other nodes of the cluster but none it could verify: they use
 * another secret, or another `encrypt` setting, or no authentication (`theirs` is then `"none"`).
 * The node does not join. `ours` and `theirs` are key ids (hex), never the secret.
 */
export class NatsAuthError extends HubvisorError {
  readonly ours: string;
  readonly theirs: string;
  constructor(cluster: string, ours: string, theirs: string) {
    super(
      "HV_ERR_NATS_AUTH",
      theirs === "none"
        ? `the nodes of cluster ${JSON.stringify(cluster)} do not authenticate their messages, this node does (auth is set): it cannot join`
        : `the nodes of cluster ${JSON.stringify(cluster)} use another secret or encrypt setting (key id ${theirs}, this node's ${ours}): it cannot join`,
    );
    this.ours = ours;
    this.theirs = theirs;
  }
}

/**
 * With `auth`, `connect()` heard other nodes of the cluster but only messages sealed under another
 * wire version (`theirs`; this node's is `ours`): nodes of a hubvisor release whose sealed messages
 * this one cannot judge (version 2 numbers each sender's messages in streams, version 1 does not).
 * The node does not join; the others never see it up. Upgrade the whole cluster, or keep the
 * versions apart (another cluster name).
 */
export class NatsWireVersionError extends HubvisorError {
  readonly ours: number;
  readonly theirs: number;
  constructor(cluster: string, ours: number, theirs: number) {
    super(
      "HV_ERR_NATS_WIRE_VERSION",
      `the nodes of cluster ${JSON.stringify(cluster)} seal their messages under wire version ${theirs}, this node under ${ours}: it cannot join`,
    );
    this.ours = ours;
    this.theirs = theirs;
  }
}
