"""One small OpenAI-compatible endpoint, served by several HTTP stacks.

    python app.py KIND PORT
    KIND: stdlib | uvicorn-h11 | uvicorn-httptools | hypercorn | aiohttp

server.mjs is the same endpoint on Node's http module. Behaviour comes from
INTEROP_* environment variables and every request is appended to the JSON
lines file INTEROP_LOG (README.md in this directory).
"""
import asyncio
import json
import os
import sys
import threading
import time
from urllib.parse import parse_qs

ENV = os.environ
SERVER = ENV.get("INTEROP_SERVER", "app")
PREFIX = ENV.get("INTEROP_PREFIX", "").rstrip("/")
TTFT = float(ENV.get("INTEROP_TTFT_MS", "5")) / 1000
ITL = float(ENV.get("INTEROP_ITL_MS", "1")) / 1000
CLOSE = ENV.get("INTEROP_CLOSE") == "1"
IDLE_CLOSE = float(ENV["INTEROP_IDLE_CLOSE_MS"]) / 1000 if ENV.get("INTEROP_IDLE_CLOSE_MS") else None
CHUNKED = ENV.get("INTEROP_CHUNKED") == "1"
SSE_STYLE = ENV.get("INTEROP_SSE_STYLE", "").split(",")
STREAM_KIND = ENV.get("INTEROP_STREAM_KIND", "text") or "text"
ROLE_CHUNK = ENV.get("INTEROP_ROLE_CHUNK", "1") != "0"
REASONING_TOKENS = ENV.get("INTEROP_REASONING_TOKENS")
REQUIRE_QUERY = ENV.get("INTEROP_REQUIRE_QUERY", "")
LOG_BODY = ENV.get("INTEROP_LOG_BODY") == "1"  # log messages, tools and the reply
DISTINCT = ENV.get("INTEROP_DISTINCT") == "1"  # every reply's words are its own
_name, _, _value = ENV.get("INTEROP_REQUIRE_HEADER", "").partition(":")
REQUIRE_HEADER = (_name.strip().lower(), _value.strip())
PROBE_HEADER = "x-interop-probe"  # the launcher's readiness probe: not logged

MODELS = {"object": "list", "data": [{"id": "interop-model", "object": "model"}]}
ROUTES = {
    PREFIX + "/v1/models": ("GET", "models"),
    PREFIX + "/v1/chat/completions": ("POST", "chat"),
    PREFIX + "/v1/completions": ("POST", "completions"),
}
STREAM_KINDS = ("text", "tool_calls", "reasoning")
JSON_TYPE = "application/json"
SSE_TYPE = "text/event-stream; charset=utf-8"


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"))


def first_values(pairs):
    """Lower-cased header name -> its first value."""
    out = {}
    for name, value in pairs:
        out.setdefault(name.lower(), value)
    return out


class RequestLog:
    def __init__(self, path):
        self.file = open(path, "a", encoding="utf-8") if path else None
        self.lock = threading.Lock()

    def write(self, rec):
        if self.file is None or rec.probe:
            return
        line = dumps(rec.entry()) + "\n"
        with self.lock:
            self.file.write(line)
            self.file.flush()


LOG = RequestLog(ENV.get("INTEROP_LOG"))


class Record:
    """What the request log keeps of one request."""

    def __init__(self, method, target, path, query, http_version, headers, peer):
        self.recv_mono_ns = time.monotonic_ns()
        self.recv_wall_ns = time.time_ns()
        headers = list(headers)
        values = first_values(headers)
        self.probe = PROBE_HEADER in values
        self.fields = {
            "server": SERVER, "pid": os.getpid(), "peer": peer,
            "method": method, "target": target, "path": path, "query": query,
            "http_version": http_version,
            "headers": [name.lower() for name, _ in headers],
            "x_request_id": values.get("x-request-id"),
            "status": None, "route": None, "stream": False, "stream_kind": None,
            "model": None, "max_tokens": None, "include_usage": False,
        }
        self.token_mono_ns, self.token_wall_ns = [], []
        self.pending_token = False
        self.completed = False

    def token(self):
        self.token_mono_ns.append(time.monotonic_ns())
        self.token_wall_ns.append(time.time_ns())

    def entry(self):
        first = bool(self.token_mono_ns)
        return {
            **self.fields,
            "completed": self.completed,
            "recv_mono_ns": self.recv_mono_ns, "recv_wall_ns": self.recv_wall_ns,
            "first_token_mono_ns": self.token_mono_ns[0] if first else None,
            "first_token_wall_ns": self.token_wall_ns[0] if first else None,
            "token_mono_ns": self.token_mono_ns, "token_wall_ns": self.token_wall_ns,
            "done_mono_ns": time.monotonic_ns(),
        }


class Reply:
    """A response: `body` after `delay` seconds, or an SSE `stream` of
    (delay seconds, bytes, is_token) pieces."""

    def __init__(self, status, body=None, stream=None, delay=0.0):
        self.status, self.body, self.stream, self.delay = status, body, stream, delay
        self.headers = [("content-type", SSE_TYPE if stream is not None else JSON_TYPE)]
        if stream is not None:
            self.headers.append(("cache-control", "no-cache"))
        if CLOSE:
            self.headers.append(("connection", "close"))


def error(status, message, kind="invalid_request_error"):
    return Reply(status, dumps({"error": {"message": message, "type": kind, "code": None}}).encode())


def route_of(method, path):
    """Strict routing for the stacks without a router: (route, None) or (None, error)."""
    found = ROUTES.get(path)
    if found is None:
        return None, error(404, f"no route for {path}", "not_found_error")
    if found[0] != method:
        return None, error(405, f"method {method} not allowed", "invalid_request_error")
    return found[1], None


def sse(obj):
    payload = obj if isinstance(obj, str) else dumps(obj)
    eol = "\r\n" if "crlf" in SSE_STYLE else "\n"
    sep = ":" if "nospace" in SSE_STYLE else ": "
    return f"data{sep}{payload}{eol}{eol}".encode()


def count_words(req, route):
    if route == "completions":
        prompt = req.get("prompt", "")
        texts = prompt if isinstance(prompt, list) else [prompt]
    else:
        texts = []
        for message in req.get("messages") or []:
            content = message.get("content") if isinstance(message, dict) else None
            if isinstance(content, list):
                texts += [p.get("text", "") for p in content if isinstance(p, dict)]
            else:
                texts.append(content)
    return sum(len(t.split()) for t in texts if isinstance(t, str))


def handle(rec, route, query, headers, body):
    """The endpoint itself, for a request already routed to `route`."""
    rec.fields["route"] = route
    name, value = REQUIRE_HEADER
    if name and headers.get(name) != value:
        return error(401, f"missing or wrong {name} header", "authentication_error")
    if REQUIRE_QUERY and REQUIRE_QUERY not in parse_qs(query, keep_blank_values=True):
        return error(400, f"missing query parameter {REQUIRE_QUERY}")
    if route == "models":
        return Reply(200, dumps(MODELS).encode())
    try:
        req = json.loads(body)
    except ValueError:
        req = None
    if not isinstance(req, dict):
        return error(400, "request body is not a JSON object")
    n = req.get("max_tokens", req.get("max_completion_tokens", 16))
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        return error(400, "max_tokens must be a non-negative integer")
    model = req.get("model") if isinstance(req.get("model"), str) else "interop-model"
    stream = req.get("stream") is True
    options = req.get("stream_options")
    include_usage = stream and isinstance(options, dict) and options.get("include_usage") is True
    kind = model if model in STREAM_KINDS else STREAM_KIND
    if route == "chat" and calls_tool(req):
        kind = "tool_calls"
    if route == "completions":
        kind = "text"
    rec.fields.update(stream=stream, stream_kind=kind, model=model, max_tokens=n, include_usage=include_usage)
    if LOG_BODY:
        rec.fields.update(body_fields(req))
    return generate(rec, route, kind, model, n, count_words(req, route), stream, include_usage)


def calls_tool(req):
    """Like a model offered tools: call one when the user spoke last."""
    tools, messages = req.get("tools"), req.get("messages")
    if not (isinstance(tools, list) and tools and isinstance(messages, list) and messages):
        return False
    last = messages[-1]
    return isinstance(last, dict) and last.get("role") == "user" and req.get("tool_choice") != "none"


def body_fields(req):
    """What the request log keeps of a body with INTEROP_LOG_BODY=1."""
    tools = req.get("tools") if isinstance(req.get("tools"), list) else []
    response_format = req.get("response_format")
    return {
        "messages": req.get("messages"),
        "tool_names": [t.get("function", {}).get("name") for t in tools if isinstance(t, dict)],
        "tool_choice": req.get("tool_choice"),
        "response_format_type": response_format.get("type") if isinstance(response_format, dict) else None,
    }


def generate(rec, route, kind, model, n, prompt_tokens, stream, include_usage):
    chat = route == "chat"
    created = int(time.time())
    cid = ("chatcmpl-" if chat else "cmpl-") + os.urandom(6).hex()
    reasoning = min(n, int(REASONING_TOKENS) if REASONING_TOKENS else n // 2) if kind == "reasoning" else 0
    usage = {"prompt_tokens": prompt_tokens, "completion_tokens": n, "total_tokens": prompt_tokens + n}
    if reasoning:
        usage["completion_tokens_details"] = {"reasoning_tokens": reasoning}
    finish = "tool_calls" if kind == "tool_calls" else "length"
    word = (lambda i: f" w{cid[-6:]}x{i}") if DISTINCT else (lambda i: " tok")
    fragments = [word(i) for i in range(n)]
    tokens = list(fragments)
    if fragments:
        fragments[0] = '{"q":"' + fragments[0]
        fragments[-1] += '"}'
    call_id = "call_" + cid[-12:] if DISTINCT else "call_interop_0"
    call = {"id": call_id, "type": "function", "function": {"name": "get_weather", "arguments": ""}}
    rec.fields["reply"] = "".join(tokens[reasoning:]) if kind != "tool_calls" else None
    rec.fields["call"] = {"id": call_id, "name": "get_weather", "arguments": "".join(fragments)} if kind == "tool_calls" else None
    head = {"id": cid, "object": "chat.completion.chunk" if chat else "text_completion", "created": created, "model": model}

    if not stream:
        if kind == "tool_calls":
            call["function"]["arguments"] = "".join(fragments)
            message = {"role": "assistant", "content": None, "tool_calls": [call]}
        else:
            message = {"role": "assistant", "content": "".join(tokens[reasoning:])}
            if kind == "reasoning":
                message["reasoning_content"] = " think" * reasoning
        choice = {"index": 0, "message": message} if chat else {"index": 0, "text": "".join(tokens)}
        obj = {**head, "object": "chat.completion" if chat else "text_completion",
               "choices": [{**choice, "logprobs": None, "finish_reason": finish}], "usage": usage}
        return Reply(200, dumps(obj).encode(), delay=TTFT + ITL * max(n - 1, 0))

    def chunk(part, finish_reason=None):
        choice = {"index": 0, ("delta" if chat else "text"): part, "logprobs": None, "finish_reason": finish_reason}
        obj = {**head, "choices": [choice]}
        if include_usage:
            obj["usage"] = None
        return sse(obj)

    if not chat:
        parts = list(tokens)
    elif kind == "tool_calls":
        parts = [{"role": "assistant", "content": None, "tool_calls": [{"index": 0, **call}]}]
        parts += [{"tool_calls": [{"index": 0, "function": {"arguments": f}}]} for f in fragments]
    else:
        parts = [{"reasoning_content": " think"}] * reasoning + [{"content": t} for t in tokens[reasoning:]]
    pieces = []
    if chat and kind != "tool_calls" and ROLE_CHUNK:
        pieces.append((0.0, chunk({"role": "assistant", "content": ""}), False))
    for i, part in enumerate(parts):
        pieces.append((TTFT if i == 0 else ITL, chunk(part), True))
    pieces.append((0.0, chunk({} if chat else "", finish), False))
    if include_usage:
        pieces.append((0.0, sse({**head, "choices": [], "usage": usage}), False))
    pieces.append((0.0, sse("[DONE]"), False))
    return Reply(200, stream=pieces)


# --- Python standard library: http.server -----------------------------------

def serve_stdlib(port):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = IDLE_CLOSE  # idle keep-alive connections time out
        # Token chunks are small writes: with Nagle's algorithm on, each waits
        # for the client's (delayed) ACK of the previous one, ~40 ms.
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

        def do_GET(self):
            path, _, query = self.path.partition("?")
            rec = Record(self.command, self.path, path, query, self.request_version.removeprefix("HTTP/"),
                         self.headers.items(), "%s:%d" % self.client_address)
            try:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                route, reply = route_of(self.command, path)  # origin-form targets only
                if route is not None:
                    reply = handle(rec, route, query, first_values(self.headers.items()), body)
                self.respond(rec, reply)
                rec.completed = True
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
            finally:
                LOG.write(rec)

        do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

        def respond(self, rec, reply):
            http10 = self.request_version == "HTTP/1.0"
            chunked = not http10 and (reply.stream is not None or CHUNKED)
            if reply.stream is None and reply.delay:
                time.sleep(reply.delay)
            rec.fields["status"] = reply.status
            self.send_response(reply.status)
            for name, value in reply.headers:
                self.send_header(name, value)
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            elif reply.stream is None:
                self.send_header("Content-Length", str(len(reply.body)))
            elif not CLOSE:  # HTTP/1.0 stream: delimited by closing the connection
                self.send_header("Connection", "close")
            self.end_headers()
            pieces = reply.stream if reply.stream is not None else [(0.0, reply.body, False)]
            for delay, data, token in pieces:
                if delay:
                    time.sleep(delay)
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
                if token:
                    rec.token()
            if chunked:
                self.wfile.write(b"0\r\n\r\n")

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.serve_forever()


# --- ASGI: FastAPI, served by uvicorn or hypercorn ---------------------------

class RecordMiddleware:
    """Logs every request the ASGI app sees, the router's 404s included."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        query = scope["query_string"].decode("latin-1")
        raw = scope.get("raw_path")
        target = None if raw is None else raw.decode("latin-1") + ("?" + query if query else "")
        client = scope.get("client")
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        rec = Record(scope["method"], target, scope["path"], query, scope["http_version"], headers,
                     f"{client[0]}:{client[1]}" if client else None)
        scope["interop.record"] = rec

        async def send_and_record(message):
            if message["type"] == "http.response.start":
                rec.fields["status"] = message["status"]
            await send(message)
            if message["type"] == "http.response.body":
                if rec.pending_token:
                    rec.token()
                    rec.pending_token = False
                if not message.get("more_body", False):
                    rec.completed = True

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            LOG.write(rec)


def make_asgi():
    from fastapi import FastAPI, Request
    from fastapi.responses import Response, StreamingResponse

    api = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    async def endpoint(request, route):
        rec = request.scope["interop.record"]
        reply = handle(rec, route, request.url.query, first_values(request.headers.items()), await request.body())
        headers = dict(reply.headers)
        if reply.stream is None:
            if reply.delay:
                await asyncio.sleep(reply.delay)
            if not CHUNKED:
                return Response(reply.body, reply.status, headers=headers)

            async def once():
                yield reply.body
            return StreamingResponse(once(), reply.status, headers=headers)

        async def pieces():
            for delay, data, token in reply.stream:
                if delay:
                    await asyncio.sleep(delay)
                rec.pending_token = token
                yield data
        return StreamingResponse(pieces(), reply.status, headers=headers)

    def bind(route):
        async def route_endpoint(request: Request):
            return await endpoint(request, route)
        return route_endpoint

    for path, (method, route) in ROUTES.items():
        api.add_api_route(path, bind(route), methods=[method])
    return RecordMiddleware(api)


def serve_uvicorn(port, http):
    import uvicorn

    options = {"timeout_keep_alive": IDLE_CLOSE} if IDLE_CLOSE is not None else {}
    uvicorn.run(make_asgi(), host="127.0.0.1", port=port, http=http, access_log=False,
                log_level="warning", **options)


def serve_hypercorn(port):
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    if IDLE_CLOSE is not None:
        config.keep_alive_timeout = IDLE_CLOSE
    asyncio.run(serve(make_asgi(), config))


# --- aiohttp.web --------------------------------------------------------------

def serve_aiohttp(port):
    from aiohttp import web

    @web.middleware
    async def record(request, handler):
        peer = request.transport.get_extra_info("peername") if request.transport else None
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.raw_headers]
        rec = Record(request.method, request.message.path, request.path, request.query_string,
                     "%d.%d" % tuple(request.version), headers, f"{peer[0]}:{peer[1]}" if peer else None)
        request["interop.record"] = rec
        try:
            return await handler(request)
        except web.HTTPException as e:  # the router's 404 and 405
            rec.fields["status"], rec.completed = e.status, True
            raise
        finally:
            LOG.write(rec)

    async def endpoint(request, route):
        rec = request["interop.record"]
        headers = first_values((k.decode("latin-1"), v.decode("latin-1")) for k, v in request.raw_headers)
        reply = handle(rec, route, request.query_string, headers, await request.read())
        out = {k: v for k, v in reply.headers if k != "connection"}
        rec.fields["status"] = reply.status
        if reply.stream is None and reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.stream is None and not CHUNKED:
            resp = web.Response(body=reply.body, status=reply.status, headers=out)
        else:
            resp = web.StreamResponse(status=reply.status, headers=out)  # chunked on HTTP/1.1
        if CLOSE:
            resp.force_close()  # sends Connection: close
        await resp.prepare(request)
        for delay, data, token in reply.stream if reply.stream is not None else []:
            if delay:
                await asyncio.sleep(delay)
            await resp.write(data)
            if token:
                rec.token()
        if reply.stream is None and CHUNKED:
            await resp.write(reply.body)
        await resp.write_eof()
        rec.completed = True
        return resp

    def bind(route):
        async def route_endpoint(request):
            return await endpoint(request, route)
        return route_endpoint

    app = web.Application(middlewares=[record])
    for path, (method, route) in ROUTES.items():
        app.router.add_route(method, path, bind(route))
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None,
                keepalive_timeout=IDLE_CLOSE if IDLE_CLOSE is not None else 75.0)


def main():
    kind, port = sys.argv[1], int(sys.argv[2])
    if kind == "stdlib":
        serve_stdlib(port)
    elif kind in ("uvicorn-h11", "uvicorn-httptools"):
        serve_uvicorn(port, kind.removeprefix("uvicorn-"))
    elif kind == "hypercorn":
        serve_hypercorn(port)
    elif kind == "aiohttp":
        serve_aiohttp(port)
    else:
        sys.exit(f"unknown server kind {kind}")


if __name__ == "__main__":
    main()
