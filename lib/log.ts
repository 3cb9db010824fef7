/** Log lines: levels, a service's log and its component loggers, and a rate limit for noisy sources. */
/** Log levels, from most to least verbose. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = typeof LOG_LEVELS[number];

/** A logger that prefixes every line with its component name. */
export interface Logger {
  /** Verbose detail for debugging. */
  debug(msg: string): void;
  /** Normal operation. */
  info(msg: string): void;
  /** Something went wrong and was handled. */
  warn(msg: string): void;
  /** Something went wrong and was not handled. */
  error(msg: string): void;
}

/**
 * One service's log: the lowest level it prints and the loggers of its components. Each service has its
 * own, so two services in one process (tests, benches) keep their own levels. Lines go to stderr so
 * stdout stays free for tools.
 *
 * @example
 * ```ts
 * const log = new Log("debug");
 * log.logger("camera front").info("running");
 * ```
 */
export class Log {
  #threshold: number;

  /** @param level the lowest level printed. */
  constructor(level: LogLevel = "info") {
    this.#threshold = LOG_LEVELS.indexOf(level);
  }

  /** Sets the lowest level that is printed. */
  setLevel(level: LogLevel): void {
    this.#threshold = LOG_LEVELS.indexOf(level);
  }

  /** A logger that prefixes every line with its component's name. */
  logger(component: string): Logger {
    const emit = (level: LogLevel) => (msg: string) => {
      if (LOG_LEVELS.indexOf(level) < this.#threshold) return;
      console.error(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} [${component}] ${msg}`);
    };
    return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
  }
}

/**
 * Lets at most `burst` lines through per `windowMs`, then counts what it held back and reports the
 * count with the next line let through, so a crashing encoder cannot flood the journal.
 */
export class RateLimitedLog {
  #windowStart = 0;
  #inWindow = 0;
  #suppressed = 0;

  constructor(
    private readonly sink: (msg: string) => void,
    private readonly burst = 20,
    private readonly windowMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Logs `msg` unless the window's budget is spent. */
  write(msg: string): void {
    const t = this.now();
    if (t - this.#windowStart >= this.windowMs) {
      this.#windowStart = t;
      this.#inWindow = 0;
    }
    if (this.#inWindow >= this.burst) {
      this.#suppressed++;
      return;
    }
    this.#inWindow++;
    if (this.#suppressed > 0) {
      this.sink(`(${this.#suppressed} lines suppressed) ${msg}`);
      this.#suppressed = 0;
    } else {
      this.sink(msg);
    }
  }
}
