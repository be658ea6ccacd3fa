#!/usr/bin/env python3
"""virtio-blk and virtio-rng under Debian's Linux (the default guest: its
initramfs loads virtio_pci, virtio_blk and virtio-rng from the kernel
package).

    virtio_linux.py --ringvm build/ringvm --case devices|kill9 [--engine soft]

devices  --rng and two disks (read-write with a serial, read-only): /dev/hwrng
         gives bytes, /dev/vda and /dev/vdb appear with the serial and the
         read-only flag, a sector the host wrote reads back, a write with
         fsync (FLUSH) and a blkdiscard land in the image file, the read-only
         disk refuses writes; --stats counts them (io_uring back end).
kill9    worker-thread back end (RINGVM_AIO=threads): the guest writes a
         sector and fsyncs (FLUSH); as soon as it reports completion, ringvm
         is killed with SIGKILL; the image holds the data.
Exit 77 (skip) only when the engine cannot run here."""
import argparse
import os
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import linux_boot as lb  # noqa: E402

MiB = 1 << 20
# Two boots of a loaded 2-core host can take minutes each on soft.
TIMEOUT = 540


def boot(ringvm, engine, extra, script, env=None, kill_on=None, timeout=TIMEOUT):
    """Boot the default guest, type script at its shell prompt; with kill_on,
    SIGKILL ringvm as soon as that text appears.  Returns (status, text)."""
    c = lb.CACHE
    args = ["--kernel", os.path.join(c, "vmlinuz"),
            "--initrd", os.path.join(c, "initramfs.cpio.gz"), "--memory", "512M",
            "--serial", "stdio", "--engine", engine, "--stats",
            "--cmdline", lb.BASE_CMDLINE + " quiet"] + extra
    status, text, _ = lb.run(ringvm, args, script, timeout, env=env, kill_on=kill_on)
    return status, text


def expect(cond, what, text):
    if not cond:
        print(text[-5000:])
        sys.exit("FAIL: " + what)


def read_at(path, off, n):
    with open(path, "rb") as f:
        f.seek(off)
        return f.read(n)


def case_devices(a, tmp):
    rw, ro = os.path.join(tmp, "rw.img"), os.path.join(tmp, "ro.img")
    with open(rw, "wb") as f:
        f.truncate(16 * MiB)
        f.write(b"HELLO-FROM-HOST")
        f.seek(4 * MiB)
        f.write(b"\xab" * 65536)          # blkdiscard punches this
    with open(ro, "wb") as f:
        f.truncate(4 * MiB)
        f.write(b"READ-ONLY-DISK")
    script = ("cat /sys/class/misc/hw_random/rng_current; "
              "echo rng=$(dd if=/dev/hwrng bs=64 count=1 2>/dev/null | od -An -tx1 | tr -d ' \\n'); "
              "echo serial=$(cat /sys/block/vda/serial) ro=$(cat /sys/block/vdb/ro); "
              "echo vda=$(head -c 15 /dev/vda) vdb=$(head -c 14 /dev/vdb); "
              "echo WRITTEN-BY-GUEST | dd of=/dev/vda bs=512 seek=2048 conv=sync,fsync 2>/dev/null "
              "&& echo WRITE-OK; "
              "dd if=/dev/zero of=/dev/vdb bs=512 count=1 conv=fsync 2>/dev/null || echo RO-REFUSED; "
              "blkdiscard -o 4194304 -l 65536 /dev/vda && echo DISCARD-OK; "
              "poweroff -f\n")
    status, text = boot(a.ringvm, a.engine,
                        ["--rng", "--drive", "path=%s,serial=SER-1234" % rw,
                         "--drive", "path=%s,ro=on,id=ro" % ro], script)
    expect(status is not None, "no result within %d s" % TIMEOUT, text)
    for w in ["virtio_rng.", "serial=SER-1234 ro=1", "vda=HELLO-FROM-HOST vdb=READ-ONLY-DISK",
              "WRITE-OK", "RO-REFUSED", "DISCARD-OK", "reboot: Power down"]:
        expect(w in text, "'%s' missing from the output" % w, text)
    rng = text.split("rng=")[-1].split()[0] if "rng=" in text else ""
    expect(len(rng) == 128 and rng != "0" * 128, "64 random bytes from /dev/hwrng", text)
    expect(status == 0, "exit status %s, want 0" % status, text)
    expect(read_at(rw, MiB, 16) == b"WRITTEN-BY-GUEST", "the guest's write in the image", text)
    expect(read_at(rw, 4 * MiB, 65536) == bytes(65536), "the discarded range reads zero", text)
    expect(read_at(ro, 0, 14) == b"READ-ONLY-DISK", "the read-only image unchanged", text)
    import re
    expect(re.search(r"drive0 \(.*rw\.img, io_uring\): reads \d+, writes [1-9]\d*, "
                     r"flushes [1-9]\d*, discards [1-9]", text) is not None,
           "--stats: drive0 on io_uring with writes, flushes and a discard", text)
    expect(re.search(r"virtio-rng +requests [1-9]\d*, in [1-9]\d* bytes", text) is not None,
           "--stats: virtio-rng requests", text)


def case_kill9(a, tmp):
    img = os.path.join(tmp, "disk.img")
    with open(img, "wb") as f:
        f.truncate(8 * MiB)
    token = "DURABLE-%d" % os.getpid()
    script = ("echo %s | dd of=/dev/vda bs=512 seek=100 conv=sync,fsync 2>/dev/null "
              "&& echo FLUSHED-$((40+2))\n" % token)
    status, text = boot(a.ringvm, a.engine, ["--drive", "path=" + img], script,
                        env={"RINGVM_AIO": "threads"}, kill_on="FLUSHED-42")
    expect(status is not None, "no result within %d s" % TIMEOUT, text)
    expect(status == -signal.SIGKILL, "ringvm was killed (status %s)" % status, text)
    expect(read_at(img, 100 * 512, len(token)) == token.encode(),
           "the flushed sector is in the image after kill -9", text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ringvm", required=True)
    ap.add_argument("--case", required=True, choices=["devices", "kill9"])
    ap.add_argument("--engine", default="soft")
    a = ap.parse_args()
    lb.fetch_assets()
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ringvm-virtio-") as tmp:
        {"devices": case_devices, "kill9": case_kill9}[a.case](a, tmp)
    print("PASS: virtio %s on %s in %.1f s" % (a.case, a.engine, time.monotonic() - t0))


if __name__ == "__main__":
    main()
