import { describe, expect, it } from "vitest";
import { Pid } from "../../../src/process/index.js";
import {
  ChildSpecError,
  InvalidRestartTypeError,
  MissingStartError,
} from "../../../src/supervision/errors.js";
import {
  InvalidChildIdError,
  InvalidParentChildSpecError,
  parseParentChildSpec,
  RestartIntensity,
} from "../../../src/supervision/parent/index.js";

const start = () => ({ ok: false as const, ignore: true as const });

describe("parseParentChildSpec", () => {
  it("fills in the Parent defaults", () => {
    expect(parseParentChildSpec({ start })).toEqual({
      id: undefined,
      start,
      restart: "permanent",
      shutdown: 5000,
      type: "worker",
      modules: [],
      meta: undefined,
      bindsTo: [],
      shutdownGroup: undefined,
      ephemeral: false,
      maxRestarts: Number.POSITIVE_INFINITY,
      maxSeconds: 5,
      timeoutMs: Number.POSITIVE_INFINITY,
      timeout: Number.POSITIVE_INFINITY,
    });
    expect(parseParentChildSpec({ start, type: "supervisor" }).shutdown).toBe("infinity");
  });

  it("checks the shared fields as the Supervisor does", () => {
    expect(() => parseParentChildSpec({ id: "x" })).toThrow(MissingStartError);
    expect(() => parseParentChildSpec({ start, restart: "sometimes" })).toThrow(InvalidRestartTypeError);
  });

  it("rejects a pid as id and bad Parent fields, all as ChildSpecErrors", () => {
    expect(() => parseParentChildSpec({ id: new Pid("n", 1, 1), start })).toThrow(InvalidChildIdError);
    for (const bad of [
      { bindsTo: "a" },
      { ephemeral: 1 },
      { maxRestarts: -1 },
      { maxSeconds: 0 },
      { timeoutMs: 0 },
      { timeout: 0 },
    ]) {
      let err: unknown;
      try {
        parseParentChildSpec({ start, ...bad });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InvalidParentChildSpecError);
      expect(err).toBeInstanceOf(ChildSpecError);
    }
  });
});

describe("RestartIntensity", () => {
  it("tolerates maxRestarts in the window and refuses one more", () => {
    const r = new RestartIntensity(2, 1);
    expect(r.record(0)).toBe(true);
    expect(r.record(10)).toBe(true);
    expect(r.record(20)).toBe(false);
  });

  it("drops a record exactly maxSeconds old", () => {
    const r = new RestartIntensity(1, 1);
    expect(r.record(0)).toBe(true);
    expect(r.record(999)).toBe(false);
    const s = new RestartIntensity(1, 1);
    expect(s.record(0)).toBe(true);
    expect(s.record(1000)).toBe(true);
  });

  it("keeps bounded bookkeeping whatever the history", () => {
    const r = new RestartIntensity(3, 1);
    for (let t = 0; t < 100_000; t += 400) r.record(t);
    expect(r.size).toBeLessThanOrEqual(4);
    const inf = new RestartIntensity(Number.POSITIVE_INFINITY, 1);
    for (let t = 0; t < 1000; t++) expect(inf.record(t)).toBe(true);
    expect(inf.size).toBe(0);
  });
});
