/**
 * `natsServerConfig`: the least-privilege nats-server configuration it writes, what it refuses,
 * and nodes bound to nkeys by it on a real nats-server — a node connects with its own seed and
 * talks to the others; a seed the configuration does not know is refused by the server.
 */
// nkeys through the declared client package: `@nats-io/nkeys` itself is only a transitive dependency.
import { nkeys } from "@nats-io/transport-node";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { InvalidOptionError } from "../../../src/errors.js";
import {
  NatsConnectError,
  NatsInvalidNameError,
  type NatsTransport,
  natsServerConfig,
  nkeyAuthenticator,
} from "../../../src/transports/nats/index.js";
import { startNatsServer, stopAllNatsServers } from "../../support/nats-server.js";
import { ident, Recorder, testTransport, text } from "./recorder.js";

const open: NatsTransport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});
afterAll(stopAllNatsServers);

describe("natsServerConfig", () => {
  it("writes one account, a user per node limited to its own subjects, and others denied the cluster", () => {
    const conf = JSON.parse(
      natsServerConfig({
        cluster: "prod",
        nodes: [
          { node: "a", password: "pa" },
          { node: "b", nkey: "UBXXX" },
        ],
        others: [{ user: "app", password: "px" }],
      }),
    );
    const users = conf.accounts.HUBVISOR.users;
    expect(users).toHaveLength(3);
    expect(users[0]).toMatchObject({ user: "a", password: "pa" });
    expect(users[0].permissions.publish.allow).toEqual([
      "hv.prod.node.*.a",
      "hv.prod.all.a",
      "hv.prod.hb.a",
      "hv.prod.probe.*",
    ]);
    expect(users[0].permissions.subscribe.allow).toContain("hv.prod.node.a.*");
    expect(users[0].permissions.allow_responses).toBe(true);
    expect(users[1]).toMatchObject({ nkey: "UBXXX" });
    expect(users[1].permissions.publish.allow).toContain("hv.prod.node.*.b");
    expect(users[2]).toMatchObject({
      user: "app",
      permissions: { publish: { deny: ["hv.prod.>"] }, subscribe: { deny: ["hv.prod.>"] } },
    });
  });

  it("refuses a node without a credential, no nodes, and names that are not subject tokens", () => {
    expect(() => natsServerConfig({ cluster: "c", nodes: [{ node: "a" }] })).toThrow(InvalidOptionError);
    expect(() => natsServerConfig({ cluster: "c", nodes: [] })).toThrow(InvalidOptionError);
    expect(() => natsServerConfig({ cluster: "c", nodes: [{ node: "a.b", password: "p" }] })).toThrow(
      NatsInvalidNameError,
    );
    expect(() => natsServerConfig({ cluster: "c*", nodes: [{ node: "a", password: "p" }] })).toThrow(
      NatsInvalidNameError,
    );
  });

  it("binds each node to its nkey: nodes with their seeds talk, an unknown seed is refused", async () => {
    const keys = { a: nkeys.createUser(), b: nkeys.createUser() };
    const config = natsServerConfig({
      cluster: "keyed",
      nodes: (["a", "b"] as const).map((n) => ({ node: n, nkey: keys[n].getPublicKey() })),
    });
    const server = await startNatsServer("nkeys", { config });
    const join = async (node: "a" | "b" | "z", seed: Uint8Array) => {
      const t = testTransport(server.url, {
        connectTimeoutMs: 0,
        auth: { secret: "keyed cluster secret 123", joinCheckMs: 0 },
        connection: { authenticator: nkeyAuthenticator(seed) },
      });
      open.push(t);
      const rec = new Recorder();
      await t.connect(ident(node, 1, "keyed"), rec);
      return { t, rec };
    };
    const a = await join("a", keys.a.getSeed());
    const b = await join("b", keys.b.getSeed());
    await expect.poll(() => a.rec.isUp("b") && b.rec.isUp("a"), { timeout: 5000 }).toBe(true);
    a.t.send("b", text("signed in"));
    await expect.poll(() => b.rec.textsFrom("a"), { timeout: 5000 }).toEqual(["signed in"]);
    const err = await join("z", nkeys.createUser().getSeed()).catch((e) => e);
    expect(err).toBeInstanceOf(NatsConnectError);
    expect(String((err as Error).message)).toMatch(/Authorization Violation/i);
  });
});
