/**
 * What the process's Deno permissions allow of the paths a config names: a `--config` file it may not
 * read or a `recording.dir` it may not write is one line naming the key or flag and the flag to add,
 * before anything starts, instead of a NotCapable stack trace later.
 */
import type { Config } from "./schema.ts";

/** Asks whether a permission is granted (`Deno.permissions.querySync` in the service). */
export type PermissionQuery = (descriptor: { name: "read" | "write"; path: string }) => boolean;

/** The real question, asked of the running process. */
export const processPermissions: PermissionQuery = (descriptor) =>
  Deno.permissions.querySync(descriptor).state === "granted";

/** The problem with reading the config file at `path`, or undefined when the process may. */
export function configPathProblem(path: string, granted: PermissionQuery): string | undefined {
  if (granted({ name: "read", path })) return undefined;
  return `--config: "${path}" — this process may not read it: add --allow-read=${path} to the command ` +
    `(the start task reads ./ and /etc/edgecam/)`;
}

/** The problems with the folders a validated config writes to; empty when the process may use them. */
export function configPermissionProblems(config: Config, granted: PermissionQuery): string[] {
  const dir = config.recording.dir;
  const missing = (["read", "write"] as const).filter((name) => !granted({ name, path: dir }));
  if (missing.length === 0) return [];
  const flags = missing.map((name) => `--allow-${name}=${dir}`).join(" ");
  return [
    `recording.dir: "${dir}" — this process may not ${
      missing.join(" or ")
    } there: add ${flags} to the command`,
  ];
}
