import assert from "node:assert/strict";
import manifest from "../../deno.json" with { type: "json" };
import { freePort, startTaskFlags, waitFor } from "../helpers/edgecam.ts";
import { packageArchive, unpack } from "../helpers/package.ts";

const VERSION = manifest.version;

/** Runs a command to its end; its exit code and output. */
async function sh(cmd: string, args: string[], options: Deno.CommandOptions = {}) {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", ...options }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

/** A config of one small test camera on `port`, with rings of its own prefix. */
function smallConfig(port: number): string {
  return `[server]\nlisten = "127.0.0.1"\nport = ${port}\n[shm]\nprefix = "pkg-${
    crypto.randomUUID().slice(0, 8)
  }"\n` +
    `[recording]\nmin_free_bytes = 0\n[[cameras]]\nname = "front"\nwidth = 320\nheight = 240\nrecord = true\n`;
}

Deno.test("the x64 package holds what it lists, and from an empty folder runs offline on the test pattern", async () => {
  const dir = await unpack("x64");
  const home = await Deno.makeTempDir({ prefix: "edgecam-home-" });
  const port = freePort();
  try {
    const files = (await sh("tar", ["-tzf", packageArchive("x64")])).stdout.split("\n");
    for (
      const file of [
        "edgecam",
        "bin/deno",
        "app/edgecam.js",
        "static/index.html",
        "config.toml",
        "edgecam.service",
        "install.sh",
        "SHA256SUMS",
        "VERSION",
      ]
    ) {
      assert.ok(files.includes(`edgecam-${VERSION}-linux-x64/${file}`), `${file} in the archive`);
    }
    assert.equal((await sh("sha256sum", ["--quiet", "-c", "SHA256SUMS"], { cwd: dir })).code, 0);
    const launcher = await Deno.readTextFile(`${dir}/edgecam`);
    // The start task's flags exactly, but for reading the package folder itself.
    for (const flag of startTaskFlags()) {
      const expected = flag.startsWith("--allow-read=") ? `--allow-read=.,"$ETC","$HERE"` : flag;
      assert.ok(launcher.includes(` ${expected} `), `${expected} in the launcher`);
    }
    await Deno.writeTextFile(`${dir}/test.toml`, smallConfig(port));
    // A network namespace with only loopback: nothing can be fetched. No PATH but the system's, an empty
    // HOME, and no Deno, npm or cache anywhere but the folder.
    const child = new Deno.Command("unshare", {
      args: ["-n", "sh", "-c", "ip link set lo up && exec ./edgecam --config test.toml"],
      cwd: dir,
      clearEnv: true,
      env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", HOME: home },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const inside = (args: string[]) => sh("nsenter", ["-t", String(child.pid), "-n", ...args]);
    try {
      const health = await waitFor("health inside the namespace", async () => {
        const res = await inside(["curl", "-s", `http://127.0.0.1:${port}/health`]);
        return res.stdout.includes('"ok"') ? res.stdout : undefined;
      }, 30_000);
      assert.match(health, /"front":"running"/);
      const status = JSON.parse((await inside(["curl", "-s", `http://127.0.0.1:${port}/status`])).stdout);
      for (const library of ["libcrypto.so.3", "libc.so.6"]) {
        assert.deepEqual(
          status.native_libraries.find((l: { library: string }) => l.library === library),
          { library, loaded: true, instead: null },
          "the native send path, not the fallback",
        );
      }
      const page = await inside(["curl", "-s", `http://127.0.0.1:${port}/`]);
      assert.match(page.stdout, /<title>edgecam<\/title>/);
      await waitFor("a recorded part in the working folder", async () => {
        const res = await inside(["curl", "-s", `http://127.0.0.1:${port}/api/streams/front/recording`]);
        return JSON.parse(res.stdout || "{}").bytes_written > 0 || undefined;
      });
      assert.ok([...Deno.readDirSync(`${dir}/recordings/front`)].length > 0);
      assert.ok(Deno.statSync(`${dir}/.deno`).isDirectory, "Deno's cache is inside the folder");
      assert.ok(Deno.statSync(`${dir}/.cache/gstreamer-1.0`).isDirectory, "GStreamer's registry too");
      assert.deepEqual([...Deno.readDirSync(home)], [], "nothing written to HOME");
    } finally {
      child.kill("SIGTERM");
      const status = await child.status;
      const log = new TextDecoder().decode((await new Response(child.stderr).arrayBuffer()) as ArrayBuffer);
      await child.stdout.cancel();
      assert.equal(status.code, 0, log);
    }
  } finally {
    await Deno.remove(dir.replace(/\/[^/]+$/, ""), { recursive: true });
    await Deno.remove(home, { recursive: true });
  }
});

/** The service install.sh started without systemd: its pid file's process, and whether /health answers. */
async function backgroundService(prefix: string, port: number) {
  const pid = Number(await Deno.readTextFile(`${prefix}/var/lib/edgecam/edgecam.pid`));
  await waitFor("the installed service's health", async () => {
    const res = await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined);
    await res?.body?.cancel();
    return res?.status === 200 || undefined;
  }, 30_000);
  return pid;
}

Deno.test("install.sh installs into a prefix, keeps the config, upgrades by switching a link and rolls back", async () => {
  const dir = await unpack("x64");
  const prefix = await Deno.makeTempDir({ prefix: "edgecam-prefix-" });
  const port = freePort();
  const opt = `${prefix}/opt/edgecam`;
  const pids: number[] = [];
  const install = async (pkg: string, ...args: string[]) => {
    const res = await sh(`${pkg}/install.sh`, ["--prefix", prefix, "--no-systemd", "--no-apt", ...args]);
    assert.equal(res.code, 0, res.stderr);
    return res.stderr;
  };
  try {
    await Deno.mkdir(`${prefix}/etc/edgecam`, { recursive: true });
    const config = smallConfig(port);
    await Deno.writeTextFile(`${prefix}/etc/edgecam/config.toml`, config);
    await install(dir);
    assert.equal(await Deno.readLink(`${opt}/current`), VERSION);
    pids.push(await backgroundService(prefix, port));
    // Twice is safe: same version, same folder, config untouched, the service restarted.
    await install(dir);
    assert.equal(await Deno.readLink(`${opt}/current`), VERSION);
    assert.equal(await Deno.readTextFile(`${prefix}/etc/edgecam/config.toml`), config);
    pids.push(await backgroundService(prefix, port));
    assert.notEqual(pids[1], pids[0]);

    // A newer version: a folder beside the old one and the link switched.
    const next = `${dir}-next`;
    await sh("cp", ["-a", dir, next]);
    await Deno.writeTextFile(`${next}/VERSION`, "9.9.9\n");
    const sums = await sh("sh", ["-c", "sha256sum $(cut -c67- SHA256SUMS)"], { cwd: next });
    await Deno.writeTextFile(`${next}/SHA256SUMS`, sums.stdout);
    await install(next);
    assert.equal(await Deno.readLink(`${opt}/current`), "9.9.9");
    assert.equal(await Deno.readLink(`${opt}/previous`), VERSION);
    assert.ok(Deno.statSync(`${opt}/${VERSION}/bin/deno`).isFile, "the old version stays for a rollback");
    pids.push(await backgroundService(prefix, port));

    const back = await install(next, "--rollback");
    assert.match(back, /rolled back from 9\.9\.9 to /);
    assert.equal(await Deno.readLink(`${opt}/current`), VERSION);
    assert.equal(await Deno.readLink(`${opt}/previous`), "9.9.9");
    pids.push(await backgroundService(prefix, port));

    // A damaged package is refused before anything changes.
    await Deno.writeTextFile(`${next}/app/edgecam.js`, "// damaged\n", { append: true });
    const damaged = await sh(`${next}/install.sh`, ["--prefix", prefix, "--no-systemd", "--no-apt"]);
    assert.notEqual(damaged.code, 0);
    assert.match(damaged.stderr, /SHA256SUMS does not match/);
    assert.equal(await Deno.readLink(`${opt}/current`), VERSION);
  } finally {
    for (const pid of pids) {
      try {
        Deno.kill(pid, "SIGTERM");
      } catch {
        // Already replaced by the next install.
      }
    }
    await new Promise((r) => setTimeout(r, 500));
    await Deno.remove(prefix, { recursive: true });
    await Deno.remove(dir.replace(/\/[^/]+$/, ""), { recursive: true });
  }
});

Deno.test("the unit verifies clean for the installed layout and scores at most 3.0 exposed", async () => {
  const dir = await unpack("x64");
  const prefix = await Deno.makeTempDir({ prefix: "edgecam-unit-" });
  try {
    const unit = await Deno.readTextFile(`${dir}/edgecam.service`);
    // The installed layout, below a prefix: the launcher the unit starts must exist and be executable.
    await Deno.mkdir(`${prefix}/opt/edgecam`, { recursive: true });
    await Deno.symlink(dir, `${prefix}/opt/edgecam/current`);
    const unitPath = `${prefix}/edgecam.service`;
    await Deno.writeTextFile(unitPath, unit.replaceAll("/opt/edgecam", `${prefix}/opt/edgecam`));
    const verify = await sh("systemd-analyze", ["verify", unitPath]);
    assert.equal(verify.code, 0, verify.stderr);
    assert.equal(verify.stderr.trim() + verify.stdout.trim(), "", "systemd-analyze verify says nothing");
    const security = await sh("systemd-analyze", ["security", "--offline=true", `${dir}/edgecam.service`]);
    const score = Number(/Overall exposure level for edgecam\.service: ([\d.]+)/.exec(security.stdout)?.[1]);
    assert.ok(score <= 3.0, `exposure ${score}:\n${security.stdout}`);
    for (
      const line of [
        "Type=notify",
        "WatchdogSec=",
        "DevicePolicy=closed",
        "CapabilityBoundingSet=\n",
        "UMask=0077",
      ]
    ) {
      assert.ok(unit.includes(line), line);
    }
    assert.ok(!unit.includes("MemoryDenyWriteExecute=yes"), "V8's JIT needs W+X memory");
  } finally {
    await Deno.remove(prefix, { recursive: true });
    await Deno.remove(dir.replace(/\/[^/]+$/, ""), { recursive: true });
  }
});
