/**
 * A typed reader over one TOML table: each bad key becomes a problem line naming its key path (secrets
 * redacted) and yields its default, and keys nobody asked for are reported as unknown.
 */
type Table = Record<string, unknown>;

/** True for a TOML table (a plain object), as opposed to a value, array or date. */
export function isTable(v: unknown): v is Table {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  // smol-toml builds tables without a prototype; TomlDate and other objects have one.
  const proto = Object.getPrototypeOf(v);
  return proto === null || proto === Object.prototype;
}

/**
 * Key paths whose values are secrets: every `[auth]` key, any key naming a token, and TURN credentials.
 * Problem lines go to the journal, where a token must never appear, even a bad or misspelt one.
 */
const SECRET_PATH = /^auth(\.|\[|$)|token|credential|password|secret/i;
/** The same, for key names inside a table shown whole (`[cameras]` written instead of `[[cameras]]`). */
const SECRET_KEY = /^auth$|token|credential|password|secret/i;

/** One problem line, `<key path>: <value> — <reason>`, with secrets redacted and long values cut. */
export function problem(path: string, value: unknown, reason: string): string {
  // Not even the length: a bad token fixed by trimming a character would have had it told.
  if (SECRET_PATH.test(path)) return `${path}: <redacted> — ${reason}`;
  let json: string;
  try {
    json = JSON.stringify(value, (key, v) => SECRET_KEY.test(key) ? "<redacted>" : v) ?? String(value);
  } catch {
    // JSON.stringify recurses through a replacer: a table thousands deep (a dotted key or header of that
    // many parts, which smol-toml does not bound) overflows the stack, and the problem line must survive.
    json = "(nested too deeply to show)";
  }
  // A whole table as the value would make an unreadable line.
  const shown = json.length > 80 ? `${json.slice(0, 77)}...` : json;
  return `${path}: ${shown} — ${reason}`;
}

/**
 * Reads typed keys out of one TOML table. Each bad key adds a problem line and yields the default, so
 * every problem in the file is found in one pass; keys no read asked for are reported as unknown.
 */
export class TableReader {
  readonly #seen = new Set<string>();
  readonly #failed = new Set<string>();

  constructor(
    private readonly values: Table,
    /** Key path of this table, e.g. `cameras[1]`. */
    readonly path: string,
    private readonly problems: string[],
  ) {}

  /** Adds a problem for `key`. */
  report(key: string, value: unknown, reason: string): void {
    this.#failed.add(key);
    this.problems.push(problem(this.#at(key), value, reason));
  }

  /** Adds a problem for a key that must be present and is not. */
  missing(key: string, reason: string): void {
    this.#seen.add(key);
    this.#failed.add(key);
    this.problems.push(`${this.#at(key)}: (missing) — ${reason}`);
  }

  /** Whether `key` was reported bad, so cross-checks skip it instead of piling up. */
  failed(key: string): boolean {
    return this.#failed.has(key);
  }

  /** Whether the table has this key at all. */
  has(key: string): boolean {
    return this.values[key] !== undefined;
  }

  integer(
    key: string,
    fallback: number,
    min: number,
    max: number,
    { even = false, required = false, reason }: { even?: boolean; required?: boolean; reason?: string } = {},
  ): number {
    const range = reason ?? `must be ${even ? "an even" : "an"} integer from ${min} to ${max}`;
    if (required && !this.has(key)) {
      this.missing(key, range);
      return fallback;
    }
    return this.#read(key, fallback, (v) => {
      if (typeof v !== "number" || !Number.isInteger(v)) return even ? range : "must be an integer";
      if (v < min || v > max || (even && v % 2 !== 0)) return range;
    });
  }

  string(key: string, fallback: string, check: (v: string) => string | undefined = () => undefined): string {
    return this.#read(key, fallback, (v) => typeof v === "string" ? check(v) : "must be a string");
  }

  /** An array of strings, each checked; a missing one reads as empty. */
  stringList(key: string, check: (v: string) => string | undefined): string[] {
    return this.#list(key, false, check);
  }

  /** One string or a non-empty array of them, each checked; always a list. Required. */
  stringOrList(key: string, check: (v: string) => string | undefined): string[] {
    return this.#list(key, true, check);
  }

  #list(key: string, single: boolean, check: (v: string) => string | undefined): string[] {
    this.#seen.add(key);
    const value = this.values[key];
    if (value === undefined) {
      if (single) this.missing(key, "required");
      return [];
    }
    if (single && typeof value === "string") {
      const reason = check(value);
      if (reason === undefined) return [value];
      this.report(key, value, reason);
      return [];
    }
    const shape = single ? "must be a string or a non-empty array of strings" : "must be an array of strings";
    if (!Array.isArray(value) || (single && value.length === 0)) {
      this.report(key, value, shape);
      return [];
    }
    const list: string[] = [];
    value.forEach((item, i) => {
      const reason = typeof item === "string" ? check(item) : "must be a string";
      if (reason === undefined) list.push(item);
      else this.report(`${key}[${i}]`, item, reason);
    });
    return list;
  }

  /** A string that must be present. */
  required(key: string, check: (v: string) => string | undefined): string {
    if (this.values[key] === undefined) {
      this.missing(key, "required");
      return "";
    }
    return this.string(key, "", check);
  }

  oneOf<T extends string>(key: string, fallback: T, allowed: readonly T[]): T {
    return this.#read(
      key,
      fallback,
      (v) => allowed.includes(v as T) ? undefined : `must be one of: ${allowed.join(", ")}`,
    );
  }

  boolean(key: string, fallback: boolean): boolean {
    return this.#read(key, fallback, (v) => typeof v === "boolean" ? undefined : "must be true or false");
  }

  /** A value converted by `parse` (a size or a duration written with its unit); undefined from it is refused. */
  quantity(key: string, fallback: number, parse: (v: unknown) => number | undefined, reason: string): number {
    const value = this.#read<unknown>(key, fallback, (v) => parse(v) === undefined ? reason : undefined);
    return parse(value) ?? fallback;
  }

  /** A sub-table; a missing one reads as empty so its defaults apply. */
  table(key: string): TableReader {
    const value = this.#read<unknown>(key, {}, (v) => isTable(v) ? undefined : "must be a table");
    return new TableReader(isTable(value) ? value : {}, this.#at(key), this.problems);
  }

  /** An array of tables (`[[key]]`); a missing one reads as empty. */
  tableArray(key: string): TableReader[] {
    const value = this.#read<unknown[]>(
      key,
      [],
      (v) => Array.isArray(v) ? undefined : `must be an array of tables ([[${key}]])`,
    );
    const readers: TableReader[] = [];
    value.forEach((item, i) => {
      const path = `${this.#at(key)}[${i}]`;
      if (isTable(item)) readers.push(new TableReader(item, path, this.problems));
      else this.problems.push(problem(path, item, "must be a table"));
    });
    return readers;
  }

  /** Reports every key of this table that no read asked for. */
  rejectUnknown(): void {
    for (const [key, value] of Object.entries(this.values)) {
      if (!this.#seen.has(key)) this.report(key, value, "unknown key");
    }
  }

  #read<T>(key: string, fallback: T, check: (v: unknown) => string | undefined): T {
    this.#seen.add(key);
    const value = this.values[key];
    if (value === undefined) return fallback;
    const reason = check(value);
    if (reason === undefined) return value as T;
    this.report(key, value, reason);
    return fallback;
  }

  #at(key: string): string {
    return this.path === "" ? key : `${this.path}.${key}`;
  }
}
