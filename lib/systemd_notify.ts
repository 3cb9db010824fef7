/**
 * Telling systemd (a `Type=notify` unit) that edgecam is ready, alive and stopping, with sd_notify's
 * datagrams sent over the socket `NOTIFY_SOCKET` names. Deno cannot send on a Unix datagram socket, and
 * libsystemd is not worth a dependency for three text messages, so libc's `socket`/`sendto` are bound
 * through FFI (under the `--allow-ffi` the service already has).
 */
import type { Logger } from "./log.ts";
import { requiredLibrary } from "./native_library.ts";

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
/** So a child (gst-launch, a hook program) never inherits the descriptor. */
const SOCK_CLOEXEC = 0x80000;
/** A receiver gone away must be an error code, not a SIGPIPE that kills the process. */
const MSG_NOSIGNAL = 0x4000;
/** Bytes of `sun_path` in Linux's `struct sockaddr_un`. */
const SUN_PATH_BYTES = 108;
/** Bytes of `sun_family`, before `sun_path`. */
const SUN_FAMILY_BYTES = 2;

const libc = requiredLibrary(
  "libc.so.6",
  {
    socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
    // ssize_t read as i32: a notification is a few dozen bytes and -1 stays -1, with no BigInt.
    sendto: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"], result: "i32" },
    close: { parameters: ["i32"], result: "i32" },
    __errno_location: { parameters: [], result: "pointer" },
  } as const,
);

function errno(): number {
  return new Deno.UnsafePointerView(libc().__errno_location()!).getInt32();
}

/**
 * The `struct sockaddr_un` of a `NOTIFY_SOCKET` value, exactly as long as the address length to pass
 * with it: an absolute path (NUL-terminated), or `@name` for the abstract namespace (a leading NUL and
 * no terminator, as the name's length is the address length). Undefined for an empty value, one that
 * is neither, or one too long for `sun_path`.
 */
export function notifySocketAddress(value: string | undefined): Uint8Array | undefined {
  if (!value || (value[0] !== "/" && value[0] !== "@")) return undefined;
  const abstract = value[0] === "@";
  const name = new TextEncoder().encode(abstract ? value.slice(1) : value);
  if (abstract && name.length === 0) return undefined;
  // One byte more either way: the abstract namespace's leading NUL, or a path's terminating one.
  const pathBytes = name.length + 1;
  if (pathBytes > SUN_PATH_BYTES) return undefined;
  const address = new Uint8Array(SUN_FAMILY_BYTES + pathBytes);
  new DataView(address.buffer).setUint16(0, AF_UNIX, true);
  address.set(name, SUN_FAMILY_BYTES + (abstract ? 1 : 0));
  return address;
}

/** The watchdog variables systemd sets for a unit with `WatchdogSec=`. */
export interface WatchdogEnv {
  /** The watchdog timeout in microseconds. */
  WATCHDOG_USEC?: string;
  /** The process the timeout is meant for; absent means whoever reads it. */
  WATCHDOG_PID?: string;
}

/**
 * How often to send `WATCHDOG=1`, in milliseconds: half the timeout, as sd_watchdog_enabled(3)
 * advises, so one late ping is not yet a restart. Undefined when no watchdog is set, when the values
 * are not positive integers, or when `WATCHDOG_PID` names another process (the variables were inherited
 * from a parent that is the one watched).
 */
export function watchdogIntervalMs(env: WatchdogEnv, pid: number): number | undefined {
  const usec = env.WATCHDOG_USEC;
  if (usec === undefined || !/^\d+$/.test(usec) || Number(usec) === 0) return undefined;
  if (env.WATCHDOG_PID !== undefined) {
    if (!/^\d+$/.test(env.WATCHDOG_PID) || Number(env.WATCHDOG_PID) !== pid) return undefined;
  }
  return Math.max(1, Math.floor(Number(usec) / 2000));
}

/** The environment a {@link SystemdNotifier} is made from: `Deno.env`'s under systemd. */
export interface NotifyEnv extends WatchdogEnv {
  /** The socket systemd listens on: a path, or `@name` in the abstract namespace. */
  NOTIFY_SOCKET?: string;
}

/**
 * sd_notify for this process: readiness, stopping and the watchdog's pings. Without `NOTIFY_SOCKET`
 * (not under systemd, or a unit not of `Type=notify`) every method does nothing and libc is never
 * bound. A message that cannot be sent is logged once and never thrown: the service runs on, and a
 * unit that misses READY=1 or the pings says so itself.
 *
 * @example
 * ```ts
 * const systemd = SystemdNotifier.fromEnv(log.logger("systemd"));
 * systemd.ready("listening on 0.0.0.0:8080");
 * systemd.startWatchdog();
 * ```
 */
export class SystemdNotifier {
  readonly #address: Uint8Array | undefined;
  readonly #watchdogMs: number | undefined;
  readonly #log: Logger;
  #fd: number | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #warned = false;

  /** @param pid this process, to match against `WATCHDOG_PID`. */
  constructor(env: NotifyEnv, log: Logger, pid: number = Deno.pid) {
    this.#log = log;
    this.#address = notifySocketAddress(env.NOTIFY_SOCKET);
    if (env.NOTIFY_SOCKET && !this.#address) {
      log.warn(`NOTIFY_SOCKET=${env.NOTIFY_SOCKET} is not a socket path or @name: systemd is not told`);
    }
    this.#watchdogMs = this.#address ? watchdogIntervalMs(env, pid) : undefined;
  }

  /** A notifier for the variables systemd set in this process's environment. */
  static fromEnv(log: Logger): SystemdNotifier {
    // An --allow-env narrowed to edgecam's own variables must not stop the service from starting.
    const unreadable: string[] = [];
    const read = (name: string) => {
      try {
        return Deno.env.get(name);
      } catch (err) {
        if (!(err instanceof Deno.errors.NotCapable)) throw err;
        unreadable.push(name);
      }
    };
    const env = {
      NOTIFY_SOCKET: read("NOTIFY_SOCKET"),
      WATCHDOG_USEC: read("WATCHDOG_USEC"),
      WATCHDOG_PID: read("WATCHDOG_PID"),
    };
    if (unreadable.length > 0) {
      // A unit with a socket but no readable watchdog would be killed at every timeout: worth a warning.
      log[env.NOTIFY_SOCKET ? "warn" : "info"](
        `--allow-env does not grant ${unreadable.join(", ")}: systemd is not told all it could be`,
      );
    }
    return new SystemdNotifier(env, log);
  }

  /** Whether systemd is listening: a usable `NOTIFY_SOCKET` was given. */
  get enabled(): boolean {
    return this.#address !== undefined;
  }

  /** The watchdog's ping interval in milliseconds, or undefined where there is no watchdog. */
  get watchdogMs(): number | undefined {
    return this.#watchdogMs;
  }

  /** Sends `READY=1`, with `status` as the `STATUS=` line `systemctl status` shows. */
  ready(status?: string): void {
    this.#send(status === undefined ? "READY=1" : `READY=1\nSTATUS=${oneLine(status)}`);
  }

  /** Sends `STOPPING=1`: the stop that follows is asked for, not a crash. */
  stopping(): void {
    this.#send("STOPPING=1");
  }

  /**
   * Sends `WATCHDOG=1` now and every half timeout, from a timer of the event loop: an event loop that
   * hangs stops the pings, which is what the watchdog is for. The timer never keeps the process alive.
   */
  startWatchdog(): void {
    if (this.#watchdogMs === undefined || this.#timer !== undefined) return;
    this.#send("WATCHDOG=1");
    const timer = setInterval(() => this.#send("WATCHDOG=1"), this.#watchdogMs);
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  /** Stops the watchdog's pings and closes the socket; later messages open it again. */
  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#fd !== undefined) libc().close(this.#fd);
    this.#fd = undefined;
  }

  #send(message: string): void {
    const address = this.#address;
    if (!address) return;
    try {
      // Opened on first use, so a process never told anything never binds libc.
      this.#fd ??= this.#open();
      const bytes = new TextEncoder().encode(message);
      const size = BigInt(bytes.length);
      if (libc().sendto(this.#fd, bytes, size, MSG_NOSIGNAL, address, address.length) < 0) {
        throw new Error(`sendto failed, errno ${errno()}`);
      }
    } catch (err) {
      // A ping every few seconds must not fill the journal; once says systemd is not hearing us.
      if (this.#warned) return;
      this.#warned = true;
      const what = message.split("\n")[0];
      this.#log.warn(
        `cannot tell systemd ${what} (${(err as Error).message}); later failures are not logged`,
      );
    }
  }

  #open(): number {
    const fd = libc().socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw new Error(`socket failed, errno ${errno()}`);
    return fd;
  }
}

/** STATUS= ends at a newline, which would start a new assignment. */
function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, " ");
}
