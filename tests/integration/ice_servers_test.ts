import assert from "node:assert/strict";
import dgram from "node:dgram";
import { startEdgecam, waitFor, waitHealthy } from "../helpers/edgecam.ts";
import { WhepViewer } from "../helpers/whep_client.ts";

const USER = "edgecam";
const PASSWORD = "relay-secret";

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

/** coturn on loopback with one long-term user, relaying to loopback peers; resolves once it answers. */
async function startTurnServer(port: number): Promise<{ stop(): Promise<void> }> {
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
        `--user=${USER}:${PASSWORD}`,
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
  return { stop };
}

/** The answer's candidates of one type. */
function candidatesOfType(sdp: string, type: string): string[] {
  return sdp.split("\r\n").filter((l) => l.startsWith("a=candidate:") && l.includes(` typ ${type}`));
}

Deno.test("STUN and TURN from [webrtc]: gathered by the service, announced in Link, and a relay-only viewer plays through TURN", async () => {
  const port = 30000 + Math.floor(Math.random() * 100) * 250;
  const turn = await startTurnServer(port);
  const edgecam = await startEdgecam({
    toml: `
[webrtc]
interfaces_include = ["lo"]
[[webrtc.ice_servers]]
urls = "stun:127.0.0.1:${port}"
[[webrtc.ice_servers]]
urls = "turn:127.0.0.1:${port}"
username = "${USER}"
credential = "${PASSWORD}"
[[cameras]]
name = "front"
width = 320
height = 240
`,
  });
  // Relay only: every packet this viewer gets must have come through coturn.
  const viewer = new WhepViewer({
    ice: {
      iceServers: [{ urls: `turn:127.0.0.1:${port}`, username: USER, credential: PASSWORD }],
      iceTransportPolicy: "relay",
    },
  });
  try {
    await waitHealthy(edgecam.url);
    const offer = await viewer.offer();
    assert.ok(
      candidatesOfType(offer, "relay").length > 0,
      `the viewer gathered no relay candidate:\n${offer}`,
    );
    const { res, answer } = await viewer.post(`${edgecam.url}/whep/front`, { offer });
    assert.equal(res.status, 201, answer);
    assert.deepEqual(res.headers.get("link")?.split(", "), [
      `<stun:127.0.0.1:${port}>; rel="ice-server"`,
      `<turn:127.0.0.1:${port}>; rel="ice-server"; username="${USER}"; credential="${PASSWORD}"; credential-type="password"`,
    ]);
    assert.ok(
      candidatesOfType(answer, "srflx").length > 0,
      `no server-reflexive candidate from STUN:\n${answer}`,
    );
    assert.ok(candidatesOfType(answer, "relay").length > 0, `no relay candidate from TURN:\n${answer}`);

    await viewer.answer(answer);
    await waitFor("30 frames through the relay", () => viewer.frames.length >= 30 || undefined, 30_000);
    const pair = viewer.pc.iceTransports[0].connection.nominated;
    assert.equal(pair?.localCandidate.type, "relay", "the viewer's nominated pair is its relay candidate");
  } finally {
    await viewer.close();
    await edgecam.stop();
    await turn.stop();
  }
});
