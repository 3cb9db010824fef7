import assert from "node:assert/strict";
import {
  HIGH_WATER_BYTES,
  LOW_WATER_BYTES,
  type SendDecision,
  sendDecision,
  STUCK_MS,
  WsPlayers,
} from "../../lib/outputs/ws_player.ts";
import { Stream } from "../../lib/stream/stream.ts";
import { UnavailableError } from "../../lib/errors.ts";
import { Log } from "../../lib/log.ts";

Deno.test("a WebSocket player's send rule: bounded backlog, skip to a keyframe, close when stuck", async (t) => {
  const cases: [string, boolean, number, number | undefined, number, SendDecision][] = [
    ["under the high water mark: sent", false, HIGH_WATER_BYTES, undefined, 0, "send"],
    ["over it: skipped", false, HIGH_WATER_BYTES + 1, undefined, 0, "skip"],
    ["over it, even a keyframe: skipped", true, HIGH_WATER_BYTES + 1, undefined, 0, "skip"],
    ["skipping: a delta frame is skipped even when drained", false, 0, 0, 100, "skip"],
    [
      "skipping: a keyframe once drained to the low water mark resumes",
      true,
      LOW_WATER_BYTES,
      0,
      100,
      "send",
    ],
    ["skipping: a keyframe above the low water mark is skipped", true, LOW_WATER_BYTES + 1, 0, 100, "skip"],
    ["skipping for STUCK_MS without draining: closed", false, HIGH_WATER_BYTES, 0, STUCK_MS, "close"],
    ["drained in time at a keyframe: not closed", true, 0, 0, STUCK_MS + 1, "send"],
  ];
  for (const [what, keyframe, buffered, since, now, expected] of cases) {
    await t.step(what, () => assert.equal(sendDecision({ keyframe }, buffered, since, now), expected));
  }
});

Deno.test("WebSocket player places: per stream and in all, freed once", () => {
  const players = new WsPlayers({ maxWsPlayersPerStream: 2, maxWsPlayers: 3 }, new Log("error"));
  const front = new Stream("front", "h264", 10);
  const side = new Stream("side", "h264", 10);
  const a = players.admit(front);
  players.admit(front);
  assert.throws(() => players.admit(front), (err) => {
    assert.ok(err instanceof UnavailableError);
    assert.match(err.message, /limits\.max_ws_players_per_stream/);
    return true;
  });
  players.admit(side);
  assert.throws(() => players.admit(side), /limits\.max_ws_players\)/);
  a();
  a();
  assert.equal(players.count("front"), 1, "a second release frees nothing more");
  players.admit(side);
  assert.equal(players.count("side"), 2);
});
