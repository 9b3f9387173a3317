"""Hostile OpenAI-compatible endpoints for the hardening tests.

usage: endpoint.py MODE LOGFILE

Listens on 127.0.0.1 (a free port), prints the port on stdout, and serves
until killed. Every request is logged to LOGFILE as one JSON line with the
header names and the Authorization value it carried (the point of the echo
test is to see what a hostile endpoint would receive).

Modes:
  echo         /v1/models answers; every generation request gets HTTP 400
               whose message repeats the request's headers (an endpoint that
               echoes credentials back into error messages).
  endless      generation requests stream valid content chunks forever.
  huge-models  /v1/models sends a JSON body that never ends.
"""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODE, LOG = sys.argv[1], sys.argv[2]
LOCK = threading.Lock()
MODELS = b'{"object":"list","data":[{"id":"hostile-model"}]}'
CHUNK = b'data: {"choices":[{"index":0,"delta":{"content":" tok"}}]}\n\n'


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def log(self):
        line = {"method": self.command, "path": self.path,
                "headers": [k.lower() for k in self.headers.keys()],
                "authorization": self.headers.get("Authorization")}
        with LOCK, open(LOG, "a") as f:
            f.write(json.dumps(line) + "\n")

    def do_GET(self):
        self.log()
        if MODE == "huge-models":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            piece = b'{"id":"m%d"},' * 1000
            self.wfile.write(b'%x\r\n{"data":[\r\n' % 9)
            try:
                while True:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            except (BrokenPipeError, ConnectionResetError):
                return
        self.reply(200, "application/json", MODELS)

    def do_POST(self):
        self.log()
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if MODE == "endless":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            piece = CHUNK * 64
            try:
                while True:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            except (BrokenPipeError, ConnectionResetError):
                return
        echoed = "; ".join(f"{k}: {v}" for k, v in self.headers.items())
        body = json.dumps({"error": {"message": f"bad request, you sent {echoed}"}})
        self.reply(400, "application/json", body.encode())

    def reply(self, status, kind, body):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
