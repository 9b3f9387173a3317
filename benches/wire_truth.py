"""Time to first token as the wire saw it: a packet capture of the loopback
interface (tcpdump in immediate mode, kernel timestamps in nanoseconds) read back request by
request. The truth it gives depends on neither the client nor the server:
a request starts at the first packet of its request line, and its first
token is the first server packet that carries a non-empty `content` (or
`text`) delta. Requests are keyed by their `x-request-id` header.

Used by peers.py (--wire); also runnable on its own over a saved capture:
  python benches/wire_truth.py CAPTURE.pcap PORT
prints x-request-id -> wire TTFT ms as JSON lines.
"""

import json
import re
import struct
import subprocess
import sys
import time

PCAP_NS_MAGIC = 0xA1B23C4D
LINKTYPE_ETHERNET = 1
LINKTYPE_NULL = 0
# A non-empty text delta in one SSE event of a chat or completions stream.
FIRST_TOKEN = re.compile(rb'"(?:content|text)":\s*"(?!")')
REQUEST_ID = re.compile(rb"\r\nx-request-id:\s*([^\r\n]+)", re.IGNORECASE)
REQUEST_LINE = re.compile(rb"^(?:GET|POST|PUT|DELETE|HEAD|OPTIONS|PATCH) ")


class Capture:
    """tcpdump on `lo` for one TCP port, writing every byte of every packet
    with nanosecond kernel timestamps. Start before the client, stop after.
    Immediate mode hands each packet over as it comes: without it, packets
    can sit in a part-filled ring block and never reach the file."""

    def __init__(self, path, port, tcpdump="tcpdump"):
        self.path = path
        argv = [tcpdump, "-i", "lo", "-n", "-s", "0", "-B", "65536", "-U", "--immediate-mode",
                "--time-stamp-precision=nano", "-w", path, f"tcp port {port}"]
        self.proc = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
        self._wait_listening()

    def _wait_listening(self):
        # tcpdump says "listening on lo" once its socket is bound.
        line = self.proc.stderr.readline()
        if "listening on" not in line:
            self.proc.kill()
            raise RuntimeError(f"tcpdump did not start: {line.strip()}")

    def stop(self):
        """Stops the capture; returns the packets the kernel dropped (must be 0)."""
        time.sleep(0.2)  # let the last packets reach the file
        self.proc.terminate()
        _, err = self.proc.communicate(timeout=30)
        dropped = re.search(r"(\d+) packets? dropped by kernel", err)
        return int(dropped.group(1)) if dropped else None


def packets(path):
    """(timestamp ns, src port, dst port, TCP payload) of each packet."""
    with open(path, "rb") as f:
        data = f.read()
    magic, _, _, _, _, _, linktype = struct.unpack_from("<IHHiIII", data, 0)
    if magic != PCAP_NS_MAGIC:
        raise ValueError(f"{path}: not a nanosecond pcap (magic {magic:#x})")
    link_len = {LINKTYPE_ETHERNET: 14, LINKTYPE_NULL: 4}.get(linktype)
    if link_len is None:
        raise ValueError(f"{path}: link type {linktype} not read here")
    at = 24
    while at + 16 <= len(data):
        sec, nsec, incl, _ = struct.unpack_from("<IIII", data, at)
        frame = data[at + 16: at + 16 + incl]
        at += 16 + incl
        tcp = tcp_of(frame[link_len:])
        if tcp:
            yield (sec * 1_000_000_000 + nsec, *tcp)


def tcp_of(ip):
    """(src port, dst port, payload) of an IPv4/IPv6 TCP packet, else None."""
    if not ip:
        return None
    version = ip[0] >> 4
    if version == 4:
        if ip[9] != 6:
            return None
        start, total = (ip[0] & 0x0F) * 4, struct.unpack_from("!H", ip, 2)[0]
    elif version == 6:
        if ip[6] != 6:
            return None
        start, total = 40, 40 + struct.unpack_from("!H", ip, 4)[0]
    else:
        return None
    seg = ip[start:total]
    if len(seg) < 20:
        return None
    src, dst = struct.unpack_from("!HH", seg, 0)
    return src, dst, seg[(seg[12] >> 4) * 4:]


class Connection:
    """One client connection: the request in flight and what its reply has
    shown so far. Requests on one connection follow each other (HTTP/1.1)."""

    def __init__(self):
        self.request_id = None
        self.start_ns = None
        self.head = b""
        self.first_token_ns = None
        self.tail = b""  # the end of the previous server packet (a split event)


def wire_ttft(path, port):
    """x-request-id -> wire TTFT in ms, for the requests to `port` whose
    first token was seen in the capture at `path`."""
    conns, out = {}, {}
    for ts, src, dst, payload in packets(path):
        if not payload:
            continue
        if dst == port:
            client_sent(conns.setdefault(src, Connection()), ts, payload)
        elif src == port and dst in conns:
            server_sent(conns[dst], ts, payload, out)
    return out


def client_sent(conn, ts, payload):
    if REQUEST_LINE.match(payload):
        conn.request_id, conn.start_ns, conn.first_token_ns = None, ts, None
        conn.head, conn.tail = b"", b""
    if conn.request_id is None and len(conn.head) < 65536:
        conn.head += payload
        found = REQUEST_ID.search(conn.head)
        if found:
            conn.request_id = found.group(1).strip().decode("latin-1")


def server_sent(conn, ts, payload, out):
    if conn.start_ns is None or conn.first_token_ns is not None:
        return
    if FIRST_TOKEN.search(conn.tail + payload):
        conn.first_token_ns = ts
        if conn.request_id is not None:
            out[conn.request_id] = (ts - conn.start_ns) / 1e6
    conn.tail = payload[-64:]


def main():
    path, port = sys.argv[1], int(sys.argv[2])
    for rid, ms in wire_ttft(path, port).items():
        print(json.dumps({"x_request_id": rid, "wire_ttft_ms": ms}))


if __name__ == "__main__":
    main()
