import dgram from "node:dgram";

/** The long-term credential coturn accepts. */
export const TURN_USER = "edgecam";
/** The password of TURN_USER. */
export const TURN_PASSWORD = "relay-secret";

/** A running coturn. */
export interface TurnServer {
  /** Its STUN/TURN port on 127.0.0.1. */
  port: number;
  /** A `[webrtc]` section on loopback announcing this server for STUN and for TURN (with the credential). */
  webrtcToml: string;
  stop(): Promise<void>;
}

/** Resolves once a STUN binding request to 127.0.0.1:`port` is answered. */
async function stunAnswers(port: number, timeoutMs: number): Promise<void> {
  const socket = dgram.createSocket("udp4");
  const answered = Promise.withResolvers<void>();
  socket.on("message", () => answered.resolve());
  const request = new Uint8Array(20);
  new DataView(request.buffer).setUint32(4, 0x2112a442);
  request[1] = 1;
  crypto.getRandomValues(request.subarray(8));
  const deadline = Date.now() + timeoutMs;
  const timer = setInterval(() => {
    if (Date.now() > deadline) answered.reject(new Error(`no STUN answer on port ${port}`));
    else socket.send(request, port, "127.0.0.1");
  }, 200);
  try {
    await answered.promise;
  } finally {
    clearInterval(timer);
    socket.close();
  }
}

/**
 * coturn on loopback with one long-term user, relaying to loopback peers; resolves once it answers.
 * Its port is random with 200 relay ports above it, so parallel tests seldom collide.
 */
export async function startTurnServer(): Promise<TurnServer> {
  const port = 30000 + Math.floor(Math.random() * 100) * 250;
  const dir = await Deno.makeTempDir({ prefix: "edgecam-turn-" });
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("turnserver", {
      args: [
        "-n",
        "--listening-ip=127.0.0.1",
        `--listening-port=${port}`,
        "--relay-ip=127.0.0.1",
        `--min-port=${port + 1}`,
        `--max-port=${port + 200}`,
        "--lt-cred-mech",
        `--user=${TURN_USER}:${TURN_PASSWORD}`,
        "--realm=edgecam.test",
        "--allow-loopback-peers",
        "--no-tls",
        "--no-dtls",
        "--no-cli",
        `--pidfile=${dir}/turnserver.pid`,
        `--userdb=${dir}/turndb`,
        `--log-file=${dir}/turnserver.log`,
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
  } catch (err) {
    throw new Error(
      `coturn's turnserver cannot run (${(err as Error).message}): run scripts/bootstrap.sh --test`,
    );
  }
  const stop = async () => {
    child.kill("SIGTERM");
    await child.status;
    await Deno.remove(dir, { recursive: true });
  };
  await stunAnswers(port, 15_000).catch(async (err) => {
    await stop();
    throw err;
  });
  const webrtcToml = `
[webrtc]
interfaces_include = ["lo"]
[[webrtc.ice_servers]]
urls = "stun:127.0.0.1:${port}"
[[webrtc.ice_servers]]
urls = "turn:127.0.0.1:${port}"
username = "${TURN_USER}"
credential = "${TURN_PASSWORD}"
`;
  return { port, webrtcToml, stop };
}
