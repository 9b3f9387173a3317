"""A Hugging Face Hub stand-in for mcc-bench's staging tests, on 127.0.0.1.

Serves the two routes a download uses, for models kept in a folder
(MODELS_DIR/<org>/<name>/...):
  GET /api/models/<org>/<name>/revision/<rev>   -> {"sha", "siblings": [{rfilename, size}]}
  GET /<org>/<name>/resolve/<rev>/<path>         -> the file
A model whose folder holds a file named GATED needs "Authorization: Bearer
hf_test" (401 otherwise, like the Hub). Unknown models answer 404.

Usage: hub.py MODELS_DIR; prints "listening on http://127.0.0.1:PORT".
"""

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = sys.argv[1]


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *_):
        pass

    def send(self, status, body, ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def model_dir(self, org, name):
        d = os.path.join(ROOT, org, name)
        if not os.path.isdir(d):
            self.send(404, b'{"error": "Repository not found"}')
            return None
        if os.path.exists(os.path.join(d, "GATED")) and \
                self.headers.get("Authorization") != "Bearer hf_test":
            self.send(401, b'{"error": "Access to model is restricted"}')
            return None
        return d

    def do_GET(self):
        parts = self.path.split("?")[0].strip("/").split("/")
        if parts[:2] == ["api", "models"] and len(parts) == 6 and parts[4] == "revision":
            d = self.model_dir(parts[2], parts[3])
            if d is None:
                return
            files = []
            for root, _, names in os.walk(d):
                for n in names:
                    if n == "GATED":
                        continue
                    full = os.path.join(root, n)
                    files.append({"rfilename": os.path.relpath(full, d),
                                  "size": os.path.getsize(full)})
            doc = {"id": f"{parts[2]}/{parts[3]}", "sha": "0" * 40, "siblings": sorted(
                files, key=lambda f: f["rfilename"])}
            return self.send(200, json.dumps(doc).encode())
        if len(parts) >= 5 and parts[2] == "resolve":
            d = self.model_dir(parts[0], parts[1])
            if d is None:
                return
            full = os.path.join(d, *parts[4:])
            if not os.path.isfile(full):
                return self.send(404, b'{"error": "Entry not found"}')
            with open(full, "rb") as f:
                return self.send(200, f.read(), "application/octet-stream")
        self.send(404, b'{"error": "no such route"}')


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
server.serve_forever()
