/**
 * Authenticated NATS traffic: every message a node publishes (frames, broadcasts, heartbeats,
 * leaves, probe answers) is sealed with the cluster secret, and every message it receives is
 * opened — checked, and decrypted when encryption is on — before anything looks at it.
 *
 * Why an HMAC of a shared secret and not per-node nkey signatures: measured on this project's
 * 2-vCPU VM (`npx tsx bench/wire-auth.ts`, CPU time, loaded machine), an HMAC-SHA256 seal plus
 * open of a 200-byte frame costs about 3 µs (as computed here, see `MacKey` and `seal`), an
 * Ed25519 sign plus verify with `node:crypto` 120-166 µs and with the nkeys library (pure
 * JavaScript) 23-30 ms, against a cross-node call round trip of ~120 µs of CPU that carries two
 * frames. Signatures would triple the cost of a call; authentication as built adds about 12 % of
 * its CPU and 8 % of its wall time, nearly all of it the hashes (`BENCHMARKS.md`, "wire-auth on a
 * quiet machine"). Who may speak for which node
 * is bound by NATS itself: with the generated least-privilege configuration (`nats-config.ts`)
 * each node's NATS user can only publish subjects that carry its own name as the sender token,
 * and the MAC covers that token, so a frame cannot be re-addressed or re-attributed either.
 *
 * A sealed message is `header ‖ payload ‖ tag` (see `HEADER_BYTES`; the header's first byte is
 * the wire version, `WIRE_VERSION`); the tag (16 bytes of
 * HMAC-SHA256, or the AES-256-GCM tag) covers the cluster, the kind, the sender and receiver
 * names (the subject tokens, implicit: they cost no bytes) and the whole header. The header
 * carries a key id (which of the node's secrets opens it, during a rotation — see `setSecrets`;
 * a wrong secret is told apart from a forgery), the sender's incarnation and transport session, a
 * sequence number (in a stream per sealer: `STREAM`), the sender's clock, and for a direct frame
 * the receiver's incarnation. Replays are refused three ways: a direct frame names the receiver's
 * incarnation (a frame captured in an earlier life of the receiver does not open); every message
 * carries a time stamp that must be within `maxClockSkewMs` of this node's clock; and each
 * sender's sequence numbers pass a sliding window (64 wide, per incarnation, session and stream), which
 * only a message stamped after this node started listening may open (`accept`).
 *
 * Imports `node:crypto`, the `NodeIdentity` type.
 */
import * as nodeCrypto from "node:crypto";
import type { NodeIdentity } from "../../cluster/transport.js";

const { createCipheriv, createDecipheriv, createHmac, randomFillSync } = nodeCrypto;
/** `crypto.hash` (Node 20.12+): a one-shot digest with no object to create. */
const oneShotHash = (nodeCrypto as { hash?: (alg: string, data: Uint8Array, enc: "binary") => string }).hash;

/** What a sealed message is; part of what the tag covers, so one kind never passes for another. */
export const SealKind = {
  /** A cluster frame to one node. */
  Direct: 1,
  /** A cluster frame to every node. */
  Broadcast: 2,
  /** A heartbeat. */
  Heartbeat: 3,
  /** A graceful leave. */
  Leave: 4,
  /** The answer to a probe, bound to the probe's nonce. */
  Pong: 5,
} as const;
export type SealKind = (typeof SealKind)[keyof typeof SealKind];

/**
 * Why a message did not open. `version`: a sealed message of another wire version (a node of an
 * older or newer hubvisor), told apart from `malformed` so that `connect()` can name it.
 */
export type AuthRejectKind = "malformed" | "version" | "key" | "mac" | "replay" | "stale" | "misaddressed";

/** A message that opened: its payload and who sent it (incarnation and session, from the header). */
export interface Opened {
  payload: Uint8Array;
  incarnation: number;
  session: number;
}

/** Resolved authentication settings (see `NatsAuthOptions`). */
export interface ResolvedAuth {
  /** Seals (and opens). */
  secret: Uint8Array;
  /** Also open, never seal: the secrets of a rotation under way (see `docs/security.md`). */
  acceptSecrets: Uint8Array[];
  encrypt: boolean;
  maxClockSkewMs: number;
  joinCheckMs: number;
}

/**
 * The first byte of every sealed message. 2 since the sequence number carries a stream (`STREAM`):
 * a version-1 node keeps one window per incarnation and session, so it would refuse the heartbeat
 * thread's stream as replays or old, and open the event loop's only by chance. Nodes of different
 * versions do not open each other's messages (`version`), and `connect()` says so
 * (`NatsWireVersionError`). Exported for the heartbeat thread, which seals in its own source.
 */
const VERSION = 2;
export const WIRE_VERSION = VERSION;
/** Version bytes below this one are taken for another version of a sealed message: an unsealed message starts with `{` (a control message) or a MessagePack array. */
const VERSIONS_BELOW = 0x20;
const ENCRYPTED = 0x80;
/** version, kind, key id, incarnation, session, sequence, time, receiver incarnation. */
export const HEADER_BYTES = 1 + 1 + 4 + 8 + 4 + 8 + 8 + 8;
const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
const WINDOW = 64;
/**
 * Windows kept per sender name: its current and a few earlier incarnations or sessions, each with
 * a stream of the event loop and one of the heartbeat thread.
 */
const WINDOWS_PER_SENDER = 8;

const enc = new TextEncoder();

/**
 * What this node remembers of one sender: a window per recent incarnation and session, and the
 * earliest time stamp that may open a new window (see `WireAuth.accept`).
 */
interface SenderRecord {
  windows: ReplayWindow[];
  floor: number;
}

/**
 * Sliding window of one sender's stream of sequence numbers (an incarnation, a session, and the
 * sealer: the event loop or the heartbeat thread): highest sequence seen, and the 63 before.
 */
class ReplayWindow {
  max = -1;
  /** The latest time stamp accepted in this window (the sender's clock, whole milliseconds). */
  last = Number.NEGATIVE_INFINITY;
  /** Bit i set: `max - i` was seen. Two 32-bit halves (bitwise operators work on 32 bits). */
  private lo = 0;
  private hi = 0;
  constructor(
    readonly incarnation: number,
    readonly session: number,
    readonly stream: number,
  ) {}

  /** Records `seq`; false when it was seen already or is older than the window. */
  accept(seq: number): boolean {
    if (seq > this.max) {
      this.shift(this.max < 0 ? WINDOW : seq - this.max);
      this.max = seq;
      this.lo |= 1;
      return true;
    }
    const back = this.max - seq;
    if (back >= WINDOW) return false;
    const bit = back < 32 ? 1 << back : 1 << (back - 32);
    const word = back < 32 ? this.lo : this.hi;
    if ((word & bit) !== 0) return false;
    if (back < 32) this.lo |= bit;
    else this.hi |= bit;
    return true;
  }

  private shift(n: number): void {
    if (n >= WINDOW) {
      this.lo = 0;
      this.hi = 0;
    } else if (n >= 32) {
      this.hi = n === 32 ? this.lo : this.lo << (n - 32);
      this.lo = 0;
    } else if (n > 0) {
      this.hi = (this.hi << n) | (this.lo >>> (32 - n));
      this.lo = this.lo << n;
    }
  }
}

function derive(secret: Uint8Array, label: string): Buffer {
  return createHmac("sha256", secret).update(label).digest();
}

/** SHA-256's block: the HMAC key is padded to it. */
const BLOCK = 64;
/** Longest message MAC'd through the reused buffer; a longer one (rare: a big frame) goes through an `Hmac`. */
const MAX_SCRATCH = 64 * 1024;
/** Exact-length views of the reused buffer are kept for messages up to this long. */
const MAX_CACHED_VIEW = 2048;

/**
 * HMAC-SHA256 under one key, computed as its definition says — SHA-256 of the outer padded key
 * and SHA-256 of the inner padded key and the message — with two one-shot `crypto.hash` calls over
 * buffers laid out once: the padded keys sit at the start of reused buffers, the message is copied
 * in after them (or laid out after `ipad` where it is built: `WireAuth.seal`), and the digests come
 * back as 32-character latin1 strings. An `Hmac` object per message (with its `digest()` Buffer
 * made in C++) cost 3-4 times as much, and was most of what authentication added to a call round
 * trip (`BENCHMARKS.md`, wire-auth). Same tags as `createHmac`.
 * @internal exported for its test.
 */
export class MacKey {
  /** The inner padded key: what the hashed input starts with. */
  readonly ipad = new Uint8Array(BLOCK);
  /** The inner padded key, then room for the message. */
  private inner!: Buffer;
  /** `inner` for reading a copied header's fields (see `fields`). */
  private innerFields!: DataView;
  /** Views of `inner` from 0 by length, made once: `crypto.hash` takes the exact bytes to hash. */
  private views: (Uint8Array | undefined)[] = [];
  /** The outer padded key, then the inner digest. */
  private readonly outer = new Uint8Array(BLOCK + 32);

  constructor(readonly key: Buffer) {
    // key.length (32) < BLOCK: the key is padded with zeros, XORed with 0x36 / 0x5c.
    for (let i = 0; i < BLOCK; i++) {
      const k = i < key.length ? key[i]! : 0;
      this.ipad[i] = k ^ 0x36;
      this.outer[i] = k ^ 0x5c;
    }
    this.grow(BLOCK + 512);
  }

  /**
   * The buffer to write a message of `n` bytes into, from offset `BLOCK` (with `TAG_BYTES` to spare
   * after it: a sealed message is copied whole, tag included); undefined when it is too long for
   * the reused buffer (or `crypto.hash` is missing): then use `createHmac(key)`.
   */
  input(n: number): Buffer | undefined {
    if (oneShotHash === undefined || n > MAX_SCRATCH) return undefined;
    if (BLOCK + n + TAG_BYTES > this.inner.length) {
      this.grow(Math.min(BLOCK + MAX_SCRATCH + TAG_BYTES, 2 * (BLOCK + n + TAG_BYTES)));
    }
    return this.inner;
  }

  /** `input`, read big-endian: the fields of a header copied into it. Valid until `input` grows it. */
  get fields(): DataView {
    return this.innerFields;
  }

  /** The HMAC of the `n` bytes written after `BLOCK` in `input(n)`, as 32 latin1 characters. */
  digest(n: number): string {
    const m = BLOCK + n;
    let view = m <= MAX_CACHED_VIEW ? this.views[m] : undefined;
    if (view === undefined) {
      view = new Uint8Array(this.inner.buffer, this.inner.byteOffset, m);
      if (m <= MAX_CACHED_VIEW) this.views[m] = view;
    }
    // "binary" is latin1: one character per byte.
    return this.finish(oneShotHash!("sha256", view, "binary"));
  }

  /**
   * The HMAC of a message, given the inner digest (SHA-256 of `ipad` and the message, as 32 latin1
   * characters): SHA-256 of the outer padded key and that digest.
   */
  finish(innerDigest: string): string {
    const outer = this.outer;
    for (let i = 0; i < 32; i++) outer[BLOCK + i] = innerDigest.charCodeAt(i);
    return oneShotHash!("sha256", outer, "binary");
  }

  private grow(bytes: number): void {
    const grown = Buffer.alloc(bytes);
    grown.set(this.ipad, 0);
    this.inner = grown;
    this.innerFields = new DataView(grown.buffer, grown.byteOffset, grown.length);
    this.views = [];
  }
}

/** Whether the first `TAG_BYTES` characters of `tag` are `bytes[at…]`, in time independent of where they differ. */
function tagEquals(tag: string, bytes: Uint8Array, at: number): boolean {
  let diff = 0;
  for (let i = 0; i < TAG_BYTES; i++) diff |= tag.charCodeAt(i) ^ bytes[at + i]!;
  return diff === 0;
}

/** Big-endian uint32 at `at` of a plain Uint8Array (no Buffer view to make). */
function u32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

/** The key id of a secret in a cluster, as sealed messages carry it (hex, for logs and errors). */
export function keyIdOf(secret: Uint8Array, cluster: string, encrypt: boolean): number {
  return derive(secret, `hubvisor kid v1 ${cluster} ${encrypt ? "aead" : "mac"}`).readUInt32BE(0);
}

/** Context prefixes (`kind ‖ cluster ‖ from ‖ to`) of one kind, by the other node's name. */
type Contexts = Map<string, Buffer>;

/** The keys of one secret in one cluster. */
interface KeySet {
  keyId: number;
  mac: MacKey;
  /** With `encrypt`. */
  enc: Buffer | undefined;
  /**
   * What a message this node seals under these keys starts with, by kind, then by receiver (`""`:
   * none): the inner padded key and the context, laid out once (see `WireAuth.seal`).
   */
  prefixes: Map<string, Uint8Array>[];
}

function keySet(secret: Uint8Array, cluster: string, encrypt: boolean): KeySet {
  return {
    keyId: keyIdOf(secret, cluster, encrypt),
    mac: new MacKey(derive(secret, `hubvisor mac v1 ${cluster}`)),
    enc: encrypt ? derive(secret, `hubvisor aead v1 ${cluster}`) : undefined,
    prefixes: Array.from({ length: SealKind.Pong + 1 }, () => new Map()),
  };
}

/**
 * Sealed messages are laid out in slabs of this size, one after the other, each a view handed to
 * the NATS client as is (as `Buffer.allocUnsafe` does with its pool, without a Buffer per message);
 * a slab goes to the garbage collector with its last message.
 */
const SLAB_BYTES = 32 * 1024;

/**
 * Sequence numbers are split in streams, one per sealer of a node's messages, each with its own
 * replay window at the receivers: `stream × STREAM + n`. Stream 0 is the event loop's, stream 1
 * the heartbeat thread's (`heartbeat-thread.ts`), which beats on its own while the loop is busy.
 * 2^48 messages per stream: 9 years at a million a second.
 */
export const STREAM = 2 ** 48;

/**
 * What the heartbeat thread needs to seal this node's heartbeats itself (`WireAuth.forThread`):
 * the header fields that do not change between beats, the MAC key and the context the tag covers.
 */
export interface ThreadSealing {
  keyId: number;
  incarnation: number;
  session: number;
  macKey: Uint8Array;
  context: Uint8Array;
}

/**
 * Seals and opens one node's messages. Not shared between nodes: it holds the node's sequence
 * counter and the replay windows of the senders it heard.
 */
export class WireAuth {
  /** The key id this node seals under (its newest secret's). */
  get keyId(): number {
    return this.sealing.keyId;
  }
  /** This node's transport session, stamped in every header (the transport updates it). */
  session = 0;
  /** The newest secret's keys: every message out is sealed with them. */
  private sealing!: KeySet;
  /** Every secret's keys, by key id: messages sealed under any of them open. */
  private keys = new Map<number, KeySet>();
  private readonly encrypt: boolean;
  private seq = 0;
  private readonly senders = new Map<string, SenderRecord>();
  /**
   * The floor of a sender heard for the first time: when this node started listening (see
   * `listening`), raised to the last message of every sender forgotten since.
   */
  private floor = Date.now();
  /** Contexts this node seals under (from itself), by kind, then by receiver (`""`: none). */
  private readonly sealContexts: Contexts[] = [];
  /** Contexts this node opens under (to itself or nobody), by kind, then by sender. */
  private readonly openContexts: Contexts[] = [];
  /** The header and what the tag covers besides the payload, as GCM's additional data. */
  private aad = Buffer.alloc(256);
  /** `aad` for reading the header's fields. */
  private aadFields = new DataView(this.aad.buffer, this.aad.byteOffset, this.aad.length);
  private nonces = Buffer.alloc(0);
  private nonceAt = 0;
  /** The slab sealed messages are laid out in (see `SLAB_BYTES`), and where its free part starts. */
  private slab = new Uint8Array(0);
  private slabFields = new DataView(this.slab.buffer);
  private slabAt = 0;
  /** Where `lay` put the last message: the slab, or a buffer of its own for a big one. */
  private out = this.slab;
  private outFields = this.slabFields;
  /** The sender's incarnation and session of the message `openPayload` opened last. */
  private openedIncarnation = 0;
  private openedSession = 0;

  constructor(
    private readonly self: NodeIdentity,
    private readonly opts: ResolvedAuth,
    /** Most sender names whose windows are kept (then the oldest goes). */
    private readonly maxSenders = 2048,
  ) {
    this.encrypt = opts.encrypt;
    this.setSecrets(opts.secret, opts.acceptSecrets);
    for (let k = 0; k <= SealKind.Pong; k++) {
      this.sealContexts.push(new Map());
      this.openContexts.push(new Map());
    }
  }

  /**
   * Seals with `secret` from now on, and opens what is sealed under it or any of `accept` (a
   * rotation: see `docs/security.md`). Replay windows are kept: they do not depend on the key.
   */
  setSecrets(secret: Uint8Array, accept: readonly Uint8Array[]): void {
    const c = this.self.cluster;
    this.sealing = keySet(secret, c, this.encrypt);
    this.keys = new Map([[this.sealing.keyId, this.sealing]]);
    for (const s of accept) {
      const k = keySet(s, c, this.encrypt);
      if (!this.keys.has(k.keyId)) this.keys.set(k.keyId, k);
    }
  }

  /** Whether a message sealed under key id `keyId` would open here. */
  accepts(keyId: number): boolean {
    return this.keys.has(keyId);
  }

  /**
   * What the heartbeat thread needs to seal this node's heartbeats as stream 1 in the current
   * session (copies: handed to another thread). Taken again after `setSecrets` or a new session.
   */
  forThread(): ThreadSealing {
    return {
      keyId: this.sealing.keyId,
      incarnation: this.self.incarnation,
      session: this.session,
      macKey: Uint8Array.from(this.sealing.mac.key),
      context: Uint8Array.from(this.context(this.sealContexts, SealKind.Heartbeat, "", this.self.node, "")),
    };
  }

  /**
   * This node listens from now on (its subscriptions are going out): a sender heard for the
   * first time must have stamped its message no earlier than this.
   */
  listening(): void {
    this.floor = Math.max(this.floor, Date.now());
  }

  /**
   * Seals `payload` from this node. `to` is the receiver's name for a direct frame or a pong
   * (`""` for broadcasts, heartbeats and leaves), `toIncarnation` its incarnation (0 when not
   * bound to one), `bind` extra bytes the tag covers without carrying them (a probe's nonce).
   * The result is a view that this node never writes again.
   */
  seal(
    kind: SealKind,
    to: string,
    toIncarnation: number,
    payload: Uint8Array,
    bind?: Uint8Array,
  ): Uint8Array {
    const keys = this.sealing;
    if (keys.enc !== undefined && (kind === SealKind.Direct || kind === SealKind.Broadcast)) {
      return this.sealEncrypted(keys, kind, to, toIncarnation, payload, bind);
    }
    if (bind !== undefined || oneShotHash === undefined || payload.length > MAX_SCRATCH) {
      return this.sealApart(keys, kind, to, toIncarnation, payload, bind);
    }
    // Laid out as the MAC reads it — inner padded key, context, header, payload — so that it is
    // hashed where it is built, with the tag written after it; what goes out starts at the header.
    const prefix = this.prefix(keys, kind, to);
    const headAt = prefix.length;
    const bodyAt = headAt + HEADER_BYTES;
    const tagAt = bodyAt + payload.length;
    const end = tagAt + TAG_BYTES;
    const at = this.lay(end);
    const out = this.out;
    out.set(prefix, at);
    this.header(this.outFields, at + headAt, kind, keys.keyId, toIncarnation);
    out.set(payload, at + bodyAt);
    const tag = keys.mac.finish(oneShotHash("sha256", new Uint8Array(out.buffer, at, tagAt), "binary"));
    for (let i = 0; i < TAG_BYTES; i++) out[at + tagAt + i] = tag.charCodeAt(i);
    return new Uint8Array(out.buffer, at + headAt, end - headAt);
  }

  /** `seal` of a message bound to extra bytes (a pong) or too long for the MAC's reused buffer. */
  private sealApart(
    keys: KeySet,
    kind: SealKind,
    to: string,
    toIncarnation: number,
    payload: Uint8Array,
    bind: Uint8Array | undefined,
  ): Uint8Array {
    const tagAt = HEADER_BYTES + payload.length;
    const out = Buffer.allocUnsafe(tagAt + TAG_BYTES);
    this.header(new DataView(out.buffer, out.byteOffset, HEADER_BYTES), 0, kind, keys.keyId, toIncarnation);
    out.set(payload, HEADER_BYTES);
    const ctx = this.context(this.sealContexts, kind, to, this.self.node, to);
    const bindLength = bind === undefined ? 0 : bind.length;
    const n = ctx.length + bindLength + tagAt;
    const input = keys.mac.input(n);
    if (input === undefined) {
      const h = createHmac("sha256", keys.mac.key).update(ctx);
      if (bind !== undefined) h.update(bind);
      h.update(out.subarray(0, tagAt));
      h.digest().copy(out, tagAt, 0, TAG_BYTES);
      return out;
    }
    input.set(ctx, BLOCK);
    if (bind !== undefined) input.set(bind, BLOCK + ctx.length);
    input.set(out.subarray(0, tagAt), BLOCK + ctx.length + bindLength);
    out.write(keys.mac.digest(n), tagAt, TAG_BYTES, "latin1");
    return out;
  }

  /** `seal` with AES-256-GCM: header, nonce, ciphertext, tag; the context is additional data. */
  private sealEncrypted(
    keys: KeySet,
    kind: SealKind,
    to: string,
    toIncarnation: number,
    payload: Uint8Array,
    bind: Uint8Array | undefined,
  ): Uint8Array {
    const bodyAt = HEADER_BYTES + NONCE_BYTES;
    const tagAt = bodyAt + payload.length;
    const end = tagAt + TAG_BYTES;
    const at = this.lay(end);
    const out = this.out;
    this.header(this.outFields, at, kind | ENCRYPTED, keys.keyId, toIncarnation);
    const nonce = new Uint8Array(out.buffer, at + HEADER_BYTES, NONCE_BYTES);
    this.nonce(nonce);
    const ctx = this.context(this.sealContexts, kind, to, this.self.node, to);
    const c = createCipheriv("aes-256-gcm", keys.enc!, nonce);
    c.setAAD(this.additional(ctx, bind, out, at, bodyAt));
    out.set(c.update(payload), at + bodyAt);
    c.final();
    out.set(c.getAuthTag(), at + tagAt);
    return new Uint8Array(out.buffer, at, end);
  }

  /** Writes a header at `at` of `into`: the next sequence number, this node's clock. */
  private header(into: DataView, at: number, kindByte: number, keyId: number, toIncarnation: number): void {
    into.setUint8(at, VERSION);
    into.setUint8(at + 1, kindByte);
    into.setUint32(at + 2, keyId);
    into.setFloat64(at + 6, this.self.incarnation);
    into.setUint32(at + 14, this.session >>> 0);
    into.setFloat64(at + 18, this.seq++);
    into.setFloat64(at + 26, Date.now());
    into.setFloat64(at + 34, toIncarnation);
  }

  /** Room for `n` bytes: its offset in `out`, which is the slab, or a buffer of its own when big. */
  private lay(n: number): number {
    if (n > SLAB_BYTES >> 3) {
      this.out = new Uint8Array(n);
      this.outFields = new DataView(this.out.buffer);
      return 0;
    }
    if (this.slabAt + n > this.slab.length) {
      this.slab = new Uint8Array(SLAB_BYTES);
      this.slabFields = new DataView(this.slab.buffer);
      this.slabAt = 0;
    }
    this.out = this.slab;
    this.outFields = this.slabFields;
    const at = this.slabAt;
    this.slabAt += n;
    return at;
  }

  /** The inner padded key and context a message of `kind` to `to` sealed under `keys` starts with. */
  private prefix(keys: KeySet, kind: SealKind, to: string): Uint8Array {
    const map = keys.prefixes[kind]!;
    let prefix = map.get(to);
    if (prefix === undefined) {
      const ctx = this.context(this.sealContexts, kind, to, this.self.node, to);
      prefix = new Uint8Array(BLOCK + ctx.length);
      prefix.set(keys.mac.ipad, 0);
      prefix.set(ctx, BLOCK);
      if (map.size >= 2 * this.maxSenders) map.clear();
      map.set(to, prefix);
    }
    return prefix;
  }

  /** The kind a sealed message says it is, or undefined when it is not one (read before opening). */
  static kindOf(bytes: Uint8Array): number | undefined {
    if (bytes.length < HEADER_BYTES + TAG_BYTES || bytes[0] !== VERSION) return undefined;
    return bytes[1]! & ~ENCRYPTED;
  }

  /** The key id a sealed message carries, or undefined when it is not one. */
  static keyIdIn(bytes: Uint8Array): number | undefined {
    if (WireAuth.kindOf(bytes) === undefined) return undefined;
    return u32(bytes, 2);
  }

  /**
   * The wire version of a message sealed under another version than this node's (it starts with
   * a small version byte and a known kind), or undefined: sealed under this one, or not sealed.
   */
  static otherVersionIn(bytes: Uint8Array): number | undefined {
    if (bytes.length < HEADER_BYTES + TAG_BYTES) return undefined;
    const version = bytes[0]!;
    const kind = bytes[1]! & ~ENCRYPTED;
    if (version === VERSION || version === 0 || version >= VERSIONS_BELOW) return undefined;
    return kind >= SealKind.Direct && kind <= SealKind.Pong ? version : undefined;
  }

  /**
   * Opens a message of `kind` that `from` (the sender token of its subject) published; `to` and
   * `bind` as given to `seal`. Returns the payload and the sender's incarnation and session, or
   * why it was refused. Never throws.
   */
  open(
    kind: SealKind,
    from: string,
    to: string,
    bytes: Uint8Array,
    bind?: Uint8Array,
  ): Opened | AuthRejectKind {
    const payload = this.openPayload(kind, from, to, bytes, bind);
    if (typeof payload === "string") return payload;
    return { payload, incarnation: this.openedIncarnation, session: this.openedSession };
  }

  /**
   * `open` for who needs the payload only (cluster frames, one per message: no result object).
   * The payload is a view of `bytes`.
   */
  openPayload(
    kind: SealKind,
    from: string,
    to: string,
    bytes: Uint8Array,
    bind?: Uint8Array,
  ): Uint8Array | AuthRejectKind {
    const encrypt = this.encrypt && (kind === SealKind.Direct || kind === SealKind.Broadcast);
    const bodyAt = HEADER_BYTES + (encrypt ? NONCE_BYTES : 0);
    if (bytes.length < bodyAt + TAG_BYTES) return "malformed";
    if (bytes[0] !== VERSION) return WireAuth.otherVersionIn(bytes) === undefined ? "malformed" : "version";
    if (bytes[1] !== (kind | (encrypt ? ENCRYPTED : 0))) return "malformed";
    const keyId = u32(bytes, 2);
    const keys = keyId === this.sealing.keyId ? this.sealing : this.keys.get(keyId);
    if (keys === undefined) return "key";
    const tagAt = bytes.length - TAG_BYTES;
    const ctx = this.context(this.openContexts, kind, from, from, to);
    const bindLength = bind === undefined ? 0 : bind.length;
    // The header is read from the copy made for the MAC (or the GCM additional data), where a
    // DataView already is, rather than through a view made of each message that arrives.
    let fields: DataView;
    let at: number;
    let payload: Uint8Array;
    if (encrypt) {
      const aad = this.additional(ctx, bind, bytes, 0, bodyAt);
      fields = this.aadFields;
      at = ctx.length + bindLength;
      try {
        const d = createDecipheriv("aes-256-gcm", keys.enc!, bytes.subarray(HEADER_BYTES, bodyAt));
        d.setAAD(aad);
        d.setAuthTag(bytes.subarray(tagAt));
        const first = d.update(bytes.subarray(bodyAt, tagAt));
        const last = d.final();
        payload = last.length === 0 ? first : Buffer.concat([first, last]);
      } catch {
        return "mac";
      }
    } else {
      const n = ctx.length + bindLength + tagAt;
      const mac = keys.mac;
      const input = mac.input(n);
      if (input === undefined) {
        const h = createHmac("sha256", mac.key).update(ctx);
        if (bind !== undefined) h.update(bind);
        const digest = h.update(bytes.subarray(0, tagAt)).digest();
        if (!tagEquals(digest.toString("latin1"), bytes, tagAt)) return "mac";
        fields = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
        at = 0;
      } else {
        input.set(ctx, BLOCK);
        if (bind !== undefined) input.set(bind, BLOCK + ctx.length);
        at = BLOCK + ctx.length + bindLength;
        // Whole, tag included (`input` has room for it): no view of `bytes` to make.
        input.set(bytes, at);
        if (!tagEquals(mac.digest(n), bytes, tagAt)) return "mac";
        fields = mac.fields;
      }
      payload = bytes.subarray(bodyAt, tagAt);
    }
    const incarnation = fields.getFloat64(at + 6);
    const session = fields.getUint32(at + 14);
    if (kind === SealKind.Direct && fields.getFloat64(at + 34) !== this.self.incarnation)
      return "misaddressed";
    const time = fields.getFloat64(at + 26);
    if (Math.abs(Date.now() - time) > this.opts.maxClockSkewMs) return "stale";
    if (!this.accept(from, incarnation, session, fields.getFloat64(at + 18), time)) return "replay";
    this.openedIncarnation = incarnation;
    this.openedSession = session;
    return payload;
  }

  /**
   * GCM's additional data: `ctx ‖ bind ‖ bytes[at, at + headerLength)` (the header and nonce), laid
   * out in a reused buffer. Valid until the next call.
   */
  private additional(
    ctx: Buffer,
    bind: Uint8Array | undefined,
    bytes: Uint8Array,
    at: number,
    headerLength: number,
  ): Buffer {
    const bindLength = bind === undefined ? 0 : bind.length;
    const n = ctx.length + bindLength + headerLength;
    if (n > this.aad.length) {
      this.aad = Buffer.alloc(2 * n);
      this.aadFields = new DataView(this.aad.buffer, this.aad.byteOffset, this.aad.length);
    }
    ctx.copy(this.aad, 0);
    if (bind !== undefined) this.aad.set(bind, ctx.length);
    this.aad.set(bytes.subarray(at, at + headerLength), ctx.length + bindLength);
    return this.aad.subarray(0, n);
  }

  /**
   * Whether `seq` of `from` (incarnation, session), stamped `time`, is new. A message of a sender
   * incarnation and session that has no window here opens one only when stamped no earlier than
   * the sender's floor: when this node started listening, or just after the last message of a
   * window it has since forgotten (time stamps are whole milliseconds). Otherwise a message captured before this node joined (or before it forgot
   * the window) would pass as new: a departed node's heartbeat, replayed within the clock skew
   * to a node that joined since, would bring it back. A sender's genuine first messages are
   * stamped after this node subscribed, up to the clocks' difference.
   */
  private accept(from: string, incarnation: number, session: number, seq: number, time: number): boolean {
    let sender = this.senders.get(from);
    if (sender === undefined) {
      if (this.senders.size >= this.maxSenders) {
        const [oldest, gone] = this.senders.entries().next().value!;
        this.senders.delete(oldest);
        for (const w of gone.windows) this.floor = Math.max(this.floor, w.last + 1);
      }
      sender = { windows: [], floor: this.floor };
      this.senders.set(from, sender);
    }
    const stream = Math.floor(seq / STREAM);
    let w: ReplayWindow | undefined;
    for (const x of sender.windows) {
      if (x.incarnation === incarnation && x.session === session && x.stream === stream) w = x;
    }
    if (w === undefined) {
      if (!(time >= sender.floor)) return false;
      w = new ReplayWindow(incarnation, session, stream);
      sender.windows.push(w);
      if (sender.windows.length > WINDOWS_PER_SENDER) {
        sender.floor = Math.max(sender.floor, sender.windows.shift()!.last + 1);
      }
    }
    if (!w.accept(seq)) return false;
    if (time > w.last) w.last = time;
    return true;
  }

  /**
   * The context prefix of a message of `kind` from `from` to `to`, built once per peer (`peer`:
   * the name that varies, the other one being this node's or none).
   */
  private context(byKind: Contexts[], kind: SealKind, peer: string, from: string, to: string): Buffer {
    const map = byKind[kind]!;
    let ctx = map.get(peer);
    if (ctx === undefined) {
      // Lengths first, so that no two (from, to) pairs make the same bytes.
      const c = this.self.cluster;
      ctx = Buffer.from(
        enc.encode(`hv1|${kind}|${c.length}:${c}|${from.length}:${from}|${to.length}:${to}|`),
      );
      if (map.size >= 2 * this.maxSenders) map.clear();
      map.set(peer, ctx);
    }
    return ctx;
  }

  private nonce(into: Uint8Array): void {
    if (this.nonceAt + NONCE_BYTES > this.nonces.length) {
      this.nonces = randomFillSync(Buffer.allocUnsafe(NONCE_BYTES * 256));
      this.nonceAt = 0;
    }
    this.nonces.copy(into, 0, this.nonceAt, this.nonceAt + NONCE_BYTES);
    this.nonceAt += NONCE_BYTES;
  }
}
