/**
 * `[[hooks]]` at work: each event a hook subscribes to is queued for it and delivered in order, by an
 * HTTP POST of its JSON (with a timeout and retries with backoff) or by running a program without a
 * shell with the event in `EDGECAM_*` variables. Whoever announces an event only appends to a queue:
 * a slow or failing receiver never holds up a frame.
 */
import { backoffDelay, sleep } from "../backoff.ts";
import type { HookConfig } from "../config/schema.ts";
import { eventBody, eventEnvironment, type ServiceEvent } from "../events.ts";
import { type Log, type Logger, RateLimitedLog } from "../log.ts";

/** Events waiting per hook; past it the oldest goes (a receiver down for long only misses the stale ones). */
export const HOOK_QUEUE_LIMIT = 256;
/** First wait before a POST is tried again; it doubles up to RETRY_MAX_MS. */
const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 30_000;
/** Most of a program's output kept for the log. */
const OUTPUT_LOG_CHARS = 500;

/** One hook: its settings, its queue, whether a delivery is under way. */
interface HookState {
  config: HookConfig;
  name: string;
  queue: ServiceEvent[];
  busy: boolean;
  dropped: RateLimitedLog;
}

/** The service's hooks: hand them every event; each hook takes those it subscribed to. */
export class Hooks {
  readonly #hooks: HookState[];
  readonly #log: Logger;
  readonly #stop = new AbortController();

  constructor(configs: HookConfig[], log: Log) {
    this.#log = log.logger("hooks");
    this.#hooks = configs.map((config, i) => {
      const name = `hooks[${i}]`;
      return {
        config,
        name,
        queue: [],
        busy: false,
        dropped: new RateLimitedLog((msg) => this.#log.warn(msg)),
      };
    });
  }

  /** Queues the event for every hook subscribed to it; returns at once. */
  dispatch(event: ServiceEvent): void {
    if (this.#stop.signal.aborted) return;
    for (const hook of this.#hooks) {
      if (!hook.config.on.includes(event.event)) continue;
      if (hook.queue.length >= HOOK_QUEUE_LIMIT) {
        const lost = hook.queue.shift()!;
        hook.dropped.write(
          `${hook.name}: ${HOOK_QUEUE_LIMIT} events waiting; dropped ${lost.event} ${lost.stream}`,
        );
      }
      hook.queue.push(event);
      if (!hook.busy) void this.#drain(hook);
    }
  }

  /** Stops delivering: what is in flight is aborted, what waits is dropped. */
  close(): void {
    this.#stop.abort();
    for (const hook of this.#hooks) hook.queue.length = 0;
  }

  async #drain(hook: HookState): Promise<void> {
    hook.busy = true;
    try {
      while (hook.queue.length > 0 && !this.#stop.signal.aborted) {
        const event = hook.queue.shift()!;
        if (hook.config.url) await this.#post(hook, event);
        else await this.#run(hook, event);
      }
    } finally {
      hook.busy = false;
    }
  }

  /** POSTs the event, trying again after a network error, a timeout or a 5xx; a 4xx is not retried. */
  async #post(hook: HookState, event: ServiceEvent): Promise<void> {
    const { url, retries, timeoutMs } = hook.config;
    const body = JSON.stringify(eventBody(event));
    for (let attempt = 1; attempt <= retries + 1; attempt++) {
      let problem: string;
      try {
        const res = await fetch(url, {
          method: "POST",
          headers: { "Content-Type": "application/json", "User-Agent": "edgecam-hooks" },
          body,
          signal: AbortSignal.any([this.#stop.signal, AbortSignal.timeout(timeoutMs)]),
        });
        await res.body?.cancel();
        if (res.ok) return;
        problem = `HTTP ${res.status}`;
        if (res.status < 500 && res.status !== 429) {
          this.#log.warn(`${hook.name}: ${event.event} to ${url} refused with ${problem}; not retried`);
          return;
        }
      } catch (err) {
        if (this.#stop.signal.aborted) return;
        problem = (err as Error).name === "TimeoutError"
          ? `no answer within ${timeoutMs} ms`
          : (err as Error).message;
      }
      if (attempt > retries) {
        this.#log.warn(
          `${hook.name}: ${event.event} to ${url} failed after ${attempt} attempt(s): ${problem}`,
        );
        return;
      }
      this.#log.debug(`${hook.name}: ${event.event} to ${url}: ${problem}; trying again`);
      await sleep(backoffDelay(attempt, RETRY_FIRST_MS, RETRY_MAX_MS), this.#stop.signal);
    }
  }

  /** Runs the program once with the event in its environment, killed when it outlives the timeout. */
  async #run(hook: HookState, event: ServiceEvent): Promise<void> {
    const [program, ...args] = hook.config.run;
    try {
      const { code, signal, stdout, stderr } = await new Deno.Command(program, {
        args,
        env: eventEnvironment(event),
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.any([this.#stop.signal, AbortSignal.timeout(hook.config.timeoutMs)]),
      }).output();
      const output = new TextDecoder().decode(stderr.length > 0 ? stderr : stdout).trim().slice(
        0,
        OUTPUT_LOG_CHARS,
      );
      if (code === 0) {
        this.#log.debug(`${hook.name}: ${program} ran for ${event.event}${output ? `: ${output}` : ""}`);
        return;
      }
      const how = signal
        ? `was killed (${signal}${signal === "SIGTERM" ? ", over timeout_ms?" : ""})`
        : `exited ${code}`;
      this.#log.warn(`${hook.name}: ${program} ${how} for ${event.event}${output ? `: ${output}` : ""}`);
    } catch (err) {
      if (!this.#stop.signal.aborted) {
        this.#log.warn(`${hook.name}: cannot run ${program}: ${(err as Error).message}`);
      }
    }
  }
}
