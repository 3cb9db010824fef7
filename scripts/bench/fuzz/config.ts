/**
 * Fuzz target for the config loader: the TOML text of a config file, and the flag and environment
 * overrides applied to what it loads. Every problem must come out as a ConfigError (exit code 2 with one
 * line per problem), never as another throw.
 */
import fc from "fast-check";
import { applyOverrides, ConfigError, parseConfig } from "../../../lib/config/load.ts";
import {
  CODECS,
  ENCODER_NAMES,
  FLIP_METHODS,
  SECOND_PUBLISHER,
  SOURCE_KINDS,
  TEST_PATTERNS,
} from "../../../lib/config/schema.ts";
import { LOG_LEVELS } from "../../../lib/log.ts";
import { address, editedDocument, type Target } from "./inputs.ts";

/** The values a key takes besides those in the example file: every name its enumeration allows. */
const ENUMS: Record<string, readonly string[]> = {
  source: SOURCE_KINDS,
  encoder: ENCODER_NAMES,
  codec: CODECS,
  flip_method: FLIP_METHODS,
  pattern: TEST_PATTERNS,
  second_publisher: SECOND_PUBLISHER,
  log_level: LOG_LEVELS,
};

/** Values at the edges of TOML and of the checks: integer bounds, other bases, floats, dates, odd strings. */
const EDGE_VALUES = [
  ...["-1", "65536", "9223372036854775807", "9223372036854775808", "0x7fffffff", "0o777", "0b101", "1_000"],
  ...[
    "1e3",
    "1.5",
    "-0.0",
    "inf",
    "nan",
    '""',
    '"\\uD800"',
    "1979-05-27T07:32:00Z",
    "1979-05-27",
    "07:32:00",
  ],
  ...['"""\nmulti\n"""', "'''x'''", '"stun:stun.example.org:3478"', '"turn:turn.example.org"', '"*"'],
  ...['"https://example.org/whip/a"', '"/dev/video0"', '"eth0"', '"0123456789abcdef0123"', '"a b"', '"../x"'],
  ...['["eth0", "wlan0"]', '["https://nvr.example.org"]', '["cam.example.org", "*"]', '["a b", ""]'],
  ...[
    '["stun:stun.example.org:3478", "turn:turn.example.org?transport=udp"]',
    '["http://u:p@example.org/whip"]',
  ],
];

/**
 * The example file's tables, its commented-out examples included: each header with the keys under it and
 * the values the file gives them.
 */
function tablesOf(lines: string[]): Map<string, Map<string, Set<string>>> {
  const tables = new Map<string, Map<string, Set<string>>>();
  let keys: Map<string, Set<string>> | undefined;
  for (const line of lines) {
    const header = /^#?\s*(\[\[?[\w.]+\]\]?)\s*$/.exec(line)?.[1];
    if (header) tables.set(header, keys = tables.get(header) ?? new Map());
    const [, key, value] = /^#?\s*(\w+)\s*=\s*(.*?)\s*(?:#.*)?$/.exec(line) ?? [];
    if (key && keys) keys.set(key, (keys.get(key) ?? new Set()).add(value));
  }
  for (const values of tables.values()) {
    for (const [key, names] of Object.entries(ENUMS)) names.forEach((n) => values.get(key)?.add(`"${n}"`));
  }
  return tables;
}

interface ConfigInput {
  text: string;
  listen: string | undefined;
  logLevel: string | undefined;
  publicIp: string | undefined;
}

/** The config file loader, and the flag and environment overrides applied to what it loads. */
export function configTarget(example: string): Target<ConfigInput> {
  const lines = example.split("\n");
  const uncommented = lines.filter((l) => !/^\s*#/.test(l));
  const tables = tablesOf(lines);
  const allKeys = [...new Set([...tables.values()].flatMap((keys) => [...keys.keys()]))];
  const scalar = fc.oneof(
    fc.constantFrom(...EDGE_VALUES),
    fc.integer().map(String),
    fc.string().map((s) => JSON.stringify(s)),
  );
  const { value } = fc.letrec<{ value: string; array: string; table: string }>((tie) => ({
    value: fc.oneof({ maxDepth: 3 }, scalar, tie("array"), tie("table")),
    array: fc.array(tie("value"), { maxLength: 4 }).map((vs) => `[${vs.join(", ")}]`),
    table: fc.array(fc.tuple(fc.constantFrom(...allKeys), tie("value")), { maxLength: 3 })
      .map((kvs) => `{ ${kvs.map(([k, v]) => `${k} = ${v}`).join(", ")} }`),
  }));
  // Mostly a key of the table at hand with a value the file or the schema gives it, as a user would write.
  const keyValue = (keys: Map<string, Set<string>>) =>
    fc.constantFrom(...keys).chain(([key, known]) =>
      fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...known) }, value).map((v) => `${key} = ${v}`)
    );
  const table = fc.constantFrom(...tables).chain(([header, keys]) =>
    // Each key once: a repeated key is a TOML error, which would hide every check behind it.
    fc.uniqueArray(keyValue(keys), { maxLength: 8, selector: (kv) => kv.slice(0, kv.indexOf(" =")) })
      .map((kvs) => [header, ...kvs].join("\n"))
  );
  const line = fc.oneof(
    { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...allKeys), value).map(([k, v]) => `${k} = ${v}`) },
    { weight: 2, arbitrary: table },
    fc.constantFrom(...uncommented),
    fc.string({ maxLength: 30 }),
  );
  const listen = fc.oneof(
    fc.constantFrom(
      "0.0.0.0:8080",
      ":0",
      "[::]:8080",
      "[::1]",
      "localhost:65536",
      ":",
      "[",
      "]:1",
      "h:-1",
      "",
    ),
    fc.tuple(address, fc.nat(70_000)).map(([a, p]) => `${a}:${p}`),
    fc.string({ maxLength: 20 }),
  );
  // Deep nesting: smol-toml bounds it in arrays and inline tables, not in dotted keys and table headers.
  const deep = fc.record({ form: fc.nat(3), depth: fc.integer({ min: 1, max: 8000 }) }).map((
    { form, depth },
  ) =>
    [
      `[server]\nport = ${"[".repeat(depth)}${"]".repeat(depth)}`,
      `[server]\nport = ${"{ a = ".repeat(depth)}1${" }".repeat(depth)}`,
      `${Array(depth).fill("server").join(".")} = 1`,
      `[${Array(depth).fill("limits").join(".")}]`,
    ][form]
  );
  const maybe = (arbitrary: fc.Arbitrary<string>) => fc.option(arbitrary, { nil: undefined });
  return {
    name: "config (load)",
    arbitrary: fc.record({
      text: fc.oneof(
        { weight: 5, arbitrary: editedDocument([lines, uncommented], line) },
        { weight: 3, arbitrary: fc.array(table, { maxLength: 6 }).map((ts) => ts.join("\n")) },
        { weight: 1, arbitrary: fc.array(line, { maxLength: 30 }).map((ls) => ls.join("\n")) },
        { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
        { weight: 1, arbitrary: deep },
      ),
      listen: maybe(listen),
      logLevel: maybe(fc.oneof(fc.constantFrom(...LOG_LEVELS), fc.string({ maxLength: 8 }))),
      publicIp: maybe(address),
    }),
    run({ text, listen, logLevel, publicIp }) {
      applyOverrides(parseConfig(text), { listen, logLevel }, { EDGECAM_LISTEN: listen, PI_IP: publicIp });
    },
    allowed: (err) => err instanceof ConfigError,
  };
}
