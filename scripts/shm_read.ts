// `deno task shm-read <stream>`: follows a stream's shared-memory ring with lib/shm/client.ts and prints
// one line per event, as examples/shm/reader.c does. The ring's name comes from the config file
// (`[shm] prefix`, a camera's `shm_name`), or is given with --name. Exits 4 when the writer left and no
// new ring took the name within 30 s.
//
//   deno task shm-read front                       every frame of camera "front" until Ctrl-C
//   deno task shm-read front --count 100
//   deno task shm-read --name edgecam-front
import { parseArgs } from "node:util";
import { ConfigError, parseConfig } from "../lib/config/load.ts";
import { nowUs } from "../lib/shm/layout.ts";
import { ShmReader, WriterGoneError } from "../lib/shm/client.ts";

const USAGE = "Usage: deno task shm-read <stream> [--config config.toml] [--count N]\n" +
  "       deno task shm-read --name <ring name in /dev/shm> [--count N]";

async function ringName(
  stream: string | undefined,
  configPath: string,
  name: string | undefined,
): Promise<string> {
  if (name) return name;
  if (!stream) throw new UsageError("name a stream (or a ring with --name)");
  const config = parseConfig(await Deno.readTextFile(configPath));
  const camera = config.cameras.find((c) => c.name === stream);
  if (!camera) {
    const names = config.cameras.map((c) => c.name).join(", ") || "none";
    throw new UsageError(`no camera "${stream}" in ${configPath} (cameras: ${names})`);
  }
  if (!camera.shm) throw new UsageError(`camera "${stream}" has shm = false in ${configPath}`);
  return camera.shmName;
}

class UsageError extends Error {}

async function main(): Promise<number> {
  let values, positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: Deno.args,
      options: {
        config: { type: "string", default: "config.toml" },
        name: { type: "string" },
        count: { type: "string" },
      },
      allowPositionals: true,
    }));
  } catch (err) {
    console.error(`shm-read: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const count = values.count === undefined ? Infinity : Number(values.count);
  if (!(count > 0)) {
    console.error(`shm-read: --count must be a positive integer, not "${values.count}"\n${USAGE}`);
    return 2;
  }
  let name: string;
  try {
    name = await ringName(positionals[0], values.config, values.name);
  } catch (err) {
    if (!(err instanceof UsageError || err instanceof ConfigError || err instanceof Deno.errors.NotFound)) {
      throw err;
    }
    console.error(`shm-read: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const reader = await ShmReader.attach(name);
  const attached = () => {
    const { width, height } = reader.format;
    console.log(
      `attached name=${name} generation=${reader.generation} codec=${reader.codec} width=${width} height=${height}`,
    );
  };
  attached();
  try {
    await follow(reader, count, attached);
  } catch (err) {
    if (!(err instanceof WriterGoneError)) throw err;
    console.error(`shm-read: ${err.message}`);
    return 4;
  }
  return 0;
}

/** Prints a line per event until `count` frames were read or the reader closes. */
async function follow(reader: ShmReader, count: number, attached: () => void): Promise<void> {
  let frames = 0;
  for await (const event of reader) {
    switch (event.kind) {
      case "frame":
        console.log(
          `frame seq=${event.seq} size=${event.data.length} key=${event.keyframe ? 1 : 0} ` +
            `capture_us=${event.captureUs} delay_us=${nowUs() - event.publishUs}`,
        );
        if (++frames >= count) await reader.close();
        break;
      case "lapped":
        console.log(`lapped missed=${event.missed}`);
        break;
      case "skipped":
        console.log(`skipped seq=${event.seq} size=${event.length}`);
        break;
      case "writer-gone":
        console.log(`writer_gone pid=${event.pid} generation=${event.generation}`);
        break;
      case "generation":
        console.log(`closed generation=${event.previous}`);
        attached();
        break;
    }
  }
}

Deno.exit(await main());
