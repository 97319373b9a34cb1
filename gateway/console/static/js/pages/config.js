// Config (admins): the effective configuration with every secret masked; check the file on disk
// or a candidate text (problems shown at their YAML path and line); reload the file.

import { api, ApiError } from "../api.js";
import { badge, fill, h, json, problem } from "../dom.js";

function problems(report, text) {
  if (report.ok) {
    const c = report.changes || {};
    const moved = [
      c.sections && c.sections.length ? `sections changed: ${c.sections.join(", ")}` : "no section changed",
      c.added && c.added.length ? `backends added: ${c.added.join(", ")}` : null,
      c.removed && c.removed.length ? `removed: ${c.removed.join(", ")}` : null,
      c.changed && c.changed.length ? `changed: ${c.changed.join(", ")}` : null,
    ].filter(Boolean);
    return h(
      "div",
      { "data-testid": "check-result" },
      badge("valid", "ok"),
      " ",
      `${report.source}: ${moved.join(" · ")}`,
    );
  }
  const list = h(
    "ul",
    { class: "problems" },
    report.problems.map((p) =>
      h(
        "li",
        { "data-line": p.line ?? "" },
        p.path ? h("code", {}, p.path) : null,
        p.line ? h("span", { class: "muted" }, ` (line ${p.line})`) : null,
        `${p.path || p.line ? ": " : ""}${p.message}`,
      ),
    ),
  );
  const parts = [
    badge(`${report.problems.length} problem${report.problems.length === 1 ? "" : "s"}`, "bad"),
    ` in ${report.source}`,
    list,
  ];
  if (text !== undefined) {
    const byLine = new Map();
    for (const p of report.problems) if (p.line) byLine.set(p.line, [...(byLine.get(p.line) || []), p]);
    parts.push(
      h(
        "ol",
        { class: "lines" },
        text.split("\n").map((line, i) => {
          const here = byLine.get(i + 1);
          return h(
            "li",
            { class: here ? "bad" : "" },
            line || " ",
            here
              ? here.map((p) => h("span", { class: "note" }, `↑ ${p.path ? `${p.path}: ` : ""}${p.message}`))
              : null,
          );
        }),
      ),
    );
  }
  return h("div", { "data-testid": "check-result" }, parts);
}

function outcome(result) {
  const lines = [
    result.applied ? badge("reloaded", "ok") : badge("refused: the running config stays", "bad"),
    h(
      "ul",
      {},
      ["added", "removed", "restarted", "needs_restart"]
        .filter((k) => result[k] && result[k].length)
        .map((k) => h("li", {}, `${k.replace("_", " ")}: ${result[k].join(", ")}`)),
    ),
  ];
  if (result.problems && result.problems.length)
    lines.push(problems({ ok: false, source: "gateway.yaml", problems: result.problems }));
  return h("div", { "data-testid": "reload-result" }, lines);
}

export async function mount(root) {
  root.append(h("h1", {}, "Configuration"));
  let data;
  try {
    data = await api("config");
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) {
      root.append(
        h("p", { class: "error", "data-testid": "forbidden" }, "The configuration needs the admin scope."),
      );
      return null;
    }
    throw error;
  }
  const result = h(
    "div",
    { class: "card" },
    h("p", { class: "muted" }, "Check the file before reloading it."),
  );
  const checkFile = h("button", { type: "button", "data-testid": "check-file" }, "Check the file");
  const reload = h(
    "button",
    { type: "button", class: "primary", "data-testid": "reload", disabled: !data.reload_available },
    "Reload the file",
  );
  const candidate = h("textarea", {
    class: "tall",
    id: "candidate",
    spellcheck: "false",
    placeholder: "Paste a gateway.yaml to check it (nothing is saved or applied)",
    "data-testid": "candidate",
  });
  const checkText = h("button", { type: "button", "data-testid": "check-text" }, "Check this text");

  const act = async (button, work) => {
    button.disabled = true;
    try {
      fill(result, await work());
    } catch (error) {
      fill(result, problem(error));
    } finally {
      button.disabled = button === reload && !data.reload_available;
    }
  };
  checkFile.addEventListener("click", () =>
    act(checkFile, async () => problems(await api("config/check", { method: "POST", body: {} }))),
  );
  reload.addEventListener("click", () =>
    act(reload, async () => outcome(await api("config/reload", { method: "POST", body: {} }))),
  );
  checkText.addEventListener("click", () =>
    act(checkText, async () => {
      const text = candidate.value;
      return problems(await api("config/check", { method: "POST", body: { text } }), text);
    }),
  );

  const sections = Object.entries(data.config).map(([key, value]) =>
    h(
      "details",
      { "data-section": key, open: ["backends", "auth", "views", "ui"].includes(key) },
      h("summary", { class: "mono" }, key),
      h("pre", {}, json(value)),
    ),
  );
  root.append(
    h(
      "p",
      { class: "muted" },
      data.path ? `From ${data.path}. ` : "Built from text (no file). ",
      data.reload_available
        ? "Reload applies the file as `gateway run` does on SIGHUP."
        : "Reload is available while `gateway run` watches a config file.",
      " Every secret is masked.",
    ),
    h("div", { class: "actions" }, checkFile, reload),
    result,
    h(
      "div",
      { class: "row" },
      h(
        "div",
        { class: "grow card", "data-testid": "effective" },
        h("h2", {}, "Effective configuration"),
        sections,
      ),
      h(
        "div",
        { class: "grow card" },
        h("h2", {}, "Check a candidate"),
        candidate,
        h("div", { class: "actions" }, checkText),
      ),
    ),
  );
  return null;
}
