/**
 * Shared helpers of the benchmarks: a row type, medians, a table printer. Benchmarks never run in
 * `npm test`; `npm run bench` prints every table.
 */

/** One printed figure. */
export interface Row {
  figure: string;
  value: number;
  unit: string;
  /** Target, as printed (e.g. "<= 2 µs"). */
  target?: string;
  /** True when the value meets the target; undefined when there is no target. */
  ok?: boolean;
  /** The BEAM (or other reference) figure on the same kind of machine, as printed. */
  reference?: string;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Runs `fn` `runs` times (after one warm-up) and returns the median of what it returns. */
export async function medianOf(runs: number, fn: () => Promise<number> | number): Promise<number> {
  await fn();
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) xs.push(await fn());
  return median(xs);
}

export function fmt(value: number, unit: string): string {
  if (unit === "B") return `${Math.round(value).toLocaleString("en-US")} B`;
  if (unit === "x") return `${value.toFixed(2)}x`;
  if (unit === "%") return `${value.toFixed(1)} %`;
  if (unit === "/s") return `${Math.round(value).toLocaleString("en-US")} /s`;
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${unit}`;
}

export function printTable(title: string, rows: Row[]): void {
  const head = ["figure", "hubvisor", "target", "", "reference"];
  const body = rows.map((r) => [
    r.figure,
    fmt(r.value, r.unit),
    r.target ?? "",
    r.ok === undefined ? "" : r.ok ? "ok" : "MISS",
    r.reference ?? "",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  console.log(`\n### ${title}\n`);
  console.log(line(head));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const b of body) console.log(line(b));
}

export function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) {
    g();
    g();
  }
}

export function heapUsed(): number {
  gc();
  return process.memoryUsage().heapUsed;
}

/** True when this module is the entry point (`npx tsx bench/x.ts`). */
export function isMain(url: string): boolean {
  return process.argv[1] !== undefined && url.endsWith(process.argv[1].replace(/^.*[/\\]/, ""));
}
