// Live calls: the audit records as they happen (principal, method, name, outcome, latency,
// attempts, request id), newest first, filterable; a row opens the whole record.

import { api } from "../api.js";
import { badge, clear, every, fill, fmt, h, problem } from "../dom.js";

const KEEP = 1000;
const TONE = {
  ok: "ok",
  tool_error: "warn",
  denied: "warn",
  rate_limited: "warn",
  rejected: "warn",
  error: "bad",
};

export async function mount(root, context) {
  const text = h("input", {
    type: "search",
    placeholder: "principal, name, request id…",
    "aria-label": "Filter",
    "data-testid": "calls-filter",
  });
  const outcome = h(
    "select",
    { "aria-label": "Outcome", "data-testid": "calls-outcome" },
    ["", "ok", "tool_error", "error", "denied", "rejected", "rate_limited"].map((o) =>
      h("option", { value: o }, o || "any outcome"),
    ),
  );
  const method = h(
    "select",
    { "aria-label": "Method" },
    ["", "tools/call", "prompts/get", "resources/read", "completion/complete", "workflow"].map((m) =>
      h("option", { value: m }, m || "any method"),
    ),
  );
  const note = h("p", { class: "muted small", "data-testid": "recording" });
  const errors = h("div");
  const body = h("tbody");
  const details = h(
    "div",
    { class: "card", "data-testid": "call-details" },
    h("p", { class: "muted" }, "Select a call to see its record."),
  );
  root.append(
    h("h1", {}, "Live calls"),
    h("div", { class: "toolbar" }, text, outcome, method),
    note,
    errors,
    h(
      "div",
      { class: "row" },
      h(
        "div",
        { class: "grow card table-wrap" },
        h(
          "table",
          { "data-testid": "calls" },
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              [
                "Time",
                "Principal",
                "Method",
                "Name",
                "Backend",
                "Outcome",
                "Latency",
                "Attempts",
                "Request id",
              ].map((t, i) => h("th", { class: i === 6 || i === 7 ? "num" : "" }, t)),
            ),
          ),
          body,
        ),
      ),
      h("div", { class: "side" }, details),
    ),
  );

  const calls = [];
  let after = 0;
  let selected = null;

  function matches(call) {
    const wanted = text.value.trim().toLowerCase();
    if (outcome.value && call.outcome !== outcome.value) return false;
    if (method.value && call.method !== method.value) return false;
    if (!wanted) return true;
    return [call.principal, call.method, call.tool, call.backend, call.outcome, call.request_id].some(
      (v) => v && String(v).toLowerCase().includes(wanted),
    );
  }

  function open(call) {
    selected = call.seq;
    for (const row of body.children) row.classList.toggle("selected", row.dataset.seq === String(call.seq));
    fill(
      details,
      h("h2", {}, call.tool || call.method),
      h(
        "table",
        { class: "fields" },
        h(
          "tbody",
          {},
          Object.entries(call).map(([k, v]) =>
            h(
              "tr",
              {},
              h("td", {}, k),
              h(
                "td",
                { class: "mono" },
                v !== null && typeof v === "object" ? JSON.stringify(v, null, 1) : String(v),
              ),
            ),
          ),
        ),
      ),
    );
  }

  function draw() {
    body.replaceChildren(
      ...calls.filter(matches).map((call) => {
        const row = h(
          "tr",
          {
            class: `clickable${call.seq === selected ? " selected" : ""}`,
            "data-seq": String(call.seq),
            "data-request-id": call.request_id || "",
          },
          h("td", {}, fmt.time(call.time)),
          h("td", {}, call.principal),
          h("td", { class: "mono" }, call.method),
          h("td", { class: "mono" }, call.tool || ""),
          h("td", {}, call.backend || "–"),
          h("td", {}, badge(call.outcome, TONE[call.outcome] || "")),
          h("td", { class: "num" }, fmt.ms(call.latency_ms)),
          h("td", { class: "num" }, call.attempts === undefined ? "–" : String(call.attempts)),
          h("td", { class: "mono" }, call.request_id || ""),
        );
        row.addEventListener("click", () => open(call));
        return row;
      }),
    );
  }

  for (const control of [text, outcome, method]) control.addEventListener("input", draw);
  return every(
    Math.min(context.refresh, 1000),
    async () => {
      const data = await api(`calls?after=${after}`);
      clear(errors);
      note.textContent = `Recording ${data.recording}; the gateway keeps the last ${data.capacity} calls.${context.me.admin ? "" : " You see your own calls."}`;
      if (data.last < after) {
        calls.length = 0; // the gateway restarted: start over
        after = 0;
      }
      if (!data.calls.length) return;
      after = data.calls[data.calls.length - 1].seq;
      calls.unshift(...data.calls.reverse());
      calls.length = Math.min(calls.length, KEEP);
      draw();
    },
    (error) => fill(errors, problem(error)),
  );
}
