#!/usr/bin/python3
"""An independent WHIP publisher: GStreamer's webrtcbin sending a test pattern and a tone.

Usage: whip_webrtcbin.py <whip-endpoint-url> <h264|vp8> <seconds> [token]
Publishes video (x264 without B-frames, or VP8) and Opus audio for <seconds>, then DELETEs the session.
Prints `published <session-url>` once the answer is applied; exits non-zero on any failure. Runs with
Debian's /usr/bin/python3 (python3-gst-1.0, gir1.2-nice-0.1, gstreamer1.0-nice).
"""
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstWebRTC", "1.0")
from gi.repository import GLib, Gst, GstWebRTC  # noqa: E402

from whep_webrtcbin import offer_over_http, run_session  # noqa: E402

VIDEO = {
    "h264": "x264enc tune=zerolatency speed-preset=ultrafast bframes=0 key-int-max=30 bitrate=600 ! "
    "video/x-h264,profile=constrained-baseline ! rtph264pay config-interval=-1 aggregate-mode=zero-latency ! "
    "application/x-rtp,media=video,encoding-name=H264,payload=102",
    "vp8": "vp8enc deadline=1 cpu-used=8 keyframe-max-dist=30 ! rtpvp8pay ! "
    "application/x-rtp,media=video,encoding-name=VP8,payload=96",
}


def main() -> int:
    url, codec, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    token = sys.argv[4] if len(sys.argv) > 4 else None
    Gst.init(None)
    loop = GLib.MainLoop()
    pipeline = Gst.parse_launch(
        "webrtcbin name=webrtc bundle-policy=max-bundle "
        "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 ! "
        f"videoconvert ! {VIDEO[codec]} ! webrtc. "
        "audiotestsrc is-live=true wave=sine ! audioconvert ! audioresample ! opusenc ! rtpopuspay ! "
        "application/x-rtp,media=audio,encoding-name=OPUS,payload=111 ! webrtc."
    )
    webrtc = pipeline.get_by_name("webrtc")
    state = {"session": None, "error": None, "headers": {}}
    if token:
        state["headers"]["Authorization"] = f"Bearer {token}"
    offer_over_http(webrtc, url, state, loop)
    for transceiver in (webrtc.emit("get-transceiver", i) for i in range(2)):
        if transceiver:
            transceiver.set_property("direction", GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY)

    def on_connection(_webrtc, _pspec):
        if webrtc.get_property("connection-state") == GstWebRTC.WebRTCPeerConnectionState.CONNECTED:
            print(f"published {state['session']}", flush=True)

    webrtc.connect("notify::connection-state", on_connection)

    if run_session(pipeline, loop, state, seconds):
        print(f"error {state['error']}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
