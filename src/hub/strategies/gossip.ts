/**
 * Gossip helpers: choosing the random recipients of one gossip round. Imports nothing.
 */

/** Up to `k` distinct entries of `peers`, chosen at random, never any of `exclude`. */
export function pickRecipients(
  peers: Iterable<string>,
  k: number,
  exclude: readonly string[] = [],
): string[] {
  const pool = [...peers].filter((p) => !exclude.includes(p));
  if (pool.length <= k) return pool;
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(Math.random() * (pool.length - i));
    const t = pool[i]!;
    pool[i] = pool[j]!;
    pool[j] = t;
  }
  return pool.slice(0, k);
}
