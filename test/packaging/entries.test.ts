/**
 * The entries account for every layer's exports. The root entry lists the public names of the
 * layers that have internals one by one, so a name a layer adds to its `index.ts` is exported by
 * no entry until someone decides where it goes: public (`src/index.ts`) or internal
 * (`src/internal.ts`). This test names such exports, so the decision is not forgotten.
 */
import { readdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const ENTRY_FILES = ["src/index.ts", "src/nats.ts", "src/testing.ts", "src/internal.ts", "src/observe.ts"];

function layerIndexes(dir: string): string[] {
  return readdirSync(join(repo, dir), { withFileTypes: true }).flatMap((d) => {
    const rel = join(dir, d.name);
    if (d.isDirectory()) return layerIndexes(rel);
    return d.name === "index.ts" || d.name.endsWith("-index.ts") ? [rel] : [];
  });
}

describe("entries", () => {
  it("the root exports the client API of every node: …On forms, isAliveOn, Agent", async () => {
    const root = await import("../../src/index.js");
    expect(typeof root.isAliveOn).toBe("function");
    expect(Object.keys(root.GenServer).sort()).toEqual(
      [
        "call",
        "callOn",
        "cast",
        "castOn",
        "reply",
        "start",
        "startLink",
        "stop",
        "stopOn",
        "whereis",
        "whereisOn",
      ].sort(),
    );
    expect(Object.keys(root.Agent).sort()).toEqual(
      [
        "cast",
        "castOn",
        "childSpec",
        "get",
        "getAndUpdate",
        "getAndUpdateOn",
        "getOn",
        "start",
        "startLink",
        "stop",
        "stopOn",
        "update",
        "updateOn",
      ].sort(),
    );
    expect(typeof root.Node.prototype.lookup).toBe("function");
    expect(typeof root.ProcessContext.prototype.onExit).toBe("function");
  });

  it("every export of a layer's index is exported by a public entry or by hubvisor/internal", {
    timeout: 120_000,
  }, () => {
    const layers = layerIndexes("src").filter((f) => !ENTRY_FILES.includes(f));
    expect(layers.length).toBeGreaterThan(8);
    const program = ts.createProgram(
      [...ENTRY_FILES, ...layers].map((f) => join(repo, f)),
      { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, strict: true },
    );
    const checker = program.getTypeChecker();
    const exportsOf = (file: string) => {
      const mod = checker.getSymbolAtLocation(program.getSourceFile(join(repo, file))!);
      return mod === undefined ? [] : checker.getExportsOfModule(mod);
    };
    const target = (s: ts.Symbol) => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);
    // Compared by declaration, so that an export renamed by an entry still counts.
    const exported = new Set(
      ENTRY_FILES.flatMap((f) => exportsOf(f).map((s) => target(s).declarations?.[0])),
    );
    const unaccounted = layers.flatMap((file) =>
      exportsOf(file)
        .filter((s) => !exported.has(target(s).declarations?.[0]))
        .map(
          (s) =>
            `${relative(repo, join(repo, file))}: ${s.getName()} (add it to src/index.ts or src/internal.ts)`,
        ),
    );
    expect(unaccounted).toEqual([]);
  });
});
