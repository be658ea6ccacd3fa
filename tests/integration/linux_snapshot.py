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
snapshots").

--net-user: a libslirp interface (ringvm's PUT /ringvm "user_net") with a
port forward to the guest's port 80: before the snapshot the guest takes
its address by DHCP, downloads from an HTTP server on the host and serves a
page the host fetches through the forward; after the restore (a new slirp)
the guest still has its address without asking DHCP again, downloads again
over a new connection, and the host reaches its page through the forward.

--vsock (with --net-user, which brings the guest its vsock program,
guest_vsock.c): before the snapshot a host->guest connection (CONNECT
through the Unix socket) and a guest->host one (CID 2 port 5000 reaching
<uds>_5000) carry data, and one host->guest connection is held open; after
the restore the held one is reset (the device's transport reset) and new
connections work both ways through the same socket path.

--console: the shell on virtio-console (PUT /ringvm {"console": "virtio"},
console=hvc0): it answers before the snapshot and after the restore."""
import argparse
import http.server
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

from fc_client import ApiVm, cleanup, curl, fail, poweroff

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import linux_net as ln  # noqa: E402  (the vsock program and the host side of CONNECT)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE = os.path.join(ROOT, ".cache", "guest")


class Vm(ApiVm):
    """An ApiVm that asks the Linux guest's shell."""

    def ask(self, cmd, tag="GOT", secs=60):
        """Sends cmd, whose output ends with a line TAG-<answer>-END; returns
        the answer and all the output since cmd was sent."""
        mark = len(self.out)
        self.send(cmd)
        i = self.wait_for(f"\n{tag}-".encode(), secs, mark)
        j = self.wait_for(b"-END", 60, i + 1)
        return self.out[i + len(tag) + 2:j].decode(errors="replace"), self.out[mark:]

    def expect(self, cmd, want, why, secs=60):
        """ask(cmd): the answer must be want, else the test fails with why;
        returns the output since cmd was sent."""
        got, tail = self.ask(cmd, "GOT", secs)
        if got != want:
            fail(f"{why} (got {got!r}, want {want!r})", self.out)
        return tail

    def uptime(self, tag):
        return float(self.ask(f"echo {tag}-$(cut -d' ' -f1 /proc/uptime)-END", tag)[0])



def fetch_fwd(port):
    """The guest's page through the host forward (retried: slirp may take
    a moment to set it up)."""
    import urllib.request
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            return urllib.request.urlopen("http://127.0.0.1:%d/index.html" % port,
                                          timeout=30).read().decode().strip()
        except OSError:
            time.sleep(1)
    return None


def vsock_echo(vm, uds, port, lsock, tag):
    """The guest program on port: the host's CONNECT echoed in upper case,
    then the guest's connection to CID 2 port 5000 answered."""
    mark = len(vm.out)
    vm.send("(/tmp/gv %d 5000 &) ; echo STARTED-%d" % (port, port))
    vm.wait_for(b"guest_vsock: listening on %d" % port, 60, mark)
    got, line = ln.host_echo_vsock(uds, port, b"ping-%s\n" % tag.encode(), time.monotonic() + 60)
    if got is None:
        fail(f"{tag}: the host's CONNECT {port} was not accepted (got {line!r})", vm.out)
    if got != b"PING-%s\n" % tag.upper().encode():
        fail(f"{tag}: host -> guest echo: got {got!r}", vm.out)
    try:
        c, _ = lsock.accept()
    except socket.timeout:
        fail(f"{tag}: the guest's connection to CID 2 port 5000 never arrived", vm.out)
    c.settimeout(30)
    hello = c.recv(4096)
    if hello != b"hello-from-guest\n":
        fail(f"{tag}: guest -> host: got {hello!r}", vm.out)
    c.sendall(b"reply-%s\n" % tag.encode())
    vm.wait_for(b"guest_vsock: host replied reply-%s" % tag.encode(), 60, mark)
    c.close()


def vsock_before(vm, uport, uds, lsock):
    mark = len(vm.out)
    vm.send("wget -q -O /tmp/gv http://10.0.2.2:%d/guest_vsock && chmod +x /tmp/gv && "
            "(/tmp/gv hold 1300 &) ; echo GV-$((1+1))" % uport)
    vm.wait_for(b"GV-2", 120, mark)
    vm.wait_for(b"guest_vsock: listening on 1300", 60, mark)
    held, line = ln.host_connect_vsock(uds, 1300, time.monotonic() + 60)
    if not held:
        fail(f"the host's CONNECT 1300 was not accepted (got {line!r})", vm.out)
    vm.wait_for(b"guest_vsock: holding a connection on 1300", 60, mark)
    vsock_echo(vm, uds, 1234, lsock, "before")
    print("before the snapshot: vsock host->guest and guest->host connections work, one held open")
    return held


def vsock_after(vm, uds, lsock, held):
    # The held connection: its host end went with the old process, the
    # guest's end is reset by the restored device's transport reset.
    i = vm.wait_for(b"guest_vsock: held connection ended: ", 60)
    end = vm.out[i:].split(b"\n")[0].decode(errors="replace").strip()
    if "reset" not in end.lower():
        fail(f"the held vsock connection did not end with a reset: {end!r}", vm.out)
    held.close()
    vsock_echo(vm, uds, 1235, lsock, "after")
    print(f"restored guest: the held vsock connection was reset ({end.split(': ')[-1]}); new "
          "connections work both ways through the same socket path")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ringvm", required=True)
    ap.add_argument("--engine", default="soft")
    ap.add_argument("--restore-engine", default="soft")
    ap.add_argument("--disk", action="store_true")
    ap.add_argument("--net-tap", action="store_true")
    ap.add_argument("--in-netns", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--diff", action="store_true")
    ap.add_argument("--net-user", action="store_true")
    ap.add_argument("--vsock", action="store_true")
    ap.add_argument("--console", action="store_true")
    a = ap.parse_args()
    if a.vsock:
        a.net_user = True
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
    if a.net_user:
        uweb = tempfile.mkdtemp(prefix="ringvm-snapuser-")
        utok = secrets.token_hex(6)
        for name in ("u1", "u2"):
            with open(os.path.join(uweb, name), "w") as f:
                f.write("USER-%s-%s\n" % (name.upper(), utok))
        if a.vsock:
            ln.build_vsock_program(uweb)
        uhttpd = ln.serve(uweb)
        uport, fport = uhttpd.server_address[1], ln.free_port()
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
            "boot_args": ("console=hvc0" if a.console else "console=ttyS0") + " reboot=k panic=1" +
                         ("" if a.disk or a.net_tap else " pci=off")})
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
        own = {"engine": a.engine}
        if a.console:
            own["console"] = "virtio"
        if a.net_user:
            own["user_net"] = {"hostfwd": ["tcp:127.0.0.1:%d-:80" % fport]}
        uds = os.path.join(tmp, "v.sock")
        if a.vsock:
            first.must("PUT", "/vsock", {"guest_cid": 3, "uds_path": uds})
            lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            lsock.bind(uds + "_5000")
            lsock.listen(4)
            lsock.settimeout(90)
        first.must("PUT", "/ringvm", own)
        first.must("PUT", "/actions", {"action_type": "InstanceStart"})
        first.wait_for(b"RINGVM-INIT-OK", 240)
        first.wait_for(b"/ # ", 60)
        if a.disk:
            mark = len(first.out)
            first.send("echo %s | dd of=/dev/vda bs=512 seek=100 conv=sync,fsync 2>/dev/null "
                       "&& echo WROTE-$((40+1))" % tok1)
            first.wait_for(b"WROTE-41", 60, mark)
        if a.net_tap:
            first.expect("ip link set eth0 up && ip addr add 10.0.3.2/24 dev eth0 && "
                         "echo GOT-$(wget -q -O - http://10.0.3.1:%d/t1)-END" % hport,
                         "NET-T1-%d" % os.getpid(),
                         "the guest could not download from the host before the snapshot", 90)
        if a.net_user:
            first.expect("ip link set eth0 up && udhcpc -i eth0 -q -n -t 10 >/dev/null 2>&1; "
                         "mkdir -p /www && echo PAGE1-%s > /www/index.html && httpd -p 80 -h /www && "
                         "echo GOT-$(wget -q -O - http://10.0.2.2:%d/u1)-END" % (utok, uport),
                         "USER-U1-%s" % utok,
                         "the guest could not download from the host over the user network", 120)
            if fetch_fwd(fport) != "PAGE1-%s" % utok:
                fail("the host could not reach the guest's page through hostfwd", first.out)
            print("before the snapshot: DHCP, a download from the host and hostfwd work")
        if a.vsock:
            held = vsock_before(first, uport, uds, lsock)
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
            second.expect("echo GOT-$(cat /tmp/diff-token)-END", diff_tok,
                          "the file written between the full and the diff snapshot is not there "
                          "after the restore")
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
        if a.net_user:
            tail = second.expect("echo ADDR-$(ip -4 -o addr show eth0 | grep -o '10.0.2.15/24')-END; "
                                 "echo PAGE2-%s > /www/index.html; "
                                 "echo GOT-$(wget -q -O - http://10.0.2.2:%d/u2)-END" % (utok, uport),
                                 "USER-U2-%s" % utok,
                                 "the restored guest could not download from the host (user network)",
                                 120)
            if b"\nADDR-10.0.2.15/24-END" not in tail:
                fail("the restored guest lost its DHCP address", second.out)
            if fetch_fwd(fport) != "PAGE2-%s" % utok:
                fail("after the restore the host cannot reach the guest's page through hostfwd",
                     second.out)
            print("restored guest: same address without DHCP, a new download from the host, "
                  "hostfwd works again")
        if a.vsock:
            vsock_after(second, uds, lsock, held)
        if a.console:
            if "hvc0" not in second.ask("echo CON-$(cat /sys/class/tty/console/active)-END", "CON")[0]:
                fail("the restored guest's console is not hvc0", second.out)
            print("restored guest: its shell on hvc0 (virtio-console) answers")
        if a.net_tap:
            second.expect("echo GOT-$(wget -q -O - http://10.0.3.1:%d/t2)-END" % hport,
                          "NET-T2-%d" % os.getpid(),
                          "the restored guest could not download from the host", 90)
            print("restored guest: downloaded from the host over its TAP interface, same address")
        # The restored guest's clock and timers: a timer firing early after
        # the restore (each vCPU's TSC loaded behind the machine clock) kept
        # a vCPU in its timer interrupt until Linux's watchdog fired.
        if b"soft lockup" in second.out or b"rcu_sched self-detected stall" in second.out:
            fail("the restored guest reported a soft lockup or an RCU stall", second.out)
        poweroff(second)
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
        cleanup(tmp, first, second)


if __name__ == "__main__":
    main()
