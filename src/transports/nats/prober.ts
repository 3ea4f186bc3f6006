/**
 * Liveness probes: each tick sends one NATS request per up peer to its probe subject (at most one
 * outstanding per peer). An answer counts as a sign of life (and carries the peer's incarnation,
 * so a quick restart is seen); "no responders" — the server knows nobody subscribed, which is what
 * a killed node's vanished connection looks like — counts as a miss; a timeout proves nothing and
 * is left to the heartbeat timeout. With authentication a probe carries a nonce that the answer's
 * tag covers, so an old answer replayed proves nothing. Imports `@nats-io/transport-node`, `./control.ts`,
 * `./membership.ts`, `./subjects.ts`.
 */
import { type NatsConnection, RequestError } from "@nats-io/transport-node";
import type { NodeIdentity } from "../../cluster/transport.js";
import type { ControlMessage } from "./control.js";
import type { Membership } from "./membership.js";
import type { Subjects } from "./subjects.js";

/** What the prober needs from its transport. */
export interface ProberHost {
  nc: NatsConnection;
  subjects: Subjects;
  membership: Membership;
  timeoutMs: number;
  maxMisses: number;
  /** How long "no responders" is not counted against a peer whose heartbeats say busy. */
  maxBusyMs: number;
  /** The clock the membership view runs on (listening time, see `NatsSession.listenNow`). */
  now(): number;
  /** False while closed or disconnected: outcomes are then ignored. */
  active(): boolean;
  /** A probe answer: the peer (possibly under a new incarnation) is alive. */
  alive(peer: NodeIdentity, session: number): void;
  /** The body of a probe request (a fresh nonce when answers are authenticated). */
  ping(): Uint8Array;
  /** The answer of `node` to the probe `sent`, read and checked; undefined if it does not hold. */
  pong(node: string, sent: Uint8Array, answer: Uint8Array): ControlMessage | undefined;
}

/** Sends probes and feeds their outcomes to the membership view. */
export class Prober {
  private readonly inFlight = new Set<string>();
  /** Probes sent so far. */
  sent = 0;

  constructor(private readonly host: ProberHost) {}

  /** Probes every up peer that has no probe outstanding. */
  tick(): void {
    const h = this.host;
    if (!h.active()) return;
    for (const peer of h.membership.list()) {
      if (this.inFlight.has(peer.node)) continue;
      this.inFlight.add(peer.node);
      this.sent++;
      const ping = h.ping();
      h.nc.request(h.subjects.probe(peer.node), ping, { timeout: h.timeoutMs }).then(
        (reply) => {
          this.inFlight.delete(peer.node);
          if (!h.active()) return;
          const msg = h.pong(peer.node, ping, reply.data);
          if (msg) {
            h.alive({ cluster: peer.cluster, node: msg.node, incarnation: msg.incarnation }, msg.session);
          }
        },
        (err: unknown) => {
          this.inFlight.delete(peer.node);
          if (!h.active()) return;
          if (err instanceof RequestError && err.isNoResponders()) {
            h.membership.probeMiss(peer.node, peer.incarnation, h.maxMisses, h.now(), h.maxBusyMs);
          }
        },
      );
    }
  }
}
