/**
 * The Prometheus text exposition format 0.0.4, written from metric families: HELP and TYPE for every
 * family, escaped label values, histograms as `_bucket`/`_sum`/`_count`. Pure: no I/O, no clocks.
 */
import type { HistogramSnapshot } from "./histogram.ts";

/** The Content-Type of the text format. */
export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Label names and values of one series. */
export type Labels = Record<string, string>;

/** A counter's or gauge's series: its labels and value. */
export interface Sample {
  labels: Labels;
  value: number;
}

/** A histogram's series: its labels and figures. */
export interface HistogramSample {
  labels: Labels;
  histogram: HistogramSnapshot;
}

/** One metric family: a name, what it means, and its series. */
export type MetricFamily =
  | { name: string; help: string; type: "counter" | "gauge"; samples: Sample[] }
  | { name: string; help: string; type: "histogram"; samples: HistogramSample[] };

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Writes families in the text format; throws on a bad metric or label name (a bug, not input). */
export function exposition(families: MetricFamily[]): string {
  const lines: string[] = [];
  for (const family of families) {
    if (!METRIC_NAME.test(family.name)) throw new Error(`bad metric name ${family.name}`);
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
    if (family.type === "histogram") {
      for (const { labels, histogram } of family.samples) {
        lines.push(...histogramLines(family.name, labels, histogram));
      }
    } else {
      for (const { labels, value } of family.samples) {
        lines.push(`${family.name}${labelText(labels)} ${number(value)}`);
      }
    }
  }
  return lines.join("\n") + "\n";
}

function histogramLines(name: string, labels: Labels, h: HistogramSnapshot): string[] {
  const lines = h.bounds.map((bound, i) =>
    `${name}_bucket${labelText({ ...labels, le: number(bound) })} ${number(h.cumulative[i])}`
  );
  lines.push(`${name}_bucket${labelText({ ...labels, le: "+Inf" })} ${number(h.count)}`);
  lines.push(`${name}_sum${labelText(labels)} ${number(h.sum)}`);
  lines.push(`${name}_count${labelText(labels)} ${number(h.count)}`);
  return lines;
}

function labelText(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return "";
  for (const [key] of entries) {
    if (!LABEL_NAME.test(key) || key.startsWith("__")) throw new Error(`bad label name ${key}`);
  }
  return `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`;
}

/** The format's number spelling: +Inf, -Inf, NaN, else JavaScript's shortest round-trip form. */
function number(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function escapeHelp(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

function escapeLabel(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"');
}
