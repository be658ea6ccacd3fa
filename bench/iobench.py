"""I/O figures for bench/run --io (docs/PERFORMANCE.md, "I/O").

Boots Debian's kernel with the default initramfs into a copy of the Debian root
filesystem (scripts/build-debian-rootfs.sh, which has fio and iperf3) whose init
is bench/guest/io-init, under ringvm and under QEMU with the same virtio
devices: virtio-blk for the root and for a scratch disk (fio on /dev/vdb,
O_DIRECT in the guest, the host page cache behind both VMMs), virtio-net on the
user-mode network (libslirp in both; iperf3 to a server on the host, both
directions) and virtio-vsock (bench/guest/vsockping against a Unix-socket echo
peer in Firecracker's convention; QEMU's vhost-vsock needs the host's
vhost_vsock module and /dev/vhost-vsock, reported n/a without them).
Runs are interleaved like the CPU figures; a configuration that fails once is
n/a with the reason.
"""
import os
import re
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(ROOT, ".cache")
KERNEL = os.path.join(CACHE, "guest", "vmlinuz")
INITRD = os.path.join(CACHE, "guest", "initramfs.cpio.gz")
IMAGE = os.path.join(CACHE, "guest", "debian-rootfs.ext4")
VSOCKPING = os.path.join(CACHE, "bench", "vsockping")
IO_INIT = os.path.join(ROOT, "bench", "guest", "io-init")
VSOCK_PORT = 5000
SCRATCH_MIB = 256

CONFIGS = ["qemu-tcg", "ringvm-soft", "qemu-kvm", "ringvm-kvm"]
DEFAULT_CONFIGS = "qemu-tcg,ringvm-soft"

# key -> (meaning, unit, better)
ROWS = {
    "seq_read": ("fio sequential read, 1 MiB blocks, QD 4", "MB/s", "higher"),
    "seq_write": ("fio sequential write, 1 MiB blocks, QD 4", "MB/s", "higher"),
    "rand_read": ("fio random read, 4 KiB, QD 16", "IOPS", "higher"),
    "rand_write": ("fio random write, 4 KiB, QD 16", "IOPS", "higher"),
    "net_up": ("iperf3 guest -> host (user-mode net)", "Mbit/s", "higher"),
    "net_down": ("iperf3 host -> guest (-R)", "Mbit/s", "higher"),
    "vsock_rtt": ("vsock 1-byte round trip, median", "us", "lower"),
    "vsock_rtt_min": ("vsock 1-byte round trip, min", "us", "lower"),
    "io_total": ("boot + all tests + power-off (host wall)", "s", "lower"),
}


def log(msg):
    print(f"bench: {msg}", file=__import__("sys").stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def prepare(work):
    """Builds vsockping and the Debian image if needed; writes the scratch disk."""
    r = subprocess.run([os.path.join(ROOT, "scripts", "build-debian-rootfs.sh"), "--quiet"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0 or not os.path.exists(IMAGE):
        return "no Debian image (scripts/build-debian-rootfs.sh failed: " + \
            (r.stdout.strip().splitlines() or ["?"])[-1] + ")"
    src = os.path.join(ROOT, "bench", "guest", "vsockping.c")
    if not os.access(VSOCKPING, os.X_OK) or os.path.getmtime(src) > os.path.getmtime(VSOCKPING):
        os.makedirs(os.path.dirname(VSOCKPING), exist_ok=True)
        subprocess.run(["gcc", "-static", "-O2", "-Wall", "-Wextra", "-Werror", "-o", VSOCKPING, src], check=True)
    if not shutil.which("debugfs"):
        return "debugfs (e2fsprogs) not installed"
    scratch = os.path.join(work, "scratch.img")
    with open(scratch, "wb") as f:  # real data, so reads do not hit holes
        chunk = os.urandom(1 << 20)
        for _ in range(SCRATCH_MIB):
            f.write(chunk)
    return None


def fresh_root(work):
    """A copy of the Debian image with io-init and vsockping written in by debugfs."""
    root = os.path.join(work, "root.ext4")
    subprocess.run(["cp", "--sparse=always", IMAGE, root], check=True)
    cmds = os.path.join(work, "debugfs.cmd")
    with open(cmds, "w") as f:
        f.write(f"cd /usr/local/sbin\nwrite {IO_INIT} ringvm-io\nsif ringvm-io mode 0100755\n"
                f"cd /usr/local/bin\nwrite {VSOCKPING} vsockping\nsif vsockping mode 0100755\n")
    r = subprocess.run(["debugfs", "-w", "-f", cmds, root], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    if r.returncode != 0 or "rror" in r.stdout:
        raise SystemExit(f"bench: debugfs could not write the guest program: {r.stdout[-400:]}")
    return root


class VsockEcho:
    """Unix-socket peer at PATH_<port>: echoes whatever the guest sends."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(4)
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
            threading.Thread(target=self.echo, args=(c,), daemon=True).start()

    @staticmethod
    def echo(c):
        try:
            while True:
                b = c.recv(4096)
                if not b:
                    break
                c.sendall(b)
        except OSError:
            pass
        c.close()

    def close(self):
        self.sock.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass


def argv_for(cfg, a, work, root, scratch, cmdline):
    if cfg.startswith("qemu-"):
        accel = cfg.split("-", 1)[1]
        cpu = ["-cpu", a.qemu_cpu] if accel == "tcg" else []
        return ["qemu-system-x86_64", "-M", "pc", "-accel", accel] + cpu + [
            "-m", "512", "-smp", "1", "-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio",
            "-kernel", KERNEL, "-initrd", INITRD, "-append", cmdline,
            "-drive", f"file={root},if=none,id=d0,format=raw", "-device", "virtio-blk-pci,drive=d0",
            "-drive", f"file={scratch},if=none,id=d1,format=raw", "-device", "virtio-blk-pci,drive=d1",
            "-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0"]
    engine = cfg.split("-", 1)[1]
    return [a.ringvm, "run", "--kernel", KERNEL, "--initrd", INITRD, "--cmdline", cmdline,
            "--memory", "512M", "--engine", engine, "--serial", "stdio",
            "--drive", f"path={root}", "--drive", f"path={scratch}", "--net", "user",
            "--vsock", f"cid=3,uds={os.path.join(work, 'v.sock')}"]


def parse(lines):
    v, errs = {}, []
    for ln in lines:
        m = re.search(r"IO fio (\w+) (.*)$", ln)
        if m:
            f = m.group(2).split(";")
            # terse v3 fields 1-9 and 47-50 (io-init cuts the rest): read KiB/s and
            # IOPS are fields 7 and 8, write KiB/s and IOPS fields 48 and 49
            if len(f) != 13 or f[0] != "3" or f[4] != "0":
                errs.append(f"fio {m.group(1)}: {m.group(2)[:120]}")
                continue
            rd = m.group(1) in ("seq_read", "rand_read")
            bw_kib, iops = (float(f[6]), float(f[7])) if rd else (float(f[10]), float(f[11]))
            v[m.group(1)] = bw_kib * 1024 / 1e6 if m.group(1).startswith("seq") else iops
            continue
        m = re.search(r"IO iperf3 (up|down) .*?([0-9.]+) Mbits/sec.*receiver", ln)
        if m:
            v["net_" + m.group(1)] = float(m.group(2))
            continue
        if "IO iperf3" in ln:
            errs.append(ln.split("IO ", 1)[1][:120])
        m = re.search(r"IO vsock (vsock_rtt(?:_min)?) ([0-9.]+) us", ln)
        if m:
            v[m.group(1)] = float(m.group(2))
        elif "IO vsock" in ln and "vsock_rounds" not in ln:
            errs.append(ln.split("IO ", 1)[1][:120])
    return v, errs


def run_one(cfg, a, work, scratch):
    root = fresh_root(work)
    iport = free_port()
    vsock = cfg.startswith("ringvm-") or os.access("/dev/vhost-vsock", os.R_OK | os.W_OK)
    cmdline = (f"{a.base_cmdline} ringvm.root=/dev/vda ringvm.init=/usr/local/sbin/ringvm-io "
               f"ringio.secs={a.io_secs:g} ringio.iperf={iport} ringio.vsock={VSOCK_PORT if vsock else 0}")
    argv = argv_for(cfg, a, work, root, scratch, cmdline)
    if cfg.startswith("qemu-") and vsock:
        argv += ["-device", "vhost-vsock-pci,guest-cid=3"]
    srv = subprocess.Popen(["iperf3", "-s", "-B", "127.0.0.1", "-p", str(iport)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    echo = VsockEcho(os.path.join(work, f"v.sock_{VSOCK_PORT}")) if cfg.startswith("ringvm-") else None
    lines, t0 = [], time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         start_new_session=True)
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ)
    buf, timed_out = b"", False
    try:
        while True:
            left = a.timeout - (time.monotonic() - t0)
            if left <= 0:
                timed_out = True
                break
            if not sel.select(min(left, 1.0)):
                if p.poll() is not None:
                    break
                continue
            chunk = os.read(p.stdout.fileno(), 65536)
            if not chunk:
                break
            buf += chunk
            *done, buf = buf.split(b"\n")
            for ln in done:
                s = ln.decode("utf-8", "replace").rstrip("\r")
                lines.append(s)
                if a.verbose:
                    log(f"  {cfg} | {s}")
    finally:
        if timed_out:
            os.killpg(p.pid, signal.SIGKILL)
        rc = p.wait()
        os.killpg(srv.pid, signal.SIGTERM)
        srv.wait()
        if echo:
            echo.close()
    secs = time.monotonic() - t0
    v, errs = parse(lines)
    last = next((x for x in reversed(lines) if x.strip()), "")
    if timed_out:
        return None, f"timed out after {a.timeout:g} s (last line: {last[:100]!r})"
    if not any("RINGVM-IO-DONE" in x for x in lines):
        return None, f"exit status {rc} without RINGVM-IO-DONE (last line: {last[:100]!r})"
    if errs:
        return None, "; ".join(errs)
    v["io_total"] = secs
    return v, None


def fmt(x):
    if x is None:
        return "n/a"
    return f"{x:.0f}" if abs(x) >= 100 else f"{x:.2f}" if abs(x) >= 1 else f"{x:.3g}"


def io_mode(a):
    configs = [c.strip() for c in a.io_configs.split(",") if c.strip()]
    bad = [c for c in configs if c not in CONFIGS]
    if bad:
        raise SystemExit(f"bench: --io-configs: unknown configuration {bad[0]!r} (one of {', '.join(CONFIGS)})")
    status = {c: "ok" for c in configs}
    runs = {c: [] for c in configs}
    for c in configs:
        if c.startswith("qemu-") and not shutil.which("qemu-system-x86_64"):
            status[c] = "n/a: qemu-system-x86_64 not installed"
        elif c.endswith("-kvm") and not os.access("/dev/kvm", os.R_OK | os.W_OK):
            status[c] = "n/a: no usable /dev/kvm"
        elif c.startswith("ringvm-") and not os.access(a.ringvm, os.X_OK):
            status[c] = f"n/a: {a.ringvm} not found"
    with tempfile.TemporaryDirectory(prefix="ringvm-io-") as work:
        why = prepare(work)
        if why:
            for c in configs:
                status[c] = "n/a: " + why
        scratch = os.path.join(work, "scratch.img")
        for i in range(a.runs):
            for c in configs:
                if status[c] != "ok":
                    continue
                log(f"io {c}: run {i + 1}/{a.runs}")
                v, err = run_one(c, a, work, scratch)
                if err:
                    status[c] = "n/a: " + err
                    runs[c] = []
                    log(f"io {c}: {status[c]}")
                    continue
                runs[c].append(v)
                log(f"io {c}: " + ", ".join(f"{k} {fmt(x)}" for k, x in v.items()))
    vsock_note = ("QEMU: no vsock (no /dev/vhost-vsock on this host: vhost-vsock needs the vhost_vsock "
                  "kernel module)" if not os.access("/dev/vhost-vsock", os.R_OK | os.W_OK) else "")
    head = ["figure", "unit"] + configs
    pairs = [(r, q) for r, q in (("ringvm-soft", "qemu-tcg"), ("ringvm-kvm", "qemu-kvm"))
             if r in configs and q in configs]
    head += [f"{r}/{q}" for r, q in pairs]
    body = []
    for k, (meaning, unit, better) in ROWS.items():
        row = [f"{k} ({meaning})", unit + (" ↑" if better == "higher" else "")]
        med = {}
        for c in configs:
            vals = [r[k] for r in runs[c] if k in r]
            if vals:
                med[c] = statistics.median(vals)
                row.append(fmt(med[c]) + (f" ({fmt(min(vals))}-{fmt(max(vals))})" if len(vals) > 1 else ""))
            else:
                row.append("n/a")
        for r, q in pairs:
            row.append(fmt(med[r] / med[q]) if r in med and q in med and med[q] else "n/a")
        body.append(row)
    md = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * len(head)) + "|"]
    md += ["| " + " | ".join(x) + " |" for x in body]
    print("\n".join(md))
    for c in configs:
        print(f"- {c}: {status[c]} ({len(runs[c])} runs)")
    if vsock_note:
        print(f"- {vsock_note}")
    return md, status, runs, vsock_note
