/**
 * `WireCounts`: the hub messages a node sent and handled, by type and peer, with the children
 * they carried (a start's items, a stop's ids, an answer's ok and failed entries). For telling,
 * when a start or stop waits for ever, whether its messages left the caller, reached the peer
 * and were answered (compare a's `out.start.c` with c's `in.start.a`, c's `out.started.a` with
 * a's `in.started.c`). Plain numbers, updated on the send and receive paths. Imports the hub
 * message types only.
 */
import type { HubWireMsg } from "./messages.js";

/** Messages and the children they carried, for one type and one peer. */
export interface WireCount {
  msgs: number;
  items: number;
}

/** Type → peer → count. */
export type WireTally = Record<string, Record<string, WireCount>>;

/** The children a message carries (0 for a message about none). */
function itemsOf(m: HubWireMsg): number {
  switch (m.t) {
    case "start":
      return m.items.length;
    case "stop":
      return m.ids.length;
    case "started":
      return m.ok.length + m.failed.length;
    case "stopped":
      return m.ok.length + m.missing.length;
    case "forwarded":
      return m.ids.length;
    default:
      return 0;
  }
}

/** The node a message names as its sender (a start's or stop's origin, an answer's node). */
export function senderOf(m: HubWireMsg): string {
  switch (m.t) {
    case "start":
    case "stop":
      return m.origin;
    case "started":
    case "stopped":
    case "forwarded":
      return m.node;
    default:
      return "from" in m && typeof m.from === "string" ? m.from : "?";
  }
}

export class WireCounts {
  readonly out: WireTally = {};
  readonly in: WireTally = {};

  sent(peer: string, m: HubWireMsg): void {
    add(this.out, m.t, peer, itemsOf(m));
  }

  received(m: HubWireMsg): void {
    add(this.in, m.t, senderOf(m), itemsOf(m));
  }

  /** A copy, for a status answer. */
  snapshot(): { out: WireTally; in: WireTally } {
    return { out: structuredClone(this.out), in: structuredClone(this.in) };
  }
}

function add(t: WireTally, type: string, peer: string, items: number): void {
  const byPeer = (t[type] ??= {});
  const c = (byPeer[peer] ??= { msgs: 0, items: 0 });
  c.msgs++;
  c.items += items;
}
