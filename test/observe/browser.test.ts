/**
 * The Observer in a real headless Chromium (Debian's `chromium`, driven by playwright-core; no
 * browser download): the demo runs as its own program with `--step`, the page shows its three
 * nodes and the hub's children on each, a supervision tree and a process; then the demo kills
 * node-c and the page shows node-c down and its children on the survivors. With
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

    browser = await chromium.launch({
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
});
