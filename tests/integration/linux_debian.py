#!/usr/bin/env python3
"""Debian 12's own userland booted from a virtio disk on ringvm.

    linux_debian.py --ringvm build/ringvm [--engine soft]

The default kernel and busybox initramfs with `ringvm.root=/dev/vda`: the
initramfs loads the virtio modules, mounts the ext4 image built by
scripts/build-debian-rootfs.sh and switch_roots into Debian's sysvinit, which
brings eth0 up by DHCP through the user-mode network and prints
RINGVM-DEBIAN-OK (uptime, eth0's address, PRETTY_NAME), then powers off
(`ringvm.test=poweroff`).  The image is built on first use (mmdebstrap, about
30 s with network access) and booted from a sparse copy, so the cached image
stays clean.  Exit 77 (skip, with the reason) when the image cannot be built
here or the engine cannot run."""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import linux_boot as lb  # noqa: E402

IMAGE = os.path.join(lb.CACHE, "debian-rootfs.ext4")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ringvm", required=True)
    ap.add_argument("--engine", default="soft")
    a = ap.parse_args()
    lb.fetch_assets()
    r = subprocess.run([os.path.join(lb.ROOT, "scripts", "build-debian-rootfs.sh"), "--quiet"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0 or not os.path.exists(IMAGE):
        print(r.stdout[-2000:])
        print("SKIP: no Debian root filesystem image (scripts/build-debian-rootfs.sh failed: "
              "it needs mmdebstrap, root and access to deb.debian.org)")
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="ringvm-debian-")
    try:
        disk = os.path.join(tmp, "root.ext4")
        subprocess.run(["cp", "--sparse=always", IMAGE, disk], check=True)
        cmd = (lb.BASE_CMDLINE + " quiet ringvm.root=/dev/vda ringvm.test=poweroff")
        status, text, secs = lb.run(a.ringvm, [
            "--kernel", os.path.join(lb.CACHE, "vmlinuz"),
            "--initrd", os.path.join(lb.CACHE, "initramfs.cpio.gz"),
            "--cmdline", cmd, "--memory", "512M", "--serial", "stdio",
            "--engine", a.engine, "--drive", f"path={disk}", "--net", "user"],
            timeout=1500)
        if status == 2 and "is not available" in text:
            print(f"SKIP: {text.strip()}")
            sys.exit(77)
        lb.expect(status is not None, "no result within 1500 s", text)
        for w in ["RINGVM-INIT-OK", "init: switching to /dev/vda", "RINGVM-DEBIAN-OK",
                  "eth0=10.0.2.15/24", "Debian GNU/Linux 12", "reboot: Power down"]:
            lb.expect(w in text, f"'{w}' missing from the output", text)
        lb.expect(status == 0, f"exit status {status}, want 0", text)
        line = [x for x in text.splitlines() if "RINGVM-DEBIAN-OK" in x][0]
        print(line.strip())
        print(f"PASS: Debian from /dev/vda on {a.engine} in {secs:.1f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
