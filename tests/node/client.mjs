// A scripted MCP client built on the official TypeScript SDK, for end-to-end tests.
//
//   node client.mjs '<plan JSON>'
//
// The plan: {"target": {"url": "http://127.0.0.1:8000/mcp", "headers": {...}}
//                    | {"command": "...", "args": [...], "env": {...}},
//            "steps": [{"op": "listTools"}, {"op": "callTool", "name": "...", "arguments": {...}}, ...],
//            "sampling": {"text": "..."}, "elicitation": {"action": "accept", "content": {...}},
//            "roots": [{"uri": "file:///tmp", "name": "tmp"}]}
// Prints one JSON document: {"steps": [<result or {"error": ...}>...], "notifications": [...],
// "serverRequests": [...]}. Notifications are recorded in arrival order.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  ProgressNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
  PromptListChangedNotificationSchema,
  ResourceListChangedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";

const plan = JSON.parse(process.argv[2]);
const notifications = [];
const serverRequests = [];
// What arrived on the wire, in order: progress notifications and responses. The SDK hands a
// notification to its handler a microtask later but settles a response at once, so progress that
// arrives in the same read as its response never reaches `onprogress`; the wire shows what the
// server really sent, and in which order.
const wire = [];

function transportFor(target) {
  if (target.url) {
    const init = { requestInit: { headers: target.headers ?? {} } };
    if (target.url.endsWith("/sse")) return new SSEClientTransport(new URL(target.url), init);
    return new StreamableHTTPClientTransport(new URL(target.url), init);
  }
  return new StdioClientTransport({
    command: target.command,
    args: target.args ?? [],
    env: { ...process.env, ...(target.env ?? {}) },
    cwd: target.cwd,
    stderr: "inherit",
  });
}

const capabilities = {};
if (plan.sampling) capabilities.sampling = {};
if (plan.elicitation) capabilities.elicitation = { form: {} };
if (plan.roots) capabilities.roots = { listChanged: true };
const client = new Client({ name: "e2e-ts-client", version: "1.0.0" }, { capabilities });

client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => notifications.push(n));
client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => notifications.push(n));
client.setNotificationHandler(ToolListChangedNotificationSchema, (n) => notifications.push(n));
client.setNotificationHandler(PromptListChangedNotificationSchema, (n) => notifications.push(n));
client.setNotificationHandler(ResourceListChangedNotificationSchema, (n) => notifications.push(n));
if (plan.sampling) {
  client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
    serverRequests.push(request);
    return { role: "assistant", model: "e2e-model", content: { type: "text", text: plan.sampling.text } };
  });
}
if (plan.elicitation) {
  client.setRequestHandler(ElicitRequestSchema, async (request) => {
    serverRequests.push(request);
    return plan.elicitation;
  });
}
if (plan.roots) {
  client.setRequestHandler(ListRootsRequestSchema, async (request) => {
    serverRequests.push(request);
    return { roots: plan.roots };
  });
}

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function run(step) {
  const progress = [];
  const options = { onprogress: (p) => progress.push(p), timeout: step.timeoutMs ?? 30000 };
  switch (step.op) {
    case "listTools": return client.listTools(step.params ?? {});
    case "listPrompts": return client.listPrompts(step.params ?? {});
    case "listResources": return client.listResources(step.params ?? {});
    case "listAll": {
      // Follow nextCursor to the end: {"op": "listAll", "what": "tools"|"prompts"|"resources"|"resourceTemplates"}
      const method = { tools: "listTools", prompts: "listPrompts", resources: "listResources",
                       resourceTemplates: "listResourceTemplates" }[step.what];
      const items = [];
      let cursor;
      do {
        const page = await client[method](cursor ? { cursor } : {});
        items.push(...page[step.what]);
        cursor = page.nextCursor;
      } while (cursor);
      return { [step.what]: items };
    }
    case "listResourceTemplates": return client.listResourceTemplates(step.params ?? {});
    case "callTool": {
      const start = wire.length;
      const result = await client.callTool({ name: step.name, arguments: step.arguments ?? {} }, undefined, options);
      return step.progress ? { result, progress, wire: wire.slice(start) } : result;
    }
    case "readResource": return client.readResource({ uri: step.uri });
    case "getPrompt": return client.getPrompt({ name: step.name, arguments: step.arguments ?? {} });
    case "complete": return client.complete({ ref: step.ref, argument: step.argument, context: step.context });
    case "subscribe": return client.subscribeResource({ uri: step.uri });
    case "unsubscribe": return client.unsubscribeResource({ uri: step.uri });
    case "setLevel": return client.setLoggingLevel(step.level);
    case "ping": return client.ping();
    case "wait": await pause(step.ms ?? 100); return {};
    case "serverInfo": return { serverVersion: client.getServerVersion(), capabilities: client.getServerCapabilities(),
                                instructions: client.getInstructions() };
    default: throw new Error(`unknown op ${step.op}`);
  }
}

const output = { steps: [], notifications, serverRequests };
try {
  await client.connect(transportFor(plan.target));
  const deliver = client.transport.onmessage;
  client.transport.onmessage = (message, extra) => {
    if (message.method === "notifications/progress") wire.push({ progress: message.params.progress });
    else if (message.id !== undefined && ("result" in message || "error" in message)) wire.push({ response: message.id });
    deliver?.(message, extra);
  };
  for (const step of plan.steps) {
    try {
      output.steps.push(await run(step));
    } catch (error) {
      output.steps.push({ error: { message: String(error?.message ?? error), code: error?.code } });
    }
  }
} catch (error) {
  output.connectError = String(error?.message ?? error);
} finally {
  await client.close().catch(() => {});
}
process.stdout.write(JSON.stringify(output) + "\n");
