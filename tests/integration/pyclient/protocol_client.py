#!/usr/bin/python3
"""A Switchboard client written from proto/PROTOCOL.md alone (pyzmq + msgpack), run against
real sb-router and sb-echo processes. If this passes, the document is precise enough."""
import itertools
import os
import subprocess
import sys
import tempfile

import msgpack
import zmq

BIN = sys.argv[1]
REQUEST, CHUNK, REPLY, ERROR, CANCEL = 1, 2, 3, 4, 5
UNIMPLEMENTED, CANCELLED, INVALID_ARGUMENT, UNAVAILABLE = 12, 1, 3, 14
READY = 6
procs = []
failures = []
passed = 0


def start(program, *args):
    """Starts a program with --ready-fd and returns its readiness line."""
    r, w = os.pipe()
    log = tempfile.TemporaryFile()
    p = subprocess.Popen([os.path.join(BIN, program), *args, "--ready-fd", str(w)],
                         pass_fds=(w,), stdout=log, stderr=log)
    os.close(w)
    procs.append(p)
    with os.fdopen(r) as f:
        line = f.readline().strip()
    if not line:
        raise SystemExit(f"{program} did not become ready")
    return line


def check(name, cond, detail=""):
    global passed
    if cond:
        passed += 1
    else:
        failures.append(f"{name}: {detail}")
        print(f"FAIL {name}: {detail}")


class Client:
    def __init__(self, endpoint):
        self.sock = zmq.Context.instance().socket(zmq.DEALER)
        self.sock.linger = 0
        self.sock.connect(endpoint)
        self.ids = itertools.count(1)

    def send(self, svc, op, body, **extra):
        rid = next(self.ids)
        header = {"v": 1, "k": REQUEST, "id": rid, "svc": svc, "op": op, "dl": 5000, **extra}
        self.sock.send_multipart([msgpack.packb(header), msgpack.packb(body)])
        return rid

    def frames(self, rid):
        """Yields (header, body) for one request until its final frame."""
        while True:
            if not self.sock.poll(7000):
                raise TimeoutError(f"no answer for request {rid}")
            h, b = self.sock.recv_multipart()
            h = msgpack.unpackb(h)
            if h["id"] != rid:
                continue
            yield h, (msgpack.unpackb(b) if b else None)
            if h["k"] in (REPLY, ERROR):
                return

    def call(self, svc, op, body, **extra):
        return list(self.frames(self.send(svc, op, body, **extra)))


try:
    frontend, backend = start("sb-router", "--client-bind", "tcp://127.0.0.1:*",
                              "--worker-bind", "tcp://127.0.0.1:*", "--max-body", "1000",
                              "--no-worker-grace-ms", "500").split()
    start("sb-echo", "--router", backend, "--name", "plain", "--model", "plain")
    start("sb-echo", "--router", backend, "--name", "streamer", "--model", "stream",
          "--chunks", "3")
    start("sb-echo", "--router", backend, "--name", "slow", "--model", "slow",
          "--delay-ms", "5000")
    c = Client(frontend)

    out = c.call("echo", "echo", {"hello": "world"}, m="plain")
    check("unary reply", [f[0]["k"] for f in out] == [REPLY] and out[0][1] == {"hello": "world"},
          out)

    out = c.call("echo", "echo", "tok", m="stream")
    kinds = [f[0]["k"] for f in out]
    check("stream kinds", kinds == [CHUNK, CHUNK, CHUNK, REPLY], kinds)
    check("stream seq", [f[0].get("seq") for f in out[:3]] == [1, 2, 3], out)
    check("stream bodies", [f[1] for f in out[:3]] == ["tok"] * 3, out)
    check("stream summary", out[3][1] == {"chunks": 3}, out[3])

    out = c.call("echo", "no-such-op", None, m="plain")
    check("error code", out[-1][0]["k"] == ERROR and out[-1][0]["ec"] == UNIMPLEMENTED, out)
    check("error message", "no-such-op" in out[-1][0].get("em", ""), out)

    rid = c.send("echo", "echo", "x", m="slow")
    c.sock.send_multipart([msgpack.packb({"v": 1, "k": CANCEL, "id": rid}), b""])
    out = list(c.frames(rid))
    check("cancel", out[-1][0]["k"] == ERROR and out[-1][0]["ec"] == CANCELLED, out)

    # Section 7: an error about a bad header carries the request's id when it can be read.
    c.sock.send_multipart([msgpack.packb({"v": 2, "k": REQUEST, "id": 99}), b""])
    out = list(c.frames(99))
    check("version refused", out[0][0]["ec"] == INVALID_ARGUMENT and "version 2" in out[0][0]["em"],
          out)
    c.sock.send_multipart([msgpack.packb({"v": 1, "k": REQUEST, "id": 98, "op": "echo"}), b""])
    out = list(c.frames(98))
    check("no svc refused under its id", out[0][0]["ec"] == INVALID_ARGUMENT, out)
    c.sock.send_multipart([msgpack.packb({"v": 1, "k": REQUEST, "id": 97, "svc": "echo",
                                          "op": "echo"}), b"", b"extra"])
    out = list(c.frames(97))
    check("three frames refused under the id", out[0][0]["ec"] == INVALID_ARGUMENT, out)
    c.sock.send_multipart([msgpack.packb({"v": 1, "k": REQUEST, "id": 0, "svc": "echo",
                                          "op": "echo"}), b""])
    out = list(c.frames(0))
    check("id 0 reserved", out[0][0]["ec"] == INVALID_ARGUMENT and "reserved" in out[0][0]["em"],
          out)
    out = c.call("echo", "echo", "x" * 2000, m="plain")
    check("oversized body: not retryable", out[0][0]["ec"] == INVALID_ARGUMENT, out)

    # Section 5.1: a ready the router cannot accept is answered with an error, id 0.
    w = zmq.Context.instance().socket(zmq.DEALER)
    w.linger = 0
    w.connect(backend)
    w.send_multipart([b"", msgpack.packb({"v": 1, "k": READY, "svc": "echo"}),
                      msgpack.packb({"svc": "echo"})])
    got = w.poll(5000) and w.recv_multipart()
    h = msgpack.unpackb(got[1]) if got else {}
    check("bad ready answered", got and got[0] == b"" and h.get("k") == ERROR and
          h.get("id") == 0 and "name" in h.get("em", ""), got)
    w.send_multipart([b"", msgpack.packb({"v": 1, "k": READY, "svc": "echo"}),
                      msgpack.packb({"name": "plain", "svc": "echo"})])
    got = w.poll(5000) and w.recv_multipart()
    h = msgpack.unpackb(got[1]) if got else {}
    check("duplicate name refused", h.get("k") == ERROR and "plain" in h.get("em", ""), got)
    w.close()

    # Section 5.3: once the last worker of a service has left, requests end UNAVAILABLE (after
    # the router's grace, 500 ms here) instead of waiting for their deadline.
    start("sb-echo", "--router", backend, "--service", "lonely", "--name", "lonely")
    procs[-1].terminate()  # SIGTERM: drains, says bye, exits
    procs[-1].wait(timeout=10)
    out = c.call("lonely", "echo", "x")
    check("no live worker: UNAVAILABLE", out[0][0]["ec"] == UNAVAILABLE and
          "no live worker" in out[0][0]["em"], out)

    out = c.call("router", "status", None)
    names = sorted(w["name"] for w in out[0][1]["workers"])
    check("router.status", names == ["plain", "slow", "streamer"], names)

    out = c.call("echo", "worker.stats", None, to="streamer")
    check("worker.stats", out[0][1]["name"] == "streamer" and out[0][1]["handled"] == 1, out)

    out = c.call("router", "metrics", None)
    check("router.metrics", isinstance(out[0][1], str) and "sb_router_requests_total" in out[0][1],
          out)
finally:
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(timeout=10)

print(f"{passed} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
