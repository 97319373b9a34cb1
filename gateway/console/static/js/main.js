// The console's shell: sign-in, navigation between pages (History API, no reloads), and the one
// MCP session every page shares.

import { api, ApiError, credentials } from "./api.js";
import { clear, fill, h, problem } from "./dom.js";
import { askUser } from "./elicit.js";
import { McpClient } from "./mcp.js";
import * as backends from "./pages/backends.js";
import * as calls from "./pages/calls.js";
import * as catalog from "./pages/catalog.js";
import * as charts from "./pages/charts.js";
import * as config from "./pages/config.js";
import * as playground from "./pages/playground.js";
import * as workflows from "./pages/workflows.js";

const PAGES = { backends, catalog, playground, calls, charts, workflows, config };
const root = document.getElementById("page");
const nav = document.getElementById("nav");
const who = document.getElementById("who");
const banner = document.getElementById("banner");
const signout = document.getElementById("signout");

const HEARTBEAT_MS = 10000; // while a page is open, the gateway keeps recording live calls (30 s lease)

let me = null;
let mcp = null;
let unmount = null;
let heartbeat = null;
const listeners = new Set();

function pageName() {
  const name = location.pathname.replace(/^\/ui\/?/, "").split("/")[0];
  return PAGES[name] ? name : "backends";
}

function navigate(path) {
  if (path !== location.pathname + location.search) history.pushState(null, "", path);
  show();
}

function session() {
  if (!mcp) {
    mcp = new McpClient({
      onRequest: async (method, params) => {
        if (method === "elicitation/create") return askUser(params);
        if (method === "ping") return {};
        const error = new Error(`${method} is not supported by the console`);
        error.code = -32601;
        throw error;
      },
      onNotification: (method, params) => listeners.forEach((listener) => listener(method, params)),
    });
  }
  return mcp;
}

async function show() {
  if (unmount) {
    const done = unmount;
    unmount = null;
    try {
      done();
    } catch {
      // a page that failed to clean up must not break the next one
    }
  }
  const name = pageName();
  for (const link of nav.querySelectorAll("a")) {
    if (link.dataset.page === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  clear(root);
  const context = {
    me,
    refresh: Math.max(250, me.refresh_ms || 2000),
    mcp: session,
    navigate,
    params: new URLSearchParams(location.search),
    onNotification(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  try {
    unmount = (await PAGES[name].mount(root, context)) || null;
  } catch (error) {
    root.append(problem(error));
  }
}

function signIn(message) {
  nav.hidden = true;
  signout.hidden = true;
  who.textContent = "";
  clear(root);
  const input = h("input", {
    type: "password",
    id: "signin-key",
    name: "key",
    autocomplete: "off",
    required: true,
    "data-testid": "signin-key",
  });
  const form = h(
    "form",
    { class: "card signin", "data-testid": "signin" },
    h("h1", {}, "Sign in"),
    h(
      "p",
      { class: "muted" },
      "This gateway requires credentials. Give an API key or a token: it is sent as a bearer header and kept in this tab only.",
    ),
    h("label", { for: "signin-key" }, "API key or token"),
    input,
    message ? h("p", { class: "error", role: "alert" }, message) : null,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Sign in")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    credentials.set(input.value.trim());
    start();
  });
  root.append(form);
  input.focus();
}

async function start() {
  try {
    const door = await api("door");
    if (door.auth && !credentials.get()) {
      signIn();
      return;
    }
    me = await api("me");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      credentials.clear();
      signIn("That key or token was not accepted.");
      return;
    }
    fill(root, problem(error));
    return;
  }
  document.getElementById("gateway-name").textContent = me.gateway;
  who.textContent = me.auth ? `${me.principal}${me.admin ? " (admin)" : ""}` : "open console";
  signout.hidden = !me.auth;
  for (const link of nav.querySelectorAll("a[data-admin]")) link.hidden = !me.admin;
  nav.hidden = false;
  banner.hidden = me.auth;
  banner.textContent = me.auth
    ? ""
    : "No `auth` is configured: this console is open to anyone on this machine (loopback clients only), and so is /mcp.";
  clearInterval(heartbeat);
  heartbeat = setInterval(() => {
    if (me) api("me").catch(() => {});
  }, HEARTBEAT_MS);
  show();
}

document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-page], a[data-link]");
  if (
    !link ||
    event.defaultPrevented ||
    event.button !== 0 ||
    event.metaKey ||
    event.ctrlKey ||
    event.shiftKey
  )
    return;
  if (!me) return;
  event.preventDefault();
  navigate(link.getAttribute("href"));
});
window.addEventListener("popstate", () => me && show());
signout.addEventListener("click", async () => {
  clearInterval(heartbeat);
  credentials.clear();
  if (mcp) await mcp.close();
  mcp = null;
  me = null;
  if (unmount) unmount();
  unmount = null;
  signIn();
});

start();
