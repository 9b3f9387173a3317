// The endpoint of app.py on Node's http module: node server.mjs PORT
// Same INTEROP_* settings, responses and request log lines as app.py.
import http from "node:http";
import { appendFileSync } from "node:fs";
import { randomBytes } from "node:crypto";

const ENV = process.env;
const SERVER = ENV.INTEROP_SERVER || "node";
const PREFIX = (ENV.INTEROP_PREFIX || "").replace(/\/+$/, "");
const TTFT = Number(ENV.INTEROP_TTFT_MS ?? 5);
const ITL = Number(ENV.INTEROP_ITL_MS ?? 1);
const CLOSE = ENV.INTEROP_CLOSE === "1";
const IDLE_CLOSE = ENV.INTEROP_IDLE_CLOSE_MS ? Number(ENV.INTEROP_IDLE_CLOSE_MS) : null;
const CHUNKED = ENV.INTEROP_CHUNKED === "1";
const SSE_STYLE = (ENV.INTEROP_SSE_STYLE || "").split(",");
const STREAM_KIND = ENV.INTEROP_STREAM_KIND || "text";
const ROLE_CHUNK = ENV.INTEROP_ROLE_CHUNK !== "0";
const REASONING_TOKENS = ENV.INTEROP_REASONING_TOKENS;
const REQUIRE_QUERY = ENV.INTEROP_REQUIRE_QUERY || "";
const [headerName, ...headerValue] = (ENV.INTEROP_REQUIRE_HEADER || "").split(":");
const REQUIRE_HEADER = [headerName.trim().toLowerCase(), headerValue.join(":").trim()];
const PROBE_HEADER = "x-interop-probe"; // the launcher's readiness probe: not logged
const LOG = ENV.INTEROP_LOG;

const MODELS = { object: "list", data: [{ id: "interop-model", object: "model" }] };
const ROUTES = new Map([
  [PREFIX + "/v1/models", ["GET", "models"]],
  [PREFIX + "/v1/chat/completions", ["POST", "chat"]],
  [PREFIX + "/v1/completions", ["POST", "completions"]],
]);
const STREAM_KINDS = ["text", "tool_calls", "reasoning"];
const JSON_TYPE = "application/json";
const SSE_TYPE = "text/event-stream; charset=utf-8";

const sleep = (s) => new Promise((resolve) => setTimeout(resolve, s * 1000));
const monoNs = () => Number(process.hrtime.bigint()); // CLOCK_MONOTONIC, like Python's
const wallNs = () => Math.round((performance.timeOrigin + performance.now()) * 1e6);

function firstValues(pairs) {
  const out = new Map();
  for (const [name, value] of pairs) if (!out.has(name.toLowerCase())) out.set(name.toLowerCase(), value);
  return out;
}

class Record {
  constructor(req, target, path, query) {
    this.recvMono = monoNs();
    this.recvWall = wallNs();
    const pairs = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) pairs.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
    this.headers = firstValues(pairs);
    this.probe = this.headers.has(PROBE_HEADER);
    this.fields = {
      server: SERVER, pid: process.pid, peer: `${req.socket.remoteAddress}:${req.socket.remotePort}`,
      method: req.method, target, path, query, http_version: req.httpVersion,
      headers: pairs.map(([name]) => name.toLowerCase()),
      x_request_id: this.headers.get("x-request-id") ?? null,
      status: null, route: null, stream: false, stream_kind: null,
      model: null, max_tokens: null, include_usage: false,
    };
    this.tokenMono = [];
    this.tokenWall = [];
    this.completed = false;
  }

  token() {
    this.tokenMono.push(monoNs());
    this.tokenWall.push(wallNs());
  }

  write() {
    if (!LOG || this.probe) return;
    const first = this.tokenMono.length > 0;
    const entry = {
      ...this.fields, completed: this.completed,
      recv_mono_ns: this.recvMono, recv_wall_ns: this.recvWall,
      first_token_mono_ns: first ? this.tokenMono[0] : null,
      first_token_wall_ns: first ? this.tokenWall[0] : null,
      token_mono_ns: this.tokenMono, token_wall_ns: this.tokenWall,
      done_mono_ns: monoNs(),
    };
    appendFileSync(LOG, JSON.stringify(entry) + "\n");
  }
}

function reply(status, { body = null, stream = null, delay = 0 } = {}) {
  const headers = [["content-type", stream ? SSE_TYPE : JSON_TYPE]];
  if (stream) headers.push(["cache-control", "no-cache"]);
  if (CLOSE) headers.push(["connection", "close"]);
  return { status, body, stream, delay, headers };
}

function error(status, message, type = "invalid_request_error") {
  return reply(status, { body: JSON.stringify({ error: { message, type, code: null } }) });
}

function sse(obj) {
  const payload = typeof obj === "string" ? obj : JSON.stringify(obj);
  const eol = SSE_STYLE.includes("crlf") ? "\r\n" : "\n";
  const sep = SSE_STYLE.includes("nospace") ? ":" : ": ";
  return `data${sep}${payload}${eol}${eol}`;
}

function countWords(req, route) {
  let texts = [];
  if (route === "completions") {
    texts = Array.isArray(req.prompt) ? req.prompt : [req.prompt ?? ""];
  } else {
    for (const message of Array.isArray(req.messages) ? req.messages : []) {
      const content = message && typeof message === "object" ? message.content : null;
      if (Array.isArray(content)) {
        texts.push(...content.filter((p) => p && typeof p === "object").map((p) => p.text ?? ""));
      } else texts.push(content);
    }
  }
  return texts.filter((t) => typeof t === "string").reduce((n, t) => n + t.split(/\s+/).filter(Boolean).length, 0);
}

function handle(rec, route, query, headers, body) {
  rec.fields.route = route;
  const [name, value] = REQUIRE_HEADER;
  if (name && headers.get(name) !== value) return error(401, `missing or wrong ${name} header`, "authentication_error");
  if (REQUIRE_QUERY && !new URLSearchParams(query).has(REQUIRE_QUERY)) {
    return error(400, `missing query parameter ${REQUIRE_QUERY}`);
  }
  if (route === "models") return reply(200, { body: JSON.stringify(MODELS) });
  let req = null;
  try {
    req = JSON.parse(body);
  } catch {}
  if (!req || typeof req !== "object" || Array.isArray(req)) return error(400, "request body is not a JSON object");
  const n = req.max_tokens ?? req.max_completion_tokens ?? 16;
  if (!Number.isInteger(n) || n < 0) return error(400, "max_tokens must be a non-negative integer");
  const model = typeof req.model === "string" ? req.model : "interop-model";
  const stream = req.stream === true;
  const options = req.stream_options;
  const includeUsage = stream && !!options && typeof options === "object" && options.include_usage === true;
  const kind = route === "completions" ? "text" : STREAM_KINDS.includes(model) ? model : STREAM_KIND;
  Object.assign(rec.fields, { stream, stream_kind: kind, model, max_tokens: n, include_usage: includeUsage });
  return generate(route, kind, model, n, countWords(req, route), stream, includeUsage);
}

function generate(route, kind, model, n, promptTokens, stream, includeUsage) {
  const chat = route === "chat";
  const created = Math.floor(Date.now() / 1000);
  const id = (chat ? "chatcmpl-" : "cmpl-") + randomBytes(6).toString("hex");
  const reasoning = kind === "reasoning" ? Math.min(n, REASONING_TOKENS ? Number(REASONING_TOKENS) : Math.floor(n / 2)) : 0;
  const usage = { prompt_tokens: promptTokens, completion_tokens: n, total_tokens: promptTokens + n };
  if (reasoning) usage.completion_tokens_details = { reasoning_tokens: reasoning };
  const finish = kind === "tool_calls" ? "tool_calls" : "length";
  const fragments = Array(n).fill(" tok");
  if (n) {
    fragments[0] = '{"q":"' + fragments[0];
    fragments[n - 1] += '"}';
  }
  const call = { id: "call_interop_0", type: "function", function: { name: "get_weather", arguments: "" } };
  const head = { id, object: chat ? "chat.completion.chunk" : "text_completion", created, model };

  if (!stream) {
    let message;
    if (kind === "tool_calls") {
      call.function.arguments = fragments.join("");
      message = { role: "assistant", content: null, tool_calls: [call] };
    } else {
      message = { role: "assistant", content: " tok".repeat(n - reasoning) };
      if (kind === "reasoning") message.reasoning_content = " think".repeat(reasoning);
    }
    const choice = chat ? { index: 0, message } : { index: 0, text: " tok".repeat(n) };
    const obj = {
      ...head, object: chat ? "chat.completion" : "text_completion",
      choices: [{ ...choice, logprobs: null, finish_reason: finish }], usage,
    };
    return reply(200, { body: JSON.stringify(obj), delay: TTFT / 1000 + (ITL / 1000) * Math.max(n - 1, 0) });
  }

  const chunk = (part, finishReason = null) => {
    const obj = { ...head, choices: [{ index: 0, [chat ? "delta" : "text"]: part, logprobs: null, finish_reason: finishReason }] };
    if (includeUsage) obj.usage = null;
    return sse(obj);
  };
  let parts;
  if (!chat) parts = Array(n).fill(" tok");
  else if (kind === "tool_calls") {
    parts = [{ role: "assistant", content: null, tool_calls: [{ index: 0, ...call }] }];
    parts.push(...fragments.map((f) => ({ tool_calls: [{ index: 0, function: { arguments: f } }] })));
  } else {
    parts = [...Array(reasoning).fill({ reasoning_content: " think" }), ...Array(n - reasoning).fill({ content: " tok" })];
  }
  const pieces = [];
  if (chat && kind !== "tool_calls" && ROLE_CHUNK) pieces.push([0, chunk({ role: "assistant", content: "" }), false]);
  parts.forEach((part, i) => pieces.push([(i === 0 ? TTFT : ITL) / 1000, chunk(part), true]));
  pieces.push([0, chunk(chat ? {} : "", finish), false]);
  if (includeUsage) pieces.push([0, sse({ ...head, choices: [], usage }), false]);
  pieces.push([0, sse("[DONE]"), false]);
  return reply(200, { stream: pieces });
}

function split(target) {
  // origin-form as is; absolute-form (RFC 9112 3.2.2) by its path and query
  let pathAndQuery = target;
  if (!target.startsWith("/")) {
    try {
      const url = new URL(target);
      pathAndQuery = url.pathname + url.search;
    } catch {}
  }
  const at = pathAndQuery.indexOf("?");
  return at < 0 ? [pathAndQuery, ""] : [pathAndQuery.slice(0, at), pathAndQuery.slice(at + 1)];
}

async function respond(req, res, body) {
  const [path, query] = split(req.url);
  const rec = new Record(req, req.url, path, query);
  res.on("close", () => {
    rec.completed = res.writableFinished;
    rec.write();
  });
  const found = ROUTES.get(path);
  let out;
  if (!found) out = error(404, `no route for ${path}`, "not_found_error");
  else if (found[0] !== req.method) out = error(405, `method ${req.method} not allowed`);
  else out = handle(rec, found[1], query, rec.headers, body);
  rec.fields.status = out.status;
  if (!out.stream) {
    if (out.delay) await sleep(out.delay);
    if (!CHUNKED) out.headers.push(["content-length", String(Buffer.byteLength(out.body))]);
    res.writeHead(out.status, out.headers.flat());
    if (CHUNKED) res.write(out.body);
    res.end(CHUNKED ? undefined : out.body);
    return;
  }
  res.writeHead(out.status, out.headers.flat());
  for (const [delay, data, token] of out.stream) {
    if (delay) await sleep(delay);
    if (res.destroyed) return;
    res.write(data);
    if (token) rec.token();
  }
  res.end();
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => respond(req, res, Buffer.concat(chunks).toString("utf8")).catch((e) => res.destroy(e)));
});
if (IDLE_CLOSE !== null) server.keepAliveTimeout = IDLE_CLOSE;
server.listen(Number(process.argv[2]), "127.0.0.1");
