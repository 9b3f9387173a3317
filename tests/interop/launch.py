"""Starts and stops the interop servers (run through scripts/interop-env).

    launch.py start KIND LOGFILE [NAME=VALUE ...]   prints one JSON line once ready
    launch.py stop PID                              ends the server's process group

Each server runs under a small supervisor that leads its own process group
and owns a temporary directory (server output, certificates, configs),
removed on stop unless INTEROP_KEEP_DIR=1.
"""
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
APP_KINDS = ("stdlib", "uvicorn-h11", "uvicorn-httptools", "hypercorn", "aiohttp")
KINDS = APP_KINDS + ("node", "nginx-tls", "connect-proxy")
READY_SECONDS = 60


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_command(kind, port):
    if kind == "node":
        return [os.environ.get("INTEROP_NODE", "node"), str(HERE / "server.mjs"), str(port)]
    return [sys.executable, str(HERE / "app.py"), kind, str(port)]


def make_certs(d):
    """A test CA and a server certificate for 127.0.0.1 and localhost."""
    def run(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "30",
        "-subj", "/CN=mcc-bench interop test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    (d / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.pem", "-days", "30", "-extfile", "server.ext")


def nginx_conf(d, port, upstream_port, env):
    if env.get("INTEROP_CLOSE") == "1":
        keepalive = "0"
    elif env.get("INTEROP_IDLE_CLOSE_MS"):
        keepalive = env["INTEROP_IDLE_CLOSE_MS"] + "ms"
    else:
        keepalive = "75s"
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (d / "tmp" / sub).mkdir(parents=True, exist_ok=True)
    user = "user root root;\n" if os.geteuid() == 0 else ""
    return f"""{user}daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  log_format interop escape=json '{{"time":"$time_iso8601","connection":$connection,'
    '"connection_requests":$connection_requests,"request":"$request","status":$status,'
    '"x_request_id":"$http_x_request_id","probe":"$http_x_interop_probe",'
    '"ssl_protocol":"$ssl_protocol","request_time":$request_time}}';
  access_log {d}/access.log interop;
  client_body_temp_path {d}/tmp/body;
  proxy_temp_path {d}/tmp/proxy;
  fastcgi_temp_path {d}/tmp/fastcgi;
  uwsgi_temp_path {d}/tmp/uwsgi;
  scgi_temp_path {d}/tmp/scgi;
  upstream app {{
    server 127.0.0.1:{upstream_port};
    keepalive 32;
  }}
  server {{
    listen 127.0.0.1:{port} ssl;
    server_name localhost 127.0.0.1;
    ssl_certificate {d}/server.pem;
    ssl_certificate_key {d}/server.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    keepalive_timeout {keepalive};
    client_max_body_size 64m;
    location / {{
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_buffering off;
      proxy_cache off;
      proxy_read_timeout 600s;
    }}
  }}
}}
"""


def tinyproxy_conf(d, port, log):
    # No ConnectPort line: CONNECT is allowed to every port.
    return f"""Port {port}
Listen 127.0.0.1
Timeout 600
LogFile "{log}"
LogLevel Info
PidFile "{d}/tinyproxy.pid"
MaxClients 200
Allow 127.0.0.1
"""


def plan(kind, log, env, d):
    """(children as [argv, extra env], the line to print) for one attempt."""
    port = free_port()
    info = {"kind": kind, "port": port, "pid": None, "url": f"http://127.0.0.1:{port}", "log": log, "dir": str(d)}
    if kind in APP_KINDS or kind == "node":
        return [[app_command(kind, port), {"INTEROP_SERVER": kind}]], info
    if kind == "nginx-tls":
        upstream = env.get("INTEROP_UPSTREAM", "uvicorn-httptools")
        upstream_port = free_port()
        make_certs(d)
        (d / "nginx.conf").write_text(nginx_conf(d, port, upstream_port, env))
        info.update(url=f"https://127.0.0.1:{port}", ca=str(d / "ca.pem"), access_log=str(d / "access.log"),
                    upstream=upstream, upstream_port=upstream_port)
        return [[app_command(upstream, upstream_port), {"INTEROP_SERVER": upstream}],
                [["nginx", "-p", str(d), "-c", str(d / "nginx.conf"), "-e", str(d / "error.log")], {}]], info
    if kind == "connect-proxy":
        (d / "tinyproxy.conf").write_text(tinyproxy_conf(d, port, log))
        return [[["tinyproxy", "-d", "-c", str(d / "tinyproxy.conf")], {}]], info
    sys.exit(f"interop: unknown kind {kind!r}; one of {', '.join(KINDS)}")


def probe(kind, info, env, log_offset):
    """True once the server answers GET /v1/models (the proxy: once its log
    says it accepts connections, so that no probe shows in that log)."""
    port = info["port"]
    try:
        if kind == "connect-proxy":
            with open(info["log"], "rb") as log:
                log.seek(log_offset)
                return b"Accepting connections" in log.read()
        if kind == "nginx-tls":
            context = ssl.create_default_context(cafile=info["ca"])
            conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=5, context=context)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        path = env.get("INTEROP_PREFIX", "").rstrip("/") + "/v1/models"
        if env.get("INTEROP_REQUIRE_QUERY"):
            path += f"?{env['INTEROP_REQUIRE_QUERY']}=probe"
        headers = {"x-interop-probe": "1"}
        name, _, value = env.get("INTEROP_REQUIRE_HEADER", "").partition(":")
        if name.strip():
            headers[name.strip()] = value.strip()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        ok = response.status == 200
        conn.close()
        return ok
    except (OSError, http.client.HTTPException):
        return False


def start(kind, log, assignments):
    env = dict(os.environ)
    for item in assignments:
        name, eq, value = item.partition("=")
        if not eq:
            sys.exit(f"interop: expected NAME=VALUE, got {item!r}")
        env[name] = value
    log = os.path.abspath(log)
    env["INTEROP_LOG"] = log
    if kind == "nginx-tls" and env.get("INTEROP_UPSTREAM", "uvicorn-httptools") not in APP_KINDS + ("node",):
        sys.exit(f"interop: INTEROP_UPSTREAM must be one of {', '.join(APP_KINDS + ('node',))}")
    for _ in range(3):  # a free port can be taken before the server binds it
        d = Path(tempfile.mkdtemp(prefix=f"mcc-interop-{kind}-"))
        children, info = plan(kind, log, env, d)
        for argv, _ in children:
            if shutil.which(argv[0]) is None:
                shutil.rmtree(d)
                sys.exit(f"interop: {argv[0]} not found")
        (d / "children.json").write_text(json.dumps(children))
        log_offset = os.path.getsize(log) if os.path.exists(log) else 0
        with open(d / "output.log", "ab") as out:
            sup = subprocess.Popen([sys.executable, __file__, "supervise", str(d)], env=env, cwd=d,
                                   stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        info["pid"] = sup.pid
        deadline = time.monotonic() + READY_SECONDS
        while sup.poll() is None and time.monotonic() < deadline:
            if probe(kind, info, env, log_offset):
                print(json.dumps(info), flush=True)
                return
            time.sleep(0.1)
        exited = sup.poll() is not None
        output = (d / "output.log").read_text(errors="replace")
        stop(sup.pid)
        sup.wait()
        shutil.rmtree(d, ignore_errors=True)
        print(f"interop: {kind} did not come up on port {info['port']}:\n{output}", file=sys.stderr)
        if not exited:
            break
    sys.exit(1)


def supervise(d):
    """Runs the children in this process group until one exits or a signal comes."""
    d = Path(d)
    procs = [subprocess.Popen(argv, env={**os.environ, **extra}, stdin=subprocess.DEVNULL)
             for argv, extra in json.loads((d / "children.json").read_text())]

    def shutdown(*_, remove=True):
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
        if remove and os.environ.get("INTEROP_KEEP_DIR") != "1":
            shutil.rmtree(d, ignore_errors=True)
        os._exit(0)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    while all(p.poll() is None for p in procs):
        time.sleep(0.2)
    for p in procs:
        if p.returncode is not None:
            print(f"interop: {p.args[0]} exited with {p.returncode}", file=sys.stderr, flush=True)
    shutdown(remove=False)  # the directory stays, for its output.log


def group_alive(pgid):
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def stop(pid):
    for sig, seconds in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + seconds
        while group_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not group_alive(pid):
            return


def main():
    args = sys.argv[1:]
    if len(args) >= 3 and args[0] == "start":
        if args[1] not in KINDS:
            sys.exit(f"interop: unknown kind {args[1]!r}; one of {', '.join(KINDS)}")
        start(args[1], args[2], args[3:])
    elif len(args) == 2 and args[0] == "stop":
        stop(int(args[1]))
    elif len(args) == 2 and args[0] == "supervise":
        supervise(args[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
