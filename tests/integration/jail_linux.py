#!/usr/bin/env python3
"""Boot Debian's Linux kernel with the busybox initramfs inside the jail.

    jail_linux.py --ringvm build/ringvm [--engine soft]

`ringvm jail` (docs/sandbox.md) runs the VM in new namespaces, pivoted into
a jail directory holding only its kernel and initrd, as user 65534, with the
seccomp filters on.  Checks: the boot marker and power-off, the kernel seen
at the jail's /kernel, the drop to the unprivileged user; afterwards the
jail's binds and /dev are gone (they lived in the jail's mount namespace);
bad jail options give status 2.  Skips (77) where this host does not permit
namespaces (not root, or a container without them)."""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from linux_boot import BASE_CMDLINE, CACHE, TIMEOUT, expect, fetch_assets  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ringvm", required=True)
    ap.add_argument("--engine", default="soft")
    a = ap.parse_args()

    # Bad options: one line, status 2, before anything is made.
    for args, what in ((["--id", "a/b", "--uid", "1", "--gid", "1"], "--id a/b"),
                       (["--id", "x", "--gid", "1"], "--uid and --gid are required"),
                       (["--id", "x", "--uid", "1", "--gid", "1", "--chroot-base-dir", "rel"],
                        "--chroot-base-dir rel"),
                       (["--id", "x", "--uid", "1", "--gid", "1", "--resource-limit", "cpu=1"],
                        "--resource-limit cpu=1")):
        r = subprocess.run([a.ringvm, "jail"] + args + ["--", "run", "--kernel", "/nonexistent"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        expect(r.returncode == 2 and what in r.stdout and r.stdout.count("\n") == 1,
               f"jail {' '.join(args)}: status {r.returncode}, want 2 and one line naming '{what}'",
               r.stdout)
    if os.geteuid() != 0:
        print("SKIP: the jail needs root (namespaces, mounts, mknod); bad options checked")
        sys.exit(77)

    # Namespaces refused (an unprivileged user): one line, status 6.
    if shutil.which("setpriv"):
        base = tempfile.mkdtemp(prefix="ringvm-jail-np-")
        os.chmod(base, 0o777)
        r = subprocess.run(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
                            a.ringvm, "jail", "--id", "np", "--uid", "65534", "--gid", "65534",
                            "--chroot-base-dir", base, "--", "run", "--kernel", "/bin/sh"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        subprocess.run(["rm", "-rf", base])
        expect(r.returncode == 6 and "jail: cannot create namespaces" in r.stdout and
               r.stdout.count("\n") == 1,
               f"unprivileged jail: status {r.returncode}, want 6 and one line", r.stdout)

    fetch_assets()
    base = tempfile.mkdtemp(prefix="ringvm-jail-")
    jail_id = f"linux-{os.getpid()}"
    cmd = [a.ringvm, "jail", "--id", jail_id, "--uid", "65534", "--gid", "65534",
           "--chroot-base-dir", base, "--resource-limit", "no-file=256", "--",
           "run", "--kernel", os.path.join(CACHE, "vmlinuz"),
           "--initrd", os.path.join(CACHE, "initramfs.cpio.gz"), "--memory", "512M",
           "--engine", a.engine, "--serial", "stdio", "--verbose",
           "--cmdline", BASE_CMDLINE + " ringvm.test=poweroff"]
    print("$ " + " ".join(cmd))
    # In an ASan build, LeakSanitizer's check at exit needs /proc and ptrace,
    # which the jail takes away (it would fail the run, not find a leak);
    # the same boot outside the jail (linux-bzimage) keeps the leak check.
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
    try:
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=TIMEOUT, env=env)
    except subprocess.TimeoutExpired as e:
        expect(False, f"no result within {TIMEOUT} s", (e.stdout or b"").decode(errors="replace"))
    text = r.stdout.decode(errors="replace")
    if r.returncode == 6 and "jail: cannot create namespaces" in text:
        print(f"SKIP: {text.strip()}")
        sys.exit(77)
    # /proc is gone in the jail: the pagemap a snapshot uses to skip RAM
    # never touched is opened before (test_snapshot_mem shows what it saves).
    for w in ["jail: /proc/self/pagemap kept open for snapshots",
              f"jail: {jail_id}: running as uid 65534 gid 65534",
              "loaded bzImage kernel /kernel", "Linux version", "RINGVM-INIT-OK",
              "reboot: Power down"]:
        expect(w in text, f"'{w}' missing from the output", text)
    expect("forbidden system call" not in text, "a seccomp kill in the jail", text)
    expect(r.returncode == 0, f"exit status {r.returncode}, want 0", text)

    root = os.path.join(base, "ringvm", jail_id, "root")
    expect(os.path.isdir(root), f"no jail directory {root}", text)
    for name in ("kernel", "initrd"):
        st = os.stat(os.path.join(root, name))
        expect(st.st_size == 0, f"{name} in the jail is still bound on the host", text)
    expect(os.listdir(os.path.join(root, "dev")) == [],
           "the jail's /dev is visible on the host after it ended", text)
    expect(os.stat(root).st_uid == 65534, "the jail root is not owned by the jail's user", text)
    subprocess.run(["rm", "-rf", base])
    print(f"PASS: Linux on {a.engine} inside the jail")


if __name__ == "__main__":
    main()
