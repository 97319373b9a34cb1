// Charts: calls/s, errors/s and latency percentiles per backend over the last minutes, from the
// gateway's own metrics (sampled by the gateway every `ui.sample_interval`), drawn with uPlot.

import { api } from "../api.js";
import { clear, every, fill, h, problem } from "../dom.js";

const COLORS = [
  "#1f77b4",
  "#d62728",
  "#2ca02c",
  "#9467bd",
  "#ff7f0e",
  "#17becf",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
];
const PANELS = [
  { key: "calls_per_s", title: "Calls per second" },
  { key: "errors_per_s", title: "Errors per second" },
  { key: "p50_ms", title: "Latency p50 (ms)" },
  { key: "p99_ms", title: "Latency p99 (ms)" },
];

function width(el) {
  return Math.max(320, Math.floor(el.getBoundingClientRect().width) - 8);
}

export async function mount(root, context) {
  const note = h("p", { class: "muted", "data-testid": "charts-note" }, "Loading…");
  const errors = h("div");
  const grid = h("div", { class: "charts", "data-testid": "charts" });
  root.append(h("h1", {}, "Charts"), note, errors, grid);
  const uPlot = globalThis.uPlot;
  if (!uPlot) {
    note.textContent = "The charting library did not load.";
    return null;
  }
  let plots = [];
  let names = "";

  function build(backends) {
    plots.forEach((p) => p.plot.destroy());
    clear(grid);
    const holders = PANELS.map((panel) =>
      h("div", { class: "card chart", "data-chart": panel.key }, h("h2", {}, panel.title)),
    );
    grid.append(...holders); // laid out together first, so each chart measures its own card
    plots = PANELS.map((panel, i) => {
      const holder = holders[i];
      const plot = new uPlot(
        {
          width: width(holder),
          height: 220,
          scales: { x: { time: true } },
          series: [
            {},
            ...backends.map((name, i) => ({
              label: name,
              stroke: COLORS[i % COLORS.length],
              width: 1.5,
              spanGaps: false,
            })),
          ],
          axes: [{}, { size: 56 }],
          legend: { live: true },
        },
        [[], ...backends.map(() => [])],
        holder,
      );
      return { panel, plot, holder };
    });
  }

  let measured = 0;
  const resize = () => {
    const now = Math.round(grid.getBoundingClientRect().width);
    if (now === measured) return;
    measured = now;
    plots.forEach(({ plot, holder }) => plot.setSize({ width: width(holder), height: 220 }));
  };
  const observer = new ResizeObserver(() => requestAnimationFrame(resize)); // never inside the observer callback
  observer.observe(grid);

  const stop = every(
    Math.max(context.refresh, 1000),
    async () => {
      const data = await api("charts");
      clear(errors);
      const backends = Object.keys(data.backends);
      note.textContent = data.t.length
        ? `One point every ${data.interval_s}s, ${data.t.length} points (the gateway samples its metrics while it runs).`
        : `No samples yet: the gateway samples its metrics every ${data.interval_s}s.`;
      if (backends.join("\n") !== names) {
        names = backends.join("\n");
        build(backends);
      }
      for (const { panel, plot } of plots)
        plot.setData([data.t, ...backends.map((name) => data.backends[name][panel.key])]);
    },
    (error) => fill(errors, problem(error)),
  );

  return () => {
    stop();
    observer.disconnect();
    plots.forEach((p) => p.plot.destroy());
    plots = [];
  };
}
