// Playground: pick any tool, prompt, resource or template the signed-in principal can see, fill
// the form generated from its schema, and run it through /mcp as that principal (views, scopes,
// limits and audit apply as to any client). Shows progress while it runs, the elapsed time, the
// request id (the live-calls page and the audit log carry it), and the result as structured
// content and as content blocks. A backend's elicitation opens a dialog in the page.

import { badge, clear, fill, h, problem } from "../dom.js";
import { rendered } from "../results.js";
import { schemaForm } from "../schemaform.js";

const KINDS = [
  { kind: "tool", title: "Tools", method: "tools/list", key: "tools", id: (i) => i.name },
  { kind: "prompt", title: "Prompts", method: "prompts/list", key: "prompts", id: (i) => i.name },
  { kind: "resource", title: "Resources", method: "resources/list", key: "resources", id: (i) => i.uri },
  {
    kind: "template",
    title: "Resource templates",
    method: "resources/templates/list",
    key: "resourceTemplates",
    id: (i) => i.uriTemplate,
  },
];
const TEMPLATE_VARIABLE = /\{([+#./;?&]?)([^}]+)\}/g;

function requestId() {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return `ui-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

function schemaOf(kind, item) {
  if (kind === "tool") return item.inputSchema || { type: "object", properties: {} };
  if (kind === "prompt") {
    const properties = {};
    const required = [];
    for (const arg of item.arguments || []) {
      properties[arg.name] = { type: "string", description: arg.description };
      if (arg.required) required.push(arg.name);
    }
    return { type: "object", properties, required };
  }
  if (kind === "template") {
    const properties = {};
    for (const match of item.uriTemplate.matchAll(TEMPLATE_VARIABLE)) {
      for (const name of match[2].split(",")) properties[name.replace(/\*$/, "")] = { type: "string" };
    }
    return { type: "object", properties, required: Object.keys(properties) };
  }
  return { type: "object", properties: {} };
}

function expand(template, values) {
  return template.replace(TEMPLATE_VARIABLE, (_, operator, names) =>
    names
      .split(",")
      .map((name) => {
        const value = String(values[name.replace(/\*$/, "")] ?? "");
        return operator === "+" || operator === "#" ? encodeURI(value) : encodeURIComponent(value);
      })
      .join(","),
  );
}

export async function mount(root, context) {
  const mcp = context.mcp();
  const filter = h("input", {
    type: "search",
    placeholder: "Filter",
    "aria-label": "Filter",
    "data-testid": "filter",
  });
  const list = h("div", { class: "items", "data-testid": "items" }, h("p", { class: "muted" }, "Loading…"));
  const detail = h("div", { class: "card" }, h("p", { class: "muted" }, "Pick a tool, prompt or resource."));
  root.append(
    h("h1", {}, "Playground"),
    h(
      "div",
      { class: "row" },
      h("div", { class: "side" }, h("div", { class: "toolbar" }, filter), list),
      h("div", { class: "grow" }, detail),
    ),
  );
  let timer = null;
  let alive = true;
  const found = {};

  function select(kind, item, button) {
    for (const b of list.querySelectorAll("button")) b.setAttribute("aria-pressed", String(b === button));
    const spec = KINDS.find((k) => k.kind === kind);
    const name = spec.id(item);
    const form = schemaForm(schemaOf(kind, item));
    const run = h(
      "button",
      { type: "button", class: "primary", "data-testid": "run" },
      kind === "tool" ? "Run" : kind === "prompt" ? "Get" : "Read",
    );
    const state = h("span", { "data-testid": "state" });
    const elapsed = h("span", { class: "mono", "data-testid": "elapsed" });
    const rid = h("span", { class: "mono", "data-testid": "request-id" });
    const bar = h("progress", { hidden: true, "data-testid": "progress" });
    const note = h("span", { class: "muted", "data-testid": "progress-message" });
    const output = h("div", { "data-testid": "result" });
    fill(
      detail,
      h("h2", { class: "mono", "data-testid": "selected" }, name),
      h("p", { class: "muted" }, `${kind}${item.title ? ` · ${item.title}` : ""}`),
      item.description ? h("p", {}, item.description) : null,
      form.element,
      h("div", { class: "actions" }, run),
      h("div", { class: "status" }, state, elapsed, rid, bar, note),
      output,
    );
    run.addEventListener("click", async () => {
      const { value, error } = form.read();
      if (error) {
        fill(output, problem(error));
        return;
      }
      const id = requestId();
      const started = performance.now();
      const tick = () => {
        elapsed.textContent = `${((performance.now() - started) / 1000).toFixed(2)} s`;
      };
      run.disabled = true;
      state.replaceChildren(badge("running", "warn"));
      rid.textContent = `request ${id}`;
      bar.hidden = true;
      bar.removeAttribute("value");
      note.textContent = "";
      clear(output);
      clearInterval(timer);
      timer = setInterval(tick, 100);
      const onProgress = (p) => {
        bar.hidden = false;
        if (p.total) {
          bar.max = p.total;
          bar.value = p.progress;
        }
        note.textContent = `${p.progress}${p.total ? ` / ${p.total}` : ""}${p.message ? ` · ${p.message}` : ""}`;
      };
      try {
        let result;
        if (kind === "tool")
          result = await mcp.request("tools/call", { name, arguments: value }, { onProgress, requestId: id });
        else if (kind === "prompt")
          result = await mcp.request("prompts/get", { name, arguments: value }, { requestId: id });
        else {
          const uri = kind === "template" ? expand(item.uriTemplate, value) : item.uri;
          result = await mcp.request("resources/read", { uri }, { requestId: id });
        }
        state.replaceChildren(badge(result.isError ? "tool error" : "done", result.isError ? "bad" : "ok"));
        output.append(...rendered(kind, result));
      } catch (err) {
        state.replaceChildren(badge("failed", "bad"));
        output.append(problem(err));
      } finally {
        clearInterval(timer);
        tick();
        run.disabled = false;
      }
    });
  }

  function draw() {
    const wanted = filter.value.trim().toLowerCase();
    const groups = [];
    for (const spec of KINDS) {
      const items = (found[spec.kind] || []).filter(
        (i) => !wanted || spec.id(i).toLowerCase().includes(wanted),
      );
      if (!items.length) continue;
      groups.push(h("h3", {}, `${spec.title} (${items.length})`));
      for (const item of items) {
        const button = h(
          "button",
          {
            type: "button",
            "data-kind": spec.kind,
            "data-name": spec.id(item),
            "aria-pressed": "false",
            title: item.description || "",
          },
          spec.id(item),
        );
        button.addEventListener("click", () => select(spec.kind, item, button));
        groups.push(button);
      }
    }
    list.replaceChildren(...(groups.length ? groups : [h("p", { class: "muted" }, "Nothing to show.")]));
  }

  async function load() {
    await mcp.connect();
    await Promise.all(
      KINDS.map(async (spec) => {
        try {
          found[spec.kind] = await mcp.list(spec.method, spec.key);
        } catch {
          found[spec.kind] = []; // a server without that capability lists nothing
        }
      }),
    );
    if (!alive) return;
    draw();
    for (const spec of KINDS) {
      const wanted = context.params.get(spec.kind);
      const button =
        wanted && list.querySelector(`button[data-kind="${spec.kind}"][data-name="${CSS.escape(wanted)}"]`);
      if (button) button.click();
    }
  }

  filter.addEventListener("input", draw);
  const stop = context.onNotification((method) => {
    if (method.endsWith("/list_changed")) load().catch(() => {});
  });
  try {
    await load();
  } catch (error) {
    fill(list, problem(error));
  }
  return () => {
    alive = false;
    stop();
    clearInterval(timer);
  };
}
