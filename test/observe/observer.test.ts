/**
 * The Observer's HTTP side as a browser or a scraper meets it: it sees every node of the cluster
 * from one node (through their agents), shows a lost node as down, serves Prometheus text,
 * refuses to listen beyond loopback without a token and refuses requests without it, and only
 * kills or drains when actions are on.
 */
import { afterEach, describe, expect, it } from "vitest";
import { defineServer, InvalidOptionError, ok, ProcessHub, reply, silentLogger } from "../../src/index.js";
import {
  type ClusterView,
  type Observer,
  observe,
  startObserverAgent,
  type TreeRow,
} from "../../src/observe.js";
import { startMemoryCluster } from "../../src/testing.js";

const Echo = defineServer<{ calls: { echo(x: number): number } }>()({
  name: "Echo",
  init: () => ok({ visits: 0 }),
  handleCall: { echo: (x, s) => reply(x, s) },
});

async function until<T>(get: () => Promise<T>, ok: (v: T) => boolean, what: string, ms = 8000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > end)
      throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let observers: Observer[] = [];
afterEach(async () => {
  for (const o of observers) await o.close();
  observers = [];
});

async function cluster(names: string[], hubId: string) {
  const { network, clusters } = await startMemoryCluster(names);
  const hubs = clusters.map((c) =>
    ProcessHub.start({
      hubId,
      cluster: c,
      behaviours: { Echo },
      logger: silentLogger,
      clusterEventDebounceMs: 5,
    }),
  );
  for (const c of clusters.slice(1)) await startObserverAgent({ node: c.node, cluster: c, actions: true });
  return { network, clusters, hubs };
}

describe("observe", () => {
  it("sees every node from one, and a killed node as down with its children moved", async () => {
    const { network, clusters, hubs } = await cluster(["oa", "ob", "oc"], "seen");
    const obs = await observe({ cluster: clusters[0]!, port: 0 });
    observers.push(obs);
    expect(obs.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    await until(
      async () => hubs[0]!.nodes().length,
      (n) => n === 2,
      "hub membership",
    );
    const ids = Array.from({ length: 30 }, (_, i) => `r${i}`);
    await hubs[0]!
      .startChildren(
        ids.map((id) => ({ id, behaviour: "Echo" })),
        { awaitable: true },
      )
      .await(5000);
    const get = async () => (await (await fetch(`${obs.url}api/cluster`)).json()) as ClusterView;
    const before = await until(
      get,
      (v) => v.nodes.every((n: { status: string }) => n.status === "up"),
      "all up",
    );
    expect(before.nodes.map((n: { node: string }) => n.node)).toEqual(["oa", "ob", "oc"]);
    const byNode = before.nodes[0]!.snapshot!.hubs[0]!.byNode;
    expect(byNode.oc).toBeGreaterThan(0);

    network.kill("oc");
    const after = await until(
      get,
      (v) =>
        v.nodes[2].status === "down" &&
        (v.nodes[0]!.snapshot!.hubs[0]!.byNode.oc ?? 0) === 0 &&
        v.nodes[0]!.snapshot!.hubs[0]!.byNode.oa + v.nodes[0]!.snapshot!.hubs[0]!.byNode.ob === ids.length,
      "oc down and its children moved",
    );
    expect(after.nodes.map((n: { node: string; status: string }) => [n.node, n.status])).toEqual([
      ["oa", "up"],
      ["ob", "up"],
      ["oc", "down"],
    ]);

    const tree = (await (await fetch(`${obs.url}api/tree?node=ob`)).json()) as TreeRow[];
    expect(tree[0]).toMatchObject({ behaviour: "ProcessHub", id: "hub seen" });
    const child = tree[0]!.children![0]!;
    const detail = await (
      await fetch(`${obs.url}api/process?node=ob&pid=${encodeURIComponent(child.pid)}`)
    ).json();
    expect(detail).toMatchObject({ pid: child.pid, behaviour: "Echo", state: "{ visits: 0 }" });
    const page = await (await fetch(obs.url)).text();
    expect(page).toContain("<title>hubvisor Observer · oa</title>");
    await Promise.all(hubs.slice(0, 2).map((h) => h.stop()));
  });

  it("serves the node's metrics as Prometheus text", async () => {
    const { clusters, hubs } = await cluster(["pa"], "prom");
    const obs = await observe({ cluster: clusters[0]!, port: 0 });
    observers.push(obs);
    const res = await fetch(`${obs.url}metrics`);
    expect(res.headers.get("content-type")).toContain("text/plain; version=0.0.4");
    const text = await res.text();
    expect(text).toContain('hubvisor_hub_children{node="pa",hub="prom"} 0');
    await hubs[0]!.stop();
  });

  it("needs a token beyond loopback, and refuses requests without it", async () => {
    const { clusters, hubs } = await cluster(["ta"], "tok");
    await expect(observe({ cluster: clusters[0]!, port: 0, host: "0.0.0.0" })).rejects.toThrow(
      InvalidOptionError,
    );
    const obs = await observe({ cluster: clusters[0]!, port: 0, host: "0.0.0.0", token: "s3cret-token" });
    observers.push(obs);
    const base = `http://127.0.0.1:${obs.port}`;
    expect(obs.url).toBe(`http://0.0.0.0:${obs.port}/?token=s3cret-token`);
    for (const path of ["/", "/api/cluster", "/metrics"]) expect((await fetch(base + path)).status).toBe(401);
    expect(
      (await fetch(`${base}/api/cluster`, { headers: { authorization: "Bearer wrong-token!" } })).status,
    ).toBe(401);
    expect(
      (await fetch(`${base}/api/cluster`, { headers: { authorization: "Bearer s3cret-token" } })).status,
    ).toBe(200);
    expect((await fetch(`${base}/metrics?token=s3cret-token`)).status).toBe(200);
    await hubs[0]!.stop();
  });

  it("kills a process only when actions are on", async () => {
    const { clusters, hubs } = await cluster(["ka", "kb"], "act");
    await until(
      async () => hubs[0]!.nodes().length,
      (n) => n === 1,
      "hub membership",
    );
    await hubs[0]!.startChildren([{ id: "victim", behaviour: "Echo" }], { awaitable: true }).await(5000);
    const at = hubs[0]!.childLookup("victim")!.nodes[0]!;
    const readOnly = await observe({ cluster: clusters[0]!, port: 0 });
    observers.push(readOnly);
    const kill = (o: Observer) =>
      fetch(`${o.url}api/kill?node=${at.node}&pid=${encodeURIComponent(String(at.pid))}`, { method: "POST" });
    expect((await kill(readOnly)).status).toBe(403);
    await readOnly.close();
    observers = [];
    // The agent of `ka` was started read-only by the first observe(); kb's allows actions.
    const withActions = await observe({ cluster: clusters[0]!, port: 0, actions: true });
    observers.push(withActions);
    const r = await (await kill(withActions)).json();
    if (at.node === "kb") {
      expect(r).toEqual({ ok: true });
      await until(
        async () => hubs[0]!.getPid("victim"),
        (p) => p !== undefined && !p.equals(at.pid),
        "a restart",
      );
    } else expect(r).toEqual({ ok: false, error: "actions are off on this node" });
    await Promise.all(hubs.map((h) => h.stop()));
  });

  it("drains a node through its agent, only with actions on and the token", async () => {
    const { clusters, hubs } = await cluster(["da", "db", "dc"], "drn");
    await until(
      async () => hubs.map((h) => h.nodes().length),
      (n) => n.every((k) => k === 2),
      "hub membership",
    );
    const ids = Array.from({ length: 60 }, (_, i) => `d${i}`);
    await hubs[0]!
      .startChildren(
        ids.map((id) => ({ id, behaviour: "Echo" })),
        { awaitable: true },
      )
      .await(5000);
    const onB = hubs[1]!.localChildren().size;
    expect(onB).toBeGreaterThan(0);
    const token = "drain-token-1";
    const readOnly = await observe({ cluster: clusters[0]!, port: 0, token });
    observers.push(readOnly);
    const base = (o: Observer) => `http://127.0.0.1:${o.port}/api/drain`;
    const auth = { authorization: `Bearer ${token}` };
    expect((await fetch(`${base(readOnly)}?node=db`, { method: "POST", headers: auth })).status).toBe(403);
    await readOnly.close();
    observers = [];
    const obs = await observe({ cluster: clusters[0]!, port: 0, token, actions: true });
    observers.push(obs);
    const post = (query: string, headers: Record<string, string> = auth) =>
      fetch(`${base(obs)}?${query}`, { method: "POST", headers });
    // The token is checked before anything else; bad input is refused before any node is asked.
    expect((await post("node=db", {})).status).toBe(401);
    expect((await post("node=db", { authorization: "Bearer drain-token-2" })).status).toBe(401);
    expect((await post("node=db&deadlineMs=-1")).status).toBe(400);
    expect((await post("node=nowhere")).status).toBe(404);
    expect(await (await post("node=db&hub=other")).json()).toEqual({ ok: false, error: "no hub other here" });
    expect(hubs[1]!.isAlive()).toBe(true);

    const res = await post("node=db&deadlineMs=5000");
    expect(res.status).toBe(200);
    const r = await res.json();
    expect(r).toEqual({ ok: true, hubs: [{ hub: "drn", migrated: onB, forced: 0 }] });
    // The hub stopped on db; its children run on the other two, and da's registry shows none on db.
    expect(hubs[1]!.isAlive()).toBe(false);
    await until(
      async () => ({
        running: hubs[0]!.localChildren().size + hubs[2]!.localChildren().size,
        onDb: ids.filter((id) => hubs[0]!.childLookup(id)?.nodes.some((n) => n.node === "db")).length,
      }),
      (v) => v.running === ids.length && v.onDb === 0,
      "the children on da and dc",
    );
    // A node with no hub left has nothing to drain.
    expect(await (await post("node=db")).json()).toEqual({ ok: false, error: "no hub runs on this node" });
    await Promise.all([hubs[0]!, hubs[2]!].map((h) => h.stop()));
  });
});
