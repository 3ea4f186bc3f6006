import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const src = (file: string) => fileURLToPath(new URL(`./src/${file}`, import.meta.url));

export default defineConfig({
  // The examples and guides import the package by its name, as a user does; tests that load
  // them in-process resolve those names to the sources (tsx uses tsconfig.json's `paths` instead).
  resolve: {
    alias: [
      { find: /^hubvisor$/, replacement: src("index.ts") },
      { find: /^hubvisor\/(nats|testing|internal|observe)$/, replacement: src("$1.ts") },
    ],
  },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
  },
});
