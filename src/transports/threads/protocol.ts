/**
 * What travels on the ports of the thread transport. A `ThreadNetwork` (the switchboard, in the
 * thread that made it) and each `ThreadTransport` share one control port; two nodes share one
 * session port per session, made by the switchboard and handed to both (a `MessageChannel` is
 * FIFO, so frames keep their order per pair of nodes). On a session port a frame is a transferred
 * `ArrayBuffer` (no copy by the structured clone) and a graceful leave the string `BYE`; a closed
 * session port without `BYE` is a peer that died (its thread ended, or it was killed). Imports
 * the cluster's `transport` types.
 */
import type { MessagePort } from "node:worker_threads";
import type { NodeIdentity, PeerDownReason } from "../../cluster/transport.js";

/** Sent on a session port before closing it: the sender leaves gracefully. */
export const BYE = "bye";

/** From the switchboard to a transport. */
export type ToEndpoint =
  /** `attach` was accepted; the peers already attached follow as `up`. */
  | { t: "attached" }
  /** A session with `peer` starts: frames to and from it go over `port`. */
  | { t: "up"; peer: NodeIdentity; port: MessagePort }
  /** End the session with `peer` (a partition): report it down with `reason`. */
  | { t: "cut"; peer: string; reason: PeerDownReason }
  /** Die as SIGKILL would (`host`: the node too; else only the connection). */
  | { t: "kill"; host: boolean }
  /** Freeze: with `flag`, the whole thread blocks on it until it is cleared; else the node is paused. */
  | { t: "pause"; flag: Int32Array | null }
  | { t: "resume" }
  /** Raw bytes as if `from` had sent them (tests). */
  | { t: "inject"; from: string; bytes: Uint8Array };

/** From a transport to the switchboard. */
export type ToNetwork =
  | { t: "attach"; identity: NodeIdentity; local: boolean }
  /** Leaves gracefully (its sessions were sent `BYE` and closed already). */
  | { t: "leave" };
