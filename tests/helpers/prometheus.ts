/** Reading a Prometheus exposition in tests: promtool's verdict on it, and the value of one series. */
import assert from "node:assert/strict";

/** Runs `promtool check metrics` on the text; its exit code and everything it printed. */
export async function promtoolCheck(text: string): Promise<{ code: number; output: string }> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("promtool", {
      args: ["check", "metrics"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(
        "promtool is not installed: apt install prometheus (./scripts/bootstrap.sh --test does)",
      );
    }
    throw err;
  }
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const out = await child.output();
  const decode = new TextDecoder();
  return { code: out.code, output: (decode.decode(out.stdout) + decode.decode(out.stderr)).trim() };
}

/** Every series of an exposition by its name and labels exactly as printed, e.g. `a_total{stream="x"}`. */
export function parseExposition(text: string): Map<string, number> {
  const series = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    const value = line.slice(at + 1);
    series.set(line.slice(0, at), value === "+Inf" ? Infinity : Number(value));
  }
  return series;
}

/** The families an exposition declares (its `# TYPE` lines), name → type. */
export function familyTypes(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
}

/** Scrapes `url` and returns its series; fails unless it answers 200 in the text format. */
export async function scrape(
  url: string,
  headers: HeadersInit = {},
): Promise<{ text: string; series: Map<string, number> }> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  return { text, series: parseExposition(text) };
}
