/**
 * A system library the WebRTC send path can do without: loaded through FFI on first use, once, and
 * null (said once in the log, with what is used instead) where it cannot be: the library is
 * missing, or the process runs without `--allow-ffi`.
 */
import { logger } from "./log.ts";

const log = logger("webrtc");

/** A loader of `name`'s `symbols`: the bindings, or null with `fallback` logged as what runs instead. */
export function optionalLibrary<S extends Deno.ForeignLibraryInterface>(
  name: string,
  symbols: S,
  fallback: string,
): () => Deno.DynamicLibrary<S>["symbols"] | null {
  let loaded: Deno.DynamicLibrary<S>["symbols"] | null | undefined;
  return () => {
    if (loaded !== undefined) return loaded;
    try {
      loaded = Deno.dlopen(name, symbols).symbols;
      log.debug(`${name} loaded`);
    } catch (err) {
      loaded = null;
      log.info(`${fallback}, slower: ${name} not usable (${(err as Error).message})`);
    }
    return loaded;
  };
}
