/** The packages `deno task package` builds, for the tests that run them: where each is, and unpacking one. */
import assert from "node:assert/strict";
import manifest from "../../deno.json" with { type: "json" };

const ROOT = new URL("../../", import.meta.url).pathname;

/** A package target. */
export type PackageArch = "x64" | "arm64";

/** The archive `deno task package` made for a target; the test setup (scripts/test.sh) builds both. */
export function packageArchive(arch: PackageArch): string {
  const path = `${ROOT}dist/edgecam-${manifest.version}-linux-${arch}.tar.gz`;
  try {
    Deno.statSync(path);
  } catch {
    throw new Error(`${path} is missing: run deno task package --arch ${arch} (scripts/test.sh does)`);
  }
  return path;
}

/** Unpacks a target's archive into a new empty folder; returns the package's own folder inside it. */
export async function unpack(arch: PackageArch): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: `edgecam-${arch}-` });
  const out = await new Deno.Command("tar", {
    args: ["-xzf", packageArchive(arch), "-C", dir],
    stderr: "piped",
  })
    .output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return `${dir}/edgecam-${manifest.version}-linux-${arch}`;
}
