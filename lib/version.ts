/**
 * The service's version, from deno.json.
 */
import manifest from "../deno.json" with { type: "json" };

/** This build's version, from deno.json. */
export const VERSION: string = manifest.version;
