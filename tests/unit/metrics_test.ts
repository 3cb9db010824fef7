import assert from "node:assert/strict";
import { exposition, type MetricFamily } from "../../lib/metrics/exposition.ts";
import { Histogram } from "../../lib/metrics/histogram.ts";

Deno.test("the exposition writes HELP, TYPE and one line per series", async (t) => {
  const cases: [string, MetricFamily, string[]][] = [
    [
      "a counter with a label",
      { name: "x_total", help: "Things.", type: "counter", samples: [{ labels: { stream: "a" }, value: 3 }] },
      ["# HELP x_total Things.", "# TYPE x_total counter", 'x_total{stream="a"} 3'],
    ],
    [
      "a gauge without labels, and a family with no series keeps its HELP and TYPE",
      { name: "g", help: "G.", type: "gauge", samples: [{ labels: {}, value: 0.25 }] },
      ["# HELP g G.", "# TYPE g gauge", "g 0.25"],
    ],
    [
      "no series",
      { name: "empty", help: "None yet.", type: "gauge", samples: [] },
      ["# HELP empty None yet.", "# TYPE empty gauge"],
    ],
    [
      "label values escape backslash, quote and newline",
      { name: "u", help: "U.", type: "gauge", samples: [{ labels: { url: 'a\\b"c\nd' }, value: 1 }] },
      ["# HELP u U.", "# TYPE u gauge", 'u{url="a\\\\b\\"c\\nd"} 1'],
    ],
    [
      "HELP escapes backslash and newline",
      { name: "h", help: "one\\two\nthree", type: "gauge", samples: [] },
      ["# HELP h one\\\\two\\nthree", "# TYPE h gauge"],
    ],
    [
      "infinities and NaN in the format's spelling",
      {
        name: "n",
        help: "N.",
        type: "gauge",
        samples: [
          { labels: { k: "a" }, value: Infinity },
          { labels: { k: "b" }, value: -Infinity },
          { labels: { k: "c" }, value: NaN },
        ],
      },
      ["# HELP n N.", "# TYPE n gauge", 'n{k="a"} +Inf', 'n{k="b"} -Inf', 'n{k="c"} NaN'],
    ],
  ];
  for (const [name, family, lines] of cases) {
    await t.step(name, () => assert.equal(exposition([family]), lines.join("\n") + "\n"));
  }
});

Deno.test("a histogram is cumulative buckets ending in +Inf, then _sum and _count", () => {
  const h = new Histogram([0.001, 0.01]);
  for (const v of [0.0005, 0.001, 0.005, 2]) h.observe(v);
  const text = exposition([{
    name: "d_seconds",
    help: "D.",
    type: "histogram",
    samples: [{ labels: { stream: "a" }, histogram: h.snapshot() }],
  }]);
  assert.equal(
    text,
    [
      "# HELP d_seconds D.",
      "# TYPE d_seconds histogram",
      'd_seconds_bucket{stream="a",le="0.001"} 2',
      'd_seconds_bucket{stream="a",le="0.01"} 3',
      'd_seconds_bucket{stream="a",le="+Inf"} 4',
      'd_seconds_sum{stream="a"} 2.0065',
      'd_seconds_count{stream="a"} 4',
    ].join("\n") + "\n",
  );
});

Deno.test("a histogram's bucket holds values up to and including its bound", async (t) => {
  const cases: [number, number[]][] = [
    [0, [1, 1, 1, 1]],
    [1, [1, 1, 1, 1]],
    [1.0001, [0, 1, 1, 1]],
    [5, [0, 1, 1, 1]],
    [10, [0, 0, 1, 1]],
    [11, [0, 0, 0, 1]],
  ];
  for (const [value, cumulative] of cases) {
    await t.step(`${value}`, () => {
      const h = new Histogram([1, 5, 10]);
      h.observe(value);
      assert.deepEqual(h.snapshot().cumulative, cumulative);
    });
  }
});

Deno.test("bad metric and label names are refused (a bug, caught before a scrape sees it)", async (t) => {
  const cases: [string, MetricFamily][] = [
    ["metric name with a dash", { name: "a-b", help: "", type: "gauge", samples: [] }],
    ["metric name starting with a digit", { name: "1a", help: "", type: "gauge", samples: [] }],
    ["label name with a dot", {
      name: "a",
      help: "",
      type: "gauge",
      samples: [{ labels: { "a.b": "x" }, value: 1 }],
    }],
    ["reserved label name", {
      name: "a",
      help: "",
      type: "gauge",
      samples: [{ labels: { __x: "x" }, value: 1 }],
    }],
  ];
  for (const [name, family] of cases) {
    await t.step(name, () => assert.throws(() => exposition([family])));
  }
});
