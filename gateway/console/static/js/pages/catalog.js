// Catalog: tools, prompts, resources and templates as a principal's view sees them, with the
// backend and original name behind each, the view's token budget and the lockfile drift.

import { api } from "../api.js";
import { badge, fill, h, problem } from "../dom.js";

function table(title, rows, { kind, link }) {
  if (!rows.length)
    return h("section", {}, h("h2", {}, `${title} (0)`), h("p", { class: "muted" }, "None in this view."));
  return h(
    "section",
    {},
    h("h2", {}, `${title} (${rows.length})`),
    h(
      "div",
      { class: "card table-wrap" },
      h(
        "table",
        { "data-testid": `catalog-${kind}` },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", {}, "Name"),
            h("th", {}, "Backend"),
            h("th", {}, "Original"),
            h("th", {}, "Description"),
          ),
        ),
        h(
          "tbody",
          {},
          rows.map((row) =>
            h(
              "tr",
              { "data-name": row.name },
              h(
                "td",
                { class: "mono" },
                link
                  ? h(
                      "a",
                      { href: `/ui/playground?${kind}=${encodeURIComponent(row.name)}`, "data-link": "true" },
                      row.name,
                    )
                  : row.name,
              ),
              h("td", {}, row.backend),
              h("td", { class: "mono" }, row.original),
              h("td", { class: "muted" }, row.item.description || row.item.title || ""),
            ),
          ),
        ),
      ),
    ),
  );
}

function budget(data) {
  const b = data.budget;
  const mode = b.mode === "search" ? badge("search mode", "warn") : badge("full list", "ok");
  return h(
    "section",
    { class: "card", "data-testid": "budget" },
    h("h2", {}, "Context budget"),
    h(
      "p",
      {},
      `tools/list: ${b.tools} tools, about ${b.tokens} tokens `,
      mode,
      b.search_above_tokens ? ` (search above ${b.search_above_tokens} tokens)` : " (no search threshold)",
    ),
    b.largest.length
      ? h(
          "p",
          { class: "muted small" },
          "Largest: ",
          b.largest.map((t) => `${t.name} ${t.tokens}`).join(" · "),
        )
      : null,
    h("p", { class: "muted small" }, b.estimate),
  );
}

function drift(data) {
  const d = data.drift;
  const rows = Object.entries(d.backends);
  return h(
    "section",
    { class: "card", "data-testid": "drift" },
    h("h2", {}, `Lockfile drift (${d.lockfile})`),
    d.exists
      ? null
      : h("p", { class: "muted" }, "No lockfile: run `gateway lock` to approve the current definitions."),
    d.problem ? h("p", { class: "error" }, d.problem) : null,
    h(
      "table",
      {},
      h("thead", {}, h("tr", {}, h("th", {}, "Backend"), h("th", {}, "Policy"), h("th", {}, "Drift"))),
      h(
        "tbody",
        {},
        rows.map(([name, row]) =>
          h(
            "tr",
            {},
            h("td", {}, name),
            h("td", {}, row.policy, row.locked ? "" : h("span", { class: "muted" }, " (not locked)")),
            h(
              "td",
              {},
              row.changes === null
                ? h("span", { class: "muted" }, "not listed yet")
                : !d.exists
                  ? h("span", { class: "muted" }, "–")
                  : row.changes.length
                    ? h(
                        "ul",
                        {},
                        row.changes.map((c) => h("li", {}, c)),
                      )
                    : badge("matches the lock", "ok"),
            ),
          ),
        ),
      ),
    ),
  );
}

export async function mount(root, context) {
  const { me } = context;
  const out = h("div");
  const chooser = h("div", { class: "toolbar" });
  root.append(h("h1", {}, "Catalog"), chooser, out);

  const picker = h("select", { id: "principal", "data-testid": "principal" });
  const custom = h("input", {
    type: "text",
    placeholder: "another principal (jwt:alice)",
    id: "custom-principal",
  });
  const scopes = h("input", { type: "text", placeholder: "its scopes (a b c)", id: "custom-scopes" });
  let current = context.params.get("principal") || me.principal;

  async function load() {
    fill(out, h("p", { class: "muted" }, "Loading…"));
    const query = new URLSearchParams({ principal: current });
    if (current === custom.value.trim() && scopes.value.trim()) query.set("scopes", scopes.value.trim());
    try {
      const data = await api(`catalog?${query}`);
      const who = data.principal;
      fill(
        out,
        h(
          "p",
          { class: "muted", "data-testid": "viewing" },
          `As ${who.name} (${who.kind}${who.scopes.length ? `, scopes ${who.scopes.join(" ")}` : ""}) · view: ${data.view || "none (everything its scopes allow)"}`,
        ),
        budget(data),
        table("Tools", data.tools, { kind: "tool", link: who.name === me.principal }),
        table("Prompts", data.prompts, { kind: "prompt", link: who.name === me.principal }),
        table("Resources", data.resources, { kind: "resource", link: who.name === me.principal }),
        table("Resource templates", data.templates, { kind: "template", link: false }),
        drift(data),
        data.collisions.length
          ? h(
              "section",
              { class: "card" },
              h("h2", {}, "Name collisions"),
              h(
                "ul",
                {},
                data.collisions.map((c) => h("li", {}, c)),
              ),
            )
          : null,
      );
    } catch (error) {
      fill(out, problem(error));
    }
  }

  if (me.admin) {
    const { principals } = await api("principals");
    const names = principals.map((p) => p.name);
    if (!names.includes(me.principal))
      principals.unshift({ name: me.principal, scopes: me.scopes, note: "you" });
    for (const p of principals) picker.append(h("option", { value: p.name }, `${p.name} — ${p.note}`));
    picker.append(h("option", { value: "" }, "another…"));
    picker.value = names.includes(current) || current === me.principal ? current : "";
    if (!picker.value) custom.value = current;
    picker.addEventListener("change", () => {
      if (picker.value) {
        current = picker.value;
        load();
      } else custom.focus();
    });
    const look = h("button", { type: "button" }, "Look");
    look.addEventListener("click", () => {
      if (custom.value.trim()) {
        current = custom.value.trim();
        picker.value = "";
        load();
      }
    });
    chooser.append(
      h("label", { class: "inline", for: "principal" }, "View as"),
      picker,
      custom,
      scopes,
      look,
    );
  } else {
    chooser.append(
      h(
        "span",
        { class: "muted" },
        `Your view (${me.principal}); other principals' views need the admin scope.`,
      ),
    );
  }
  await load();
  return null;
}
