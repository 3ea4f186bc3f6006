/**
 * Runs every example under `examples/` as its own program, so the examples never rot: each must
 * exit 0 and print its closing marker line. `demo*.ts` and `hub-node*.ts` are other programs
 * (the demo is run here with a small workload; the hub-node programs need arguments) and are
 * excluded from the marker check.
 */
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const examplesDir = join(root, "examples");
const RUN_TIMEOUT_MS = 60_000;

/** The line each example prints when it finished everything it set out to show. */
const MARKERS: Record<string, string> = {
  "process.ts": "process example: done",
  "gen-server.ts": "gen-server example: done",
  "dynamic-supervisor.ts": "dynamic-supervisor example: done",
  "supervision-tree.ts": ">>> done (exit code 0)",
  "registry.ts": "registry example: done",
  "task.ts": "task example: done",
  "parent.ts": "parent example: done",
  "cluster.ts": "cluster example: done",
  "hub.ts": "hub example: done",
};

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runExample(file: string, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", join("examples", file)],
      { cwd: root, timeout: RUN_TIMEOUT_MS, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const examples = readdirSync(examplesDir)
  .filter((f) => f.endsWith(".ts") && !f.startsWith("demo") && !f.startsWith("hub-node"))
  .sort();

/** Every `.ts` under `examples/`, the guides' programs included, relative to `examples/`. */
function allExampleFiles(dir = examplesDir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory()
      ? allExampleFiles(join(dir, d.name))
      : d.name.endsWith(".ts")
        ? [relative(examplesDir, join(dir, d.name))]
        : [],
  );
}

describe("examples", () => {
  it("import the package by its name, as a user does, never the sources", () => {
    const offenders = allExampleFiles().flatMap((file) => {
      const source = readFileSync(join(examplesDir, file), "utf8");
      return (
        [...source.matchAll(/\bfrom\s+"([^"]+)"|\bimport\(\s*"([^"]+)"\s*\)/g)]
          .map((m) => m[1] ?? m[2]!)
          .filter((spec) => spec.startsWith("."))
          .map((spec) => relative(root, join(examplesDir, dirname(file), spec)))
          // Relative imports stay among the examples; the one way out is the nats-server harness
          // the NATS demo borrows from the tests.
          .filter((target) => !target.startsWith("examples/") && target !== "test/support/nats-server.js")
          .map((target) => `${file} imports ${target}`)
      );
    });
    expect(offenders).toEqual([]);
  });

  it("every example has a marker line to check", () => {
    expect(examples.filter((f) => MARKERS[f] === undefined)).toEqual([]);
  });

  for (const file of examples) {
    it(`${file} runs to the end and exits 0`, { timeout: RUN_TIMEOUT_MS + 5_000 }, async () => {
      const run = await runExample(file);
      expect(run.code, `${file} failed:\n${run.stdout}\n${run.stderr}`).toBe(0);
      expect(run.stdout).toContain(MARKERS[file] ?? "(no marker)");
    });
  }

  it("demo.ts runs with a small workload and exits 0", { timeout: RUN_TIMEOUT_MS + 5_000 }, async () => {
    const run = await runExample("demo.ts", { DEMO_CHILDREN: "200", DEMO_EXIT: "1", OBSERVER_PORT: "0" });
    expect(run.code, `demo failed:\n${run.stdout}\n${run.stderr}`).toBe(0);
  });

  it("demo.ts --threads (a node per worker thread) runs to the end", {
    timeout: RUN_TIMEOUT_MS + 5_000,
  }, async () => {
    const run = await runExample("demo.ts", { DEMO_CHILDREN: "200", HUBVISOR_TRANSPORT: "threads" });
    expect(run.code, `demo failed:\n${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toMatch(/terminated node-2's thread: [1-9]\d* children restarted/);
    expect(run.stdout).toMatch(/node-d joined in this thread: [1-9]\d* children moved to it/);
    expect(run.stdout).toContain("demo-threads: done");
  });
});
