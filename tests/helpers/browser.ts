import { type Browser, chromium } from "playwright-core";

/** Debian's Chromium; tests never download a browser of their own. */
export const CHROMIUM = "/usr/bin/chromium";

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
  try {
    await Deno.stat(CHROMIUM);
  } catch {
    throw new Error(`${CHROMIUM} not found: run scripts/bootstrap.sh --test (installs Debian's chromium)`);
  }
  return await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...FLAGS, ...extraFlags] });
}
