import assert from "node:assert/strict";
import { startTaskFlags, VIEWER_LINE, waitFor, writeConfig } from "../helpers/edgecam.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

const CONFIG = `[shm]
enabled = false
[[cameras]]
name = "cam"
width = 160
height = 120
`;

/**
 * systemd's side of the protocol: binds an AF_UNIX datagram socket at argv[1] (`@name` in the abstract
 * namespace) and prints each datagram as one JSON string, so a multi-line message stays one line.
 */
const RECEIVER = `
import json, socket, sys
address = sys.argv[1]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind("\\0" + address[1:] if address.startswith("@") else address)
print(json.dumps("bound"), flush=True)
while True:
    print(json.dumps(sock.recv(4096).decode()), flush=True)
`;

/** A datagram the receiver got, with when the test read it. */
interface Datagram {
  text: string;
  at: number;
}

/** Runs the receiver; resolves once it is bound, with the datagrams it prints as they arrive. */
async function notifyReceiver(address: string) {
  const child = new Deno.Command("python3", {
    args: ["-c", RECEIVER, address],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const datagrams: Datagram[] = [];
  const bound = Promise.withResolvers<void>();
  const reading = (async () => {
    let buffered = "";
    for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) {
      buffered += text;
      let newline;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const line = JSON.parse(buffered.slice(0, newline)) as string;
        buffered = buffered.slice(newline + 1);
        if (line === "bound") bound.resolve();
        else datagrams.push({ text: line, at: performance.now() });
      }
    }
    bound.reject(new Error("the receiver exited before binding"));
  })();
  await bound.promise;
  return {
    datagrams,
    async close() {
      child.kill("SIGTERM");
      await child.status;
      await reading;
    },
  };
}

/** Runs main.ts as the start task does, with the environment a Type=notify unit would give it. */
function spawnUnderSystemd(configPath: string, env: Record<string, string>) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...startTaskFlags(), "main.ts", "--config", configPath, "--listen", "127.0.0.1:0"],
    cwd: ROOT,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let log = "";
  const logClosed = (async () => {
    for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) log += text;
  })();
  const stdout = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  /** Reads stdout up to the viewer line, then keeps draining it so the process never blocks. */
  const viewerUrl = (async () => {
    let out = "";
    while (!VIEWER_LINE.test(out)) {
      const { value, done } = await stdout.read();
      if (done) throw new Error(`edgecam exited before listening; log:\n${log}`);
      out += value;
    }
    (async () => {
      while (!(await stdout.read()).done);
    })();
    return out.match(VIEWER_LINE)![1];
  })();
  return { child, viewerUrl, log: () => log, logClosed };
}

/**
 * What a Type=notify unit with WatchdogSec=1 hears from edgecam at `address`: READY=1 with its STATUS
 * once it listens, WATCHDOG=1 every half second, STOPPING=1 on SIGTERM, then a clean exit.
 */
async function readinessWatchdogAndStop(address: string): Promise<void> {
  const receiver = await notifyReceiver(address);
  const configPath = await writeConfig(CONFIG);
  const edgecam = spawnUnderSystemd(configPath, { NOTIFY_SOCKET: address, WATCHDOG_USEC: "1000000" });
  try {
    const url = await edgecam.viewerUrl;
    const ready = await waitFor(
      "READY=1",
      () => receiver.datagrams.find((d) => d.text.startsWith("READY=1")),
    );
    assert.equal(receiver.datagrams[0], ready, "READY=1 is the first message");
    const port = new URL(url).port;
    assert.equal(ready.text, `READY=1\nSTATUS=listening on 127.0.0.1:${port}`);
    // Ready means viewers can connect: the port systemd was told answers.
    const res = await fetch(`http://127.0.0.1:${port}/health`);
    await res.body?.cancel();

    // WATCHDOG_USEC of 1 s: a ping at once, then every 500 ms.
    await new Promise((r) => setTimeout(r, 2500));
    const pings = receiver.datagrams.filter((d) => d.text === "WATCHDOG=1" && d.at - ready.at <= 2500);
    assert.ok(pings.length >= 3, `${pings.length} pings in 2.5 s:\n${edgecam.log()}`);
    assert.ok(pings.length <= 7, `${pings.length} pings in 2.5 s: no more often than every 500 ms`);
    const texts = new Set(receiver.datagrams.map((d) => d.text));
    assert.deepEqual([...texts].sort(), [ready.text, "WATCHDOG=1"], "nothing else before the stop");

    edgecam.child.kill("SIGTERM");
    await waitFor("STOPPING=1", () => receiver.datagrams.find((d) => d.text === "STOPPING=1"));
    const status = await edgecam.child.status;
    await edgecam.logClosed;
    assert.equal(status.code, 0, edgecam.log());
    assert.doesNotMatch(edgecam.log(), /\[systemd\]/, "nothing to warn about");
  } finally {
    try {
      edgecam.child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    await edgecam.child.status;
    await edgecam.logClosed;
    await edgecam.viewerUrl.catch(() => {});
    await receiver.close();
    await Deno.remove(`${ROOT}${configPath}`);
  }
}

Deno.test("NOTIFY_SOCKET a path: READY=1 once listening, watchdog pings, STOPPING=1 on SIGTERM", async () => {
  const dir = await Deno.makeTempDir({ prefix: "edgecam-notify-" });
  try {
    await readinessWatchdogAndStop(`${dir}/notify.sock`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("NOTIFY_SOCKET @name in the abstract namespace: the same messages reach it", async () => {
  await readinessWatchdogAndStop(`@edgecam-test-${crypto.randomUUID().slice(0, 8)}`);
});
