#!/usr/bin/env python3
"""Snapshot a Linux guest at its shell and restore it (docs/snapshot.md).

    linux_snapshot.py --ringvm build/ringvm [--engine soft] [--restore-engine soft] [--disk]

Boots Debian's kernel with the test initramfs through Firecracker's API
(serial console, no virtio devices), waits for the shell, reads the guest's
uptime, pauses, snapshots (PUT /snapshot/create) and kills the VM.  A new
ringvm loads the snapshot (PUT /snapshot/load, resume_vm): the shell must
answer, with an uptime no smaller than before and not more than a few
seconds later (the clock neither went back nor jumped over the time the VM
was down), and the guest powers off cleanly (status 0).

--disk: with PCI, a virtio disk and virtio-rng (the Firecracker API's
/drives and /entropy).  Before the snapshot the guest writes a token to the
disk and flushes it (dd conv=fsync), after the restore it reads the token
back from the disk, reads /dev/hwrng, writes a second token and flushes;
after poweroff both tokens are in the image file.  A restore whose image is
gone is refused naming it, one whose image grew naming the device.

--net-tap: a virtio-net interface on a TAP device (Firecracker's
/network-interfaces), in a network namespace of its own (the script
re-runs itself under `unshare -n`; it skips, status 77, where that is not
allowed): the host side is 10.0.3.1 with an HTTP server, the guest takes
10.0.3.2 and downloads a token before the snapshot and another after the
restore (the TAP reopened by the new process, the guest's address kept).

--diff: with machine-config track_dirty_pages; the Full snapshot is taken
and the VM resumed, the guest writes a token to a file in its tmpfs, then
a Diff snapshot (only the pages written since) is taken and the VM killed;
`ringvm snapshot-rebase` merges the diff onto a copy of the full memory
file, and the diff's state file is loaded with the merged file: the shell
answers and the file holds the token (docs/snapshot.md, "Diff
snapshots")."""
import argparse
import http.server
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from fc_client import curl, fail

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE = os.path.join(ROOT, ".cache", "guest")


class Vm:
    def __init__(self, ringvm, sock):
        self.sock = sock
        self.p = subprocess.Popen([ringvm, "--api-sock", sock, "--level", "Info"],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  stdin=subprocess.PIPE)
        self.out = b""
        for _ in range(200):
            if os.path.exists(sock):
                return
            time.sleep(0.05)
        fail("no API socket")

    def must(self, method, path, body, status=204):
        code, text = curl(self.sock, method, path, body)
        if code != status:
            self.read(0.3)
            fail(f"{method} {path}: {code} {text}, expected {status}", self.out)
        return text

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

    def uptime(self, tag):
        mark = len(self.out)
        self.send(f"echo {tag}-$(cut -d' ' -f1 /proc/uptime)-END")
        i = self.wait_for(f"\n{tag}-".encode(), 60, mark)
        j = self.wait_for(b"-END", 10, i + 1)
        return float(self.out[i + len(tag) + 2:j].decode())

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ringvm", required=True)
    ap.add_argument("--engine", default="soft")
    ap.add_argument("--restore-engine", default="soft")
    ap.add_argument("--disk", action="store_true")
    ap.add_argument("--net-tap", action="store_true")
    ap.add_argument("--in-netns", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--diff", action="store_true")
    a = ap.parse_args()
    httpd = None
    if a.net_tap and not a.in_netns:
        r = subprocess.run(["unshare", "-n", "true"], capture_output=True)
        if r.returncode:
            print("SKIP: cannot make a network namespace (unshare -n) for the TAP device")
            sys.exit(77)
        sys.exit(subprocess.run(["unshare", "-n", sys.executable] + sys.argv + ["--in-netns"]).returncode)
    if a.net_tap:
        for cmd in ("ip link set lo up", "ip tuntap add dev rvtap0 mode tap",
                    "ip addr add 10.0.3.1/24 dev rvtap0", "ip link set rvtap0 up"):
            if subprocess.run(cmd.split()).returncode:
                fail("cannot set up the TAP device: " + cmd)
        webroot = tempfile.mkdtemp(prefix="ringvm-snapweb-")
        for name in ("t1", "t2"):
            with open(os.path.join(webroot, name), "w") as f:
                f.write("NET-%s-%d\n" % (name.upper(), os.getpid()))

        class Quiet(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kw):
                super().__init__(*args, directory=webroot, **kw)

            def log_message(self, *args):
                pass
        httpd = http.server.ThreadingHTTPServer(("10.0.3.1", 0), Quiet)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        hport = httpd.server_address[1]
    r = subprocess.run([os.path.join(ROOT, "scripts", "fetch-guest-assets.sh"), "--quiet"])
    if r.returncode:
        fail("could not fetch the guest assets")
    tmp = tempfile.mkdtemp(prefix="ringvm-linuxsnap-")
    snap, mem = os.path.join(tmp, "vm.snap"), os.path.join(tmp, "vm.mem")
    first, second = Vm(a.ringvm, os.path.join(tmp, "a.sock")), None
    try:
        img = os.path.join(tmp, "disk.img")
        tok1, tok2 = "BEFORE-SNAP-%d" % os.getpid(), "AFTER-RESTORE-%d" % os.getpid()
        first.must("PUT", "/boot-source", {
            "kernel_image_path": os.path.join(CACHE, "vmlinuz"),
            "initrd_path": os.path.join(CACHE, "initramfs.cpio.gz"),
            "boot_args": "console=ttyS0 reboot=k panic=1" + ("" if a.disk or a.net_tap else " pci=off")})
        first.must("PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 256,
                                              "track_dirty_pages": a.diff})
        if a.disk:
            with open(img, "wb") as f:
                f.truncate(8 << 20)
            first.must("PUT", "/drives/disk0", {"drive_id": "disk0", "path_on_host": img,
                                                "is_root_device": False, "is_read_only": False})
            first.must("PUT", "/entropy", {})
        if a.net_tap:
            first.must("PUT", "/network-interfaces/eth0", {"iface_id": "eth0",
                                                          "host_dev_name": "rvtap0"})
        first.must("PUT", "/ringvm", {"engine": a.engine})
        first.must("PUT", "/actions", {"action_type": "InstanceStart"})
        first.wait_for(b"RINGVM-INIT-OK", 240)
        first.wait_for(b"/ # ", 60)
        if a.disk:
            mark = len(first.out)
            first.send("echo %s | dd of=/dev/vda bs=512 seek=100 conv=sync,fsync 2>/dev/null "
                       "&& echo WROTE-$((40+1))" % tok1)
            first.wait_for(b"WROTE-41", 60, mark)
        if a.net_tap:
            mark = len(first.out)
            first.send("ip link set eth0 up && ip addr add 10.0.3.2/24 dev eth0 && "
                       "echo GOT-$(wget -q -O - http://10.0.3.1:%d/t1)-END" % hport)
            i = first.wait_for(b"\nGOT-", 90, mark)
            first.wait_for(b"-END", 60, i + 1)
            if ("GOT-NET-T1-%d-END" % os.getpid()).encode() not in first.out[mark:]:
                fail("the guest could not download from the host before the snapshot", first.out)
        u1 = first.uptime("UP1")
        first.must("PATCH", "/vm", {"state": "Paused"})
        t0 = time.monotonic()
        first.must("PUT", "/snapshot/create", {"snapshot_type": "Full", "snapshot_path": snap,
                                                "mem_file_path": mem})
        used = os.stat(mem).st_blocks * 512
        print(f"snapshot at uptime {u1:.2f} s: memory file 256 MiB, {used >> 20} MiB on disk")
        diff_tok = "DIFF-TOKEN-%d" % os.getpid()
        if a.diff:
            first.must("PATCH", "/vm", {"state": "Resumed"})
            mark = len(first.out)
            first.send("echo %s > /tmp/diff-token && echo WROTE-$((40+3))" % diff_tok)
            first.wait_for(b"WROTE-43", 60, mark)
            first.must("PATCH", "/vm", {"state": "Paused"})
            dsnap, dmem, merged = snap + ".diff", mem + ".diff", mem + ".merged"
            first.must("PUT", "/snapshot/create", {"snapshot_type": "Diff", "snapshot_path": dsnap,
                                                    "mem_file_path": dmem})
            dused = os.stat(dmem).st_blocks * 512
            print(f"diff snapshot: {dused >> 10} KiB on disk")
            if dused > used // 4:
                fail(f"the diff's memory file holds {dused >> 10} KiB, the full one's "
                     f"{used >> 10} KiB: not a diff")
            shutil.copy(mem, merged)
            r = subprocess.run([a.ringvm, "snapshot-rebase", "--base-file", merged,
                                "--diff-file", dmem], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, timeout=120)
            if r.returncode:
                fail(f"ringvm snapshot-rebase: status {r.returncode}: {r.stdout}")
            print(r.stdout.strip())
            snap, mem = dsnap, merged
        first.kill()
        time.sleep(2)  # the VM is down for a while: its clock must not jump by it
        second = Vm(a.ringvm, os.path.join(tmp, "b.sock"))
        second.must("PUT", "/ringvm", {"engine": a.restore_engine})
        second.must("PUT", "/snapshot/load", {"snapshot_path": snap, "mem_backend": {
            "backend_type": "File", "backend_path": mem}, "resume_vm": True})
        second.send("")
        u2 = second.uptime("UP2")
        down = time.monotonic() - t0
        print(f"restored: uptime {u2:.2f} s after {u1:.2f} s; the VM was down {down:.1f} s")
        for line in second.out.splitlines():
            if b"restored " in line or b"snapshot: " in line:
                print(line.decode(errors="replace"))
        for line in first.out.splitlines():
            if b"snapshot: " in line:
                print(line.decode(errors="replace"))
        if u2 < u1 or u2 - u1 > 15:
            fail(f"the guest's uptime went from {u1} to {u2}", second.out)
        if a.diff:
            mark = len(second.out)
            second.send("echo GOT-$(cat /tmp/diff-token)-END")
            i = second.wait_for(b"\nGOT-", 60, mark)
            second.wait_for(b"-END", 10, i + 1)
            if ("GOT-%s-END" % diff_tok).encode() not in second.out[mark:]:
                fail("the file written between the full and the diff snapshot is not there "
                     "after the restore", second.out)
            print("restored from the full snapshot merged with the diff: the file written "
                  "between them holds its token")
        if a.disk:
            mark = len(second.out)
            # Dropped caches: the token comes from the device, not the page cache.
            second.send("sync; echo 3 > /proc/sys/vm/drop_caches; echo READ-$(dd if=/dev/vda bs=512 skip=100 count=1 2>/dev/null | "
                        "head -c %d)-END; echo RNG-$(dd if=/dev/hwrng bs=32 count=1 2>/dev/null "
                        "| od -An -tx1 | tr -d ' \\n')-END; echo %s | dd of=/dev/vda bs=512 "
                        "seek=200 conv=sync,fsync 2>/dev/null && echo WROTE-$((40+2))"
                        % (len(tok1), tok2))
            second.wait_for(b"WROTE-42", 60, mark)
            tail = second.out[mark:].decode(errors="replace")
            if ("\nREAD-%s-END" % tok1) not in tail:
                fail("the restored guest did not read its token back from the disk", second.out)
            rng = tail.split("\nRNG-")[-1].split("-END")[0] if "\nRNG-" in tail else ""
            if len(rng) != 64 or rng == "0" * 64:
                fail("the restored guest got no bytes from /dev/hwrng", second.out)
            print("restored guest: read its token from the disk, 32 bytes from virtio-rng")
        if a.net_tap:
            mark = len(second.out)
            second.send("echo GOT-$(wget -q -O - http://10.0.3.1:%d/t2)-END" % hport)
            i = second.wait_for(b"\nGOT-", 90, mark)
            second.wait_for(b"-END", 60, i + 1)
            if ("GOT-NET-T2-%d-END" % os.getpid()).encode() not in second.out[mark:]:
                fail("the restored guest could not download from the host", second.out)
            print("restored guest: downloaded from the host over its TAP interface, same address")
        second.send("poweroff -f")
        try:
            st = second.p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            fail("the restored guest did not power off", second.out)
        if st != 0:
            second.read(0.5)
            fail(f"exit status {st}", second.out)
        if a.disk:
            with open(img, "rb") as f:
                data = f.read()
            for off, tok in ((100 * 512, tok1), (200 * 512, tok2)):
                if data[off:off + len(tok)] != tok.encode():
                    fail(f"{tok} is not at byte {off} of the image")
            print("the image holds the tokens written before the snapshot and after the restore")
            # The image gone: the restore is refused naming it.
            os.rename(img, img + ".gone")
            third = Vm(a.ringvm, os.path.join(tmp, "c.sock"))
            try:
                code, text = curl(third.sock, "PUT", "/snapshot/load", {
                    "snapshot_path": snap, "mem_backend": {"backend_type": "File",
                                                           "backend_path": mem}})
                if code != 400 or img not in text:
                    fail(f"a restore without its image: {code} {text}")
                print("without its image: " + json.loads(text).get("fault_message", text))
            finally:
                third.kill()
            # The image back but one sector larger: the disk's capacity would
            # change under the guest, the load is refused naming the device.
            os.rename(img + ".gone", img)
            with open(img, "r+b") as f:
                f.truncate((8 << 20) + 512)
            fourth = Vm(a.ringvm, os.path.join(tmp, "d.sock"))
            try:
                code, text = curl(fourth.sock, "PUT", "/snapshot/load", {
                    "snapshot_path": snap, "mem_backend": {"backend_type": "File",
                                                           "backend_path": mem}})
                if code != 400 or "virtio-blk: its configuration differs" not in text:
                    fail(f"a restore with a resized image: {code} {text}")
                print("resized image: " + json.loads(text).get("fault_message", text))
            finally:
                fourth.kill()
        print("PASS")
    finally:
        first.kill()
        if second:
            second.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
