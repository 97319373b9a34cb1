// Backends: every backend live (state, health, circuit, era, link, sessions, calls in flight,
// calls/s, error rate, p50/p99), refreshed every few seconds without reloading the page.

import { api } from "../api.js";
import { badge, clear, every, fill, fmt, h, problem } from "../dom.js";

const TONE = {
  ready: "ok",
  healthy: "ok",
  closed: "ok",
  starting: "warn",
  unknown: "",
  half_open: "warn",
  unchecked: "",
  failed: "bad",
  stopped: "bad",
  unhealthy: "bad",
  open: "bad",
};

function eras(row) {
  const spoken = Object.entries(row.eras)
    .filter(([, speaks]) => speaks)
    .map(([name]) => name);
  const text = spoken.length ? spoken.join(", ") : "not known yet";
  return h(
    "td",
    { class: "nowrap" },
    text,
    row.protocol_version ? h("div", { class: "muted small" }, `latest ${row.protocol_version}`) : null,
  );
}

function line(row) {
  const rates = row.rates || {};
  const errorTone = rates.error_rate > 0.05 ? "bad" : rates.error_rate > 0 ? "warn" : "";
  return h(
    "tr",
    { "data-backend": row.name },
    h(
      "td",
      {},
      h("strong", {}, row.name),
      row.description ? h("div", { class: "muted small" }, row.description) : null,
      row.error ? h("div", { class: "error small" }, row.error) : null,
    ),
    h("td", { "data-field": "state" }, badge(row.state, TONE[row.state] || "")),
    h(
      "td",
      { "data-field": "health" },
      badge(
        row.health === "unknown" ? "not probed yet" : row.hidden ? `${row.health} (hidden)` : row.health,
        TONE[row.health] || "",
      ),
      row.health_interval_s ? h("div", { class: "muted small" }, `every ${row.health_interval_s}s`) : null,
    ),
    h(
      "td",
      { "data-field": "circuit" },
      badge(row.circuit.replace("_", " "), TONE[row.circuit] || ""),
      row.ejections ? h("div", { class: "muted small" }, `${row.ejections} ejections`) : null,
    ),
    eras(row),
    h("td", {}, h("span", { class: "mono" }, row.kind), h("div", { class: "muted small" }, row.link)),
    h(
      "td",
      { class: "num" },
      String(row.sessions),
      h("div", { class: "muted small" }, row.session.replace("_", " ")),
    ),
    h("td", { class: "num", "data-field": "in_flight" }, String(row.in_flight)),
    h("td", { class: "num", "data-field": "calls_per_s" }, fmt.rate(rates.calls_per_s)),
    h(
      "td",
      { class: "num" },
      rates.error_rate === null || rates.error_rate === undefined
        ? "–"
        : badge(fmt.percent(rates.error_rate), errorTone),
    ),
    h("td", { class: "num" }, fmt.ms(rates.p50_ms)),
    h("td", { class: "num" }, fmt.ms(rates.p99_ms)),
  );
}

export async function mount(root, context) {
  const summary = h("p", { class: "muted", "data-testid": "summary" }, "Loading…");
  const body = h("tbody");
  const errors = h("div");
  root.append(
    h("h1", {}, "Backends"),
    summary,
    errors,
    h(
      "div",
      { class: "card table-wrap" },
      h(
        "table",
        { "data-testid": "backends" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            [
              "Backend",
              "State",
              "Health",
              "Circuit",
              "Eras",
              "Link",
              "Sessions",
              "In flight",
              "Calls/s",
              "Errors",
              "p50",
              "p99",
            ].map((title, i) => h("th", { class: i >= 6 ? "num" : "" }, title)),
          ),
        ),
        body,
      ),
    ),
  );
  return every(
    context.refresh,
    async () => {
      const data = await api("backends");
      clear(errors);
      const rows = data.backends;
      const healthy = rows.filter((r) => r.healthy).length;
      summary.textContent = `${healthy} of ${rows.length} backends healthy · rates over the last ${data.window_s}s · refreshed ${new Date().toLocaleTimeString(undefined, { hour12: false })}`;
      body.replaceChildren(...rows.map(line));
    },
    (error) => fill(errors, problem(error)),
  );
}
