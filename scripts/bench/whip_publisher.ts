// The WHIP part of `deno task bench`: a publisher in its own process, as OBS would be. It runs the
// same x264 pipeline a camera does (1280x720@30, ~4 Mbit/s), packetizes each access unit with werift's
// H.264 packetizer and sends it over a werift peer that POSTed its offer to the endpoint given.
// Prints "publishing" once connected; runs until stdin closes.
import { RTCPeerConnection, RtpHeader, RtpPacket, useH264 } from "werift";
import { parseConfig } from "../../lib/config/load.ts";
import { createFramer, framesFromPipe } from "../../lib/cameras/framer.ts";
import { buildPipeline } from "../../lib/cameras/gstreamer.ts";
import { GST_LAUNCH } from "../../lib/cameras/supervisor.ts";
import { gatheringComplete } from "../../lib/webrtc/peer_session.ts";
import { StreamPacketizer } from "../../lib/webrtc/rtp/packetizer.ts";

const [endpoint] = Deno.args;
const [camera] = parseConfig(`
[[cameras]]
name = "publisher"
width = 1280
height = 720
fps = 30
bitrate = 4_000_000
encoder = "x264"
`).cameras;

const pc = new RTCPeerConnection({
  codecs: { video: [useH264()] },
  iceAdditionalHostAddresses: ["127.0.0.1"],
  iceUseIpv6: false,
});
const { sender } = pc.addTransceiver("video", { direction: "sendonly" });
await pc.setLocalDescription(await pc.createOffer());
await gatheringComplete(pc);
const res = await fetch(endpoint, {
  method: "POST",
  headers: { "Content-Type": "application/sdp" },
  body: pc.localDescription!.sdp,
});
const answer = await res.text();
if (res.status !== 201) throw new Error(`POST ${endpoint}: ${res.status} ${answer}`);
await pc.setRemoteDescription({ type: "answer", sdp: answer });
await new Promise<void>((resolve) =>
  pc.connectionStateChange.subscribe((state) => state === "connected" && resolve())
);

const child = new Deno.Command(GST_LAUNCH, { args: buildPipeline(camera, "x264"), stdout: "piped" }).spawn();
const packetizer = new StreamPacketizer("h264");
let sequenceNumber = 0;
console.log("publishing");
(async () => {
  for await (const _ of Deno.stdin.readable);
  child.kill("SIGTERM");
  await fetch(new URL(res.headers.get("location")!, endpoint), { method: "DELETE" }).catch(() => {});
  Deno.exit(0);
})();
for await (const { units, readAtMs } of framesFromPipe(child.stdout, createFramer("h264"))) {
  const timestamp = Math.round(readAtMs * 90) >>> 0;
  for (const unit of units) {
    const au = { codec: "h264" as const, ...unit, pts90k: 0, captureMs: 0 };
    for (const { payload, marker } of packetizer.payloads(au)) {
      const header = new RtpHeader({ sequenceNumber: sequenceNumber++ & 0xffff, timestamp, marker });
      sender.sendRtp(new RtpPacket(header, payload)).catch(() => {});
    }
  }
}
