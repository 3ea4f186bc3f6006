/**
 * The documentation stays true where a machine can tell:
 * - every `import … from "hubvisor…"` in the docs, the READMEs and the examples names an entry
 *   that exists and names exported from it (types included);
 * - every repository path a document mentions exists, and no document, README, example or source
 *   header sends the reader to design documents that are not in the repository;
 * - the memory figures of `docs/architecture.md` are the ones `BENCHMARKS.md` measured;
 * - what `docs/hub.md` and `docs/cluster.md` say about `withHandover` and about name checks holds.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { Cluster, InvalidNameError, InvalidOptionError, Node, silentLogger } from "../../src/index.js";
import { NatsInvalidNameError, NatsTransport } from "../../src/nats.js";
import { freePort } from "../support/nats-server.js";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

function walk(dir: string, keep: (path: string) => boolean): string[] {
  return readdirSync(join(repo, dir), { withFileTypes: true }).flatMap((d) => {
    const rel = join(dir, d.name);
    if (d.isDirectory()) return d.name === "node_modules" ? [] : walk(rel, keep);
    return keep(rel) ? [rel] : [];
  });
}

const read = (rel: string) => readFileSync(join(repo, rel), "utf8");
const exists = (rel: string) => {
  try {
    statSync(join(repo, rel));
    return true;
  } catch {
    return false;
  }
};

/** Documents a reader follows: docs, READMEs, benchmarks, and the examples (code users copy). */
const documents = [
  "README.md",
  "BENCHMARKS.md",
  ...walk("docs", (p) => p.endsWith(".md")),
  ...walk("src", (p) => p.endsWith("README.md")),
  ...walk("examples", (p) => p.endsWith(".ts")),
];

/** The package's entries and the source file behind each. */
const ENTRIES: Record<string, string> = {
  hubvisor: "src/index.ts",
  "hubvisor/nats": "src/nats.ts",
  "hubvisor/testing": "src/testing.ts",
  "hubvisor/internal": "src/internal.ts",
  "hubvisor/observe": "src/observe.ts",
};

/** Every name (values and types) each entry exports, read by the type checker. */
function entryExports(): Map<string, Set<string>> {
  const program = ts.createProgram(
    Object.values(ENTRIES).map((f) => join(repo, f)),
    { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, strict: true },
  );
  const checker = program.getTypeChecker();
  const out = new Map<string, Set<string>>();
  for (const [entry, file] of Object.entries(ENTRIES)) {
    const mod = checker.getSymbolAtLocation(program.getSourceFile(join(repo, file))!)!;
    out.set(entry, new Set(checker.getExportsOfModule(mod).map((s) => s.getName())));
  }
  return out;
}

/** `import { a, type B, c as d } from "hubvisor…"` statements of a text: entry and names. */
function hubvisorImports(text: string): Array<{ entry: string; names: string[]; line: number }> {
  const found: Array<{ entry: string; names: string[]; line: number }> = [];
  for (const m of text.matchAll(/import\s+(type\s+)?\{([^}]*)\}\s*from\s*["'](hubvisor[^"']*)["']/g)) {
    const names = m[2]!
      .split(",")
      .map((n) =>
        n
          .trim()
          .replace(/^type\s+/, "")
          .split(/\s+as\s+/)[0]!
          .trim(),
      )
      .filter((n) => n.length > 0);
    found.push({ entry: m[3]!, names, line: text.slice(0, m.index).split("\n").length });
  }
  for (const m of text.matchAll(/(?:import|from)\s*\(?\s*["'](hubvisor[^"']*)["']/g)) {
    if (!(m[1]! in ENTRIES))
      found.push({ entry: m[1]!, names: [], line: text.slice(0, m.index).split("\n").length });
  }
  return found;
}

/** Examples the tests drive as modules of their own (they import the sources like the tests do). */
const TEST_HARNESS_EXAMPLES = new Set(["examples/hub-node.ts", "examples/hub-node-process.ts"]);

describe("imports shown to users", () => {
  it("examples import hubvisor as a user writes it, never ../src", () => {
    const inside = walk("examples", (p) => p.endsWith(".ts"))
      .filter((p) => !TEST_HARNESS_EXAMPLES.has(p))
      .filter((p) => /from\s+["']\.\.\/src\//.test(read(p)));
    expect(inside).toEqual([]);
  });

  it("name entries that exist and names they export", { timeout: 120_000 }, () => {
    const exportsOf = entryExports();
    const wrong: string[] = [];
    let seen = 0;
    for (const doc of documents) {
      for (const { entry, names, line } of hubvisorImports(read(doc))) {
        seen++;
        const exported = exportsOf.get(entry);
        if (exported === undefined) wrong.push(`${doc}:${line}: no entry "${entry}"`);
        else
          for (const n of names)
            if (!exported.has(n)) wrong.push(`${doc}:${line}: "${entry}" has no export ${n}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(seen).toBeGreaterThan(10);
  });
});

/**
 * Source files whose header still points at design documents outside the repository: in files
 * other engineers own, left to them (see the report of the docs pass). Shrinks, never grows.
 */
const PENDING_SOURCE_HEADERS = new Set([
  "src/supervision/supervisor-process.ts",
  "src/supervision/dynamic-supervisor.ts",
  "src/supervision/supervisor.ts",
  "src/hub/hub-registry.ts",
]);

/** Pointers to the design documents this repository was built from, which it does not contain. */
const OUTSIDE_DOCUMENTS = /\breference\/|\bshared\/|\breference §|\bseeds? ?-?\(?0\d\d\b/i;

describe("paths in documents", () => {
  it("every repository path a document mentions exists", () => {
    const missing: string[] = [];
    for (const doc of documents) {
      const text = read(doc);
      for (const m of text.matchAll(
        /(?<![\w/.-])((?:src|docs|test|examples|bench|scripts)\/[\w./-]*[\w/])/g,
      )) {
        if (!exists(m[1]!)) missing.push(`${doc}: ${m[1]}`);
      }
      for (const m of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(m[1]!)) continue;
        const target = normalize(join(dirname(doc), m[1]!));
        if (!exists(target)) missing.push(`${doc}: link ${m[1]}`);
      }
      // A README names the files of its own folder by their bare names.
      if (doc.startsWith("src/") && doc.endsWith("README.md")) {
        for (const m of text.matchAll(/`([\w-]+(?:\/[\w-]+)*\.ts)`/g)) {
          const here = join(dirname(doc), m[1]!);
          if (!exists(here) && !exists(join("src", m[1]!)) && !exists(m[1]!)) missing.push(`${doc}: ${m[1]}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it("no document, README, example or source header points at design documents outside the repository", () => {
    const sources = walk("src", (p) => p.endsWith(".ts")).filter((p) => !PENDING_SOURCE_HEADERS.has(p));
    const pointing = [...documents, ...sources].flatMap((file) =>
      read(file)
        .split("\n")
        .map((text, i) => ({ text, i }))
        .filter(({ text }) => OUTSIDE_DOCUMENTS.test(text))
        .map(({ text, i }) => `${relative(repo, join(repo, file))}:${i + 1}: ${text.trim()}`),
    );
    expect(pointing).toEqual([]);
  });
});

describe("figures and claims", () => {
  it("the byte figures of docs/architecture.md are measured in BENCHMARKS.md", () => {
    const arch = read("docs/architecture.md");
    const bench = read("BENCHMARKS.md");
    const figures = [...arch.matchAll(/(\d[\d,]*)(?:-byte| bytes\b)/g)].map((m) => m[1]!);
    expect(figures.length).toBeGreaterThan(0);
    const unmeasured = figures.filter((n) => !new RegExp(`\\b${n} (?:B|bytes)\\b`).test(bench));
    expect(unmeasured).toEqual([]);
  });

  it("docs/hub.md shows withHandover imported from hubvisor, which exports it", () => {
    const hub = read("docs/hub.md");
    expect(hub).not.toMatch(/not\s+(yet\s+)?exported/);
    const handover = hubvisorImports(hub).filter((i) => i.names.includes("withHandover"));
    expect(handover.map((i) => i.entry)).toEqual(["hubvisor"]);
    expect(entryExports().get("hubvisor")!.has("withHandover")).toBe(true);
  });

  it("names: Cluster.join refuses '.' and over-long names with InvalidNameError, an InvalidOptionError; the NATS transport's own check says NatsInvalidNameError (docs/cluster.md)", async () => {
    const servers = `127.0.0.1:${await freePort()}`; // nothing listens: no check may need a server
    const nats = () =>
      new NatsTransport({ connection: { servers }, connectTimeoutMs: 0, logger: silentLogger });
    const join = (name: string) =>
      Cluster.join({ node: new Node({ name, logger: silentLogger }), cluster: "docs", transport: nats() });
    await expect(join("a.b")).rejects.toMatchObject({ constructor: InvalidNameError, field: "node.name" });
    await expect(join("a.b")).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(join("n".repeat(300))).rejects.toMatchObject({
      code: "HV_ERR_INVALID_NAME",
      field: "node.name",
    });
    const direct = nats().connect(
      { cluster: "docs", node: "a.b", incarnation: 1 },
      {
        frame() {},
        peerUp() {},
        peerDown() {},
      },
    );
    await expect(direct).rejects.toMatchObject({ constructor: NatsInvalidNameError, field: "node" });
    const doc = read("docs/cluster.md");
    expect(doc).toContain("`InvalidNameError`");
    expect(doc).toContain("`NatsInvalidNameError`");
  });
});
