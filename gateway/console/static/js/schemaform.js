// A form generated from a JSON Schema object (a tool's inputSchema, an elicitation's
// requestedSchema, a workflow's inputs): one field per property, by its type.
//
//   string / number / integer   a text or number input (enum: a select)
//   boolean                      a checkbox
//   array, object, anything else a JSON text area
//
// `read()` answers {value, error}: the arguments object, with empty optional fields left out.

import { h } from "./dom.js";

let counter = 0;

/** The non-null branch of `anyOf: [X, {type: null}]`, else the schema itself. */
function plain(schema) {
  const branches = schema.anyOf || schema.oneOf;
  if (Array.isArray(branches)) {
    const real = branches.filter((b) => b && b.type !== "null");
    if (real.length === 1)
      return {
        ...real[0],
        description: schema.description ?? real[0].description,
        default: schema.default ?? real[0].default,
        title: schema.title ?? real[0].title,
      };
  }
  return schema;
}

function kindOf(schema) {
  if (Array.isArray(schema.enum)) return "enum";
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type;
  if (type === "string" || type === "number" || type === "integer" || type === "boolean") return type;
  return "json";
}

function field(name, rawSchema, required, initial) {
  const schema = plain(rawSchema || {});
  const kind = kindOf(schema);
  const id = `field-${++counter}`;
  const start = initial !== undefined ? initial : schema.default;
  let input;
  if (kind === "enum") {
    input = h("select", { id, name });
    if (!required) input.append(h("option", { value: "" }, "—"));
    for (const option of schema.enum)
      input.append(h("option", { value: JSON.stringify(option) }, String(option)));
    if (start !== undefined && start !== null) input.value = JSON.stringify(start);
  } else if (kind === "boolean") {
    input = h("input", { id, name, type: "checkbox" });
    input.checked = Boolean(start);
  } else if (kind === "number" || kind === "integer") {
    input = h("input", {
      id,
      name,
      type: "number",
      step: kind === "integer" ? "1" : "any",
      min: schema.minimum,
      max: schema.maximum,
    });
    if (start !== undefined && start !== null) input.value = String(start);
  } else if (kind === "string") {
    input = h("input", { id, name, type: "text", autocomplete: "off" });
    if (start !== undefined && start !== null) input.value = String(start);
  } else {
    input = h("textarea", {
      id,
      name,
      spellcheck: "false",
      placeholder: schema.type === "array" ? "[ ... ] (JSON)" : "JSON",
    });
    if (start !== undefined && start !== null) input.value = JSON.stringify(start);
  }
  input.dataset.arg = name;
  const title = schema.title && schema.title.toLowerCase() !== name.toLowerCase() ? ` (${schema.title})` : "";
  const label =
    kind === "boolean"
      ? h(
          "label",
          { class: "inline", for: id },
          input,
          ` ${name}${title}`,
          required ? h("span", { class: "required" }, " *") : null,
        )
      : h(
          "label",
          { for: id },
          `${name}${title}`,
          required ? h("span", { class: "required" }, " *") : null,
          h("span", { class: "muted small" }, `  ${kind === "json" ? schema.type || "JSON" : kind}`),
        );
  const element = h(
    "div",
    { class: "field" },
    label,
    kind === "boolean" ? null : input,
    schema.description ? h("p", { class: "help" }, schema.description) : null,
  );

  function read() {
    if (kind === "boolean") return { value: input.checked };
    const text = input.value;
    if (text.trim() === "") {
      if (required) return { error: `${name} is required` };
      return { skip: true };
    }
    if (kind === "enum") return { value: JSON.parse(text) };
    if (kind === "string") return { value: text };
    if (kind === "number" || kind === "integer") {
      const number = Number(text);
      if (!Number.isFinite(number) || (kind === "integer" && !Number.isInteger(number)))
        return { error: `${name}: not ${kind === "integer" ? "an integer" : "a number"}` };
      return { value: number };
    }
    try {
      return { value: JSON.parse(text) };
    } catch {
      return { error: `${name}: not valid JSON` };
    }
  }
  return { element, read, input };
}

/**
 * A form for `schema` (an object schema). `skip` names properties to leave out; `initial` gives
 * starting values. Answers {element, read(), fields}.
 */
export function schemaForm(schema, { skip = [], initial = {} } = {}) {
  const properties = (schema && schema.properties) || {};
  const required = new Set((schema && schema.required) || []);
  const fields = Object.entries(properties)
    .filter(([name]) => !skip.includes(name))
    .map(([name, prop]) => ({ name, ...field(name, prop, required.has(name), initial[name]) }));
  const element = h(
    "div",
    { class: "schema-form" },
    fields.length ? fields.map((f) => f.element) : h("p", { class: "muted" }, "No arguments."),
  );
  function read() {
    const value = {};
    for (const f of fields) {
      const got = f.read();
      if (got.error) return { error: got.error };
      if (!got.skip) value[f.name] = got.value;
    }
    return { value };
  }
  return { element, read, fields };
}
