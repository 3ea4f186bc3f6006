/**
 * Base error class of every hubvisor error. Each layer declares its own subclasses in its
 * `errors.ts`; every subclass has a stable `code` (`HV_ERR_…`) that users should match on, and a
 * `Symbol.for` brand so that `HubvisorError.is(e)` works across installed copies of the package.
 * Imports nothing.
 */
const BRAND = Symbol.for("hubvisor.error");

/** The root of all hubvisor errors. Match on `code`, which never changes between versions. */
export class HubvisorError extends Error {
  /** Stable machine-readable code, `HV_ERR_…`. */
  readonly code: string;
  readonly [BRAND] = true;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }

  /** True for any hubvisor error, including one thrown by another copy of the package. */
  static is(value: unknown): value is HubvisorError {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}

/** Misuse: an option or argument had the wrong shape or value. Names the field and the value. */
export class InvalidOptionError extends HubvisorError {
  readonly field: string;
  readonly value: unknown;
  /** `code` is for subclasses that name a narrower misuse (`InvalidNameError`). */
  constructor(field: string, expected: string, value: unknown, code = "HV_ERR_INVALID_OPTION") {
    super(code, `expected \`${field}\` to be ${expected}, got: ${show(value)}`);
    this.field = field;
    this.value = value;
  }
}

/** Short printable form of any value, for error messages. */
export function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "function") return `[function ${value.name || "anonymous"}]`;
  if (typeof value === "object" && value !== null) {
    const s = (value as object).toString;
    if (s !== Object.prototype.toString && s !== Array.prototype.toString) return String(value);
    try {
      return JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? `${v}n` : v)) ?? String(value);
    } catch {
      return Object.prototype.toString.call(value);
    }
  }
  return String(value);
}
