"""What the integration tests that drive ringvm's Firecracker API share:
requests over the API's Unix socket with curl, and the one-line failure.

curl() returns (HTTP status, body); must() fails the test unless the status
is the expected one (out: a function giving ringvm's output to print with
the failure).  timeout bounds the curl process; extra adds curl options
(a test that sets "-m" or an Accept header).  Serial reads ringvm's
output (the guest's serial console on stdio) and writes lines to it."""
import json
import os
import select
import subprocess
import sys
import time


def fail(msg, out=b""):
    if out:
        print(out.decode(errors="replace")[-3000:])
    sys.exit("FAIL: " + msg)


def curl(sock, method, path, body=None, timeout=60, extra=()):
    cmd = ["curl", "-s", *extra, "--unix-socket", sock, "-X", method, "-o", "-", "-w",
           "\n%{http_code}", "http://localhost" + path]
    if body is not None:
        cmd += ["-H", "Content-Type: application/json", "-d", json.dumps(body)]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, timeout=timeout)
    text, _, code = r.stdout.rpartition("\n")
    return int(code or 0), text


def must(sock, method, path, body, status, out=lambda: b"", timeout=60, extra=()):
    code, text = curl(sock, method, path, body, timeout, extra)
    if code != status:
        fail(f"{method} {path}: {code} {text}, expected {status}", out())
    return text


class Serial:
    def __init__(self, p):
        self.p = p
        self.out = b""

    def read(self, secs):
        end = time.monotonic() + secs
        while time.monotonic() < end:
            r, _, _ = select.select([self.p.stdout], [], [], max(0.0, min(0.2, end - time.monotonic())))
            if r:
                chunk = os.read(self.p.stdout.fileno(), 65536)
                if not chunk:
                    return
                self.out += chunk

    def wait_for(self, marker, secs, start=0):
        end = time.monotonic() + secs
        while marker not in self.out[start:]:
            if time.monotonic() > end or self.p.poll() is not None:
                fail(f"no {marker!r} on the serial output", self.out)
            self.read(0.5)
        return self.out.index(marker, start)

    def send(self, line):
        self.p.stdin.write(line.encode() + b"\n")
        self.p.stdin.flush()
