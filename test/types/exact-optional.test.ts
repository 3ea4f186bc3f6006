/**
 * Options take an explicit `undefined` (`foo?: T | undefined`), and it means "the default" when
 * the program runs. The type side — every optional property of every option type, compiled with
 * `exactOptionalPropertyTypes: true` against the published declarations — is checked by
 * `test/packaging/package.test.ts` on `exact-optional/program.ts`; this runs that program.
 */
import { describe, expect, it } from "vitest";
import { program } from "./exact-optional/program.js";
import { silentLogger } from "../../src/index.js";

describe("options given as undefined", () => {
  it("start everything with its defaults", async () => {
    const done = await program({
      nodeName: undefined,
      logger: silentLogger,
      timeoutMs: undefined,
      serverName: undefined,
      maxRestarts: undefined,
      natsUrl: undefined,
    });
    expect(done).toEqual([
      "call: hi",
      "supervisor",
      "dynamic supervisor",
      "registry",
      "hub start: ok",
      "hub stop: ok",
    ]);
  });
});
