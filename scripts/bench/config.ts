// The configuration the benches start from, so each adds only the sections it measures.

/** Cameras the benches run: the test pattern through edgecam's own x264 pipeline. */
export const BENCH_CAMERAS = {
  "720p": { width: 1280, height: 720, bitrate: 4_000_000 },
  "1080p": { width: 1920, height: 1080, bitrate: 8_000_000 },
} as const;

/**
 * `[server]`, `[limits]` and `[webrtc]` of a bench service: loopback on `port` (0 = any), warn-level log,
 * room for many viewers (200 per stream, connecting 32 at once), and the memory guard lifted unless `guard`, so that a bench
 * measuring CPU or delay never sees the keyframes-only mode of a busy machine.
 */
export function benchService(port = 0, { guard = false } = {}): string {
  return `[server]
listen = "127.0.0.1"
port = ${port}
log_level = "warn"
${guard ? "" : "[limits]\nmax_memory_usage_mb = 8192\n"}[webrtc]
max_pending_per_address = 32
max_clients = 200
`;
}

/** One 30 fps x264 camera named `name` on the SMPTE pattern, 720p at 4 Mbit/s or 1080p at 8 Mbit/s. */
export function benchCamera(size: keyof typeof BENCH_CAMERAS, name = "bench"): string {
  const { width, height, bitrate } = BENCH_CAMERAS[size];
  return `[[cameras]]
name = "${name}"
width = ${width}
height = ${height}
fps = 30
bitrate = ${bitrate}
encoder = "x264"
pattern = "smpte"
`;
}
