#!/usr/bin/env python3
"""SendCtrlAltDel and `ringvm stop` with a Linux guest (docs/api.md).

    fc_ctrl_alt_del.py --ringvm build/ringvm [--engine soft]

Boots the Debian kernel and the test initramfs from a Firecracker config
file (reboot=k, as Firecracker's examples) with --api-sock and --id, in a
private XDG_RUNTIME_DIR.  Once the guest's shell is up, `ringvm ls` lists it
Running with its vCPUs and memory; `ringvm stop NAME` sends Ctrl+Alt+Del
through the i8042 keyboard (PUT /actions SendCtrlAltDel): Linux's atkbd
driver, bound at boot, sees the keys and the kernel restarts, which ends
ringvm with status 0 as Firecracker does, before stop's wait runs out (no
SIGTERM).  The runtime entry and the API socket are gone afterwards."""
import argparse
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE = os.path.join(ROOT, ".cache", "guest")


def fail(msg, out=b""):
    if out:
        print(out.decode(errors="replace")[-3000:])
    sys.exit("FAIL: " + msg)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ringvm", required=True)
    ap.add_argument("--engine", default="soft")
    a = ap.parse_args()
    rv = os.path.abspath(a.ringvm)
    r = subprocess.run([os.path.join(ROOT, "scripts", "fetch-guest-assets.sh"), "--quiet"])
    if r.returncode:
        fail("could not fetch the guest assets")
    tmp = tempfile.mkdtemp(prefix="ringvm-cad-")
    env = dict(os.environ, XDG_RUNTIME_DIR=tmp)
    sock = os.path.join(tmp, "fc.sock")
    cfg = os.path.join(tmp, "vm.json")
    with open(cfg, "w") as f:
        json.dump({"boot-source": {"kernel_image_path": os.path.join(CACHE, "vmlinuz"),
                                   "initrd_path": os.path.join(CACHE, "initramfs.cpio.gz"),
                                   "boot_args": "console=ttyS0 reboot=k panic=1 pci=off"},
                   "machine-config": {"vcpu_count": 1, "mem_size_mib": 256},
                   "ringvm": {"engine": a.engine}}, f)
    p = subprocess.Popen([rv, "--api-sock", sock, "--id", "cad-test", "--config-file", cfg],
                         env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    out = b""

    def read_until(marker, secs):
        nonlocal out
        end = time.monotonic() + secs
        while marker not in out:
            if time.monotonic() > end or p.poll() is not None:
                fail(f"no {marker!r} on the serial output", out)
            r, _, _ = select.select([p.stdout], [], [], 0.5)
            if r:
                chunk = os.read(p.stdout.fileno(), 65536)
                if not chunk:
                    break
                out += chunk

    try:
        read_until(b"RINGVM-INIT-OK", 240)
        read_until(b"/ # ", 60)
        if b"AT Translated Set 2 keyboard" not in out:
            fail("Linux did not find the i8042's keyboard", out)
        r = subprocess.run([rv, "ls", "--json"], env=env, stdout=subprocess.PIPE, text=True,
                           timeout=30)
        vms = json.loads(r.stdout)
        if len(vms) != 1 or vms[0]["name"] != "cad-test" or vms[0]["state"] != "Running" or \
                vms[0]["vcpus"] != 1 or vms[0]["mem_size_mib"] != 256 or \
                vms[0]["engine"] != a.engine or vms[0]["pid"] != p.pid:
            fail(f"ringvm ls: {r.stdout}")
        t0 = time.monotonic()
        r = subprocess.run([rv, "stop", "cad-test", "--timeout", "60"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
        if r.returncode or "stopped by the guest" not in r.stdout or "SIGTERM" in r.stderr:
            fail(f"ringvm stop: {r.returncode} {r.stdout!r} {r.stderr!r}", out)
        try:
            st = p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            fail("ringvm did not exit after the guest restarted", out)
        rest = p.stdout.read()
        out += rest or b""
        if st != 0:
            fail(f"exit status {st}, expected 0 (the guest restarted)", out)
        if b"reboot: Restarting system" not in out:
            fail("the kernel did not restart", out)
        if os.path.exists(sock) or os.listdir(os.path.join(tmp, "ringvm")):
            fail("the API socket or the runtime entry was left behind")
        print(f"PASS: Ctrl+Alt+Del restarted the guest in {time.monotonic() - t0:.2f} s")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
