import assert from "node:assert/strict";
import { PendingSessions } from "../../lib/webrtc/pending.ts";

/** An entry: a connecting session ("s…") can give way; a ticket ("t…", an offer being answered) cannot. */
type Entry = string;

Deno.test("connecting sessions: who gives way to one more from an address", async (t) => {
  const cases: {
    what: string;
    entries: [Entry, string][];
    from: string;
    expect: Entry[] | RegExp;
  }[] = [
    { what: "room under both bounds: nobody", entries: [["s1", "A"]], from: "A", expect: [] },
    {
      what: "the address at its bound: its oldest session",
      entries: [["s1", "A"], ["s2", "B"], ["s3", "A"]],
      from: "A",
      expect: ["s1"],
    },
    {
      what: "another address at its bound does not matter",
      entries: [["s1", "A"], ["s2", "A"]],
      from: "B",
      expect: [],
    },
    {
      what: "the total at its bound, one session each: the oldest of all",
      entries: [["s1", "B"], ["s2", "C"], ["s3", "D"], ["s4", "E"]],
      from: "A",
      expect: ["s1"],
    },
    {
      what: "the total at its bound: the busiest address gives way, not the lone older client",
      entries: [["s1", "B"], ["s2", "F"], ["s3", "F"], ["s4", "E"]],
      from: "A",
      expect: ["s2"],
    },
    {
      what: "both bounds: the address's oldest counts toward the total too",
      entries: [["s1", "B"], ["s2", "A"], ["s3", "A"], ["s4", "C"]],
      from: "A",
      expect: ["s2"],
    },
    {
      what: "offers still being answered are passed over",
      entries: [["t1", "A"], ["s2", "A"]],
      from: "A",
      expect: ["s2"],
    },
    {
      what: "only offers being answered in the way: refused, naming the key",
      entries: [["t1", "A"], ["t2", "A"]],
      from: "A",
      expect: /2 sessions from A are connecting \(webrtc.max_pending_per_address\)/,
    },
    {
      what: "the total full of offers being answered: refused, naming the key",
      entries: [["t1", "B"], ["t2", "C"], ["t3", "D"], ["t4", "E"]],
      from: "A",
      expect: /4 sessions are connecting \(webrtc.max_pending\)/,
    },
  ];
  for (const c of cases) {
    await t.step(c.what, () => {
      const pending = new PendingSessions<Entry>(
        { maxPending: 4, maxPendingPerAddress: 2 },
        (entry) => entry.startsWith("s"),
      );
      for (const [entry, from] of c.entries) pending.add(entry, from);
      const room = pending.makeRoom(c.from);
      if (c.expect instanceof RegExp) assert.match(room as string, c.expect);
      else assert.deepEqual(room, c.expect);
    });
  }
});

Deno.test("connecting sessions: a removed entry frees its place", () => {
  const pending = new PendingSessions<Entry>({ maxPending: 4, maxPendingPerAddress: 1 }, () => true);
  pending.add("s1", "A");
  assert.equal(pending.countFrom("A"), 1);
  pending.delete("s1");
  pending.delete("never added");
  assert.equal(pending.size, 0);
  assert.deepEqual(pending.makeRoom("A"), []);
});
