"""A small HTTP/1.1 client for bench/faults_*.py (standard library only).

http_request() opens a connection of its own (Connection: close) and
returns a Reply; KeepAlive keeps one connection and says, when a request
fails, whether the connection had served a request before, which nginx
worker process answered its last request (the X-Worker-Pid header
faults.sh adds to every server) and how many bytes of the answer came.
"""

import json
import socket
import time


class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def pid(self):
        value = self.headers.get("x-worker-pid")
        return int(value) if value and value.isdigit() else None

    def json(self):
        return json.loads(self.body)


class Cut(Exception):
    """The connection ended or failed before a whole answer came."""

    def __init__(self, what, received):
        super().__init__("%s after %d bytes of the answer" % (what, received))
        self.what = what
        self.received = received


def build(method, path, body=b"", headers=None, close=False):
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: 127.0.0.1"]
    for name, value in (headers or {}).items():
        lines.append("%s: %s" % (name, value))
    if body or method in ("POST", "PUT"):
        lines.append("Content-Length: %d" % len(body))
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def read_reply(sock, method="GET"):
    """Reads one answer from sock; raises Cut when it ends early."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            raise Cut("timeout", len(buf))
        except OSError as e:
            raise Cut(type(e).__name__, len(buf))
        if not chunk:
            raise Cut("closed", len(buf))
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        raise Cut("bad status line %r" % lines[0][:60], len(buf))
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()

    def more(need_total):
        nonlocal rest
        while len(rest) < need_total:
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                raise Cut("timeout", len(head) + len(rest))
            except OSError as e:
                raise Cut(type(e).__name__, len(head) + len(rest))
            if not chunk:
                raise Cut("closed", len(head) + len(rest))
            rest += chunk

    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return Reply(status, headers, b"")
    if "content-length" in headers:
        n = int(headers["content-length"])
        more(n)
        return Reply(status, headers, rest[:n])
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        pos = 0
        while True:
            while b"\r\n" not in rest[pos:]:
                more(len(rest) + 1)
            line_end = rest.index(b"\r\n", pos)
            size = int(rest[pos:line_end].split(b";")[0], 16)
            pos = line_end + 2
            more(pos + size + 2)
            body += rest[pos:pos + size]
            pos += size + 2
            if size == 0:
                return Reply(status, headers, body)
    # until the server closes
    while True:
        try:
            chunk = sock.recv(65536)
        except OSError:
            break
        if not chunk:
            break
        rest += chunk
    return Reply(status, headers, rest)


def http_request(port, method, path, body=b"", headers=None, timeout=30.0,
                 host="127.0.0.1"):
    """One request on a connection of its own; raises Cut or OSError."""
    sock = socket.create_connection((host, port), timeout=timeout)
    try:
        sock.sendall(build(method, path, body, headers, close=True))
        return read_reply(sock, method)
    finally:
        sock.close()


def try_request(port, method, path, body=b"", headers=None, timeout=30.0):
    """http_request, or None and the reason when the connection failed."""
    try:
        return http_request(port, method, path, body, headers, timeout), None
    except (Cut, OSError) as e:
        return None, str(e)


class KeepAlive:
    """One keep-alive connection, reopened after a failure."""

    def __init__(self, port, timeout=30.0, host="127.0.0.1"):
        self.addr = (host, port)
        self.timeout = timeout
        self.sock = None
        self.served = 0          # answers on the current connection
        self.last_pid = None     # who sent the last of them

    def close(self):
        if self.sock is not None:
            self.sock.close()
        self.sock = None
        self.served = 0
        self.last_pid = None

    def request(self, method, path, body=b"", headers=None):
        """Returns (reply, None) or (None, failure dict)."""
        reused = self.sock is not None
        info = {"reused": reused, "last_pid": self.last_pid,
                "served": self.served, "t_send": time.time()}
        try:
            if self.sock is None:
                self.sock = socket.create_connection(self.addr,
                                                     timeout=self.timeout)
            self.sock.sendall(build(method, path, body, headers))
            reply = read_reply(self.sock, method)
        except Cut as e:
            info.update(what=e.what, received=e.received, t_fail=time.time())
            self.close()
            return None, info
        except OSError as e:
            info.update(what=type(e).__name__, received=0,
                        t_fail=time.time())
            self.close()
            return None, info
        self.served += 1
        self.last_pid = reply.pid
        if reply.headers.get("connection", "").lower() == "close":
            self.close()
        return reply, None
