/**
 * Reports as a user sees them: the default logger writes every level to stderr (stdout is the
 * program's) on one line per report, leaving out fields that have no value (no `name=undefined`);
 * `crashReport` builds crash-report fields that do not collide with pino's own `pid`, carry the
 * last message and the state, and stay small whatever the state holds.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  consoleLogger,
  crashReport,
  defineServer,
  GenServer,
  Node,
  ok,
  REPORT_TERM_MAX_CHARS,
} from "../../src/index.js";
import { Pid } from "../../src/process/pid.js";

/** Captures what is written to stdout and stderr until `restore`. */
function captureOutput(): { stdout: string[]; stderr: string[]; restore: () => void } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const out = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(String(chunk));
    return true;
  });
  const err = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    stderr.push(String(chunk));
    return true;
  });
  return {
    stdout,
    stderr,
    restore: () => {
      out.mockRestore();
      err.mockRestore();
    },
  };
}

let restore: (() => void) | undefined;
afterEach(() => {
  restore?.();
  restore = undefined;
  vi.unstubAllEnvs();
});

describe("consoleLogger", () => {
  it("writes every level to stderr and nothing to stdout", () => {
    vi.stubEnv("HUBVISOR_DEBUG", "1");
    const out = captureOutput();
    restore = out.restore;
    consoleLogger.error({ a: 1 }, "an error");
    consoleLogger.warn({ a: 2 }, "a warning");
    consoleLogger.info({ a: 3 }, "some news");
    consoleLogger.debug({ a: 4 }, "a detail");
    out.restore();
    expect(out.stdout).toEqual([]);
    expect(out.stderr).toEqual([
      "[hubvisor] error an error a=1\n",
      "[hubvisor] warn a warning a=2\n",
      "[hubvisor] info some news a=3\n",
      "[hubvisor] debug a detail a=4\n",
    ]);
  });

  it("leaves out fields without a value, quotes strings with spaces, prints objects as data", () => {
    const out = captureOutput();
    restore = out.restore;
    consoleLogger.error(
      { process: "<a.1.2>", name: undefined, reason: "went wrong", data: { n: 1 } },
      "crashed",
    );
    out.restore();
    expect(out.stderr).toEqual([
      '[hubvisor] error crashed process=<a.1.2> reason="went wrong" data={ n: 1 }\n',
    ]);
  });

  it("a GenServer crash under the default logger is one stderr report without undefined fields", async () => {
    const node = new Node({ name: "logs" });
    const Boom = defineServer<{ calls: { boom(): never } }>()({
      init: () => ok(0),
      handleCall: {
        boom: () => {
          throw new Error("kaboom");
        },
      },
    });
    const started = await GenServer.start(Boom, undefined, { node });
    if (!started.ok) throw new Error("did not start");
    const out = captureOutput();
    restore = out.restore;
    await GenServer.callOn(node, started.pid, "boom", undefined).catch(() => {});
    await expect.poll(() => out.stderr.join("")).toContain("kaboom");
    out.restore();
    expect(out.stdout).toEqual([]);
    const report = out.stderr.join("");
    expect(report).toMatch(/^\[hubvisor\] error .*terminating .*Error: kaboom/);
    expect(report).not.toContain("undefined");
    // OTP's crash report: the last message in and the state, under field names pino does not use.
    expect(report).toContain(`lastMessage="{ call: 'boom' }"`);
    expect(report).toContain("state=0");
    expect(report).toContain("process=<logs.");
    expect(report).not.toMatch(/ pid=/);
  });
});

describe("crashReport", () => {
  const pid = new Pid("a", 7, 1);

  it("names the crashed process `process`, never `pid` (pino's own field), and omits what it lacks", () => {
    expect(crashReport({ process: pid, reason: "boom" })).toEqual({ process: String(pid), reason: "boom" });
    const withAll = crashReport({
      process: pid,
      name: "cache",
      reason: { badarg: 1 },
      lastMessage: ["$gen_cast", "put", 1],
      state: { n: 2 },
    });
    expect(Object.keys(withAll)).toEqual(["process", "name", "reason", "lastMessage", "state"]);
    expect(withAll).not.toHaveProperty("pid");
    expect(withAll).toMatchObject({
      reason: "{ badarg: 1 }",
      lastMessage: "[ '$gen_cast', 'put', 1 ]",
      state: "{ n: 2 }",
    });
  });

  it("keeps an Error reason's name, message and stack", () => {
    const e = new TypeError("nope");
    const r = crashReport({ process: pid, reason: e });
    expect(r.reason).toBe("TypeError: nope");
    expect(r.stack).toBe(e.stack);
  });

  it("bounds the last message and the state, however large", () => {
    const state = { rows: Array.from({ length: 100_000 }, (_, i) => ({ i, text: "x".repeat(100) })) };
    const started = performance.now();
    const r = crashReport({ process: pid, reason: "boom", lastMessage: "y".repeat(1_000_000), state });
    expect(performance.now() - started).toBeLessThan(1000);
    expect((r.state as string).length).toBeLessThanOrEqual(REPORT_TERM_MAX_CHARS);
    expect((r.lastMessage as string).length).toBeLessThanOrEqual(REPORT_TERM_MAX_CHARS);
    expect(r.lastMessage as string).toMatch(/…$/);
    expect(r.state as string).toMatch(/^\{ rows: \[ \{ i: 0, text: 'x+' \}, .*…$/);
  });
});
