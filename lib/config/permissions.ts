/**
 * What the process's Deno permissions allow of what a config asks for: a `--config` file it may not
 * read, a `recording.dir` it may not write, a hook's program it may not run, or profiling without the
 * sys permission it needs is one line naming the key or flag and the flag to add, before anything
 * starts, instead of a NotCapable stack trace later.
 */
import type { Config } from "./schema.ts";

/** Asks whether a permission is granted (`Deno.permissions.querySync` in the service). */
export type PermissionQuery = (
  descriptor:
    | { name: "read" | "write"; path: string }
    | { name: "run"; command: string }
    | { name: "sys" },
) => boolean;

/** The real question, asked of the running process. */
export const processPermissions: PermissionQuery = (descriptor) =>
  Deno.permissions.querySync(descriptor).state === "granted";

/** The problem with reading the config file at `path`, or undefined when the process may. */
export function configPathProblem(path: string, granted: PermissionQuery): string | undefined {
  if (granted({ name: "read", path })) return undefined;
  return `--config: "${path}" — this process may not read it: add --allow-read=${path} to the command ` +
    `(the start task reads ./ and /etc/edgecam/)`;
}

/** The problems with what a validated config needs; empty when the process may do all of it. */
export function configPermissionProblems(config: Config, granted: PermissionQuery): string[] {
  const problems: string[] = [];
  const dir = config.recording.dir;
  const missing = (["read", "write"] as const).filter((name) => !granted({ name, path: dir }));
  if (missing.length > 0) {
    const flags = missing.map((name) => `--allow-${name}=${dir}`).join(" ");
    problems.push(
      `recording.dir: "${dir}" — this process may not ${
        missing.join(" or ")
      } there: add ${flags} to the command`,
    );
  }
  config.hooks.forEach((hook, i) => {
    const program = hook.run[0];
    if (program === undefined || granted({ name: "run", command: program })) return;
    problems.push(
      `hooks[${i}].run: "${program}" — this process may not run it: add it to --allow-run ` +
        `(--allow-run=gst-launch-1.0,gst-inspect-1.0,${program})`,
    );
  });
  // node:inspector's Session asks for the sys permission "inspector", which the flag cannot name alone.
  if (config.debug.enabled && !granted({ name: "sys" })) {
    problems.push("debug.enabled: true — CPU profiles need --allow-sys (all of it) for node:inspector");
  }
  return problems;
}
