/**
 * Errors of the memory transport: fault injection aimed at a node that is not on the network,
 * and misuse of a transport (connecting twice, or after close). Imports the root `errors`.
 */
import { HubvisorError, show } from "../../errors.js";

/** A fault-injection method named a node that is not connected to the network. */
export class UnknownNodeError extends HubvisorError {
  constructor(readonly node: string) {
    super("HV_ERR_UNKNOWN_NODE", `no node named ${show(node)} is connected to this memory network`);
  }
}

/** `connect` on a memory transport that is connected already, or was closed. */
export class TransportStateError extends HubvisorError {
  constructor(message: string) {
    super("HV_ERR_TRANSPORT_STATE", message);
  }
}
