/**
 * `HashRing`: consistent hashing with virtual nodes. Each member is placed on a 32-bit ring at
 * `vnodes` points hashed from its name; a key belongs to the member owning the first point at or
 * after the key's hash (wrapping). Placement depends only on the member names and `vnodes`, never
 * on insertion order, so every node holding the same member list computes the same owner for
 * every key without talking to anyone. Adding a member moves only the keys that the new member's
 * points capture (about 1/N of them), all to the new member; removing one moves only its keys.
 * Imports nothing.
 */

/** 32-bit hash of a string: FNV-1a over UTF-16 code units, then a murmur3 finaliser to spread bits. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * An immutable ring over a set of member names.
 * @category hub
 */
export class HashRing {
  /** Sorted member names. */
  readonly members: readonly string[];
  readonly vnodes: number;
  private readonly points: Uint32Array;
  private readonly owners: string[];

  constructor(members: Iterable<string>, vnodes = 256) {
    if (!Number.isInteger(vnodes) || vnodes < 1)
      throw new RangeError(`vnodes must be a positive integer, got ${vnodes}`);
    this.members = [...new Set(members)].sort();
    this.vnodes = vnodes;
    const all: Array<{ h: number; m: string }> = [];
    for (const m of this.members) {
      for (let i = 0; i < vnodes; i++) all.push({ h: hash32(`${m}#${i}`), m });
    }
    // Ties between members on the same point are broken by name so the order is total.
    all.sort((a, b) => a.h - b.h || (a.m < b.m ? -1 : a.m > b.m ? 1 : 0));
    this.points = Uint32Array.from(all, (p) => p.h);
    this.owners = all.map((p) => p.m);
  }

  get size(): number {
    return this.members.length;
  }

  has(member: string): boolean {
    return this.members.includes(member);
  }

  /** The member owning `key`, or undefined on an empty ring. */
  owner(key: string): string | undefined {
    const n = this.points.length;
    if (n === 0) return undefined;
    const h = hash32(key);
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.points[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    return this.owners[lo === n ? 0 : lo];
  }

  /**
   * The first `count` distinct members met walking the ring from `key`: the owner first, then the
   * replicas (for redundancy strategies). Fewer if the ring has fewer members.
   */
  ownersOf(key: string, count: number): string[] {
    const n = this.points.length;
    const out: string[] = [];
    if (n === 0 || count <= 0) return out;
    const h = hash32(key);
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.points[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    const want = Math.min(count, this.members.length);
    for (let i = 0; i < n && out.length < want; i++) {
      const m = this.owners[(lo + i) % n]!;
      if (!out.includes(m)) out.push(m);
    }
    return out;
  }

  /** A new ring with `member` added (this one is unchanged). */
  with(member: string): HashRing {
    return new HashRing([...this.members, member], this.vnodes);
  }

  /** A new ring with `member` removed. */
  without(member: string): HashRing {
    return new HashRing(
      this.members.filter((m) => m !== member),
      this.vnodes,
    );
  }
}
