// An MCP client over streamable HTTP, in the handshake era (2025-11-25), as the browser speaks it.
//
// It posts JSON-RPC to /mcp with the signed-in principal's bearer header, so everything it does
// takes the gateway's front door like any client's request: views, scopes, rate limits, audit.
// It declares the elicitation capability at initialize; a server request (elicitation/create)
// arriving on a POST's event stream or on the session's GET stream is handed to `onRequest`, and
// its answer is posted back as a JSON-RPC response. Progress notifications for a request go to
// that request's `onProgress`.

import { credentials } from "./api.js";

export const PROTOCOL_VERSION = "2025-11-25";
const ENDPOINT = "/mcp";

export class McpError extends Error {
  constructor(error) {
    super(error.message || "MCP error");
    this.code = error.code;
    this.data = error.data;
  }
}

/** Server-sent events from a fetch response body: yields {event, data} objects. */
async function* events(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const chunk = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = [];
      let event = "message";
      for (const line of chunk.split("\n")) {
        if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        else if (line.startsWith("event:")) event = line.slice(6).trim();
      }
      if (data.length) yield { event, data: data.join("\n") };
    }
  }
}

export class McpClient {
  constructor({ onRequest, onNotification } = {}) {
    this.onRequest =
      onRequest ||
      (async (method) => {
        throw new McpError({ code: -32601, message: `${method} is not supported here` });
      });
    this.onNotification = onNotification || (() => {});
    this.sessionId = null;
    this.nextId = 1;
    this.progress = new Map();
    this.server = null;
    this.listening = null;
    this.connecting = null;
  }

  headers(extra = {}) {
    const headers = {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...credentials.headers(),
      ...extra,
    };
    if (this.sessionId) {
      headers["mcp-session-id"] = this.sessionId;
      headers["mcp-protocol-version"] = PROTOCOL_VERSION;
    }
    return headers;
  }

  async post(message, extraHeaders) {
    return fetch(ENDPOINT, {
      method: "POST",
      headers: this.headers(extraHeaders),
      body: JSON.stringify(message),
      cache: "no-store",
      credentials: "omit",
    });
  }

  /** Initialize once (again after the session was lost). */
  connect() {
    if (!this.connecting) {
      this.connecting = this.initialize().catch((error) => {
        this.connecting = null;
        throw error;
      });
    }
    return this.connecting;
  }

  async initialize() {
    this.sessionId = null;
    const id = this.nextId++;
    const response = await this.post({
      jsonrpc: "2.0",
      id,
      method: "initialize",
      params: {
        protocolVersion: PROTOCOL_VERSION,
        capabilities: { elicitation: { form: {} } },
        clientInfo: { name: "gateway-console", title: "Gateway console", version: "1" },
      },
    });
    const result = await this.answer(response, id);
    this.sessionId = response.headers.get("mcp-session-id");
    this.server = result;
    const done = await this.post({ jsonrpc: "2.0", method: "notifications/initialized" });
    await done.body?.cancel();
    this.listen();
    return result;
  }

  /** The session's GET stream: server requests and notifications outside any request. */
  listen() {
    if (!this.sessionId) return;
    this.listening?.abort();
    const control = new AbortController();
    this.listening = control;
    const headers = this.headers({ accept: "text/event-stream" });
    delete headers["content-type"];
    fetch(ENDPOINT, {
      method: "GET",
      headers,
      signal: control.signal,
      cache: "no-store",
      credentials: "omit",
    })
      .then(async (response) => {
        if (!response.ok || !response.body) return;
        for await (const event of events(response.body)) await this.dispatch(JSON.parse(event.data));
      })
      .catch(() => {}); // the stream ends with the session or the page: nothing to report
  }

  /**
   * Send a request and resolve to its result. `onProgress(params)` gets its progress
   * notifications; `requestId` travels as X-Request-Id (the audit record carries it).
   */
  async request(method, params = {}, { onProgress, requestId } = {}) {
    await this.connect();
    const send = async () => {
      const id = this.nextId++;
      const body = { ...params };
      let token = null;
      if (onProgress) {
        token = `console-${id}`;
        body._meta = { ...(body._meta || {}), progressToken: token };
        this.progress.set(token, onProgress);
      }
      try {
        const response = await this.post(
          { jsonrpc: "2.0", id, method, params: body },
          requestId ? { "x-request-id": requestId } : {},
        );
        return { response, result: await this.answer(response, id) };
      } finally {
        if (token) this.progress.delete(token);
      }
    };
    try {
      return (await send()).result;
    } catch (error) {
      if (error.status === 404 && this.sessionId) {
        this.connecting = null; // the session expired: a new one, and one more try
        await this.connect();
        return (await send()).result;
      }
      throw error;
    }
  }

  /** The JSON-RPC answer to request `id` in a POST response (JSON or an event stream). */
  async answer(response, id) {
    if (!response.ok) {
      let message = `${response.status} ${response.statusText}`;
      try {
        const text = await response.text();
        const parsed = JSON.parse(text);
        message = parsed.error?.message || parsed.error_description || parsed.error || text || message;
      } catch {
        // keep the status line
      }
      const error = new Error(`HTTP ${message}`);
      error.status = response.status;
      throw error;
    }
    const type = response.headers.get("content-type") || "";
    if (type.startsWith("application/json")) {
      const message = await response.json();
      return this.settle(message, id);
    }
    if (type.startsWith("text/event-stream") && response.body) {
      for await (const event of events(response.body)) {
        const message = JSON.parse(event.data);
        if (message.id === id && ("result" in message || "error" in message)) return this.settle(message, id);
        await this.dispatch(message);
      }
    }
    throw new Error(`no answer to request ${id}`);
  }

  settle(message, id) {
    if (message.id !== id) throw new Error(`unexpected answer ${message.id} to request ${id}`);
    if (message.error) throw new McpError(message.error);
    return message.result;
  }

  /** A message from the server that is not the awaited answer. */
  async dispatch(message) {
    if (message.method && message.id !== undefined) {
      let reply;
      try {
        reply = {
          jsonrpc: "2.0",
          id: message.id,
          result: await this.onRequest(message.method, message.params || {}),
        };
      } catch (error) {
        reply = {
          jsonrpc: "2.0",
          id: message.id,
          error: { code: error.code || -32603, message: error.message },
        };
      }
      const response = await this.post(reply);
      await response.body?.cancel();
      return;
    }
    if (message.method === "notifications/progress") {
      this.progress.get(message.params?.progressToken)?.(message.params);
      return;
    }
    if (message.method) this.onNotification(message.method, message.params || {});
  }

  /** Every page of a list method (tools/list, prompts/list, ...). */
  async list(method, key) {
    const items = [];
    let cursor;
    do {
      const result = await this.request(method, cursor ? { cursor } : {});
      items.push(...(result[key] || []));
      cursor = result.nextCursor;
    } while (cursor);
    return items;
  }

  /** End the session (signing out). */
  async close() {
    this.listening?.abort();
    this.listening = null;
    if (this.sessionId) {
      const headers = this.headers();
      this.sessionId = null;
      this.connecting = null;
      try {
        await fetch(ENDPOINT, { method: "DELETE", headers, credentials: "omit" });
      } catch {
        // gone already
      }
    }
  }
}
