/**
 * Loading system libraries through FFI, once each, in the two ways edgecam needs: a library the caller
 * cannot do without (the shared-memory rings' libc: a failure is an error the caller reports), and one
 * it can (the WebRTC send path's libcrypto and libc: null, said once in the log with what runs instead,
 * where the library is missing or the process runs without `--allow-ffi`).
 */
import { Log } from "./log.ts";

// Libraries are the process's, not one service's: their one line per process goes to a log of its own.
const log = new Log().logger("native");

/** The bindings of one library. */
type Bindings<S extends Deno.ForeignLibraryInterface> = Deno.DynamicLibrary<S>["symbols"];

/** A loader of `name`'s `symbols`: loads once, on first call, and throws if it cannot. */
export function requiredLibrary<S extends Deno.ForeignLibraryInterface>(
  name: string,
  symbols: S,
): () => Bindings<S> {
  let loaded: Bindings<S> | undefined;
  return () => (loaded ??= Deno.dlopen(name, symbols).symbols);
}

/** Whether an optional library is in use, or which slower path runs instead (as `GET /status` shows it). */
export interface OptionalLibraryStatus {
  library: string;
  loaded: boolean;
  /** What runs instead when it is not loaded, else null. */
  instead: string | null;
}

/** Every optional library of the process, by the modules that bind one. */
const optionalLibraryStates: (() => OptionalLibraryStatus)[] = [];

/** A loader of `name`'s `symbols`: the bindings, or null with `fallback` logged as what runs instead. */
export function optionalLibrary<S extends Deno.ForeignLibraryInterface>(
  name: string,
  symbols: S,
  fallback: string,
): () => Bindings<S> | null {
  const load = requiredLibrary(name, symbols);
  let loaded: Bindings<S> | null | undefined;
  const loader = () => {
    if (loaded !== undefined) return loaded;
    try {
      loaded = load();
      log.debug(`${name} loaded`);
    } catch (err) {
      loaded = null;
      log.info(`${fallback}, slower: ${name} not usable (${(err as Error).message})`);
    }
    return loaded;
  };
  optionalLibraryStates.push(() => {
    const usable = loader() !== null;
    return { library: name, loaded: usable, instead: usable ? null : fallback };
  });
  return loader;
}

/**
 * Each optional library and whether it is in use (loading it now if nothing has yet): status shows
 * whether viewers get the native send path, which a package on a new platform must prove.
 */
export function optionalLibraries(): OptionalLibraryStatus[] {
  return optionalLibraryStates.map((state) => state());
}
