"""What the integration tests that drive ringvm's Firecracker API share:
requests over the API's Unix socket with curl, and the one-line failure.

curl() returns (HTTP status, body); must() fails the test unless the status
is the expected one (out: a function giving ringvm's output to print with
the failure).  timeout bounds the curl process; extra adds curl options
(a test that sets "-m" or an Accept header)."""
import json
import subprocess
import sys


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
