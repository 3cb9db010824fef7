import assert from "node:assert/strict";
import manifest from "../../deno.json" with { type: "json" };
import { freePort, waitFor } from "../helpers/edgecam.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const SSHD = "/usr/sbin/sshd";

async function sh(cmd: string, args: string[], options: Deno.CommandOptions = {}) {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", ...options }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

/** Fails naming the package when an ssh tool is missing. */
function requireSsh(): void {
  for (
    const [tool, pkg] of [[SSHD, "openssh-server"], ["/usr/bin/ssh", "openssh-client"], [
      "/usr/bin/scp",
      "openssh-client",
    ]]
  ) {
    try {
      Deno.statSync(tool);
    } catch {
      throw new Error(`${tool} is missing: apt install ${pkg} (./scripts/bootstrap.sh --test does)`);
    }
  }
}

/** An sshd of the test's own on a loopback port, taking one throwaway key for the current user. */
async function startSshd(dir: string) {
  const port = freePort();
  for (const name of ["host_key", "client_key"]) {
    const res = await sh("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", `${dir}/${name}`]);
    assert.equal(res.code, 0, res.stderr);
  }
  await Deno.copyFile(`${dir}/client_key.pub`, `${dir}/authorized_keys`);
  await Deno.writeTextFile(
    `${dir}/sshd_config`,
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${dir}/host_key`,
      `AuthorizedKeysFile ${dir}/authorized_keys`,
      `PidFile ${dir}/sshd.pid`,
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PermitRootLogin prohibit-password",
      "StrictModes no",
      "UsePAM no",
      // scp speaks SFTP since OpenSSH 9, as every Debian and Pi OS sshd offers it.
      "Subsystem sftp /usr/lib/openssh/sftp-server",
      "",
    ].join("\n"),
  );
  // The privilege separation folder sshd insists on when it runs as root.
  if (Deno.uid() === 0) await Deno.mkdir("/run/sshd", { recursive: true });
  const child = new Deno.Command(SSHD, {
    args: ["-D", "-e", "-f", `${dir}/sshd_config`],
    stdout: "null",
    stderr: "piped",
  })
    .spawn();
  await waitFor("sshd listening", async () => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port }).catch(() => undefined);
    conn?.close();
    return conn ? true : undefined;
  });
  return { port, key: `${dir}/client_key`, child };
}

Deno.test("deploy.sh builds the package, installs it over ssh, waits for /health and prints the viewer URL", async () => {
  requireSsh();
  const dir = await Deno.makeTempDir({ prefix: "edgecam-deploy-" });
  const prefix = `${dir}/target`;
  const httpPort = freePort();
  const sshd = await startSshd(dir);
  try {
    // The target's own config, kept by install.sh: one small camera on a free port.
    await Deno.mkdir(`${prefix}/etc/edgecam`, { recursive: true });
    await Deno.writeTextFile(
      `${prefix}/etc/edgecam/config.toml`,
      `[server]\nlisten = "127.0.0.1"\nport = ${httpPort}\n[shm]\nprefix = "deploy-${
        crypto.randomUUID().slice(0, 8)
      }"\n` +
        `[[cameras]]\nname = "front"\nwidth = 320\nheight = 240\n`,
    );
    const user = (await sh("id", ["-un"])).stdout.trim();
    const copies = () =>
      [...Deno.readDirSync("/tmp")].filter((e) => e.name.startsWith("edgecam-deploy.")).map((e) => e.name);
    const before = copies();
    const deploy = await sh(`${ROOT}scripts/deploy.sh`, [
      `${user}@127.0.0.1`,
      "--ssh-port",
      String(sshd.port),
      "-i",
      sshd.key,
      "--http-port",
      String(httpPort),
      "--",
      "--prefix",
      prefix,
      "--no-systemd",
      "--no-apt",
    ], {
      env: {
        DEPLOY_SSH_OPTS: "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
      },
    });
    assert.equal(deploy.code, 0, deploy.stderr);
    // The target's architecture came from its `uname -m`, and the package was built for it.
    assert.match(deploy.stderr, new RegExp(`copying edgecam-${manifest.version}-linux-x64 to `));
    assert.equal(deploy.stdout.trim(), `viewer: http://127.0.0.1:${httpPort}/`);
    assert.equal(await Deno.readLink(`${prefix}/opt/edgecam/current`), manifest.version);
    const health = await fetch(`http://127.0.0.1:${httpPort}/health`);
    assert.equal(health.status, 200);
    assert.match(await health.text(), /"front":"running"/);
    // Nothing left behind in the target's /tmp.
    assert.deepEqual(copies(), before);
  } finally {
    const pidfile = `${prefix}/var/lib/edgecam/edgecam.pid`;
    try {
      Deno.kill(Number(await Deno.readTextFile(pidfile)), "SIGTERM");
    } catch {
      // Never started.
    }
    sshd.child.kill("SIGTERM");
    await sshd.child.status;
    await sshd.child.stderr.cancel();
    await new Promise((r) => setTimeout(r, 500));
    await Deno.remove(dir, { recursive: true });
  }
});
