"""A Hugging Face Hub stand-in for mcc-bench's staging tests, on 127.0.0.1.

Serves the two routes a download uses, for models kept in a folder
(MODELS_DIR/<org>/<name>/...):
  GET /api/models/<org>/<name>/revision/<rev>   -> {"sha", "siblings": [{rfilename, size}]}
  GET|HEAD /<org>/<name>/resolve/<rev>/<path>    -> the file, with the Hub's
      X-Repo-Commit and ETag (sha256 of the content) headers
A model whose folder holds a file named GATED needs "Authorization: Bearer
hf_test" (401 otherwise, like the Hub). One holding REDIRECT answers resolve
with a 302 to /cdn/... carrying X-Repo-Commit, X-Linked-Etag and
X-Linked-Size, as the Hub does for files kept in LFS; /cdn/ serves the bytes
without auth. Unknown models answer 404.

Usage: hub.py MODELS_DIR; prints "listening on http://127.0.0.1:PORT".
"""

import hashlib
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = sys.argv[1]
COMMIT = "c0ffee" + "0" * 34


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *_):
        pass

    def send(self, status, body, ctype="application/json", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET()

    def resolve(self, parts):
        d = self.model_dir(parts[0], parts[1])
        if d is None:
            return
        full = os.path.join(d, *parts[4:])
        if not os.path.isfile(full):
            return self.send(404, b'{"error": "Entry not found"}')
        with open(full, "rb") as f:
            body = f.read()
        etag = '"%s"' % hashlib.sha256(body).hexdigest()
        if os.path.exists(os.path.join(d, "REDIRECT")):
            return self.send(302, b"", headers=[
                ("Location", "/cdn/" + "/".join(parts[:2] + parts[4:])),
                ("X-Repo-Commit", COMMIT), ("X-Linked-Etag", etag),
                ("X-Linked-Size", str(len(body)))])
        return self.send(200, body, "application/octet-stream",
                         [("X-Repo-Commit", COMMIT), ("ETag", etag)])

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
            return self.resolve(parts)
        if len(parts) >= 4 and parts[0] == "cdn":
            full = os.path.join(ROOT, *parts[1:])
            if ".." in parts or not os.path.isfile(full):
                return self.send(404, b'{"error": "no such object"}')
            with open(full, "rb") as f:
                return self.send(200, f.read(), "application/octet-stream")
        self.send(404, b'{"error": "no such route"}')


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
server.serve_forever()
