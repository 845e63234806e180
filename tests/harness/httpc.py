"""HTTP client helpers shared by tests/qemu and scripts/bench (standard library only).

http_request/http_get (one request on its own connection), wait_http (retry until the server
answers), Conn (a raw keep-alive connection that parses responses itself). connect_in: a
context manager (harness.netns.in_netns) the connection is opened inside, for a guest
reachable only in a network namespace.
"""

import http.client
import json
import re
import socket
import time

class Response:
    def __init__(self, status, reason, headers, body, version="HTTP/1.1"):
        self.status = status
        self.reason = reason
        self.headers = headers          # dict, lower-case names
        self.body = body
        self.version = version

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    def __repr__(self):
        return "<Response %s %s %s len=%d>" % (self.version, self.status, self.headers,
                                               len(self.body or b""))


def http_request(port, path="/", method="GET", headers=None, body=None, timeout=10.0,
                 host="127.0.0.1", connect_in=None):
    """One request on its own connection (http.client); returns Response. The client closes
    first, so the guest keeps no TIME_WAIT pcb."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        if connect_in is not None:
            with connect_in:
                conn.connect()
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        return Response(r.status, r.reason, hdrs, data, "HTTP/1.%d" % (r.version - 10))
    finally:
        conn.close()


def http_get(port, path="/", **kw):
    return http_request(port, path, "GET", **kw)


def get_stats(port, timeout=10.0):
    r = http_get(port, "/stats.json", timeout=timeout)
    assert r.status == 200, r
    return json.loads(r.body.decode("utf-8"))


def wait_http(port, timeout=30.0, qemu=None, path="/", host="127.0.0.1", connect_in=None):
    """Retry until the server answers (slirp accepts the host connection before the guest
    listens, so a connect alone proves nothing). connect_in: a callable returning the context
    manager each attempt connects inside."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if qemu is not None and not qemu.alive:
            qemu._fail("QEMU exited while waiting for HTTP on %s:%d" % (host, port))
        try:
            return http_request(port, path, host=host,
                                timeout=min(5.0, max(0.5, deadline - time.monotonic())),
                                connect_in=connect_in and connect_in())
        except (OSError, http.client.HTTPException) as e:
            last = e
            time.sleep(0.2)
    msg = "HTTP on %s:%d not answering after %.0f s (last error: %r)" % (host, port, timeout, last)
    if qemu is not None:
        qemu._fail(msg)
    raise AssertionError(msg)


def connect(port, timeout=10.0, host="127.0.0.1", local_port=0):
    """local_port: bind this client port first (SO_REUSEADDR), e.g. to reuse one."""
    if local_port:
        s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("", local_port))
        s.settimeout(timeout)
        s.connect((host, port))
    else:
        s = socket.create_connection((host, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


class Conn:
    """A raw HTTP/1.x client connection that parses responses itself, so keep-alive and
    pipelining can be checked byte-exactly."""

    def __init__(self, port, timeout=10.0, local_port=0):
        self.sock = connect(port, timeout, local_port=local_port)
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def request(self, method, path, version="HTTP/1.1", headers=None):
        h = {"Host": "test"}
        h.update(headers or {})
        req = "%s %s %s\r\n" % (method, path, version)
        req += "".join("%s: %s\r\n" % kv for kv in h.items()) + "\r\n"
        self.send(req.encode("latin-1"))

    def _fill(self):
        d = self.sock.recv(65536)
        if not d:
            raise EOFError("connection closed by server")
        self.buf += d

    def read_until(self, sep, limit=1 << 20):
        while sep not in self.buf:
            if len(self.buf) > limit:
                raise AssertionError("no %r within %d bytes" % (sep, limit))
            self._fill()
        i = self.buf.index(sep) + len(sep)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_response(self, head=False):
        block = self.read_until(b"\r\n\r\n", limit=64 * 1024).decode("latin-1")
        lines = block.split("\r\n")
        m = re.match(r"(HTTP/1\.[01]) (\d{3})(?: (.*))?$", lines[0])
        assert m, "bad status line %r" % lines[0]
        headers = {}
        for l in lines[1:]:
            if not l:
                continue
            k, sep, v = l.partition(":")
            assert sep, "bad header line %r" % l
            headers[k.strip().lower()] = v.strip()
        status = int(m.group(2))
        if head or status in (204, 304) or 100 <= status < 200:
            body = b""
        elif "content-length" in headers:
            body = self.read_exact(int(headers["content-length"]))
        else:
            body = self.read_to_close()
        return Response(status, m.group(3) or "", headers, body, m.group(1))

    def read_to_close(self, timeout=None):
        if timeout is not None:
            self.sock.settimeout(timeout)
        out = self.buf
        self.buf = b""
        while True:
            try:
                d = self.sock.recv(65536)
            except ConnectionResetError:
                break
            if not d:
                break
            out += d
        return out

    def closed_by_peer(self, timeout=5.0):
        """True if the server closes the connection (EOF or reset) within timeout with no
        further data; raises if it sends more bytes."""
        self.sock.settimeout(timeout)
        try:
            d = self.sock.recv(65536)
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False
        if d:
            raise AssertionError("unexpected bytes after response: %r" % d[:200])
        return True
