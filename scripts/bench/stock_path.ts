// The baseline the WebRTC bench compares edgecam's WHEP path with: werift's stock send path, as an
// application would write it from werift's examples. Each viewer gets its own local track fed by its
// own H264Packetizer through `track.writeRtp`, and the sender's stock NACK handling answers every
// NACK. (Each viewer has its own track rather than a `clone()` of one: in werift 0.25 a clone shares
// its source's broadcast, so writing one clone per viewer would send every packet to every viewer.)
// Bench only: this is what is being compared against, not a product feature.
import { Buffer } from "node:buffer";
import { H264Packetizer, MediaStreamTrack, RTCPeerConnection, useH264 } from "werift";
import { rtpTimestamp } from "../../lib/webrtc/rtp/packetizer.ts";
import { chooseCodec, parseVideoOffer } from "../../lib/webrtc/offer.ts";
import type { Stream } from "../../lib/stream/stream.ts";

/** Same payload size as edgecam's packetizer, so both paths send the same packets per frame. */
const MAX_PAYLOAD_BYTES = 1200;

/** A WHEP-like endpoint over werift's stock path: POST an offer, DELETE the Location. */
export interface StockServer {
  /** The URL to POST offers to. */
  url: string;
  /** Closes every session and the server. */
  close(): Promise<void>;
}

/** Sends `stream` (H.264) to each viewer through its own track, packetizer and stock sender. */
async function feed(stream: Stream, pc: RTCPeerConnection, track: MediaStreamTrack): Promise<void> {
  const packetizer = new H264Packetizer({ maxPayloadSize: MAX_PAYLOAD_BYTES, inputFormat: "annexb" });
  const reader = stream.subscribe();
  const closed = pc.connectionStateChange.subscribe((state) => {
    if (state === "closed" || state === "failed") reader.close();
  });
  for await (const au of reader) {
    const data = Buffer.from(au.data.buffer, au.data.byteOffset, au.data.byteLength);
    for (const packet of packetizer.packetize(data, rtpTimestamp(au.pts90k))) track.writeRtp(packet);
  }
  closed.unSubscribe();
}

/** Starts the baseline endpoint on loopback for one H.264 stream. */
export function startStockServer(stream: Stream): StockServer {
  const sessions = new Map<string, RTCPeerConnection>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const id = new URL(req.url).pathname.slice(1);
    if (req.method === "DELETE") {
      await sessions.get(id)?.close();
      sessions.delete(id);
      return new Response(null, { status: 200 });
    }
    const offerSdp = await req.text();
    // The same negotiation as edgecam's, so both paths send the same codec and payload type.
    const offered = chooseCodec(parseVideoOffer(offerSdp), "h264", stream.format?.profileLevelId);
    const pc = new RTCPeerConnection({
      codecs: { video: [useH264({ payloadType: offered.payloadType, parameters: offered.fmtp })] },
      iceAdditionalHostAddresses: ["127.0.0.1"],
      iceUseIpv6: false,
    });
    const track = new MediaStreamTrack({ kind: "video" });
    pc.addTransceiver(track, { direction: "sendonly" });
    pc.connectionStateChange.subscribe((state) => {
      // Like edgecam: subscribe once connected, so the cached GOP is what the viewer gets first.
      if (state === "connected") void feed(stream, pc, track);
    });
    await pc.setRemoteDescription({ type: "offer", sdp: offerSdp });
    await pc.setLocalDescription(await pc.createAnswer());
    if (pc.iceGatheringState !== "complete") {
      await new Promise<void>((resolve) =>
        pc.iceGatheringStateChange.subscribe((state) => state === "complete" && resolve())
      );
    }
    const session = crypto.randomUUID();
    sessions.set(session, pc);
    return new Response(pc.localDescription!.sdp, {
      status: 201,
      headers: { "Content-Type": "application/sdp", Location: `/${session}` },
    });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/`,
    async close() {
      await Promise.all([...sessions.values()].map((pc) => pc.close()));
      sessions.clear();
      await server.shutdown();
    },
  };
}
