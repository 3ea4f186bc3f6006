/**
 * A tiny in-process mesh for hub tests: nodes wired by a `RemoteRouter` that sends every message
 * through the real wire codec (so nothing unserialisable slips through) on a FIFO microtask
 * queue, and a `HubMembership` per node. `kill` cuts a node off as a crash would: peers see it
 * go down and its messages stop flowing. It stands in for the cluster layer in unit scenarios.
 */
import { Codec } from "../../src/cluster/codec.js";
import type { HubMembership } from "../../src/hub/membership.js";
import { Node } from "../../src/process/node.js";
import type { Pid, Ref } from "../../src/process/pid.js";
import type { RemoteRouter } from "../../src/process/remote.js";
import { silentLogger } from "../../src/logger.js";
import type { HubTestCluster } from "./scenarios.js";

class MeshMembership implements HubMembership {
  readonly ups = new Set<(n: string) => void>();
  readonly downs = new Set<(n: string) => void>();
  constructor(
    private readonly mesh: Mesh,
    private readonly self: string,
  ) {}
  peers(): string[] {
    return this.mesh.alive().filter((n) => n !== this.self);
  }
  onPeerUp(l: (n: string) => void): () => void {
    this.ups.add(l);
    return () => this.ups.delete(l);
  }
  onPeerDown(l: (n: string) => void): () => void {
    this.downs.add(l);
    return () => this.downs.delete(l);
  }
}

interface Member {
  node: Node;
  membership: MeshMembership;
  up: boolean;
}

export class Mesh implements HubTestCluster {
  private readonly members = new Map<string, Member>();
  private readonly codec = new Codec(4 * 1024 * 1024);
  readonly kind = "mesh";

  alive(): string[] {
    return [...this.members].filter(([, m]) => m.up).map(([n]) => n);
  }

  private wire(from: string, to: string, fn: (node: Node, msg: unknown) => void, msg: unknown): void {
    const bytes = this.codec.encode(msg);
    queueMicrotask(() => {
      const a = this.members.get(from);
      const b = this.members.get(to);
      if (a === undefined || b === undefined || !a.up || !b.up) return;
      const decoded = this.codec.decode(bytes).values[0];
      fn(b.node, decoded);
    });
  }

  async addNode(name: string): Promise<{ node: Node; membership: HubMembership }> {
    const node = new Node({ name, logger: silentLogger });
    const membership = new MeshMembership(this, name);
    const self = name;
    const router: RemoteRouter = {
      send: (to: Pid, msg: unknown) => this.wire(self, to.node, (n, m) => n.remoteSend(to, m), msg),
      sendNamed: (node: string, pname: string, msg: unknown) =>
        this.wire(self, node, (n, m) => n.remoteSendNamed(pname, m), msg),
      link: (from: Pid, to: Pid) => this.wire(self, to.node, (n) => n.remoteLink(from, to), null),
      unlink: (from: Pid, to: Pid) => this.wire(self, to.node, (n) => n.remoteUnlink(from, to), null),
      monitor: (w: Pid, t: Pid, ref: Ref) => this.wire(self, t.node, (n) => n.remoteMonitor(w, t, ref), null),
      monitorName: (w: Pid, node: string, pname: string, ref: Ref) =>
        this.wire(self, node, (n) => n.remoteMonitor(w, pname, ref), null),
      demonitor: (w: Pid, t: Pid, ref: Ref) =>
        this.wire(self, t.node, (n) => n.remoteDemonitor(w, t, ref), null),
      exit: (from: Pid, to: Pid, reason: unknown, viaLink: boolean) =>
        this.wire(self, to.node, (n) => n.remoteExit(from, to, reason, viaLink), null),
      down: (w: Pid, ref: Ref, pid: Pid, reason: unknown) =>
        this.wire(self, w.node, (n) => n.remoteDown(w, ref, pid, reason), null),
      reply: (to: Pid, ref: Ref, value: unknown) =>
        this.wire(self, to.node, (n, v) => n.remoteReply(to, ref, v), value),
      isConnected: (node: string) =>
        this.members.get(node)?.up === true && this.members.get(self)?.up === true,
    };
    node.router = router;
    this.members.set(name, { node, membership, up: true });
    for (const [other, m] of this.members) {
      if (other === name || !m.up) continue;
      for (const l of m.membership.ups) l(name);
      for (const l of membership.ups) l(other);
    }
    return { node, membership };
  }

  async killNode(name: string): Promise<void> {
    const m = this.members.get(name);
    if (m === undefined || !m.up) return;
    m.up = false;
    for (const [other, o] of this.members) {
      if (other === name || !o.up) continue;
      o.node.nodeDown(name);
      for (const l of o.membership.downs) l(name);
    }
  }

  async close(): Promise<void> {
    for (const name of [...this.members.keys()]) await this.killNode(name);
  }
}
