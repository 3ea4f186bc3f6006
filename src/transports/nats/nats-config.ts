/**
 * `natsServerConfig`: the least-privilege `nats-server` configuration of a hubvisor cluster — one
 * account, one NATS user per node, each allowed to publish only the subjects that carry its own
 * name as the sender token, and to subscribe only to what it must read. The server then binds a
 * node's identity to its credential (a password or an nkey): a node cannot publish a frame,
 * broadcast, heartbeat or leave in another's name, and a user who is not a node (another
 * application on the same NATS) can neither read nor write the cluster's subjects. Subjects are
 * those of `subjects.ts`; the configuration is JSON, which `nats-server -c` reads as is.
 * Imports `src/errors.ts`, `./options.ts`.
 */
import { InvalidOptionError } from "../../errors.js";
import { checkIdentityNames, DEFAULT_NATS_TRANSPORT_OPTIONS } from "./options.js";

/** A node of the cluster and how its NATS user authenticates: a password, or an nkey. */
export interface NatsNodeUser {
  /** Node name (also the NATS user name when a password is used). */
  node: string;
  /** The user's password (plain, or a bcrypt hash as `nats-server passwd` makes). */
  password?: string;
  /** The user's public nkey (`U…`); the node connects with the seed through `nkeyAuthenticator`. */
  nkey?: string;
}

/** A NATS user that is not a node: it may use the account, but none of the cluster's subjects. */
export interface NatsOtherUser {
  user: string;
  password: string;
}

/** Options of {@link natsServerConfig}. */
export interface NatsServerConfigOptions {
  /** Cluster name, as given to `Cluster.join`. No default. */
  cluster: string;
  /** Every node that may join, with its credential. No default. */
  nodes: NatsNodeUser[];
  /** The transport's `subjectPrefix`. @default "hv" */
  subjectPrefix?: string;
  /** Name of the NATS account the users live in. @default "HUBVISOR" */
  account?: string;
  /** Other users of the account, denied every subject of the cluster. @default [] */
  others?: NatsOtherUser[];
}

/** Subjects a node may publish and subscribe to; `inbox` is where its probe answers come back. */
export function nodePermissions(prefix: string, cluster: string, node: string) {
  const root = `${prefix}.${cluster}`;
  return {
    publish: {
      allow: [`${root}.node.*.${node}`, `${root}.all.${node}`, `${root}.hb.${node}`, `${root}.probe.*`],
    },
    subscribe: {
      allow: [
        `${root}.node.${node}.*`,
        `${root}.all.*`,
        `${root}.hb.*`,
        `${root}.probe.${node}`,
        `${nodeInboxPrefix(prefix, cluster, node)}.>`,
      ],
    },
    // A probe is answered on the prober's reply subject, which no publish rule names.
    allow_responses: true,
  };
}

/** The inbox prefix the transport gives its connection, so that a node reads only its own replies. */
export function nodeInboxPrefix(prefix: string, cluster: string, node: string): string {
  return `_INBOX_${prefix.replaceAll(".", "_")}_${cluster}_${node}`;
}

/**
 * The `nats-server` configuration (JSON) of one cluster: an account with a user per node,
 * limited by subject permissions, and any other users denied the cluster's subjects. Throws
 * `InvalidOptionError` for a node without a credential, and `NatsInvalidNameError` for a name
 * that cannot be a subject token. Start the server with `nats-server -c <file>`.
 */
export function natsServerConfig(options: NatsServerConfigOptions): string {
  const prefix = options.subjectPrefix ?? DEFAULT_NATS_TRANSPORT_OPTIONS.subjectPrefix;
  const { cluster, nodes } = options;
  if (!Array.isArray(nodes) || nodes.length === 0) {
    throw new InvalidOptionError("nodes", "a non-empty array of nodes", nodes);
  }
  const users: object[] = nodes.map((n, i) => {
    checkIdentityNames(cluster, n.node);
    const permissions = nodePermissions(prefix, cluster, n.node);
    if (n.nkey !== undefined) return { nkey: n.nkey, permissions };
    if (typeof n.password !== "string" || n.password.length === 0) {
      throw new InvalidOptionError(`nodes[${i}]`, "a node with a password or an nkey", n);
    }
    return { user: n.node, password: n.password, permissions };
  });
  const root = `${prefix}.${cluster}`;
  for (const o of options.others ?? []) {
    users.push({
      user: o.user,
      password: o.password,
      permissions: { publish: { deny: [`${root}.>`] }, subscribe: { deny: [`${root}.>`] } },
    });
  }
  const account = options.account ?? "HUBVISOR";
  return `${JSON.stringify({ accounts: { [account]: { users } } }, null, 2)}\n`;
}
