import { type Browser, chromium } from "playwright-core";

/** Debian's Chromium (Raspberry Pi OS may name it chromium-browser); tests never download a browser. */
const CHROMIUM_PATHS = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

/** Flags that keep headless Chromium quiet and working as root on a closed network. */
const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--autoplay-policy=no-user-gesture-required",
];

/** Launches headless Chromium, or fails with the install step when it is missing. */
export async function launchChromium(extraFlags: string[] = []): Promise<Browser> {
  const executablePath = CHROMIUM_PATHS.find((path) => {
    try {
      return Deno.statSync(path).isFile;
    } catch {
      return false;
    }
  });
  if (!executablePath) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATHS.join(" or ")}: run scripts/bootstrap.sh --test`);
  }
  return await chromium.launch({ executablePath, headless: true, args: [...FLAGS, ...extraFlags] });
}
