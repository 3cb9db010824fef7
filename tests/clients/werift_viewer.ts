// A WHEP viewer as its own process, for tests that need a viewer to vanish without a goodbye
// (SIGKILL): POSTs an offer to the URL given, prints the session URL, then one line per 30 frames.
import { WhepViewer } from "../helpers/whep_client.ts";

const [endpoint] = Deno.args;
const viewer = new WhepViewer();
const { res, answer } = await viewer.post(endpoint);
if (res.status !== 201) {
  console.error(`POST ${endpoint}: ${res.status} ${answer}`);
  Deno.exit(1);
}
await viewer.answer(answer);
console.log(`session ${new URL(res.headers.get("location")!, endpoint)}`);
let printed = 0;
setInterval(() => {
  while (viewer.frames.length - printed >= 30) {
    printed += 30;
    console.log(`frames ${printed}`);
  }
}, 100);
