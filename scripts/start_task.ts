// The permission flags of `deno task start`, read from deno.json: what the tests, the benches and the
// package's launcher run the service with, so none of them drifts from what users run.
import manifest from "../deno.json" with { type: "json" };

/** The start task's flags between `run` and `main.ts`. */
export function startTaskFlags(task = manifest.tasks.start): string[] {
  const words = task.split(/\s+/);
  return words.slice(words.indexOf("run") + 1, words.indexOf("main.ts"));
}
