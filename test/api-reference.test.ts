import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { generate } from "../scripts/api-reference.js";

describe("docs/api.md", () => {
  it("lists every public export with a summary and is up to date (npm run docs)", {
    timeout: 120_000,
  }, () => {
    const text = generate();
    expect(text).not.toMatch(/\| {2}\|$/m);
    expect(readFileSync(new URL("../docs/api.md", import.meta.url), "utf8")).toBe(text);
  });
});
