/**
 * The chaos run over a real NATS (`npm run chaos -- --nats`): N hub nodes as OS processes
 * (`examples/hub-node.ts`, driven through `examples/hub-node-process.ts`) on one `nats-server`
 * (a private one on free loopback ports unless `--nats-url`), thousands of children, then for a
 * fixed time faults — SIGKILL and restart a node, SIGSTOP and SIGCONT one, restart one
 * gracefully, cut one off from the network, one node at a time — while starts and stops keep
 * coming from the live nodes. At
 * the end every node must see every other one, no node may have lost quorum, every registry
 * must be identical (digest), and every child must run exactly its replication factor times
 * (`--replication`), on exactly its replicas, none lost, none that was stopped. With `--fencing`
 * the hub is durable and fenced (JetStream on the same server) and a child seen on two nodes in
 * any sample is a violation too (a frozen node does not answer: it runs nothing meanwhile, and
 * its fence stops its children before it answers again).
 *
 * Quorum strategies (`--partition static | majority | dynamic`): with a single node faulted at a
 * time the others keep quorum as long as N - 1 reach it (3 nodes, quorum 2), so a node that was
 * not faulted and had joined the hub must never report it lost quorum; and a node that reports
 * it lost quorum (a restarted one before it meets its peers, a paused one that timed its peers
 * out) must run no child — two samples in a row, as it stops its children asynchronously.
 * Partitions: each node reaches the NATS server through two relays of its own (`chaos-link.ts`),
 * one for its transport's connections, one for its durable store's. A `partition` cuts both: the
 * node is alone, cut off from its peers and from JetStream, so a fenced node loses its lease for
 * real (its renewals time out) while it runs on — the case fencing exists for, which a pause
 * only imitates (a frozen node runs nothing). A `split` cuts only the transport's relay: the node
 * and its peers each take the others for dead while all still reach JetStream, where the claims
 * must keep every child where it runs. The cut is a black hole (no reset); its heal lets the held
 * bytes through late or resets the connections (a seeded coin). The hub-level split of the
 * memory run — every node of a minority side notices it, stops on the side keeping quorum are
 * final — is not checked here: one node at a time is cut off, and a stop is final only when no
 * fault is under way.
 *
 * `--faults kill,pause,partition,split,restart` runs those kinds in that order, round and round
 * (the node is still a seeded pick), and fails the run if the time did not allow each once;
 * without it each fault's kind is a seeded pick among kill, pause and restart (the mix the
 * earlier runs and their seeds had). Imports the hub-node
 * controller, the test NATS harness and the relay.
 */
import { copiesAtOnce, HubNodeProcess } from "../examples/hub-node-process.js";
import type { HubOptions } from "../src/hub/process-hub.js";
import { type NatsServer, startNatsServer } from "../test/support/nats-server.js";
import type { ChaosOptions, ChaosReport } from "./chaos.js";
import { checkFenced, fencingTimings, quorumNeeded, rng } from "./chaos.js";
import { CuttableLink } from "./chaos-link.js";

/** The faults of the NATS chaos run (see the module comment). */
export const NATS_FAULTS = ["kill", "pause", "partition", "split", "restart"] as const;
export type NatsFault = (typeof NATS_FAULTS)[number];

export interface NatsChaosOptions extends ChaosOptions {
  /** A running NATS server to use; default: a private `nats-server` on free ports. */
  natsUrl?: string;
  /** These kinds in this order, round and round; default: a seeded pick among all of them. */
  faults?: NatsFault[] | undefined;
}

/** The relays of one node: its transport's connections, and its durable store's. */
interface NodeLinks {
  transport: CuttableLink;
  store: CuttableLink;
}

/** How long a resumed node may take to notice it was frozen and rejoin before it must be whole again. */
const RESUME_GRACE_MS = 3000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A reply within `ms`, or undefined (the node is paused, dead or too busy). */
async function ask(
  p: HubNodeProcess,
  cmd: string,
  args: Record<string, unknown> = {},
  ms = 5000,
): Promise<Record<string, unknown> | undefined> {
  let t: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((r) => {
    t = setTimeout(() => r(undefined), ms);
  });
  const r = await Promise.race([p.request(cmd, args), timeout]);
  clearTimeout(t);
  return r === undefined || "error" in r ? undefined : r;
}

/**
 * For each node cut off from NATS: its children stop when it loses its lease (event `leaseLost`,
 * its time `at`), and another node takes the first of them over (`claimTakenOver` from it) only
 * after that, by the one clock of this machine. The least gap over the partitions (null: no
 * takeover from a cut-off node); a takeover before the stop, or none after a lease lost in a
 * partition, is a violation.
 */
function partitionMargin(
  partitions: ReadonlyArray<{ node: string; from: number; healed: number }>,
  lost: ReadonlyArray<Record<string, unknown>>,
  taken: ReadonlyArray<Record<string, unknown>>,
  report: ChaosReport,
): number | null {
  let least: number | null = null;
  for (const p of partitions) {
    const stop = lost.find(
      (e) => e.node === p.node && (e.at as number) >= p.from && (e.at as number) <= p.healed,
    );
    const first = taken
      .filter((e) => e.from === p.node && (e.at as number) >= p.from && (e.at as number) <= p.healed)
      .map((e) => e.at as number)
      .sort((a, b) => a - b)[0];
    if (first === undefined) continue;
    if (stop === undefined) {
      report.violations.push(
        `${p.node}'s children were taken over while it was cut off, and it never lost its lease`,
      );
      continue;
    }
    const gap = first - (stop.at as number);
    if (gap < 0)
      report.violations.push(`${p.node}'s child taken over ${-gap} ms before it stopped its children`);
    least = least === null ? gap : Math.min(least, gap);
  }
  return least;
}

export async function runChaosNats(o: NatsChaosOptions): Promise<ChaosReport> {
  const rand = rng(o.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  let server: NatsServer | undefined;
  // Fenced: a durable hub, whose store is JetStream on the same server.
  const url =
    o.natsUrl ?? (server = await startNatsServer("hubvisor-chaos", { jetStream: o.fencing === true })).url;
  const names = Array.from({ length: o.nodes }, (_, i) => `n${i + 1}`);
  const factor = o.replication;
  const copies = Math.min(factor, o.nodes);
  const quorum = o.partition.type !== "divergence";
  const hub: Partial<HubOptions> = {
    // A restarted OS process remembers no hub size: without a baseline it would count as a
    // majority of itself until it meets its peers.
    partition:
      o.partition.type === "majority" && o.partition.initialClusterSize === undefined
        ? { ...o.partition, initialClusterSize: o.nodes }
        : o.partition,
    redundancy: factor > 1 ? { type: "replication", factor } : { type: "singularity" },
    migration: o.migration === "hotSwap" ? { type: "hotSwap", retentionMs: 2000 } : { type: "coldSwap" },
  };
  const cluster = `chaos${process.pid}`;
  const procs = new Map<string, HubNodeProcess>();
  /** Every node process of the run, the replaced ones too: their fencing events count. */
  const spawned: HubNodeProcess[] = [];
  const target = new URL(url.replace(/^nats:/, "http:"));
  const links = new Map<string, NodeLinks>();
  const linksOf = (name: string): NodeLinks => {
    let l = links.get(name);
    if (l === undefined) {
      const to = { host: target.hostname, port: Number(target.port) };
      l = { transport: new CuttableLink(to), store: new CuttableLink(to) };
      links.set(name, l);
    }
    return l;
  };
  const spawnNode = async (name: string) => {
    const leaseMs = o.leaseMs ?? 3000;
    const durable = o.fencing
      ? {
          reconcileIntervalMs: 300,
          settleMs: 500,
          bucketPrefix: `${cluster}_`,
          fencing: fencingTimings(leaseMs),
        }
      : undefined;
    const l = linksOf(name);
    const p = new HubNodeProcess({
      nats: await l.transport.url(),
      storeNats: await l.store.url(),
      node: name,
      cluster,
      hubId: "chaos",
      hub,
      durable,
    });
    procs.set(name, p);
    spawned.push(p);
    await p.ready;
  };
  const report: ChaosReport = {
    operations: { starts: 0, stops: 0, refused: 0 },
    faults: { kill: 0, pause: 0, partition: 0, restart: 0, split: 0 },
    duplicatesDuringMax: 0,
    duplicateSamples: 0,
    duplicatesAfter: 0,
    convergeMs: -1,
    children: 0,
    violations: [],
  };
  const expected = new Set<string>();
  const unknown = new Set<string>();
  const down = new Set<string>();
  /** The node under a fault, and the faulted ones not yet seen back in the formed hub. */
  let faultedNode: string | undefined;
  const joining = new Set<string>();
  /** When each paused node was resumed (SIGCONT). */
  const resumedAt = new Map<string, number>();
  const needed = quorumNeeded(o.partition, names.length);
  const flagged = new Set<string>();
  const violation = (key: string, text: string) => {
    // One line per node and kind: a sampler repeats a lasting fault every 150 ms.
    if (flagged.has(key)) return;
    flagged.add(key);
    report.violations.push(text);
  };
  const live = () => names.filter((n) => !down.has(n));
  const formed = async () => {
    const views = await Promise.all(names.map((n) => ask(procs.get(n)!, "status", {}, 3000)));
    return views.every((v) => (v?.members as string[] | undefined)?.length === names.length);
  };

  try {
    await Promise.all(names.map(spawnNode));
    for (let i = 0; i < 300 && !(await formed()); i++) await sleep(50);
    const r0 = await ask(procs.get(names[0]!)!, "start", { n: o.children, prefix: "c" }, 120_000);
    const ok0 = r0?.status === "ok" && r0.started === o.children;
    for (let i = 0; i < o.children; i++) (ok0 ? expected : unknown).add(`c${i}`);
    o.log(`started ${String(r0?.started)} children on ${names.length} OS processes over NATS (${url})`);

    let stopFlag = false;
    let faulty = false;
    let rounds = 0;
    let answers = 0;
    let lastDups = 0;
    /** Nodes that reported lost quorum with children still running in the previous sample. */
    let runningPartitioned = new Set<string>();
    const withoutQuorum = new Set<string>();
    const sampler = (async () => {
      while (!stopFlag) {
        const asked = live();
        const before = new Set([...joining, ...(faultedNode ? [faultedNode] : [])]);
        const lists = await Promise.all(asked.map((n) => ask(procs.get(n)!, "locals", {}, 1000)));
        rounds++;
        answers += lists.filter((l) => l !== undefined).length;
        // Copies that ran at one instant (the answers come at different instants: a child moving
        // between two of them is not two copies).
        const counts = copiesAtOnce(lists);
        const nowRunning = new Set<string>();
        asked.forEach((n, i) => {
          const l = lists[i];
          if (l === undefined) return;
          const running = (l.ids as string[]).length;
          // A node thawed from a pause past the detection timeout was declared down: it drops its
          // peers and rejoins (losing quorum for a moment, by design). Its pre-pause view, seen
          // before it noticed, does not count as rejoined.
          const thawed = Date.now() - (resumedAt.get(n) ?? 0) < RESUME_GRACE_MS;
          if (l.partitioned !== true && l.members === names.length && !thawed) joining.delete(n);
          if (quorum && (l.partitioned === true) !== withoutQuorum.has(n)) {
            if (l.partitioned === true) withoutQuorum.add(n);
            else withoutQuorum.delete(n);
            o.log(
              `${n} ${l.partitioned === true ? "lost" : "regained"} quorum (${running} children running)`,
            );
          }
          if (!quorum || l.partitioned !== true) return;
          if (running > 0) nowRunning.add(n);
          if (running > 0 && runningPartitioned.has(n))
            violation(`run:${n}`, `${n} ran ${running} children after it lost quorum`);
          const up = names.length - (faultedNode ? 1 : 0);
          const exempt = before.has(n) || joining.has(n) || n === faultedNode;
          if (!exempt && up >= needed)
            violation(
              `lost:${n}`,
              `${n} lost quorum with ${up} of ${names.length} nodes up (quorum ${needed})`,
            );
        });
        runningPartitioned = nowRunning;
        let dups = 0;
        for (const c of counts.values()) if (c > factor) dups++;
        lastDups = dups;
        report.duplicateSamples += dups;
        report.duplicatesDuringMax = Math.max(report.duplicatesDuringMax, dups);
        await sleep(150);
      }
    })();

    let batch = 0;
    const opRand = rng(o.seed + 2);
    const ops = (async () => {
      while (!stopFlag) {
        const up = live();
        const p = procs.get(up[Math.floor(opRand() * up.length)]!)!;
        const healthy = !faulty;
        const settled = healthy && (o.stopsWhen === "healthy" || (lastDups === 0 && (await formed())));
        if (settled && !faulty && opRand() < 0.3) {
          const victims = [...expected].filter((id) => id.startsWith("op")).slice(0, 10);
          for (const v of victims) expected.delete(v);
          report.operations.stops += victims.length;
          const r = victims.length > 0 ? await ask(p, "stop", { ids: victims }, 8000) : undefined;
          if (r === undefined) report.operations.refused++;
          // A stop that did not report every id stopped leaves their fate unknown.
          if (r?.stopped !== victims.length || faulty) for (const v of victims) unknown.add(v);
        } else {
          const prefix = `op${batch++}_`;
          const ids = Array.from({ length: 10 }, (_, i) => `${prefix}${i}`);
          report.operations.starts += ids.length;
          const r = await ask(p, "start", { n: 10, prefix }, 8000);
          if (r === undefined) report.operations.refused++;
          const ok = r?.status === "ok" && r.started === 10 && healthy && !faulty;
          for (const id of ids) (ok ? expected : unknown).add(id);
        }
        await sleep(40);
      }
    })();

    const t0 = Date.now();
    let faultNo = 0;
    /** When each node was cut off from NATS, and healed (wall clock, as the nodes' events). */
    const partitions: Array<{ node: string; from: number; healed: number }> = [];
    while (Date.now() - t0 < o.durationMs) {
      await sleep(o.faultGapMs);
      const up = live();
      if (up.length <= 2) continue;
      const kind = o.faults
        ? o.faults[faultNo % o.faults.length]!
        : pick(["kill", "pause", "restart"] as const);
      faultNo++;
      const n = pick(up);
      const p = procs.get(n)!;
      faulty = true;
      faultedNode = n;
      joining.add(n);
      o.log(`${Date.now() - t0} ms: ${kind} ${n}`);
      if (kind === "pause") {
        report.faults.pause++;
        process.kill(p.pid!, "SIGSTOP");
        await sleep(o.faultMs);
        process.kill(p.pid!, "SIGCONT");
        resumedAt.set(n, Date.now());
      } else if (kind === "partition" || kind === "split") {
        // The node runs on and answers the controller; only its network is gone.
        const l = linksOf(n);
        const cut = kind === "partition" ? [l.transport, l.store] : [l.transport];
        const cutAt = Date.now();
        for (const link of cut) link.sever();
        if (kind === "partition") report.faults.partition++;
        else report.faults.split = (report.faults.split ?? 0) + 1;
        await sleep(o.faultMs);
        const mode = rand() < 0.5 ? "resume" : "reset";
        for (const link of cut) link.heal(mode);
        if (kind === "partition") partitions.push({ node: n, from: cutAt, healed: Date.now() });
        o.log(`${Date.now() - t0} ms: healed ${n} (${mode})`);
        // Like a thawed node, a healed one finds itself declared down and rejoins.
        resumedAt.set(n, Date.now());
      } else {
        down.add(n);
        if (kind === "kill") {
          report.faults.kill++;
          await p.kill("SIGKILL");
        } else {
          report.faults.restart = (report.faults.restart ?? 0) + 1;
          await p.exit(5000);
        }
        await sleep(o.faultMs);
        await spawnNode(n);
        down.delete(n);
      }
      // Let the others see the node again before calls count as healthy.
      await sleep(600);
      faulty = false;
      faultedNode = undefined;
    }
    stopFlag = true;
    await Promise.all([sampler, ops]);
    report.samples = { rounds, answers };

    // ---------------------------------------------------------------- convergence and checks
    /** Ids running more than their factor in the last full listing. */
    let lastOver = 0;
    const check = async (): Promise<string> => {
      const views = await Promise.all(names.map((n) => ask(procs.get(n)!, "status", { digest: true }, 5000)));
      if (views.some((v) => v === undefined)) return "a node does not answer";
      if (!views.every((v) => (v!.members as string[]).length === names.length)) return "hub not formed";
      const stuck = views.find((v) => v!.partitioned === true);
      if (stuck) return `${String(stuck.node)} still without quorum`;
      if (new Set(views.map((v) => v!.digest)).size !== 1) return "registries differ";
      const v0 = views[0]!;
      if (v0.offReplicas !== 0)
        return `${String(v0.offReplicas)} children not placed on exactly their replicas`;
      // With identical registries placed on the replicas, each node running exactly its own
      // slice (live pids) means every child runs on exactly its replicas.
      const off = views.find((v) => v!.localMismatch !== 0);
      if (off)
        return `${String(off.node)}: ${String(off.localMismatch)} children out of step with its registry slice`;
      const lists = await Promise.all(names.map((n) => ask(procs.get(n)!, "locals", {}, 5000)));
      if (lists.some((l) => l === undefined)) return "a node does not list its children";
      const running = new Map<string, number>();
      for (const l of lists) for (const id of l!.ids as string[]) running.set(id, (running.get(id) ?? 0) + 1);
      let over = 0;
      for (const c of running.values()) if (c > copies) over++;
      lastOver = over;
      for (const [id, c] of running) {
        if (c !== copies) return `${id} runs ${c} times`;
        if (!expected.has(id) && !unknown.has(id)) return `${id} should not run`;
      }
      const lost = [...expected].filter((id) => !running.has(id));
      if (lost.length > 0) return `${lost.length} lost (${lost.slice(0, 3).join(", ")}, ...)`;
      if (running.size !== v0.size) return `${running.size} running, registry holds ${String(v0.size)}`;
      report.children = running.size;
      return "ok";
    };
    const tHeal = Date.now();
    let problem = "not checked";
    while (Date.now() - tHeal < o.settleTimeoutMs) {
      problem = await check();
      if (problem === "ok") break;
      await sleep(250);
    }
    if (problem === "ok") report.convergeMs = Date.now() - tHeal;
    else {
      report.violations.push(`did not converge: ${problem}`);
      // What each node saw, for the diagnosis (durable counters, fence, its registry view).
      for (const n of names) {
        const p = procs.get(n)!;
        const [d, s] = await Promise.all([ask(p, "durable", {}, 3000), ask(p, "status", {}, 3000)]);
        o.log(`${n}: ${JSON.stringify({ ...s, durable: d })}`);
      }
    }
    if (problem !== "ok") report.duplicatesAfter = lastOver;
    checkFenced(o, report);
    for (const kind of o.faults ?? []) {
      const done = kind === "split" ? (report.faults.split ?? 0) : (report.faults[kind] ?? 0);
      if (done === 0) report.violations.push(`no ${kind} fault ran: the duration is too short for --faults`);
    }
    if (o.fencing) {
      const all = spawned.flatMap((p) => p.events);
      const lost = all.filter((e) => e.ev === "leaseLost");
      const taken = all.filter((e) => e.ev === "claimTakenOver");
      report.fencing = {
        leaseLost: lost.length,
        claimTakenOver: taken.length,
        partitionMarginMs: partitionMargin(partitions, lost, taken, report),
      };
    }
  } finally {
    await Promise.all([...procs.values()].map((p) => p.exit(3000).catch(() => {})));
    await Promise.all([...links.values()].flatMap((l) => [l.transport.close(), l.store.close()]));
    await server?.stop();
  }
  return report;
}
