import assert from "node:assert/strict";
import { getJson, startEdgecam, waitFor, waitHealthy } from "../helpers/edgecam.ts";
import { stalledUpgrade, WsPlayer } from "../helpers/ws_player.ts";

/** A WebSocket player that completes the upgrade (101) and then never reads. */
async function stalledPlayer(base: string, path: string): Promise<Deno.TcpConn> {
  const { conn, status } = await stalledUpgrade(base, path);
  assert.equal(status, 101);
  return conn;
}

/** Frames per second a player received over the last `ms`. */
function rate(player: WsPlayer, ms: number): number {
  return player.since(Date.now() - ms).length / (ms / 1000);
}

Deno.test("WebSocket players: limited per stream and in all; one that stops reading is cut off, others play on", async (t) => {
  const edgecam = await startEdgecam({
    toml: `
[limits]
max_ws_players_per_stream = 2
max_ws_players = 3
[[cameras]]
name = "front"
pattern = "snow"
bitrate = 20_000_000
[[cameras]]
name = "side"
width = 320
height = 240
`,
  });
  const base = edgecam.url;
  const ws = base.replace(/^http/, "ws");
  const players: WsPlayer[] = [];
  let stalled: Deno.TcpConn | undefined;
  const count = async (name: string) =>
    (await getJson<{ ws_players: number }>(`${base}/api/streams/${name}`)).body.ws_players;
  try {
    await waitHealthy(base);

    await t.step("past max_ws_players_per_stream and max_ws_players: 503 naming the key", async () => {
      for (const url of [`${ws}/ws/front`, `${ws}/ws/front`, `${ws}/ws/side`]) {
        const player = new WsPlayer(url);
        players.push(player);
        await player.opened;
      }
      for (const [name, key] of [["front", "max_ws_players_per_stream"], ["side", "max_ws_players"]]) {
        const res = await fetch(`${base}/ws/${name}`, {
          headers: { Upgrade: "websocket", Connection: "Upgrade" },
        });
        const body = await res.text();
        assert.equal(res.status, 503, body);
        assert.match(body, new RegExp(`limits\\.${key}\\b`));
      }
      assert.equal(await count("front"), 2);
      for (const player of players.splice(0)) await player.close();
      await waitFor("the places freed", async () => (await count("front")) === 0 || undefined);
    });

    await t.step(
      "a player that never reads is cut off once stuck; the other keeps its frame rate",
      async () => {
        const player = new WsPlayer(`${ws}/ws/front`);
        players.push(player);
        await player.opened;
        await waitFor("the camera at its rate", () => rate(player, 1000) >= 25 || undefined);
        stalled = await stalledPlayer(base, "/ws/front");
        const readers = async () =>
          (await getJson<{ readers: number }>(`${base}/api/streams/front`)).body.readers;
        assert.equal(await readers(), 2);
        const rates: number[] = [];
        await waitFor("the stalled player cut off", async () => {
          rates.push(rate(player, 1000));
          return (await readers()) === 1 || undefined;
        }, 40_000);
        assert.match(edgecam.log(), /front: WebSocket player could not keep up for 10 s; closing it/);
        const slowest = Math.min(...rates);
        assert.ok(slowest >= 25, `the reading player's rate while the other stalled: min ${slowest} fps`);
        const { body } = await getJson<{ drops: number }>(`${base}/api/streams/front`);
        assert.ok(body.drops > 0, "the stalled player's frames were dropped, not queued");
        // Its place is held until its client really goes, so lingering sockets stay within the limits.
        assert.equal(await count("front"), 2);
        stalled!.close();
        stalled = undefined;
        await waitFor("its place freed", async () => (await count("front")) === 1 || undefined);
      },
    );
  } finally {
    stalled?.close();
    for (const player of players) await player.close().catch(() => {});
    await edgecam.stop();
  }
});
