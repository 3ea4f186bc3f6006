/**
 * A small store of metric families — counters, gauges and histograms with labels — and their
 * Prometheus text exposition (format 0.0.4). Each family is declared once with both of its names:
 * the Prometheus one (snake_case, base units, `_total` on counters) and the OpenTelemetry one
 * (dotted, unit apart), so the two exports cannot drift. Imports nothing.
 */

/** How a family behaves: counters only grow, gauges are read, histograms count observations. */
export type MetricKind = "counter" | "gauge" | "histogram";

/** One metric family as declared. */
export interface MetricFamily {
  kind: MetricKind;
  /** Prometheus name (`hubvisor_process_spawns_total`). */
  prom: string;
  /** OpenTelemetry instrument name (`hubvisor.process.spawns`). */
  otel: string;
  /** UCUM unit for OpenTelemetry (`s`, `By`, `{process}`). */
  unit: string;
  help: string;
  /** Upper bounds of a histogram's buckets, in the family's unit. */
  buckets?: readonly number[];
}

/** Label values of one series, in a fixed key order. */
export type Labels = Readonly<Record<string, string>>;

interface Series {
  labels: Labels;
  value: number;
  /** Histograms: count per bucket (not cumulative), then sum and count. */
  counts?: number[];
  sum?: number;
}

/** Latency buckets in seconds: 50 µs to 10 s. */
export const SECONDS_BUCKETS = Object.freeze([
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

const key = (labels: Labels): string => {
  let k = "";
  for (const n in labels) k += `${n}\u0000${labels[n]}\u0001`;
  return k;
};

/** The series of every declared family. */
export class MetricSet {
  private readonly series = new Map<MetricFamily, Map<string, Series>>();

  constructor(readonly families: readonly MetricFamily[]) {
    for (const f of families) this.series.set(f, new Map());
  }

  private get(f: MetricFamily, labels: Labels): Series {
    const m = this.series.get(f)!;
    const k = key(labels);
    let s = m.get(k);
    if (s === undefined) {
      s = { labels, value: 0 };
      if (f.kind === "histogram") {
        s.counts = new Array((f.buckets ?? SECONDS_BUCKETS).length + 1).fill(0);
        s.sum = 0;
      }
      m.set(k, s);
    }
    return s;
  }

  add(f: MetricFamily, labels: Labels, by = 1): void {
    this.get(f, labels).value += by;
  }

  set(f: MetricFamily, labels: Labels, value: number): void {
    this.get(f, labels).value = value;
  }

  observe(f: MetricFamily, labels: Labels, value: number): void {
    const s = this.get(f, labels);
    const b = f.buckets ?? SECONDS_BUCKETS;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    s.counts![i]!++;
    s.sum! += value;
    s.value++;
  }

  /** Drops every series of a family (gauges re-read at each collection). */
  clear(f: MetricFamily): void {
    this.series.get(f)!.clear();
  }

  /** The current series of a family: labels and value (a histogram's value is its count). */
  read(f: MetricFamily): Array<{ labels: Labels; value: number; sum?: number; counts?: readonly number[] }> {
    return [...this.series.get(f)!.values()];
  }

  /** Prometheus text exposition of every family. */
  prometheus(): string {
    const out: string[] = [];
    for (const f of this.families) {
      out.push(`# HELP ${f.prom} ${escapeHelp(f.help)}`, `# TYPE ${f.prom} ${f.kind}`);
      for (const s of this.series.get(f)!.values()) {
        if (f.kind !== "histogram") {
          out.push(`${f.prom}${labelText(s.labels)} ${num(s.value)}`);
          continue;
        }
        const base = f.prom;
        const bounds = f.buckets ?? SECONDS_BUCKETS;
        let cumulative = 0;
        for (let i = 0; i < bounds.length; i++) {
          cumulative += s.counts![i]!;
          out.push(`${base}_bucket${labelText(s.labels, ["le", num(bounds[i]!)])} ${cumulative}`);
        }
        out.push(`${base}_bucket${labelText(s.labels, ["le", "+Inf"])} ${s.value}`);
        out.push(
          `${base}_sum${labelText(s.labels)} ${num(s.sum!)}`,
          `${base}_count${labelText(s.labels)} ${s.value}`,
        );
      }
    }
    return `${out.join("\n")}\n`;
  }
}

function num(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(v);
}

function labelText(labels: Labels, extra?: [string, string]): string {
  const parts: string[] = [];
  for (const n in labels) parts.push(`${n}="${escapeLabel(labels[n]!)}"`);
  if (extra !== undefined) parts.push(`${extra[0]}="${extra[1]}"`);
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

const escapeLabel = (v: string): string =>
  v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
const escapeHelp = (v: string): string => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
