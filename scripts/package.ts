// `deno task package [--arch x64,arm64]`: the offline Pi artifact. For each target it builds
// dist/edgecam-<version>-linux-<arch>.tar.gz holding the bundled app, static/, the Deno runtime for that
// target (npm's @deno/linux-<arch>-glibc, checked against scripts/package/deno-runtimes.sha256), the
// launcher `edgecam`, the systemd unit, an example config, install.sh and SHA256SUMS. Unpacked anywhere,
// `./edgecam` runs with nothing but GStreamer installed: no npm, no network, no cache outside its folder.
import { parseArgs } from "node:util";
import manifest from "../deno.json" with { type: "json" };
import { startTaskFlags } from "./start_task.ts";

/** The targets a package can be made for: Raspberry Pi OS 64-bit and x86-64 Linux, both glibc. */
export const ARCHES = ["arm64", "x64"] as const;
/** One of {@link ARCHES}. */
export type Arch = typeof ARCHES[number];

const ROOT = new URL("../", import.meta.url).pathname;
const RUNTIMES = `${ROOT}.tools/runtimes`;
const CHECKSUMS = `${ROOT}scripts/package/deno-runtimes.sha256`;

/** The package's folder and archive names for a target. */
export function packageName(arch: Arch, version = manifest.version): string {
  return `edgecam-${version}-linux-${arch}`;
}

/**
 * The launcher's text: the start task's permission flags exactly, with read access to the package's own
 * folder added (the page's files; under systemd the working folder is the state folder, not this one).
 * `EDGECAM_ETC` moves /etc/edgecam for a staged install (install.sh --prefix).
 */
export function launcher(startTask: string, version: string, arch: Arch): string {
  const flags = startTaskFlags(startTask).map((flag) =>
    flag.startsWith("--allow-read=")
      ? `--allow-read=${flag.slice("--allow-read=".length).replace("/etc/edgecam", '"$ETC"')},"$HERE"`
      : flag
  );
  return `#!/bin/sh
# edgecam ${version} for linux-${arch}: runs the bundled service on the Deno runtime in this folder with
# the permission flags of \`deno task start\`, plus reading this folder (the viewer page's files).
set -eu
HERE=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd -P)
ETC="\${EDGECAM_ETC:-/etc/edgecam}"
# Deno's caches and GStreamer's plugin registry stay in this folder unless the unit points them at its
# cache directory.
export DENO_DIR="\${DENO_DIR:-$HERE/.deno}"
export XDG_CACHE_HOME="\${XDG_CACHE_HOME:-$HERE/.cache}"
export DENO_NO_UPDATE_CHECK=1
exec "$HERE/bin/deno" run --no-config --cached-only ${flags.join(" ")} "$HERE/app/edgecam.js" "$@"
`;
}

async function run(cmd: string, args: string[], cwd = ROOT): Promise<void> {
  const { success, stderr } = await new Deno.Command(cmd, { args, cwd, stdout: "null", stderr: "piped" })
    .output();
  if (!success) throw new Error(`${cmd} ${args.join(" ")} failed:\n${new TextDecoder().decode(stderr)}`);
}

async function sha256(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The runtime package for a target, fetched once into .tools/runtimes/ and checked against its pinned SHA-256. */
async function runtimeArchive(arch: Arch): Promise<string> {
  const file = `deno-linux-${arch}-glibc-${Deno.version.deno}.tgz`;
  const pinned = (await Deno.readTextFile(CHECKSUMS)).split("\n").find((l) => l.endsWith(`  ${file}`));
  if (!pinned) throw new Error(`no SHA-256 for ${file} in ${CHECKSUMS}: add it when moving to this Deno`);
  const path = `${RUNTIMES}/${file}`;
  try {
    await Deno.stat(path);
  } catch {
    await Deno.mkdir(RUNTIMES, { recursive: true });
    await run("npm", [
      "pack",
      `@deno/linux-${arch}-glibc@${Deno.version.deno}`,
      "--pack-destination",
      RUNTIMES,
    ]);
  }
  const actual = await sha256(path);
  if (actual !== pinned.split(" ")[0]) {
    await Deno.remove(path);
    throw new Error(`${file}: SHA-256 ${actual} is not the pinned ${pinned.split(" ")[0]}; removed it`);
  }
  return path;
}

/** Every file below `dir`, relative to it, sorted. */
function filesBelow(dir: string, prefix = ""): string[] {
  return [...Deno.readDirSync(`${dir}/${prefix}`)].flatMap((entry) => {
    const rel = `${prefix}${entry.name}`;
    return entry.isDirectory ? filesBelow(dir, `${rel}/`) : [rel];
  }).sort();
}

/** Builds one target's package from the bundle at `bundle`; returns the archive's path. */
async function buildPackage(arch: Arch, bundle: string): Promise<string> {
  const name = packageName(arch);
  const dir = `${ROOT}dist/${name}`;
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(`${dir}/bin`, { recursive: true });
  await Deno.mkdir(`${dir}/app`);
  await run("tar", [
    "-xzf",
    await runtimeArchive(arch),
    "-C",
    `${dir}/bin`,
    "--strip-components=1",
    "package/deno",
  ]);
  await Deno.chmod(`${dir}/bin/deno`, 0o755);
  await Deno.copyFile(bundle, `${dir}/app/edgecam.js`);
  await run("cp", ["-r", `${ROOT}static`, `${dir}/static`]);
  await Deno.copyFile(`${ROOT}config.toml`, `${dir}/config.toml`);
  await Deno.copyFile(`${ROOT}scripts/package/edgecam.service`, `${dir}/edgecam.service`);
  await Deno.copyFile(`${ROOT}scripts/package/install.sh`, `${dir}/install.sh`);
  await Deno.chmod(`${dir}/install.sh`, 0o755);
  await Deno.writeTextFile(`${dir}/VERSION`, `${manifest.version}\n`);
  await Deno.writeTextFile(`${dir}/edgecam`, launcher(manifest.tasks.start, manifest.version, arch), {
    mode: 0o755,
  });
  const sums = [];
  for (const file of filesBelow(dir)) sums.push(`${await sha256(`${dir}/${file}`)}  ${file}`);
  await Deno.writeTextFile(`${dir}/SHA256SUMS`, sums.join("\n") + "\n");
  const archive = `${ROOT}dist/${name}.tar.gz`;
  await run("tar", ["--owner=0", "--group=0", "--numeric-owner", "-czf", archive, "-C", `${ROOT}dist`, name]);
  await Deno.remove(dir, { recursive: true });
  return archive;
}

if (import.meta.main) {
  const { values } = parseArgs({ args: Deno.args, options: { arch: { type: "string" } } });
  const arches = (values.arch?.split(",") ?? [...ARCHES]) as Arch[];
  for (const arch of arches) {
    if (!ARCHES.includes(arch)) throw new Error(`--arch: "${arch}" is not one of ${ARCHES.join(", ")}`);
  }
  const bundle = `${ROOT}dist/edgecam.js`;
  await run(Deno.execPath(), ["task", "--quiet", "bundle"]);
  for (const arch of arches) console.log(await buildPackage(arch, bundle));
}
