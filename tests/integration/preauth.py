"""preauth.py: a flood of pre-authentication TCP connections for the resource-attack tests and
bench/replay_flood.py (python3 stdlib only): hold() keeps n connections open to an agent's
gossip port from real source addresses in 127.2.0.0/16 (loopback, no setup needed), each
announcing a frame of `announce` bytes and then sending nothing more ("idle"), one byte a
second ("dribble") or as much of the frame as the socket takes ("fill"), or sending nothing at
all, not even the length ("silent"); a connection the agent closes is opened again
`reconnect` seconds later. Returns what happened (connections opened,
closed by the agent, most open at once, bytes sent)."""

import resource
import selectors
import socket
import struct
import time

SOURCE_PREFIX = "127.2."
ANNOUNCE = 4 << 20


def sources(n):
    return ["%s%d.%d" % (SOURCE_PREFIX, i // 250, 1 + i % 250) for i in range(n)]


def hold(dst, n, nsources, behaviour, seconds, reconnect=0.5, announce=ANNOUNCE, stop=None):
    """dst: (ip, port). stop: an optional threading.Event that ends it early."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 64), hard))
    srcs = sources(nsources)
    sel = selectors.DefaultSelector()
    conns = [None] * n   # slot -> socket
    state = [None] * n   # "connecting" | "open"
    sent = [0] * n       # frame bytes sent after the header
    retry = [0.0] * n
    st = {"opened": 0, "connect_failed": 0, "closed_by_agent": 0, "max_open": 0,
          "bytes_sent": 0}
    header = struct.pack("!I", announce)
    chunk = b"\0" * 65536
    t0 = last_dribble = time.monotonic()

    def close(i, by_agent):
        sel.unregister(conns[i])
        conns[i].close()
        conns[i] = state[i] = None
        retry[i] = time.monotonic() + reconnect
        st["closed_by_agent" if by_agent else "connect_failed"] += 1

    while time.monotonic() - t0 < seconds and not (stop and stop.is_set()):
        now = time.monotonic()
        for i in range(n):
            if conns[i] is None and now >= retry[i]:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setblocking(False)
                s.bind((srcs[i % nsources], 0))
                s.connect_ex(dst)
                conns[i], state[i], sent[i] = s, "connecting", 0
                sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE, i)
        st["max_open"] = max(st["max_open"], sum(1 for x in state if x == "open"))
        for key, mask in sel.select(timeout=0.05):
            i, s = key.data, key.fileobj
            if conns[i] is not s:
                continue
            if state[i] == "connecting" and mask & selectors.EVENT_WRITE:
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    close(i, False)
                    continue
                try:
                    if behaviour != "silent":
                        s.send(header)
                except OSError:
                    close(i, True)
                    continue
                state[i] = "open"
                st["opened"] += 1
                sel.modify(s, selectors.EVENT_READ |
                           (selectors.EVENT_WRITE if behaviour == "fill" else 0), i)
                continue
            if mask & selectors.EVENT_READ:
                try:
                    data = s.recv(65536)  # the agent's challenge, then EOF when it closes
                except OSError:
                    data = b""
                if not data:
                    close(i, state[i] == "open")
                    continue
            if behaviour == "fill" and mask & selectors.EVENT_WRITE and state[i] == "open":
                try:
                    k = s.send(chunk[:min(len(chunk), announce - sent[i])])
                    sent[i] += k
                    st["bytes_sent"] += k
                except BlockingIOError:
                    pass
                except OSError:
                    close(i, True)
                    continue
                if sent[i] >= announce:
                    sel.modify(s, selectors.EVENT_READ, i)
        if behaviour == "dribble" and time.monotonic() - last_dribble >= 1.0:
            last_dribble = time.monotonic()
            for i in range(n):
                if state[i] == "open" and sent[i] < announce:
                    try:
                        conns[i].send(b"\0")
                        sent[i] += 1
                        st["bytes_sent"] += 1
                    except OSError:
                        pass
    for s in conns:
        if s is not None:
            s.close()
    sel.close()
    st["seconds"] = round(time.monotonic() - t0, 3)
    return st
