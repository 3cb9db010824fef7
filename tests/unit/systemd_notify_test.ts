import assert from "node:assert/strict";
import type { Logger } from "../../lib/log.ts";
import { notifySocketAddress, SystemdNotifier, watchdogIntervalMs } from "../../lib/systemd_notify.ts";

const bytes = (text: string) => [...new TextEncoder().encode(text)];

Deno.test("notifySocketAddress: a NOTIFY_SOCKET value's sockaddr_un, as long as its address length", () => {
  const cases: [value: string | undefined, want: number[] | undefined][] = [
    ["/run/systemd/notify", [1, 0, ...bytes("/run/systemd/notify"), 0]],
    ["@edgecam", [1, 0, 0, ...bytes("edgecam")]],
    ["/tmp/é", [1, 0, ...bytes("/tmp/é"), 0]],
    [`/${"a".repeat(106)}`, [1, 0, ...bytes(`/${"a".repeat(106)}`), 0]],
    [`@${"a".repeat(107)}`, [1, 0, 0, ...bytes("a".repeat(107))]],
    ["", undefined],
    [undefined, undefined],
    ["@", undefined],
    ["run/systemd/notify", undefined],
    ["vsock:2:1234", undefined],
    [`/${"a".repeat(107)}`, undefined],
    [`@${"a".repeat(108)}`, undefined],
  ];
  for (const [value, want] of cases) {
    const got = notifySocketAddress(value);
    assert.deepEqual(got && [...got], want, `${value?.slice(0, 30)} (${value?.length} chars)`);
  }
});

Deno.test("watchdogIntervalMs: half of WATCHDOG_USEC, for this process only", () => {
  const pid = 4242;
  const cases: [name: string, env: { WATCHDOG_USEC?: string; WATCHDOG_PID?: string }, want?: number][] = [
    ["30 s without WATCHDOG_PID: 15 s", { WATCHDOG_USEC: "30000000" }, 15000],
    ["30 s for this pid", { WATCHDOG_USEC: "30000000", WATCHDOG_PID: "4242" }, 15000],
    ["1 s: 500 ms", { WATCHDOG_USEC: "1000000" }, 500],
    ["a microsecond still pings, every millisecond", { WATCHDOG_USEC: "1" }, 1],
    ["for another pid: none", { WATCHDOG_USEC: "30000000", WATCHDOG_PID: "1" }, undefined],
    ["a garbage pid: none", { WATCHDOG_USEC: "30000000", WATCHDOG_PID: "me" }, undefined],
    ["garbage: none", { WATCHDOG_USEC: "30s" }, undefined],
    ["negative: none", { WATCHDOG_USEC: "-1" }, undefined],
    ["zero (disabled): none", { WATCHDOG_USEC: "0" }, undefined],
    ["empty: none", { WATCHDOG_USEC: "" }, undefined],
    ["unset: none", {}, undefined],
    ["only a pid: none", { WATCHDOG_PID: "4242" }, undefined],
  ];
  for (const [name, env, want] of cases) assert.equal(watchdogIntervalMs(env, pid), want, name);
});

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const push = (level: string) => (msg: string) => lines.push(`${level} ${msg}`);
  return { lines, debug: push("debug"), info: push("info"), warn: push("warn"), error: push("error") };
}

Deno.test("SystemdNotifier without NOTIFY_SOCKET does nothing, watchdog included, and logs nothing", () => {
  const log = recordingLogger();
  const notifier = new SystemdNotifier({ WATCHDOG_USEC: "30000000" }, log);
  assert.equal(notifier.enabled, false);
  assert.equal(notifier.watchdogMs, undefined);
  notifier.ready("listening");
  notifier.startWatchdog();
  notifier.stopping();
  notifier.close();
  assert.deepEqual(log.lines, []);
});

Deno.test("SystemdNotifier with an unusable NOTIFY_SOCKET says so once and does nothing", () => {
  const log = recordingLogger();
  const notifier = new SystemdNotifier({ NOTIFY_SOCKET: "relative/path" }, log);
  assert.equal(notifier.enabled, false);
  notifier.ready();
  notifier.stopping();
  notifier.close();
  assert.equal(log.lines.length, 1);
  assert.match(log.lines[0], /^warn NOTIFY_SOCKET=relative\/path is not a socket path/);
});

Deno.test("SystemdNotifier: a socket nobody listens on is one warning, never an exception", () => {
  const log = recordingLogger();
  const notifier = new SystemdNotifier(
    { NOTIFY_SOCKET: `/tmp/edgecam-nobody-${crypto.randomUUID()}.sock` },
    log,
  );
  notifier.ready("listening");
  notifier.stopping();
  notifier.stopping();
  notifier.close();
  assert.equal(log.lines.length, 1, log.lines.join("\n"));
  assert.match(log.lines[0], /^warn cannot tell systemd READY=1 \(sendto failed, errno 2\)/);
});
