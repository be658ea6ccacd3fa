"""What the integration tests that drive ringvm's Firecracker API share:
requests over the API's Unix socket with curl, and the one-line failure.

curl() returns (HTTP status, body); must() fails the test unless the status
is the expected one (out: a function giving ringvm's output to print with
the failure).  timeout bounds the curl process; extra adds curl options
(a test that sets "-m" or an Accept header).  Serial reads ringvm's
output (the guest's serial console on stdio) and writes lines to it;
ApiVm is a ringvm started with only --api-sock, read through Serial.
wait_sock waits for the API socket, poweroff ends a Linux guest from its
shell and checks ringvm's status, wait_exit waits for a guest to end by
itself, stop kills what still runs and cleanup does that and removes the
test's directory."""
import json
import os
import select
import shutil
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

    def wait_exit(self, secs, what="the guest did not finish"):
        """Reads the output until ringvm exits (fails with what after secs),
        then the rest of it; returns the exit status."""
        end = time.monotonic() + secs
        while self.p.poll() is None:
            if time.monotonic() > end:
                fail(what, self.out)
            self.read(0.5)
        self.read(0.2)
        return self.p.returncode


class ApiVm(Serial):
    """ringvm --api-sock SOCK --level Info, its output (stdout and stderr)
    read through Serial; stdin a pipe for send() unless given."""

    def __init__(self, ringvm, sock, stdin=subprocess.PIPE):
        self.sock = sock
        super().__init__(subprocess.Popen([ringvm, "--api-sock", sock, "--level", "Info"],
                                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                          stdin=stdin))
        wait_sock(sock, "no API socket", proc=self.p)

    def must(self, method, path, body, status=204):
        return must(self.sock, method, path, body, status, out=lambda: (self.read(0.3), self.out)[1])

    def kill(self):
        stop(self.p)


def wait_sock(sock, what="the API socket did not appear", secs=30.0, proc=None):
    """Waits for ringvm to create its API socket; fails with what (at once
    if proc, ringvm's Popen, has exited).  The wait is long because a loaded
    2-core host can take seconds to start ringvm; a socket that appears
    returns at once."""
    end = time.monotonic() + secs
    while not os.path.exists(sock):
        if proc is not None and proc.poll() is not None:
            fail(f"{what} (ringvm exited with status {proc.returncode})")
        if time.monotonic() > end:
            fail(what)
        time.sleep(0.05)


def poweroff(ser, secs=60):
    """`poweroff -f` to the Linux guest's shell: ringvm must exit, status 0."""
    ser.send("poweroff -f")
    try:
        st = ser.p.wait(timeout=secs)
    except subprocess.TimeoutExpired:
        fail("ringvm did not exit after the guest powered off", ser.out)
    if st != 0:
        ser.read(0.5)
        fail(f"exit status {st}", ser.out)


def stop(*procs):
    """Kills the processes (Popen, or None) that still run."""
    for p in procs:
        if p is not None and p.poll() is None:
            p.kill()
            p.wait()


def cleanup(tmp, *vms):
    """A test's finally: kills its VMs (ApiVm, or None), removes tmp."""
    stop(*(vm.p for vm in vms if vm is not None))
    shutil.rmtree(tmp, ignore_errors=True)
