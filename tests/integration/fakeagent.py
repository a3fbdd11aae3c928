"""fakeagent.py: a tiny stand-in for hearsayd's HTTP API on a unix socket, serving canned
answers, so the hearsay CLI can be tested without the daemon (test_cli_contract.py).

Each route maps (METHOD, PATH-without-query) to a Reply; every request is recorded with its
method, full target, headers and body. Replies can be sent with Content-Length, chunked,
or close-delimited, or as raw bytes for hostile-input tests."""

import json
import os
import socket
import threading
import time


class Reply:
    def __init__(self, status=200, body=b"", mode="length", raw=None, delay=0.0,
                 ctype="application/json", chunks=None, hang=False):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.status, self.body, self.mode, self.raw = status, body, mode, raw
        self.delay, self.ctype, self.chunks, self.hang = delay, ctype, chunks, hang


REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 409: "Conflict",
           500: "Internal Server Error", 503: "Service Unavailable"}


class FakeAgent:
    def __init__(self, path):
        self.path = path
        self.routes = {}
        self.requests = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        if os.path.exists(path):
            os.unlink(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(64)
        self.sock.settimeout(0.1)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def route(self, method, path, reply):
        self.routes[(method, path)] = reply

    def close(self):
        self.stop.set()
        self.thread.join(2)
        self.sock.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        try:
            conn.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, body = data.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
            n = int(headers.get("content-length", "0"))
            while len(body) < n:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                body += chunk
            with self.lock:
                self.requests.append({"method": method, "target": target,
                                      "headers": headers, "body": body})
            path = target.split("?", 1)[0]
            reply = self.routes.get((method, path))
            if reply is None:
                reply = Reply(404, {"error": "no such endpoint: %s %s" % (method, path)})
            if callable(reply):
                reply = reply(method, target, body)
            self._send(conn, reply)
        except (OSError, ValueError):
            pass
        finally:
            conn.close()

    def _send(self, conn, r):
        if r.delay:
            time.sleep(r.delay)
        if r.hang:
            self.stop.wait(30)
            return
        if r.raw is not None:
            conn.sendall(r.raw)
            return
        head = "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n" % (
            r.status, REASONS.get(r.status, "X"), r.ctype)
        if r.mode == "length":
            conn.sendall((head + "Content-Length: %d\r\n\r\n" % len(r.body)).encode() + r.body)
        elif r.mode == "close":
            conn.sendall((head + "Connection: close\r\n\r\n").encode() + r.body)
        elif r.mode == "chunked":
            conn.sendall((head + "Transfer-Encoding: chunked\r\n\r\n").encode())
            chunks = r.chunks if r.chunks is not None else [r.body]
            for c in chunks:
                if isinstance(c, (int, float)):
                    time.sleep(c)
                    continue
                if isinstance(c, str):
                    c = c.encode()
                conn.sendall(b"%x\r\n" % len(c) + c + b"\r\n")
            conn.sendall(b"0\r\n\r\n")
