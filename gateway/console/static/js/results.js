// What a call answered, as the playground shows it: a tool's structured content (a table of its
// fields when it is flat) and its content blocks, a prompt's messages, a resource's contents.

import { badge, h, json } from "./dom.js";

function isFlat(value) {
  return (
    value &&
    typeof value === "object" &&
    !Array.isArray(value) &&
    Object.values(value).every((v) => v === null || ["string", "number", "boolean"].includes(typeof v))
  );
}

function structured(value) {
  return h(
    "section",
    {},
    h("h3", {}, "Structured content"),
    isFlat(value)
      ? h(
          "table",
          { class: "fields", "data-testid": "fields" },
          h(
            "tbody",
            {},
            Object.entries(value).map(([k, v]) =>
              h(
                "tr",
                { "data-key": k },
                h("td", {}, k),
                h("td", { class: "mono", "data-testid": `field-${k}` }, v === null ? "null" : String(v)),
              ),
            ),
          ),
        )
      : null,
    h("pre", { "data-testid": "structured" }, json(value)),
  );
}

function block(item) {
  if (item.type === "text")
    return h(
      "div",
      { class: "block" },
      h("div", { class: "muted small" }, "text"),
      h("pre", { "data-testid": "text-block" }, item.text),
    );
  if (item.type === "image")
    return h(
      "div",
      { class: "block" },
      h("div", { class: "muted small" }, `image ${item.mimeType}`),
      h("img", { src: `data:${item.mimeType};base64,${item.data}`, alt: "image content" }),
    );
  if (item.type === "resource") {
    const r = item.resource || {};
    return h(
      "div",
      { class: "block" },
      h("div", { class: "muted small" }, `embedded resource ${r.uri} ${r.mimeType || ""}`),
      r.text !== undefined
        ? h("pre", {}, r.text)
        : h("p", { class: "muted" }, `${(r.blob || "").length} base64 characters`),
    );
  }
  if (item.type === "resource_link")
    return h(
      "div",
      { class: "block" },
      h("div", { class: "muted small" }, "resource link"),
      h("span", { class: "mono" }, item.uri),
      item.name ? ` ${item.name}` : "",
    );
  return h(
    "div",
    { class: "block" },
    h("div", { class: "muted small" }, item.type || "content"),
    h("pre", {}, json(item)),
  );
}

export function rendered(kind, result) {
  const parts = [];
  if (kind === "tool") {
    if (result.isError) parts.push(h("p", {}, badge("the tool reported an error", "bad")));
    if (result.structuredContent !== undefined && result.structuredContent !== null)
      parts.push(structured(result.structuredContent));
    parts.push(
      h("h3", {}, `Content blocks (${(result.content || []).length})`),
      ...(result.content || []).map(block),
    );
  } else if (kind === "prompt") {
    if (result.description) parts.push(h("p", { class: "muted" }, result.description));
    parts.push(h("h3", {}, `Messages (${(result.messages || []).length})`));
    for (const message of result.messages || [])
      parts.push(h("div", { class: "block" }, h("strong", {}, message.role), block(message.content)));
  } else {
    parts.push(h("h3", {}, `Contents (${(result.contents || []).length})`));
    for (const content of result.contents || []) parts.push(block({ type: "resource", resource: content }));
  }
  parts.push(h("details", {}, h("summary", {}, "Raw result"), h("pre", {}, json(result))));
  return parts;
}
