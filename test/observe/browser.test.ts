/**
 * The Observer in a real headless Chromium (Debian's `chromium`, driven by playwright-core; no
 * browser download): the demo runs as its own program with `--step`, the page shows its three
 * nodes and the hub's children on each, a supervision tree and a process; then the demo kills
 * node-c and the page shows node-c down and its children on the survivors. A second test drains
 * a node of an in-process cluster from the page (token in the address, actions on). A third runs
 * the NATS demo (`demo.ts --nats`: a nats-server and node OS processes) and checks the page its
 * client-only node serves after the story: node-c down, every child on the survivors. With
 * `HUBVISOR_SCREENSHOTS=1` the screenshots are written to `docs/` (the README links them);
 * otherwise to a temporary folder.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import { defineServer, ok, ProcessHub, reply, silentLogger } from "../../src/index.js";
import { observe, startObserverAgent } from "../../src/observe.js";
import { startMemoryCluster } from "../../src/testing.js";

const Echo = defineServer<{ calls: { echo(x: number): number } }>()({
  name: "Echo",
  init: () => ok(null),
  handleCall: { echo: (x, s) => reply(x, s) },
});

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const CHILDREN = 600;
const shots =
  process.env.HUBVISOR_SCREENSHOTS === "1" ? join(root, "docs") : mkdtempSync(join(tmpdir(), "observer-"));

let demo: ChildProcess | undefined;
let browser: Browser | undefined;
afterAll(async () => {
  await browser?.close();
  if (demo !== undefined && demo.exitCode === null) demo.kill("SIGKILL");
});

/** The demo's output so far, and a way to wait for a line of it. */
function watch(child: ChildProcess) {
  let out = "";
  child.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr!.on("data", (d: Buffer) => {
    out += d.toString();
  });
  return {
    text: () => out,
    async line(re: RegExp, ms = 60_000): Promise<RegExpMatchArray> {
      const end = Date.now() + ms;
      for (;;) {
        const m = re.exec(out);
        if (m !== null) return m;
        if (Date.now() > end || child.exitCode !== null)
          throw new Error(`no ${re} in the demo's output:\n${out}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** What the page functions see; the test is compiled without the DOM library. */
type Dom = any;
/** The page's document, inside functions the browser runs. */
declare const document: Dom;

/** Hub children per node as the page shows them. */
function hubCounts(page: Page): Promise<Record<string, number>> {
  return page.$$eval("tr[data-hub-node]", (rows) =>
    Object.fromEntries(rows.map((r) => [(r as Dom).dataset.hubNode!, Number((r as Dom).dataset.children)])),
  );
}

describe.skipIf(!existsSync(CHROMIUM))("the Observer in Chromium", () => {
  it("shows the demo cluster, then node-c gone and its children moved", { timeout: 180_000 }, async () => {
    demo = spawn(process.execPath, ["--import", "tsx", join("examples", "demo.ts"), "--step", "--exit"], {
      cwd: root,
      env: { ...process.env, DEMO_CHILDREN: String(CHILDREN), OBSERVER_PORT: "0" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out = watch(demo);
    const url = (await out.line(/Observer: (http:\/\/\S+)/))[1]!;
    await out.line(/press Enter to kill node-c/);

    browser ??= await launch();
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(url);
    for (const n of ["node-a", "node-b", "node-c"])
      await page.waitForSelector(`.card[data-node="${n}"][data-status="up"]`, { timeout: 30_000 });
    await page.waitForFunction(
      (total) =>
        [...document.querySelectorAll("tr[data-hub-node]")].reduce(
          (s, r) => s + Number((r as Dom).dataset.children),
          0,
        ) === total,
      CHILDREN,
      { timeout: 30_000 },
    );
    const before = await hubCounts(page);
    expect(before["node-c"]).toBeGreaterThan(0);
    await page.screenshot({ path: join(shots, "observer-cluster.png"), fullPage: true });

    // A supervision tree: node-b's hub, expanded to its children; then one child in detail.
    await page.selectOption("#treeNode", "node-b");
    const child = page.locator('#tree li[data-node="node-b"]:not(.sup)').first();
    await child.waitFor({ timeout: 30_000 });
    await child.click();
    await page.waitForSelector("#process [data-process]");
    expect(await page.textContent("#process")).toContain("counter");
    await page.screenshot({ path: join(shots, "observer-tree.png"), fullPage: true });

    demo.stdin!.write("\n");
    await page.waitForSelector('.card[data-node="node-c"][data-status="down"]', { timeout: 30_000 });
    await page.waitForFunction(
      (total) => {
        const rows = [...document.querySelectorAll("tr[data-hub-node]")] as Dom[];
        const c = rows.find((r) => r.dataset.hubNode === "node-c");
        const sum = rows.reduce((s, r) => s + Number(r.dataset.children), 0);
        return (c === undefined || c.dataset.children === "0") && sum === total;
      },
      CHILDREN,
      { timeout: 30_000 },
    );
    const after = await hubCounts(page);
    expect((after["node-a"] ?? 0) + (after["node-b"] ?? 0)).toBe(CHILDREN);
    expect(after["node-a"]! + after["node-b"]!).toBeGreaterThan(before["node-a"]! + before["node-b"]!);
    await page.waitForFunction(
      () => document.querySelector("#events")?.textContent?.includes("node-c down"),
      null,
      {
        timeout: 30_000,
      },
    );
    await page.screenshot({ path: join(shots, "observer-node-down.png"), fullPage: true });

    await out.line(/press Enter to add node-d/);
    demo.stdin!.write("\n");
    const code = await new Promise<number | null>((resolve) => {
      if (demo!.exitCode !== null) resolve(demo!.exitCode);
      else demo!.once("exit", (c) => resolve(c));
    });
    expect(code, out.text()).toBe(0);
  });
  it("drains a node from the page: a confirmed click, with the token, moves its children away", {
    timeout: 120_000,
  }, async () => {
    const { clusters } = await startMemoryCluster(["drain-a", "drain-b", "drain-c"]);
    const hubs = clusters.map((cluster) =>
      ProcessHub.start({
        hubId: "page",
        cluster,
        behaviours: { Echo },
        logger: silentLogger,
        clusterEventDebounceMs: 5,
      }),
    );
    for (const c of clusters.slice(1)) await startObserverAgent({ node: c.node, cluster: c, actions: true });
    const end = Date.now() + 30_000;
    while (!hubs.every((h) => h.nodes().length === 2)) {
      if (Date.now() > end) throw new Error("no hub membership");
      await new Promise((r) => setTimeout(r, 10));
    }
    const ids = Array.from({ length: 90 }, (_, i) => `p${i}`);
    await hubs[0]!
      .startChildren(
        ids.map((id) => ({ id, behaviour: "Echo" })),
        { awaitable: true },
      )
      .await(10_000);
    const onB = hubs[1]!.localChildren().size;
    expect(onB).toBeGreaterThan(0);
    const obs = await observe({ cluster: clusters[0]!, port: 0, token: "page-token-1", actions: true });
    try {
      browser ??= await launch();
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      const asked: string[] = [];
      page.on("dialog", (d) => {
        asked.push(d.message());
        void d.accept();
      });
      await page.goto(obs.url);
      await page.click('button[data-drain="drain-b"]', { timeout: 30_000 });
      await page.waitForSelector('#notice[data-drained="drain-b"]', { timeout: 30_000 });
      expect(await page.getAttribute("#notice", "data-ok")).toBe("true");
      expect(await page.textContent("#notice")).toBe(`drain-b drained: page ${onB} moved, 0 forced`);
      expect(asked).toEqual([expect.stringContaining("Drain drain-b?")]);
      await page.screenshot({ path: join(shots, "observer-drain.png"), fullPage: true });
      await page.waitForFunction(
        (total) => {
          const rows = [...document.querySelectorAll("tr[data-hub-node]")] as Dom[];
          const b = rows.find((r) => r.dataset.hubNode === "drain-b");
          return (
            (b === undefined || b.dataset.children === "0") &&
            rows.reduce((n, r) => n + Number(r.dataset.children), 0) === total
          );
        },
        ids.length,
        { timeout: 30_000 },
      );
      expect(hubs[1]!.isAlive()).toBe(false);
      // drain-b has no hub left: its card offers no drain any more.
      await page.waitForFunction(
        () => document.querySelector('button[data-drain="drain-b"]') === null,
        null,
        {
          timeout: 30_000,
        },
      );
      await page.close();
    } finally {
      await obs.close();
      await Promise.all([hubs[0]!, hubs[2]!].map((h) => h.stop()));
      await Promise.all(clusters.map((c) => c.leave()));
    }
  });

  it("the NATS demo's Observer, served by its client-only node, shows node-c down and every child elsewhere", {
    timeout: 240_000,
  }, async () => {
    const total = 300;
    const nats = spawn(process.execPath, ["--import", "tsx", join("examples", "demo.ts"), "--nats"], {
      cwd: root,
      env: { ...process.env, DEMO_CHILDREN: String(total), OBSERVER_PORT: "0" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out = watch(nats);
    try {
      const url = (await out.line(/Observer: (http:\/\/\S+)/, 120_000))[1]!;
      // The story has ended (kill, join, registries compared); the page stays up until Ctrl-C.
      await out.line(/the Observer stays up at/, 180_000);
      expect(out.text()).toContain("every registry identical across the 3 processes: true");

      browser ??= await launch();
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      await page.goto(url);
      for (const n of ["node-a", "node-b", "node-d"])
        await page.waitForSelector(`.card[data-node="${n}"][data-status="up"]`, { timeout: 30_000 });
      await page.waitForFunction(
        (want) => {
          const rows = [...document.querySelectorAll("tr[data-hub-node]")] as Dom[];
          const c = rows.find((r) => r.dataset.hubNode === "node-c");
          const sum = rows.reduce((s, r) => s + Number(r.dataset.children), 0);
          return (c === undefined || c.dataset.children === "0") && sum === want;
        },
        total,
        { timeout: 30_000 },
      );
      const counts = await hubCounts(page);
      for (const n of ["node-a", "node-b", "node-d"]) expect(counts[n]).toBeGreaterThan(0);
      // node-c was SIGKILLed: the page shows it down (or gone), never up.
      expect(await page.$('.card[data-node="node-c"][data-status="up"]')).toBeNull();
      await page.close();

      nats.kill("SIGINT");
      const code = await new Promise<number | null>((resolve) => {
        if (nats.exitCode !== null) resolve(nats.exitCode);
        else nats.once("exit", (c) => resolve(c));
      });
      expect(code, out.text()).toBe(0);
    } finally {
      if (nats.exitCode === null) nats.kill("SIGKILL");
    }
  });
});
