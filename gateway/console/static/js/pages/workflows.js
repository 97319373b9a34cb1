// Workflows: each workflow's steps drawn as a graph (rounds as columns, arrows for what a step
// waits for), and a dry run with inputs: called through /mcp as the signed-in principal with
// `dry_run: true`, it shows the resolved arguments and what that caller may run.

import { api } from "../api.js";
import { badge, clear, h, problem, s } from "../dom.js";
import { schemaForm } from "../schemaform.js";

const NODE = { width: 230, height: 46, column: 290, row: 70, top: 30, left: 10 };

function graph(workflow) {
  const place = {};
  workflow.rounds.forEach((names, column) =>
    names.forEach((name, row) => {
      place[name] = { x: NODE.left + column * NODE.column, y: NODE.top + row * NODE.row };
    }),
  );
  const tallest = Math.max(...workflow.rounds.map((r) => r.length));
  const width = NODE.left * 2 + (workflow.rounds.length - 1) * NODE.column + NODE.width;
  const height = NODE.top + tallest * NODE.row;
  const edges = [];
  for (const step of workflow.steps) {
    for (const from of step.waits_for) {
      const a = place[from];
      const b = place[step.name];
      if (!a || !b) continue;
      const x1 = a.x + NODE.width;
      const y1 = a.y + NODE.height / 2;
      const x2 = b.x - 4;
      const y2 = b.y + NODE.height / 2;
      const bend = (x2 - x1) / 2;
      edges.push(
        s("path", { class: "edge", d: `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}` }),
      );
    }
  }
  const labels = workflow.rounds.map((_, column) =>
    s("text", { class: "round", x: NODE.left + column * NODE.column, y: 16 }, `round ${column + 1}`),
  );
  const nodes = workflow.steps.map((step) => {
    const p = place[step.name];
    const target = String(step.target);
    return s(
      "g",
      { class: `node ${step.kind}`, "data-step": step.name, transform: `translate(${p.x},${p.y})` },
      s(
        "title",
        {},
        `${step.kind} ${target}${step.waits_for.length ? `\nwaits for ${step.waits_for.join(", ")}` : ""}\non error: ${step.on_error}`,
      ),
      s("rect", { width: NODE.width, height: NODE.height, rx: 6 }),
      s("text", { x: 10, y: 19 }, `${step.name}${step.on_error === "continue" ? " (may fail)" : ""}`),
      s(
        "text",
        { class: "target", x: 10, y: 36 },
        `${step.kind} ${target.length > 31 ? `${target.slice(0, 30)}…` : target}`,
      ),
    );
  });
  return h(
    "div",
    { class: "graph", "data-testid": `graph-${workflow.name}` },
    s(
      "svg",
      {
        width,
        height,
        viewBox: `0 0 ${width} ${height}`,
        role: "img",
        "aria-label": `steps of ${workflow.name}`,
      },
      s(
        "defs",
        {},
        s(
          "marker",
          {
            id: "arrow",
            viewBox: "0 0 10 10",
            refX: 9,
            refY: 5,
            markerWidth: 7,
            markerHeight: 7,
            orient: "auto",
          },
          s("path", { d: "M0,0 L10,5 L0,10 z" }),
        ),
      ),
      labels,
      edges,
      nodes,
    ),
  );
}

function plan(result) {
  const rounds = result.plan || [];
  return h(
    "div",
    { "data-testid": "plan" },
    h(
      "table",
      {},
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["Round", "Step", "Target", "Arguments", "May run", "Backend", "Retries"].map((t) =>
            h("th", {}, t),
          ),
        ),
      ),
      h(
        "tbody",
        {},
        rounds.flatMap((round) =>
          round.steps.map((step) =>
            h(
              "tr",
              { "data-step": step.step },
              h("td", {}, String(round.round)),
              h("td", {}, step.step),
              h("td", { class: "mono" }, String(step.call ?? step.read)),
              h("td", {}, step.arguments === undefined ? "–" : h("code", {}, JSON.stringify(step.arguments))),
              h(
                "td",
                {},
                step.allowed === true
                  ? badge("yes", "ok")
                  : step.allowed === false
                    ? badge("no", "bad")
                    : badge(String(step.allowed), "warn"),
              ),
              h("td", {}, step.backend || "–"),
              h("td", { class: "num" }, step.retries === undefined ? "–" : String(step.retries)),
            ),
          ),
        ),
      ),
    ),
  );
}

function card(workflow, context) {
  const form = schemaForm(workflow.input_schema, { skip: ["dry_run"] });
  const output = h("div");
  const button = h(
    "button",
    { type: "button", class: "primary", "data-testid": `dry-run-${workflow.name}` },
    "Dry run",
  );
  button.addEventListener("click", async () => {
    const { value, error } = form.read();
    clear(output);
    if (error) {
      output.append(problem(error));
      return;
    }
    button.disabled = true;
    try {
      const result = await context
        .mcp()
        .request("tools/call", { name: workflow.name, arguments: { ...value, dry_run: true } });
      if (result.isError)
        output.append(problem((result.content || []).map((c) => c.text).join(" ") || "the dry run failed"));
      else output.append(h("h3", {}, "Dry run"), plan(result.structuredContent || {}));
    } catch (err) {
      output.append(problem(err));
    } finally {
      button.disabled = false;
    }
  });
  return h(
    "section",
    { class: "card", "data-workflow": workflow.name },
    h("h2", { class: "mono" }, workflow.name),
    h("p", {}, workflow.description),
    h(
      "p",
      { class: "muted small" },
      `${workflow.steps.length} steps in ${workflow.rounds.length} rounds · times out after ${workflow.timeout_s}s`,
      workflow.result ? ` · result: ${workflow.result.join(", ")}` : "",
    ),
    graph(workflow),
    h("h3", {}, "Inputs"),
    form.element,
    h(
      "div",
      { class: "actions" },
      button,
      h(
        "a",
        { href: `/ui/playground?tool=${encodeURIComponent(workflow.name)}`, "data-link": "true" },
        "Run it in the playground",
      ),
    ),
    output,
  );
}

export async function mount(root, context) {
  root.append(h("h1", {}, "Workflows"));
  const data = await api("workflows");
  if (!data.workflows.length) {
    root.append(
      h(
        "p",
        { class: "muted" },
        "No workflows in your view (they are defined under `workflows:` in gateway.yaml).",
      ),
    );
    return null;
  }
  root.append(...data.workflows.map((w) => card(w, context)));
  return null;
}
