#!/usr/bin/python3
"""An independent WHEP viewer: GStreamer's webrtcbin, decoding what it receives.

Usage: whep_webrtcbin.py <whep-endpoint-url> <h264|vp8> <seconds>
Prints one line at the end: `decoded <frames> <width>x<height>`; exits non-zero on any failure.
Runs with Debian's /usr/bin/python3 (python3-gst-1.0, gir1.2-nice-0.1, gstreamer1.0-nice). libnice
leaves loopback out, so ICE runs over the machine's LAN address, which the service also offers.
"""
import sys
import urllib.parse
import urllib.request

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("GstWebRTC", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402

CAPS = {
    "h264": "application/x-rtp,media=video,encoding-name=H264,clock-rate=90000,payload=102,"
    "packetization-mode=(string)1,profile-level-id=(string)42e01f",
    "vp8": "application/x-rtp,media=video,encoding-name=VP8,clock-rate=90000,payload=96",
}


def offer_over_http(webrtc, url, state, loop):
    """WHEP/WHIP signaling for a webrtcbin: on negotiation-needed, offer; once gathering is complete,
    POST the offer (with every candidate) to `url` and apply the 201's answer. `state["session"]` gets
    the session URL (for DELETE); a failure ends the loop with `state["error"]`. Extra request headers
    (a Bearer token) may be given as `state["headers"]`."""

    def post_offer():
        offer = webrtc.get_property("local-description").sdp.as_text()
        headers = {"Content-Type": "application/sdp", **state.get("headers", {})}
        request = urllib.request.Request(url, data=offer.encode(), method="POST", headers=headers)
        with urllib.request.urlopen(request) as res:
            if res.status != 201:
                raise RuntimeError(f"POST answered {res.status}")
            state["session"] = urllib.parse.urljoin(url, res.headers["Location"])
            answer_text = res.read().decode()
        _, sdp = GstSdp.SDPMessage.new_from_text(answer_text)
        answer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, sdp)
        webrtc.emit("set-remote-description", answer, None)

    def on_gathering(_webrtc, _pspec):
        if webrtc.get_property("ice-gathering-state") == GstWebRTC.WebRTCICEGatheringState.COMPLETE:
            try:
                post_offer()
            except Exception as err:  # a failed POST ends the run with its reason
                state["error"] = str(err)
                loop.quit()

    def on_offer_created(promise, _data):
        # Keep the reply in a variable before reading from it (a GStreamer 1.22 pitfall).
        reply = promise.get_reply()
        offer = reply.get_value("offer")
        webrtc.emit("set-local-description", offer, None)

    def on_negotiation_needed(_webrtc):
        webrtc.emit("create-offer", None, Gst.Promise.new_with_change_func(on_offer_created, None))

    webrtc.connect("on-negotiation-needed", on_negotiation_needed)
    webrtc.connect("notify::ice-gathering-state", on_gathering)


def run_session(pipeline, loop, state, seconds):
    """Plays the pipeline for `seconds`, or until GStreamer reports an error (kept in state["error"]),
    then ends the WHEP or WHIP session with DELETE (with state["headers"], if any). Returns the error."""

    def on_error(_bus, message):
        state["error"] = message.parse_error()[0].message
        loop.quit()

    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message::error", on_error)
    pipeline.set_state(Gst.State.PLAYING)
    GLib.timeout_add(int(seconds * 1000), loop.quit)
    loop.run()
    pipeline.set_state(Gst.State.NULL)
    if state["session"]:
        headers = state.get("headers", {})
        urllib.request.urlopen(urllib.request.Request(state["session"], method="DELETE", headers=headers))
    return state["error"]


def main() -> int:
    url, codec, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    Gst.init(None)
    loop = GLib.MainLoop()
    pipeline = Gst.Pipeline.new("viewer")
    webrtc = Gst.ElementFactory.make("webrtcbin")
    webrtc.set_property("bundle-policy", GstWebRTC.WebRTCBundlePolicy.MAX_BUNDLE)
    pipeline.add(webrtc)
    state = {"frames": 0, "size": "0x0", "session": None, "error": None}

    def on_frame(_sink, buffer, pad):
        state["frames"] += 1
        caps = pad.get_current_caps()
        if caps:
            s = caps.get_structure(0)
            state["size"] = f"{s.get_value('width')}x{s.get_value('height')}"

    def on_decoded_pad(_decodebin, pad):
        sink = Gst.ElementFactory.make("fakesink")
        sink.set_property("signal-handoffs", True)
        sink.set_property("sync", False)
        sink.connect("handoff", on_frame)
        pipeline.add(sink)
        sink.sync_state_with_parent()
        pad.link(sink.get_static_pad("sink"))

    def on_incoming_pad(_webrtc, pad):
        if pad.direction != Gst.PadDirection.SRC:
            return
        decodebin = Gst.ElementFactory.make("decodebin")
        decodebin.connect("pad-added", on_decoded_pad)
        pipeline.add(decodebin)
        decodebin.sync_state_with_parent()
        pad.link(decodebin.get_static_pad("sink"))

    offer_over_http(webrtc, url, state, loop)
    webrtc.connect("pad-added", on_incoming_pad)
    webrtc.emit("add-transceiver", GstWebRTC.WebRTCRTPTransceiverDirection.RECVONLY,
                Gst.Caps.from_string(CAPS[codec]))

    if run_session(pipeline, loop, state, seconds):
        print(f"error {state['error']}", file=sys.stderr)
        return 1
    print(f"decoded {state['frames']} {state['size']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
