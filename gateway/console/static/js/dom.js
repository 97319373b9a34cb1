// Small DOM helpers: elements built from data (never from HTML strings), formatting, polling.

const SVG_NS = "http://www.w3.org/2000/svg";

function build(el, attrs, children) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.setAttribute("class", value);
    else if (key === "text") el.textContent = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "style") throw new Error("no inline styles: use a class");
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** An HTML element: h("td", {class: "num"}, "42"). */
export function h(tag, attrs = {}, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** An SVG element. */
export function s(tag, attrs = {}, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

/** Replace what `el` holds with `children` (null, undefined and false are left out). */
export function fill(el, ...children) {
  el.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

/** A status badge; tone is ok, warn, bad or "" (neutral). */
export function badge(text, tone = "") {
  return h("span", { class: `badge ${tone}`.trim() }, text);
}

export function json(value) {
  return JSON.stringify(value, null, 2);
}

export const fmt = {
  number(value, digits = 2) {
    if (value === null || value === undefined) return "–";
    return Number(value).toLocaleString(undefined, { maximumFractionDigits: digits });
  },
  ms(value) {
    if (value === null || value === undefined) return "–";
    return value >= 1000
      ? `${(value / 1000).toFixed(2)} s`
      : `${Number(value).toFixed(value < 10 ? 2 : 1)} ms`;
  },
  rate(value) {
    return value === null || value === undefined ? "–" : `${Number(value).toFixed(2)}/s`;
  },
  percent(value) {
    return value === null || value === undefined ? "–" : `${(value * 100).toFixed(1)} %`;
  },
  time(iso) {
    if (!iso) return "–";
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleTimeString(undefined, { hour12: false });
  },
};

/**
 * Run `task` now and every `ms` milliseconds (never two at once) until the returned function is
 * called. Errors go to `onError` (a page shows them), never to the console.
 */
export function every(ms, task, onError) {
  let stopped = false;
  let running = false;
  const tick = async () => {
    if (stopped || running) return;
    running = true;
    try {
      await task();
    } catch (error) {
      if (!stopped && onError) onError(error);
    } finally {
      running = false;
    }
  };
  tick();
  const timer = setInterval(tick, ms);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}

/** A message line for errors on a page. */
export function problem(error) {
  return h("p", { class: "error", role: "alert" }, error && error.message ? error.message : String(error));
}
