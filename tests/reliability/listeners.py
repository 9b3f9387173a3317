"""TCP listeners that misbehave below HTTP, for the hostile-endpoint phase.

usage: listeners.py MODE

Listens on 127.0.0.1 (a free port), prints the port on stdout and serves
until killed. Modes:
  half-open    accepts and holds every connection, reading and sending nothing.
  stall-head   reads the request, sends a streaming response head, then
               nothing more, holding the connection.
  rst          accepts and resets each connection at once (SO_LINGER 0).
  refused      binds the port without listening: every connect is refused.
  garbage      reads the request, answers 64 KiB of random bytes, closes.
"""
import os
import socket
import struct
import sys
import threading
import time

MODE = sys.argv[1]
HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n")
HELD = []


def read_request(conn: socket.socket) -> None:
    """Reads until the end of the request head (the body, if any, is left)."""
    conn.settimeout(5)
    data = b""
    try:
        while b"\r\n\r\n" not in data and len(data) < 1 << 20:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
    except OSError:
        pass


def serve(conn: socket.socket) -> None:
    if MODE == "half-open":
        HELD.append(conn)
    elif MODE == "rst":
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
    elif MODE == "stall-head":
        read_request(conn)
        conn.sendall(HEAD)
        HELD.append(conn)
    elif MODE == "garbage":
        read_request(conn)
        try:
            conn.sendall(os.urandom(65536))
        except OSError:
            pass
        conn.close()


def main() -> None:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    if MODE == "refused":
        while True:
            time.sleep(3600)
    sock.listen(128)
    while True:
        conn, _ = sock.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


main()
