/**
 * What happens to a stream that someone outside may want to act on (a camera lost, a viewer joined, a
 * recording segment complete): the event names `[[hooks]]` subscribe to and the shape each one carries.
 * Streams announce them (lib/stream/stream.ts); the service logs them and hands them to the hooks.
 */

/** Every event name, as `[[hooks]] on` takes them. */
export const EVENT_NAMES = [
  "stream_ready",
  "stream_lost",
  "camera_restart",
  "viewer_joined",
  "viewer_left",
  "publisher_joined",
  "publisher_left",
  "recording_started",
  "recording_segment_complete",
  "recording_error",
] as const;

/** One of {@link EVENT_NAMES}. */
export type EventName = typeof EVENT_NAMES[number];

/** An event's own fields (snake_case, as they go out in JSON and, upper-cased, as `EDGECAM_*` variables). */
export type EventFields = Record<string, string | number | null>;

/** One event as hooks receive it: its name, when, the stream, and the fields of its kind. */
export interface ServiceEvent {
  event: EventName;
  /** RFC 3339 time the event happened. */
  time: string;
  stream: string;
  /** The event's own fields, e.g. `protocol` and `session` of a viewer, `file` of a segment. */
  fields: EventFields;
}

/** Builds an event stamped with the time now. */
export function serviceEvent(event: EventName, stream: string, fields: EventFields = {}): ServiceEvent {
  return { event, time: new Date().toISOString(), stream, fields };
}

/** The event's one-line form for the log: name, stream, then its fields as key=value. */
export function describeEvent({ event, stream, fields }: ServiceEvent): string {
  const parts = Object.entries(fields).filter(([, v]) => v !== null).map(([k, v]) => `${k}=${v}`);
  return `event ${event} ${stream}${parts.length > 0 ? ` ${parts.join(" ")}` : ""}`;
}

/** The event as a webhook's JSON body: `event`, `time` and `stream`, then its own fields. */
export function eventBody({ event, time, stream, fields }: ServiceEvent): Record<string, unknown> {
  return { event, time, stream, ...fields };
}

/**
 * The event as environment variables for a hook's program: `EDGECAM_EVENT`, `EDGECAM_TIME`,
 * `EDGECAM_STREAM`, each field as `EDGECAM_<FIELD>` (null as empty), and the whole body as
 * `EDGECAM_EVENT_JSON`.
 */
export function eventEnvironment(event: ServiceEvent): Record<string, string> {
  const env: Record<string, string> = {
    EDGECAM_EVENT: event.event,
    EDGECAM_TIME: event.time,
    EDGECAM_STREAM: event.stream,
  };
  for (const [key, value] of Object.entries(event.fields)) {
    env[`EDGECAM_${key.toUpperCase()}`] = value === null ? "" : String(value);
  }
  env.EDGECAM_EVENT_JSON = JSON.stringify(eventBody(event));
  return env;
}
