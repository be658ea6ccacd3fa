#!/usr/bin/env python3
"""PATCH /drives/{id} with a new path_on_host on a running VM, as
Firecracker does it (firecracker-containerd attaches images this way): a
Linux guest reads its second disk (image A: 1 MiB, starting with a token),
the drive is patched to image B (2 MiB, another token), and the guest sees
the new capacity (the configuration change interrupt) and B's bytes; a
write from the guest lands in B; a missing file and an unknown drive are
refused with 400 naming the field, the drive left as it was."""
import argparse
import functools
import os
import subprocess
import tempfile
import time

import fc_client
from fc_client import Serial, fail

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE = os.path.join(ROOT, ".cache", "guest")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ringvm", required=True)
    ap.add_argument("--engine", default="soft")
    a = ap.parse_args()
    subprocess.run([os.path.join(ROOT, "scripts", "fetch-guest-assets.sh")], check=True,
                   stdout=subprocess.DEVNULL)
    tmp = tempfile.mkdtemp(prefix="ringvm-drivepatch-")
    sock = os.path.join(tmp, "api.sock")
    img_a, img_b = os.path.join(tmp, "a.img"), os.path.join(tmp, "b.img")
    for path, size, token in ((img_a, 1 << 20, b"TOKEN-A"), (img_b, 2 << 20, b"TOKEN-B")):
        with open(path, "wb") as f:
            f.write(token)
            f.truncate(size)
    # a private fleet registry: another run of the suite names its VM the same
    p = subprocess.Popen([a.ringvm, "--api-sock", sock, "--id", "drive-patch"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         env=dict(os.environ, XDG_RUNTIME_DIR=tmp))
    ser = Serial(p)
    must = functools.partial(fc_client.must, sock, out=lambda: ser.out, timeout=30)

    def shell(cmd, marker, secs=60):
        mark = len(ser.out)
        ser.send(cmd)
        i = ser.wait_for(marker.encode(), secs, mark)
        return ser.out[mark:i + len(marker) + 200]

    try:
        fc_client.wait_sock(sock, proc=p)
        must("PUT", "/boot-source", {"kernel_image_path": os.path.join(CACHE, "vmlinuz"),
                                     "initrd_path": os.path.join(CACHE, "initramfs.cpio.gz"),
                                     "boot_args": "console=ttyS0 reboot=k panic=1"}, 204)
        must("PUT", "/drives/scratch", {"drive_id": "scratch", "path_on_host": img_a,
                                        "is_root_device": False, "is_read_only": False}, 204)
        must("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 256}, 204)
        must("PUT", "/ringvm", {"engine": a.engine}, 204)
        must("PUT", "/actions", {"action_type": "InstanceStart"}, 204)
        ser.wait_for(b"RINGVM-INIT-OK", 240)
        ser.wait_for(b"/ # ", 60)
        out = shell("echo SZ-$(cat /sys/block/vda/size)-; head -c 7 /dev/vda; echo -END1", "-END1")
        if b"SZ-2048-" not in out or b"TOKEN-A" not in out:
            fail("before the PATCH the guest does not see image A (2048 sectors, TOKEN-A)", ser.out)

        code, text = fc_client.curl(sock, "PATCH", "/drives/scratch",
                                    {"drive_id": "scratch", "path_on_host": os.path.join(tmp, "none")})
        if code != 400 or "/drives/scratch/path_on_host" not in text:
            fail(f"PATCH to a missing file: {code} {text}", ser.out)
        code, text = fc_client.curl(sock, "PATCH", "/drives/other",
                                    {"drive_id": "other", "path_on_host": img_b})
        if code != 400 or "other" not in text:
            fail(f"PATCH of an unknown drive: {code} {text}", ser.out)
        t0 = time.monotonic()
        must("PATCH", "/drives/scratch", {"drive_id": "scratch", "path_on_host": img_b}, 204)
        print(f"PATCH /drives/scratch answered in {1000 * (time.monotonic() - t0):.1f} ms")
        deadline = time.monotonic() + 60
        while True:
            out = shell("echo SZ-$(cat /sys/block/vda/size)-END2", "-END2")
            if b"SZ-4096-END2" in out:
                break
            if time.monotonic() > deadline:
                fail("the guest never saw image B's capacity (4096 sectors)", ser.out)
            time.sleep(0.5)
        out = shell("echo 3 > /proc/sys/vm/drop_caches; head -c 7 /dev/vda; echo -END3", "-END3")
        if b"TOKEN-B" not in out:
            fail("after the PATCH the guest does not read image B", ser.out)
        shell("printf WRITTEN-B | dd of=/dev/vda bs=512 seek=1 conv=fsync 2>/dev/null; echo -END4",
              "-END4")
        with open(img_b, "rb") as f:
            f.seek(512)
            if f.read(9) != b"WRITTEN-B":
                fail("the guest's write did not reach image B", ser.out)
        with open(img_a, "rb") as f:
            f.seek(512)
            if f.read(9) == b"WRITTEN-B":
                fail("the guest's write reached image A after the PATCH", ser.out)
        cfg = fc_client.must(sock, "GET", "/vm/config", None, 200)
        if img_b not in str(cfg):
            fail(f"GET /vm/config does not show the new path: {cfg}")
        fc_client.poweroff(ser)
        print("PASS")
    finally:
        fc_client.stop(p)


if __name__ == "__main__":
    main()
