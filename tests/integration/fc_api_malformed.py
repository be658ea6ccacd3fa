#!/usr/bin/env python3
"""Malformed requests to ringvm's Firecracker API, over a raw socket.

    fc_api_malformed.py --ringvm build/ringvm

Bad JSON, wrong types, unknown fields and paths, bodies over the limit
(declared and streamed), requests split across many small writes, several
requests on one connection: each gets Firecracker's documented status and a
{"fault_message": ...} body naming the problem, and afterwards the VMM still
answers and its configuration is what the valid requests made it."""
import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

from fc_client import wait_sock


def fail(msg):
    sys.exit("FAIL: " + msg)


def read_response(s, buf=b""):
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            fail(f"connection closed before a response: {buf!r}")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == "content-length":
            length = int(v.strip())
    while len(rest) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, rest[:length].decode(errors="replace"), rest[length:]


def request(sock, method, path, body=b"", pieces=1, headers=None, delay=0.0):
    if isinstance(body, str):
        body = body.encode()
    hdr = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\n"
    for k, v in (headers or {"Content-Length": str(len(body))}).items():
        hdr += f"{k}: {v}\r\n"
    raw = hdr.encode() + b"\r\n" + body
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(sock)
    step = max(1, len(raw) // pieces)
    for i in range(0, len(raw), step):
        try:
            s.sendall(raw[i:i + step])
        except (BrokenPipeError, ConnectionResetError):
            break  # the server answered early (payload too large)
        if delay:
            time.sleep(delay)
    status, text, _ = read_response(s)
    s.close()
    return status, text


def check(sock, method, path, body, status, fault_has=None, **kw):
    st, text = request(sock, method, path, body, **kw)
    print(f"{method} {path} [{len(body)} bytes] -> {st} {text[:160]}")
    if st != status:
        fail(f"{method} {path}: status {st}, expected {status}: {text}")
    if fault_has is not None:
        try:
            msg = json.loads(text)["fault_message"]
        except (ValueError, KeyError, TypeError):
            fail(f"{method} {path}: not a fault_message body: {text!r}")
        if fault_has not in msg:
            fail(f"{method} {path}: fault_message {msg!r} lacks {fault_has!r}")
    return text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ringvm", required=True)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="ringvm-fcbad-")
    sock = os.path.join(tmp, "api.sock")
    kernel = os.path.join(tmp, "kernel")
    with open(kernel, "wb") as f:
        f.write(b"\0" * 4096)
    p = subprocess.Popen([a.ringvm, "--api-sock", sock], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    try:
        wait_sock(sock, proc=p)
        mc = "/machine-config"
        check(sock, "PUT", mc, '{"vcpu_count": 2, "mem_size_mib": 64}', 204)
        # Bad JSON, wrong types, unknown fields, missing fields.
        check(sock, "PUT", mc, '{"vcpu_count": 2, ', 400, "invalid JSON")
        check(sock, "PUT", mc, 'not json', 400, "invalid JSON")
        check(sock, "PUT", mc, '[1, 2]', 400, "expected an object")
        check(sock, "PUT", mc, '{"vcpu_count": "2", "mem_size_mib": 64}', 400,
              "/machine-config/vcpu_count: expected an integer from 1 to 64")
        check(sock, "PUT", mc, '{"vcpu_count": 2.5, "mem_size_mib": 64}', 400, "/machine-config/vcpu_count")
        check(sock, "PUT", mc, '{"vcpu_count": 0, "mem_size_mib": 64}', 400, "/machine-config/vcpu_count")
        check(sock, "PUT", mc, '{"vcpu_count": 99999999999999999999999, "mem_size_mib": 64}', 400, "invalid JSON")
        check(sock, "PUT", mc, '{"mem_size_mib": 64}', 400, "/machine-config/vcpu_count: missing")
        check(sock, "PUT", mc, '{"vcpu_count": 1, "mem_size_mib": 64, "bogus": 1}', 400,
              "/machine-config/bogus: unknown field")
        check(sock, "PUT", mc, '{"vcpu_count": 1, "mem_size_mib": 64, "a/b~c": 1}', 400,
              "/machine-config/a~1b~0c: unknown field")
        check(sock, "PUT", mc, '{"vcpu_count": 1, "vcpu_count": 2, "mem_size_mib": 64}', 400, "duplicate")
        check(sock, "PUT", mc, '{"vcpu_count": 1, "mem_size_mib": 64, "smt": "yes"}', 400,
              "/machine-config/smt: expected a boolean")
        check(sock, "PUT", mc, '{"vcpu_count": 1, "mem_size_mib": 64, "cpu_template": "T2"}', 400,
              "/machine-config/cpu_template")
        check(sock, "PUT", mc, '', 400, "needs a JSON body")
        check(sock, "PUT", "/boot-source", '{"kernel_image_path": "/nonexistent/vmlinux"}', 400,
              "/boot-source/kernel_image_path: cannot read")
        check(sock, "PUT", "/boot-source", '{"kernel_image_path": 7}', 400,
              "/boot-source/kernel_image_path: expected a string")
        check(sock, "PUT", "/drives/a", '{"drive_id": "b", "path_on_host": "%s", "is_root_device": false}' % kernel,
              400, "differs from the drive id in the path")
        check(sock, "PUT", "/drives/a", '{"drive_id": "a", "path_on_host": "%s", "is_root_device": false, '
              '"rate_limiter": {"bandwidth": {"size": 1, "refill_time": 1}}}' % kernel, 400,
              "/drives/a/rate_limiter/bandwidth: rate limiting is not supported")
        check(sock, "PUT", "/network-interfaces/n", '{"iface_id": "n", "host_dev_name": "tap0", '
              '"guest_mac": "zz:00:00:00:00:00"}', 400, "/network-interfaces/n/guest_mac")
        check(sock, "PUT", "/vsock", '{"guest_cid": 2, "uds_path": "/tmp/v.sock"}', 400,
              "/vsock/guest_cid: expected an integer from 3")
        check(sock, "PUT", "/actions", '{"action_type": "Reboot"}', 400, "/action_type")
        check(sock, "PATCH", "/vm", '{"state": "Frozen"}', 400, "/state")
        check(sock, "PUT", "/balloon", '{"amount_mib": 1, "deflate_on_oom": true}', 400, "balloon")
        # Unknown paths and methods.
        check(sock, "GET", "/nope", "", 400, "Invalid request method and/or path: GET /nope.")
        check(sock, "DELETE", "/machine-config", "", 400, "Invalid request method and/or path")
        check(sock, "POST", "/actions", '{"action_type": "InstanceStart"}', 400, "Invalid request method")
        check(sock, "PUT", "/drives/", '{}', 400, "Invalid request method and/or path")
        check(sock, "PUT", "/drives/a/b", '{}', 400, "Invalid request method and/or path")
        check(sock, "PUT", "/snapshot/load", '{"snapshot_path": "x"}', 400, "mem_backend")
        # Bodies over the limit: declared up front, and streamed without
        # a length that reveals it (chunked).
        big = b'{"vcpu_count": 1, "mem_size_mib": 64, "x": "' + b"a" * 60000 + b'"}'
        check(sock, "PUT", mc, big, 413, "larger than the limit of 51200")
        chunked = b"%x\r\n" % len(big) + big + b"\r\n0\r\n\r\n"
        check(sock, "PUT", mc, chunked, 413, "larger than the limit of 51200",
              headers={"Transfer-Encoding": "chunked"})
        # Split across reads: byte by byte with pauses, then in 7 pieces.
        check(sock, "PUT", mc, '{"vcpu_count": 3, "mem_size_mib": 96}', 204, pieces=60, delay=0.01)
        check(sock, "PUT", mc, '{"vcpu_count": 1, "mem_size_mib": 128}', 204, pieces=7)
        # Two requests on one connection (HTTP/1.1 keep-alive).
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect(sock)
        body = b'{"vcpu_count": 2, "mem_size_mib": 80}'
        s.sendall(b"PATCH /machine-config HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body
                  + b"GET /machine-config HTTP/1.1\r\nHost: x\r\n\r\n")
        st1, text1, rest = read_response(s)
        if st1 != 204 or text1:
            fail(f"pipelined PATCH: {st1} {text1!r}")
        st2, text2, _ = read_response(s, rest)  # may have come in the same read
        s.close()
        if st2 != 200 or json.loads(text2)["vcpu_count"] != 2 or json.loads(text2)["mem_size_mib"] != 80:
            fail(f"pipelined GET: {st2} {text2}")
        # A client that connects and goes away, and one that sends garbage.
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sock)
        s.close()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sock)
        s.sendall(b"\x00\xff garbage\r\n\r\n")
        s.settimeout(10)
        try:
            s.recv(4096)
        except OSError:
            pass
        s.close()
        # Unharmed: still answering, with the state the valid requests made.
        if p.poll() is not None:
            fail(f"ringvm exited with status {p.returncode}")
        text = check(sock, "GET", "/machine-config", "", 200)
        got = json.loads(text)
        if got["vcpu_count"] != 2 or got["mem_size_mib"] != 80:
            fail(f"machine-config changed by a refused request: {got}")
        check(sock, "GET", "/", "", 200)
        print("PASS")
    finally:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                fail("ringvm did not stop on SIGTERM")
            # 128 + SIGTERM, as documented (a sanitizer report would change it).
            if p.returncode != 143:
                print(p.stdout.read().decode(errors="replace")[-3000:])
                fail(f"exit status {p.returncode} after SIGTERM, expected 143")
        if os.path.exists(sock):
            fail("the API socket was left behind after SIGTERM")


if __name__ == "__main__":
    main()
