/**
 * A TCP relay between one hub node and the NATS server that the chaos run can cut: the network
 * partition of the NATS chaos run (`chaos-nats.ts`). Every node reaches NATS only through relays
 * of its own, so cutting them cuts the node off from its peers and (when its store connection goes
 * through a cut relay too) from JetStream, as a switch failure would, while the node itself runs
 * on and the chaos run still talks to it over its stdin.
 *
 * A cut is a black hole, not a refusal: bytes stop flowing both ways without a reset, and
 * connections opened meanwhile are accepted and held, so the node learns of the partition only
 * from its own timeouts (pings, heartbeats, JetStream requests), as on a real network. The heal
 * either lets the held bytes through late (`resume`: TCP survived the partition, and whatever the
 * node or the server sent meanwhile arrives after it, stale) or resets every connection that lived
 * through the cut (`reset`: TCP gave up meanwhile; the clients reconnect). Imports node:net.
 */
import { createConnection, createServer, type Server, type Socket } from "node:net";

/** How a heal treats the connections that lived through the cut. */
export type HealMode = "resume" | "reset";

/** One client connection, its upstream one, and the bytes each way held during a cut. */
interface Pair {
  client: Socket;
  upstream: Socket | undefined;
  toServer: Buffer[];
  toClient: Buffer[];
}

export class CuttableLink {
  private readonly server: Server;
  private readonly pairs = new Set<Pair>();
  private isCut = false;
  private readonly listening: Promise<number>;

  constructor(private readonly target: { host: string; port: number }) {
    this.server = createServer((client) => this.accept(client));
    this.listening = new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(0, "127.0.0.1", () => {
        const a = this.server.address();
        resolve(typeof a === "object" && a !== null ? a.port : 0);
      });
    });
  }

  /** The `nats://` URL a node connects to instead of the server's. */
  async url(): Promise<string> {
    return `nats://127.0.0.1:${await this.listening}`;
  }

  get cut(): boolean {
    return this.isCut;
  }

  /** Stops every byte both ways, on the live connections and on those opened from now on. */
  sever(): void {
    this.isCut = true;
  }

  /** Ends the cut: held bytes flow late (`resume`), or every connection of the cut is reset. */
  heal(mode: HealMode): void {
    this.isCut = false;
    for (const p of [...this.pairs]) {
      if (mode === "reset") {
        this.drop(p);
        continue;
      }
      if (p.upstream === undefined) this.connect(p);
      for (const b of p.toServer.splice(0)) p.upstream!.write(b);
      for (const b of p.toClient.splice(0)) p.client.write(b);
    }
  }

  /** Closes the listener and every connection. */
  close(): Promise<void> {
    for (const p of [...this.pairs]) this.drop(p);
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    const p: Pair = { client, upstream: undefined, toServer: [], toClient: [] };
    this.pairs.add(p);
    client.on("error", () => this.drop(p));
    client.on("close", () => this.drop(p));
    // Held bytes are kept here rather than left in the kernel: a paused socket that is piped
    // resumes as soon as its destination drains, so the relay forwards by hand.
    client.on("data", (b: Buffer) => {
      if (this.isCut || p.upstream === undefined) p.toServer.push(b);
      else p.upstream.write(b);
    });
    // Accepted during a cut: connected upstream only at the heal (a SYN that got through late).
    if (!this.isCut) this.connect(p);
  }

  private connect(p: Pair): void {
    const up = createConnection(this.target);
    p.upstream = up;
    up.on("error", () => this.drop(p));
    up.on("close", () => this.drop(p));
    up.on("data", (b: Buffer) => {
      if (this.isCut) p.toClient.push(b);
      else p.client.write(b);
    });
  }

  private drop(p: Pair): void {
    if (!this.pairs.delete(p)) return;
    p.client.destroy();
    p.upstream?.destroy();
  }
}
