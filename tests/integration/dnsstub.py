"""dnsstub.py: a tiny DNS server for the tests (stdlib only): answers A queries from a dict
the test changes while it runs (name -> "127.0.0.x"), NXDOMAIN for other names, on UDP."""

import socket
import struct
import threading


class DnsStub:
    def __init__(self, ip, port, records=None):
        self.records = dict(records or {})  # lower-case name without the final dot -> IPv4
        self.queries = []  # (name, qtype) in arrival order
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((ip, port))
        self.sock.settimeout(0.1)
        self.addr = "%s:%d" % (ip, port)
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def close(self):
        self._stop = True
        self._thread.join()
        self.sock.close()

    def _serve(self):
        while not self._stop:
            try:
                data, peer = self.sock.recvfrom(512)
            except socket.timeout:
                continue
            answer = self._answer(data)
            if answer:
                self.sock.sendto(answer, peer)

    def _answer(self, q):
        if len(q) < 12:
            return None
        qid, flags, qd = struct.unpack("!HHH", q[:6])
        if qd != 1 or flags & 0x8000:
            return None
        labels, i = [], 12
        while i < len(q) and q[i]:
            labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace"))
            i += 1 + q[i]
        if i + 5 > len(q):
            return None
        qtype = struct.unpack("!H", q[i + 1:i + 3])[0]
        question = q[12:i + 5]  # echoed as sent (the resolver randomises the case)
        name = ".".join(labels).lower()
        self.queries.append((name, qtype))
        ip = self.records.get(name)
        answers = b""
        if ip is not None and qtype == 1:  # A, time to live 0: never cached
            answers = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 0, 4) + socket.inet_aton(ip)
        rcode = 0 if ip is not None else 3  # NXDOMAIN
        head = struct.pack("!HHHHHH", qid, 0x8400 | (flags & 0x0100) | rcode, 1,
                           1 if answers else 0, 0, 0)
        return head + question + answers
