#!/usr/bin/env python3
"""The Linux guest on ringvm's virtio-net and virtio-vsock, end to end.

    linux_net.py --ringvm build/ringvm --case net|vsock [--engine soft]

net:   boots the default busybox guest with `--net user,hostfwd=...`; the guest
       gets its address by DHCP from libslirp, downloads a file from an HTTP
       server on the host (10.0.2.2) and checks its content, then serves a page
       of its own that the host fetches through the port forward.
console: `--console virtio` with console=hvc0: the shell runs on
       virtio-console and answers typed input; --stats has the device.
vsock: the same guest with `--vsock cid=3,uds=...` too; it downloads a small
       static vsock program (tests/integration/guest_vsock.c, compiled here)
       over the network, then (1) the host connects through the Unix socket
       with "CONNECT 1234\\n" to the program listening in the guest, and
       (2) the guest connects to the host's CID 2 port 5000, which reaches
       the listener at <uds>_5000.  Data goes both ways on both.
Exit 77 (skip) when the engine cannot run here or no C compiler can build
static programs."""
import argparse
import http.server
import os
import secrets
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import linux_boot as lb  # noqa: E402

TIMEOUT = 600


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(directory):
    handler = lambda *a, **k: QuietHandler(*a, directory=directory, **k)  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


class Guest:
    """ringvm with the guest's console on a pipe; wait for text, type lines."""

    def __init__(self, ringvm, args):
        self.t0 = time.monotonic()
        self.p = subprocess.Popen([ringvm, "run"] + args, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.out = b""

    def left(self):
        return TIMEOUT - (time.monotonic() - self.t0)

    def wait_for(self, text, start=0):
        needle = text.encode()
        while needle not in self.out[start:]:
            if self.left() <= 0:
                self.fail(f"no '{text}' within {TIMEOUT} s")
            ready, _, _ = select.select([self.p.stdout], [], [], min(self.left(), 1.0))
            if ready:
                chunk = os.read(self.p.stdout.fileno(), 65536)
                if not chunk:
                    self.fail(f"ringvm ended (status {self.p.wait()}) before '{text}'")
                self.out += chunk
        return self.out.index(needle, start)

    def type(self, line):
        self.p.stdin.write((line + "\n").encode())
        self.p.stdin.flush()

    def text(self):
        return self.out.decode(errors="replace")

    def fail(self, what):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        print(self.text()[-5000:])
        sys.exit(f"FAIL: {what}")

    def finish(self):
        self.type("poweroff -f")
        try:
            status = self.p.wait(timeout=max(self.left(), 30))
        except subprocess.TimeoutExpired:
            self.fail("the guest did not power off")
        rest = self.p.stdout.read()
        self.out += rest or b""
        return status


def build_static(tmp, src, name, cflags, what, fail_what="a static program"):
    """tests/integration/<src> compiled into tmp/<name> as a static program
    for the guest (cc -static cflags); exit 77 (skip), saying so, without a
    C compiler (for <what>) or when it does not build (<fail_what>)."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        print(f"SKIP: no C compiler for {what}")
        sys.exit(77)
    out = os.path.join(tmp, name)
    r = subprocess.run([cc, "-static"] + cflags + ["-o", out, os.path.join(HERE, src)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        print(f"SKIP: cannot build {fail_what}: {r.stdout.strip()[:300]}")
        sys.exit(77)
    return out


def build_vsock_program(tmp):
    return build_static(tmp, "guest_vsock.c", "guest_vsock", ["-O2"], "the guest's vsock program")


def boot_to_shell(ringvm, engine, extra):
    """The default busybox guest (quiet, 512M, serial on stdio) on engine with
    the extra options, up to its shell prompt: (Guest, the prompt's place
    in its output).  Exit 77 (skip) when the engine cannot run here."""
    args = ["--kernel", os.path.join(lb.CACHE, "vmlinuz"),
            "--initrd", os.path.join(lb.CACHE, "initramfs.cpio.gz"),
            "--cmdline", lb.BASE_CMDLINE + " quiet", "--memory", "512M",
            "--serial", "stdio", "--engine", engine] + extra
    g = Guest(ringvm, args)
    pos = g.wait_for("RINGVM-INIT-OK")
    g.wait_for("/ # ", pos)
    if "is not available" in g.text():
        print(f"SKIP: {g.text().strip()}")
        sys.exit(77)
    return g, pos


def fetch_program_cmd(hport, name):
    """The guest's shell line that brings eth0 up by DHCP and downloads the
    host's tmp/<name> (served on hport, serve()) to /tmp/<name>, executable."""
    return (f"ip link set eth0 up && udhcpc -i eth0 -q -n -t 10 >/dev/null && "
            f"wget -q -O /tmp/{name} http://10.0.2.2:{hport}/{name} && chmod +x /tmp/{name}")


def host_connect_vsock(uds, port, deadline):
    """Firecracker's convention: CONNECT <port>, expect OK <hostport>."""
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(20)
        s.connect(uds)
        s.sendall(f"CONNECT {port}\n".encode())
        line = b""
        try:
            while not line.endswith(b"\n"):
                c = s.recv(1)
                if not c:
                    break
                line += c
        except socket.timeout:
            pass
        if line.startswith(b"OK "):
            return s, line
        s.close()
        if time.monotonic() > deadline:
            return None, line
        time.sleep(1)   # the guest's listener is not up yet: RST, retry


def host_echo_vsock(uds, port, msg, deadline):
    """CONNECT port (host_connect_vsock), send msg and read one line back:
    (the line, None), or (None, the CONNECT's answer) if it was refused."""
    s, line = host_connect_vsock(uds, port, deadline)
    if not s:
        return None, line
    s.sendall(msg)
    got = b""
    while not got.endswith(b"\n"):
        c = s.recv(4096)
        if not c:
            break
        got += c
    s.close()
    return got, None


def console_case(a):
    """--console virtio: the serial back end on hvc0, the shell usable there."""
    g = Guest(a.ringvm, ["--kernel", os.path.join(lb.CACHE, "vmlinuz"),
                         "--initrd", os.path.join(lb.CACHE, "initramfs.cpio.gz"),
                         "--cmdline", "console=hvc0 panic=-1 quiet", "--memory", "512M",
                         "--serial", "stdio", "--engine", a.engine, "--stats",
                         "--console", "virtio"])
    pos = g.wait_for("RINGVM-INIT-OK")
    g.wait_for("/ # ", pos)
    g.type("echo sum=$((6*7)); cat /sys/class/tty/console/active; read x; echo got-$x")
    g.type("typed-line")
    g.wait_for("got-typed-line", pos)
    status = g.finish()
    text = g.text()
    # (Kernel messages are not required on hvc0: Debian's kernel does not
    # print its last lines there at power-off.)
    for w in ["console=hvc0", "sum=42", "virtio-console", "console stdio"]:
        if w not in text:
            g.fail(f"'{w}' missing from the output")
    if "hvc0" not in text[text.index("sum=42"):]:
        g.fail("/sys/class/tty/console/active does not name hvc0")
    if status != 0:
        g.fail(f"exit status {status}, want 0")
    print(f"PASS: Linux on virtio-console ({a.engine}) in {time.monotonic() - g.t0:.1f} s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ringvm", required=True)
    ap.add_argument("--case", required=True, choices=["net", "vsock", "console"])
    ap.add_argument("--engine", default="soft")
    a = ap.parse_args()
    lb.fetch_assets()

    if a.case == "console":
        return console_case(a)
    tmp = tempfile.mkdtemp(prefix="ringvm-net-")
    try:
        token = secrets.token_hex(8)
        with open(os.path.join(tmp, "token.txt"), "w") as f:
            f.write(f"host-token-{token}\n")
        if a.case == "vsock":
            build_vsock_program(tmp)
        httpd = serve(tmp)
        hport = httpd.server_address[1]
        fport = free_port()
        uds = os.path.join(tmp, "v.sock")
        extra = ["--stats", "--net", f"user,hostfwd=tcp:127.0.0.1:{fport}-:80"]
        if a.case == "vsock":
            extra += ["--vsock", f"cid=3,uds={uds}"]
        g, pos = boot_to_shell(a.ringvm, a.engine, extra)

        g.type(f"ip link set eth0 up && udhcpc -i eth0 -q -n -t 10 && wget -q -O - http://10.0.2.2:{hport}/token.txt"
               f" && echo FETCH\"\"-DONE")
        g.wait_for("FETCH-DONE", pos)
        if f"host-token-{token}" not in g.text():
            g.fail("the guest did not get the host's file through the user network")
        if "eth0 is 10.0.2.15/24" not in g.text():
            g.fail("DHCP did not give 10.0.2.15/24")

        if a.case == "net":
            gtoken = secrets.token_hex(8)
            g.type(f"mkdir -p /www && echo guest-token-{gtoken} > /www/index.html && "
                   f"httpd -p 80 -h /www && echo SERV\"\"ING")
            g.wait_for("SERVING", pos)
            body = b""
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    body = urllib.request.urlopen(f"http://127.0.0.1:{fport}/index.html",
                                                  timeout=30).read()
                    break
                except OSError:
                    time.sleep(1)
            if f"guest-token-{gtoken}".encode() not in body:
                g.fail(f"the host did not get the guest's page through hostfwd (got {body!r})")
        else:
            # The guest program: listens on vsock port 1234 (echoes in upper
            # case), then connects to the host's port 5000.
            lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            lsock.bind(f"{uds}_5000")
            lsock.listen(1)
            g.type(f"wget -q -O /tmp/gv http://10.0.2.2:{hport}/guest_vsock && chmod +x /tmp/gv"
                   f" && (/tmp/gv 1234 5000 &) && echo VSOCK\"\"-STARTED")
            g.wait_for("VSOCK-STARTED", pos)
            g.wait_for("guest_vsock: listening", pos)
            got, line = host_echo_vsock(uds, 1234, b"ping-from-host\n", time.monotonic() + 60)
            if got is None:
                g.fail(f"host CONNECT 1234 through {uds} was not accepted (got {line!r})")
            if got != b"PING-FROM-HOST\n":
                g.fail(f"host -> guest echo: got {got!r}")
            # The guest now connects to CID 2 port 5000.
            lsock.settimeout(60)
            try:
                c, _ = lsock.accept()
            except socket.timeout:
                g.fail("the guest's connection to CID 2 port 5000 never reached <uds>_5000")
            c.settimeout(30)
            hello = c.recv(4096)
            if hello != b"hello-from-guest\n":
                g.fail(f"guest -> host: got {hello!r}")
            c.sendall(b"reply-from-host\n")
            g.wait_for("guest_vsock: host replied reply-from-host", pos)
            c.close()
            lsock.close()

        status = g.finish()
        if status != 0:
            g.fail(f"exit status {status}, want 0")
        if "virtio-net" not in g.text():
            g.fail("--stats has no virtio-net line")
        print(f"PASS: Linux {a.case} on {a.engine} in {time.monotonic() - g.t0:.1f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
