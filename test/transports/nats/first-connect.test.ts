/**
 * The first connection to NATS: a node started before its server waits for it (up to
 * `connectTimeoutMs`) instead of failing at once; what waiting cannot cure (an authorization
 * violation) fails at once; every `NatsConnectError` names its cause; a transport closed while
 * waiting stops waiting. Also: the authenticators of the NATS client come from `hubvisor/nats`.
 * Each test starts its own nats-server on free loopback ports.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { Logger } from "../../../src/logger.js";
import {
  credsAuthenticator,
  jwtAuthenticator,
  NatsConnectError,
  type NatsTransport,
  NatsTransportClosedError,
  nkeyAuthenticator,
  tokenAuthenticator,
  usernamePasswordAuthenticator,
} from "../../../src/nats.js";
import { freePort, NatsServer, startNatsServer, stopAllNatsServers } from "../../support/nats-server.js";
import { ident, Recorder, testTransport, text } from "./recorder.js";

const open: NatsTransport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});
afterAll(stopAllNatsServers);

/** A logger that keeps the warnings it is given. */
function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, error() {}, info() {}, debug() {}, warn: (_obj, msg) => void warnings.push(msg) };
}

function transport(servers: string, extra: Parameters<typeof testTransport>[1] = {}): NatsTransport {
  const t = testTransport(servers, extra);
  open.push(t);
  return t;
}

describe("the first connection to NATS", () => {
  it("waits for a server that starts after connect() was called, then meshes", async () => {
    const late = new NatsServer("late", await freePort(), await freePort());
    const logger = recordingLogger();
    const a = transport(late.url, { connectTimeoutMs: 20_000, logger });
    const recA = new Recorder();
    const connecting = a.connect(ident("a", 1, "late"), recA);
    // The first attempt has failed (nothing listens yet) and the transport said it is waiting.
    await expect
      .poll(() => logger.warnings, { timeout: 5000 })
      .toEqual(["NATS not reachable yet: retrying the first connection"]);
    await late.start();
    await connecting;
    const b = transport(late.url);
    const recB = new Recorder();
    await b.connect(ident("b", 1, "late"), recB);
    await expect.poll(() => recA.isUp("b") && recB.isUp("a"), { timeout: 5000 }).toBe(true);
    b.send("a", text("hello"));
    await expect.poll(() => recA.textsFrom("b"), { timeout: 5000 }).toEqual(["hello"]);
  });

  it("gives up after connectTimeoutMs with a NatsConnectError naming the cause and the attempts", async () => {
    const port = await freePort();
    const t = transport(`127.0.0.1:${port}`, { connectTimeoutMs: 600 });
    const started = performance.now();
    const err = await t.connect(ident("a"), new Recorder()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NatsConnectError);
    const e = err as NatsConnectError;
    expect(e.message).toMatch(
      new RegExp(`^could not connect to NATS at 127\\.0\\.0\\.1:${port}: connection refused`),
    );
    expect(e.attempts).toBeGreaterThan(1);
    expect(e.message).toContain(`(${e.attempts} attempts in`);
    // It waited (the bound is the timeout, less one pause it would not have finished in).
    expect(performance.now() - started).toBeGreaterThanOrEqual(600 - 250);
  });

  it("fails at once on an authorization violation, and says so", async () => {
    const secured = await startNatsServer("auth", { authToken: "s3cret" });
    const t = transport(secured.url, { connectTimeoutMs: 20_000, connection: { token: "wrong" } });
    const err = await t.connect(ident("a"), new Recorder()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NatsConnectError);
    expect((err as NatsConnectError).message).toMatch(/Authorization Violation/);
    expect((err as NatsConnectError).attempts).toBe(1);
  });

  it("stops waiting when the transport is closed meanwhile", async () => {
    const logger = recordingLogger();
    const t = transport(`127.0.0.1:${await freePort()}`, { connectTimeoutMs: 60_000, logger });
    const connecting = t.connect(ident("a"), new Recorder());
    await expect.poll(() => logger.warnings.length, { timeout: 5000 }).toBe(1);
    await t.close();
    await expect(connecting).rejects.toBeInstanceOf(NatsTransportClosedError);
  });

  it("authenticates with an authenticator imported from hubvisor/nats", async () => {
    const others = [credsAuthenticator, jwtAuthenticator, nkeyAuthenticator, usernamePasswordAuthenticator];
    expect(others.map((f) => typeof f)).toEqual(["function", "function", "function", "function"]);
    const secured = await startNatsServer("token", { authToken: "s3cret" });
    const c = { connection: { authenticator: tokenAuthenticator("s3cret") } };
    const a = transport(secured.url, c);
    const b = transport(secured.url, c);
    const [recA, recB] = [new Recorder(), new Recorder()];
    await a.connect(ident("a", 1, "tok"), recA);
    await b.connect(ident("b", 1, "tok"), recB);
    await expect.poll(() => recA.isUp("b") && recB.isUp("a"), { timeout: 5000 }).toBe(true);
  });
});
