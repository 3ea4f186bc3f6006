/**
 * The published package, as a user gets it: built the way `npm pack` builds it (`prepack` runs
 * `npm run build`), packed by npm's own file selection, installed into a scratch project that has
 * no NATS client, then imported and type-checked from there.
 *
 * The build goes to a temporary folder, never to the repository's `dist/`, so that test runs in
 * parallel (or a developer's build) do not race on it.
 */
import { execFile } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const pkg = JSON.parse(readFileSync(join(repo, "package.json"), "utf8"));
const BUILD_TIMEOUT_MS = 120_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { cwd, timeout: BUILD_TIMEOUT_MS, maxBuffer: 32 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === "number" ? err.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

let scratch: string;
/** The package folder: what the tarball unpacks to (`node_modules/hubvisor` points at it). */
let packageDir: string;
/** Paths in the tarball, as `npm pack` lists them. */
let tarball: string[];

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "hubvisor-pack-"));
  packageDir = join(scratch, "package");
  mkdirSync(packageDir);
  const build = await run(
    process.execPath,
    [
      join(repo, "node_modules/typescript/bin/tsc"),
      "-p",
      "tsconfig.build.json",
      "--outDir",
      join(packageDir, "dist"),
    ],
    repo,
  );
  expect(build.stderr + build.stdout).toBe("");
  for (const f of ["package.json", "README.md", "LICENSE"]) cpSync(join(repo, f), join(packageDir, f));
  const packed = await run("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], packageDir);
  expect(packed.code).toBe(0);
  tarball = (JSON.parse(packed.stdout)[0].files as Array<{ path: string }>).map((f) => f.path);
  // A project with hubvisor and its one dependency installed, and no NATS client anywhere.
  mkdirSync(join(scratch, "node_modules"));
  symlinkSync(packageDir, join(scratch, "node_modules/hubvisor"), "dir");
  symlinkSync(join(repo, "node_modules/msgpackr"), join(scratch, "node_modules/msgpackr"), "dir");
}, BUILD_TIMEOUT_MS);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** Runs an ES module program in the scratch project; prints what it prints. */
async function inScratchProject(source: string): Promise<Run> {
  const app = join(scratch, "app");
  mkdirSync(app, { recursive: true });
  const file = join(app, `program-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(file, source);
  return run(process.execPath, [file], app);
}

describe("the tarball", () => {
  it("ships the license, the readme and every entry's code and types, and nothing else", () => {
    expect(tarball).toContain("LICENSE");
    expect(tarball).toContain("README.md");
    for (const [entry, target] of Object.entries(pkg.exports as Record<string, unknown>)) {
      const files = typeof target === "string" ? [target] : Object.values(target as Record<string, string>);
      for (const f of files) expect(tarball, `${entry}: ${f}`).toContain(f.replace(/^\.\//, ""));
    }
    const outside = tarball.filter(
      (f) => !f.startsWith("dist/") && !["LICENSE", "README.md", "package.json"].includes(f),
    );
    expect(outside).toEqual([]);
    expect(tarball.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))).toEqual([]);
  });

  it("ships source maps that work without the sources: each carries the code it maps to", () => {
    const maps = tarball.filter((f) => f.endsWith(".js.map"));
    expect(maps.length).toBeGreaterThan(50);
    const broken: string[] = [];
    for (const m of maps) {
      const map = JSON.parse(readFileSync(join(packageDir, m), "utf8")) as {
        sources: string[];
        sourcesContent?: Array<string | null>;
      };
      map.sources.forEach((source, i) => {
        const shipped = tarball.includes(join(dirname(m), source));
        const inline = typeof map.sourcesContent?.[i] === "string" && map.sourcesContent[i]!.length > 0;
        if (!shipped && !inline) broken.push(`${m} -> ${source}`);
      });
    }
    expect(broken).toEqual([]);
  });
});

describe("package.json", () => {
  it("makes the NATS client an optional peer, not a dependency", () => {
    expect(pkg.dependencies?.["@nats-io/transport-node"]).toBeUndefined();
    expect(pkg.peerDependencies?.["@nats-io/transport-node"]).toBeTypeOf("string");
    expect(pkg.peerDependenciesMeta?.["@nats-io/transport-node"]?.optional).toBe(true);
  });

  it("installs nothing that wants a newer Node than the engines floor (no EBADENGINE on install)", () => {
    const floor = Number(/^>=\s*(\d+)/.exec(pkg.engines.node)?.[1]);
    expect(floor).toBe(20);
    const lock = JSON.parse(readFileSync(join(repo, "package-lock.json"), "utf8")) as {
      packages: Record<string, { engines?: { node?: string } | string[] }>;
    };
    const demanding = Object.entries(lock.packages)
      .map(([name, p]) => [name, Array.isArray(p.engines) ? undefined : p.engines?.node] as const)
      .filter(([, node]) => {
        const min = node === undefined ? undefined : /^>=?\s*v?(\d+)/.exec(node.trim())?.[1];
        return min !== undefined && Number(min) > floor;
      });
    expect(demanding).toEqual([]);
  });
});

describe("installed without the NATS client", () => {
  it("runs a program on the memory transport, and hubvisor/nats names the missing client", async () => {
    const r = await inScratchProject(`
      import { defineServer, GenServer, ok, reply, Cluster } from "hubvisor";
      import { startMemoryCluster } from "hubvisor/testing";
      const Echo = defineServer()({ init: () => ok(0), handleCall: { echo: (x, s) => reply(x, s) } });
      const { clusters } = await startMemoryCluster(["a", "b"]);
      const started = await GenServer.start(Echo);
      console.log("call:", await GenServer.call(started.pid, "echo", "hi"));
      try {
        await import("hubvisor/nats");
        console.log("nats: loaded");
      } catch (e) {
        console.log("nats:", e.code, String(e.message).includes("@nats-io/transport-node"));
      }
      await Promise.all(clusters.map((c) => c.leave()));
    `);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim().split("\n")).toEqual(["call: hi", "nats: ERR_MODULE_NOT_FOUND true"]);
  });

  it("keeps internals off the root entry and on hubvisor/internal", async () => {
    const internals = [
      "Codec",
      "HashRing",
      "parseClusterOptions",
      "parseNodeOptions",
      "takeHandoverState",
      "validateFrame",
    ];
    const r = await inScratchProject(`
      const root = await import("hubvisor");
      const internal = await import("hubvisor/internal");
      const names = ${JSON.stringify(internals)};
      console.log(JSON.stringify({
        root: names.filter((n) => n in root),
        internal: names.filter((n) => n in internal),
        rootInInternal: Object.keys(root).every((n) => n in internal),
      }));
    `);
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual({ root: [], internal: internals, rootInInternal: true });
  });
});

/**
 * Type-checks `source` as `main.ts` of a fresh strict consumer of the built package that checks
 * library declarations too (skipLibCheck off unless `options` says otherwise).
 */
async function compileConsumer(
  name: string,
  source: string,
  options: Record<string, unknown> = {},
): Promise<Run> {
  const consumer = join(scratch, name);
  mkdirSync(join(consumer, "node_modules/@types"), { recursive: true });
  symlinkSync(packageDir, join(consumer, "node_modules/hubvisor"), "dir");
  symlinkSync(join(repo, "node_modules/@types/node"), join(consumer, "node_modules/@types/node"), "dir");
  symlinkSync(join(repo, "node_modules/undici-types"), join(consumer, "node_modules/undici-types"), "dir");
  // hubvisor/nats declares its options with the client's types: a NATS user has the client.
  symlinkSync(join(repo, "node_modules/@nats-io"), join(consumer, "node_modules/@nats-io"), "dir");
  symlinkSync(join(repo, "node_modules/msgpackr"), join(consumer, "node_modules/msgpackr"), "dir");
  writeFileSync(join(consumer, "package.json"), JSON.stringify({ name: "consumer", type: "module" }));
  writeFileSync(
    join(consumer, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        module: "NodeNext",
        moduleResolution: "NodeNext",
        target: "ES2022",
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        // Resolve from node_modules/hubvisor as installed, so that its imports of the NATS
        // client find this project's (the scratch project above has none, on purpose).
        preserveSymlinks: true,
        types: ["node"],
        ...options,
      },
      files: ["main.ts"],
    }),
  );
  writeFileSync(join(consumer, "main.ts"), source);
  return run(process.execPath, [join(repo, "node_modules/typescript/bin/tsc"), "-p", "."], consumer);
}

describe("the published types", () => {
  it("type-check in a strict consumer that checks library declarations too (skipLibCheck off)", {
    timeout: BUILD_TIMEOUT_MS,
  }, async () => {
    const r = await compileConsumer(
      "types",
      `import { defineServer, GenServer, ok, reply, ProcessHub, withHandover } from "hubvisor";
import { NatsTransport, tokenAuthenticator } from "hubvisor/nats";
import { startMemoryCluster } from "hubvisor/testing";
import { Codec } from "hubvisor/internal";

const Counter = defineServer<{ calls: { add(n: number): number } }>()({
  init: (n: number) => ok(n),
  handleCall: { add: (k, n) => reply(n + k, n + k) },
});
export async function main(): Promise<number> {
  const { clusters } = await startMemoryCluster(["a"]);
  const hub = ProcessHub.start({ hubId: "h", cluster: clusters[0]!, behaviours: { Counter } });
  void withHandover;
  void hub;
  void new NatsTransport({ connection: { authenticator: tokenAuthenticator("t") } });
  void new Codec();
  const started = await GenServer.start(Counter, 1);
  if (!started.ok) return -1;
  const n: number = await GenServer.call(started.pid, "add", 2);
  return n;
}
`,
    );
    expect(r.stdout + r.stderr).toBe("");
    expect(r.code).toBe(0);
  });
});

describe("hubvisor/observe's published types", () => {
  it("compile without @opentelemetry/api installed (an optional peer dependency)", {
    timeout: BUILD_TIMEOUT_MS,
  }, async () => {
    // The consumer has no @opentelemetry/api (compileConsumer links only Node's types, msgpackr
    // and the NATS client), so any declaration that refers to it fails this compile.
    const r = await compileConsumer(
      "observe-without-otel",
      `import { Node } from "hubvisor";
import { Metrics, type OtelMeter, observe, subscribe, startObserverAgent } from "hubvisor/observe";

const recorded: number[] = [];
const meter: OtelMeter = {
  createHistogram: () => ({ record: (v: number) => void recorded.push(v) }),
  createObservableCounter: () => ({}),
  createObservableGauge: () => ({}),
  addBatchObservableCallback: () => {},
};
export async function main(node: Node): Promise<string> {
  const metrics = new Metrics({ node });
  await metrics.bindOpenTelemetry(meter);
  const stop = subscribe((e) => void e.type);
  stop();
  void startObserverAgent;
  void observe;
  return metrics.prometheus();
}
`,
    );
    expect(r.stdout + r.stderr).toBe("");
    expect(r.code).toBe(0);
  });

  it("import nothing from @opentelemetry in any declaration file (comments may name it)", () => {
    const refers = /(?:from\s*|import\(\s*|reference types=)["']@opentelemetry\//;
    const named = tarball.filter(
      (f) => f.endsWith(".d.ts") && refers.test(readFileSync(join(packageDir, f), "utf8")),
    );
    expect(named).toEqual([]);
    // The pattern does catch a reference where there is one (a check that checks something).
    expect(refers.test(`import type { Meter } from "@opentelemetry/api";`)).toBe(true);
  });
});

describe("options under exactOptionalPropertyTypes", () => {
  it("take an explicit undefined: test/types/exact-optional compiles against the published types", {
    timeout: BUILD_TIMEOUT_MS,
  }, async () => {
    const dir = join(repo, "test/types/exact-optional");
    const { compilerOptions } = JSON.parse(readFileSync(join(dir, "tsconfig.json"), "utf8"));
    expect(compilerOptions.exactOptionalPropertyTypes).toBe(true);
    const r = await compileConsumer(
      "exact-optional",
      readFileSync(join(dir, "program.ts"), "utf8"),
      compilerOptions,
    );
    expect(r.stdout + r.stderr).toBe("");
    expect(r.code).toBe(0);
  });
});

/** `ClassName.member` for every class or interface member whose leading comment says `@internal`. */
function internalMembers(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const tagged = (n: ts.Node) =>
    (ts.getLeadingCommentRanges(text, n.pos) ?? []).some((c) =>
      text.slice(c.pos, c.end).includes("@internal"),
    );
  const found: string[] = [];
  const visit = (n: ts.Node) => {
    if ((ts.isClassDeclaration(n) || ts.isInterfaceDeclaration(n)) && n.name !== undefined) {
      const owner = n.name.text;
      for (const m of n.members) {
        if (ts.isConstructorDeclaration(m)) {
          // Parameter properties (`constructor(/** @internal */ readonly x)`) are members too.
          for (const p of m.parameters)
            if (p.modifiers?.length && ts.isIdentifier(p.name) && tagged(p))
              found.push(`${owner}.${p.name.text}`);
        } else if (
          m.name !== undefined &&
          (ts.isIdentifier(m.name) || ts.isPrivateIdentifier(m.name)) &&
          tagged(m)
        )
          found.push(`${owner}.${m.name.text}`);
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(source);
  return found;
}

/** `ClassName.member` for every member a declaration file declares (constructor parameters are not members there). */
function declaredMembers(file: string): Set<string> {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
  const found = new Set<string>();
  const visit = (n: ts.Node) => {
    if ((ts.isClassDeclaration(n) || ts.isInterfaceDeclaration(n)) && n.name !== undefined)
      for (const m of n.members)
        if (m.name !== undefined && (ts.isIdentifier(m.name) || ts.isPrivateIdentifier(m.name)))
          found.add(`${n.name.text}.${m.name.text}`);
    ts.forEachChild(n, visit);
  };
  visit(source);
  return found;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const path = join(dir, d.name);
    if (d.isDirectory()) return sourceFiles(path);
    return d.name.endsWith(".ts") && !d.name.endsWith(".d.ts") ? [path] : [];
  });
}

describe("members tagged @internal", () => {
  it("are left out of the published declarations (the build strips them)", () => {
    const src = join(repo, "src");
    let tagged = 0;
    const published: string[] = [];
    for (const file of sourceFiles(src)) {
      const internal = internalMembers(file);
      if (internal.length === 0) continue;
      tagged += internal.length;
      const dts = join(packageDir, "dist", relative(src, file).replace(/\.ts$/, ".d.ts"));
      expect(existsSync(dts), dts).toBe(true);
      const declared = declaredMembers(dts);
      for (const m of internal) if (declared.has(m)) published.push(`${relative(repo, file)}: ${m}`);
    }
    // The sources do tag members (else this test would check nothing).
    expect(tagged).toBeGreaterThan(30);
    expect(published).toEqual([]);
  });

  it("cannot be reached by a program compiled against the published types", {
    timeout: BUILD_TIMEOUT_MS,
  }, async () => {
    // Each `@ts-expect-error` fails the compile if the line after it type-checks, that is, if
    // the member is visible. The strict consumer test above shows the rest still compiles.
    const r = await compileConsumer(
      "hidden",
      `import { Cluster, From, Node, ProcessContext, ProcessHub, Task } from "hubvisor";
import { MemoryNetwork } from "hubvisor/testing";

export function probe(node: Node, cluster: Cluster, hub: ProcessHub, from: From, task: Task<number>, ctx: ProcessContext, net: MemoryNetwork): unknown[] {
  return [
    // @ts-expect-error internal: the node's plumbing
    node.spawnHandler,
    // @ts-expect-error internal: installed by the cluster layer
    node.router,
    // @ts-expect-error internal: handles a frame from another node
    node.remoteSend,
    // @ts-expect-error internal: the cluster's outbound side
    cluster.send,
    // @ts-expect-error internal: the hub process's state
    hub.core,
    // @ts-expect-error internal: a local call's waiting record
    from.call,
    // @ts-expect-error internal: settles a task
    task.settle,
    // @ts-expect-error internal: the process record behind a context
    ctx.proc,
    // @ts-expect-error internal: the network's side of a transport
    net.attach,
    // Public members next to them stay.
    node.name,
    cluster.members,
    hub.getPid,
    from.pid,
    task.owner,
    ctx.self,
  ];
}
`,
    );
    expect(r.stdout + r.stderr).toBe("");
    expect(r.code).toBe(0);
  });
});
