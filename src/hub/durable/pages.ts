/**
 * Pages of declarations: the declarations of a durable hub grouped by a hash of their ids into
 * `PAGE_COUNT` keys (`d.=<hex>`, a form no single declaration's key takes, since base64url has no
 * `=`), so that a start or stop of many children writes one compare-and-set per page it touches
 * instead of one per child: 10,000 children are about 1,000 writes, 100 children about 100.
 * A page maps ids to entries of the same shape as a single declaration; decoding checks the page
 * (format, version, hub, its own key) and then every entry as a single declaration is checked
 * (`checkEntry`), plus that the id belongs on this page. A page that fails is refused as a whole;
 * an entry that fails is refused alone. Imports msgpackr, the hash of the ring and `declared.ts`.
 */
import { Packr } from "msgpackr";
import type { NormalizedChildSpec } from "../child-spec.js";
import { hash32 } from "../hash-ring.js";
import { checkEntry, type Declared, type DesiredState } from "./declared.js";

/** Pages per hub: at 1M declared children about 1,000 entries (~150 KB) a page. */
export const PAGE_COUNT = 1024;
export const PAGE_PREFIX = "d.=";
const FORMAT = "hubvisor/declared-page";
const VERSION = 1;

const packr = new Packr({ useRecords: false, moreTypes: false });

/** One declaration in a page, as written. */
export interface PageEntry {
  readonly desired: DesiredState;
  readonly spec: NormalizedChildSpec | null;
  readonly pin?: readonly string[] | undefined;
  readonly by: string;
  readonly at: number;
}

export function pageKeyOf(id: string): string {
  return PAGE_PREFIX + (hash32(id) % PAGE_COUNT).toString(16);
}

export function isPageKey(key: string): boolean {
  return key.startsWith(PAGE_PREFIX);
}

export function encodePage(hubId: string, key: string, entries: ReadonlyMap<string, PageEntry>): Uint8Array {
  const e: Record<string, PageEntry> = {};
  for (const [id, entry] of entries) e[id] = entry;
  return packr.pack({ f: FORMAT, v: VERSION, hub: hubId, key, e });
}

/** A decoded page: its declarations (at the page's revision) and the entries refused in it. */
export interface DecodedPage {
  readonly entries: Map<string, PageEntry>;
  readonly declared: Declared[];
  /** Entries refused, with why (their ids' earlier declarations stay in force). */
  readonly refused: Array<{ readonly id: string; readonly why: string }>;
}

/** The page in `value`, or why it is refused as a whole. */
export function decodePage(
  hubId: string,
  key: string,
  value: Uint8Array,
  revision: number,
): DecodedPage | { pageRefused: string } {
  let v: unknown;
  try {
    v = packr.unpack(value);
  } catch {
    return { pageRefused: "does not decode" };
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return { pageRefused: "not a record" };
  const r = v as Record<string, unknown>;
  if (r.f !== FORMAT) return { pageRefused: "foreign format" };
  if (r.v !== VERSION) return { pageRefused: `unknown version ${String(r.v)}` };
  if (r.hub !== hubId) return { pageRefused: "another hub's page" };
  if (r.key !== key) return { pageRefused: "page does not match its key" };
  if (typeof r.e !== "object" || r.e === null || Array.isArray(r.e)) return { pageRefused: "no entries" };
  const out: DecodedPage = { entries: new Map(), declared: [], refused: [] };
  for (const [id, raw] of Object.entries(r.e as Record<string, unknown>)) {
    if (pageKeyOf(id) !== key) {
      out.refused.push({ id, why: "on the wrong page" });
      continue;
    }
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      out.refused.push({ id, why: "not a record" });
      continue;
    }
    const d = checkEntry(id, raw as Record<string, unknown>, revision);
    if ("refused" in d) {
      out.refused.push({ id, why: d.refused });
      continue;
    }
    out.declared.push(d);
    out.entries.set(id, {
      desired: d.desired,
      spec: d.spec,
      ...(d.pin === null ? {} : { pin: d.pin }),
      by: d.by,
      at: d.at,
    });
  }
  return out;
}
