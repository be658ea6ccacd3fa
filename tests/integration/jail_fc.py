#!/usr/bin/env python3
"""`ringvm jail` in Firecracker's jailer form, driven as an orchestrator does.

    jail_fc.py --ringvm build/ringvm [--engine soft]

As Kata Containers or firecracker-containerd start Firecracker's jailer:
through a symlink named `jailer`, `--exec-file` a symlink named
`firecracker`, then Firecracker's own arguments after `--` (docs/sandbox.md,
"The jail").  The test puts the kernel and the initrd into the jail root
itself and talks to the API socket at ROOT/run/firecracker.socket with
paths relative to the jail: a host path is refused (the VMM cannot see
it), boot-source and machine-config are set, InstanceStart, the guest's
marker on the serial console, its eth0 the TAP device made in the
network namespace the jail joined (--netns); pause, PUT /snapshot/create into the jail
(the files appear under ROOT, owned by the jail's user); resume and
SendCtrlAltDel ends the VM with status 0, the socket gone.  While it runs,
the VMM (seen from the host through /proc/PID) is uid 65534 with the jail's
/dev: kvm (where the host has it) and net/tun owned by that user.

--new-pid-ns --daemonize (no boot): ringvm jail exits 0 at once, the VMM's
pid is in ROOT/firecracker.pid, it runs in a session of its own with
stdin/stdout/stderr on /dev/null, and answers GET / with the jail's id.

--cgroup cpu.shares=512 --parent-cgroup P (cgroup v1, where the host has
a writable cpu hierarchy) puts the VMM in P/ID with that value, and
--cgroup-version 2 --parent-cgroup P (where cgroup2 is mounted writable) in
the cgroup P the test made in the unified hierarchy; the test removes them
afterwards.

Bad jailer flags (no root needed): status 2 and one line naming the flag
(a malformed --cgroup or --parent-cgroup, --node refused, --exec-file
naming another program, --cgroup-version 3, an unknown Firecracker flag
after `--`).
Skips (77) without root or where namespaces are not permitted."""
import argparse
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fc_client  # noqa: E402
from fc_client import Serial, fail, must  # noqa: E402
from linux_boot import CACHE, fetch_assets  # noqa: E402

UID = 65534
MAC = "06:00:ac:10:00:02"


def bad_flags(jailer, fcbin, tmp):
    # A base of the test's own: were a bad flag let through, nothing is
    # made under /srv/jailer.
    base = ["--id", "x", "--uid", "1", "--gid", "1", "--chroot-base-dir", os.path.join(tmp, "bad")]
    for args, what in ((["--cgroup", "cpu.weight"], "--cgroup cpu.weight"),
                       (["--cgroup", "../cpu.shares=1"], "--cgroup ../cpu.shares=1"),
                       (["--parent-cgroup", "a/../b"], "--parent-cgroup a/../b"),
                       (["--node", "0"], "--node"),
                       (["--cgroup-version", "3"], "--cgroup-version 3"),
                       (["--exec-file", "/bin/true"], "--exec-file /bin/true"),
                       (["--exec-file", fcbin, "--", "--bogus"], "--bogus"),
                       (["--exec-file", fcbin, "stray"], "stray")):
        r = subprocess.run([jailer] + base + args, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=30)
        if r.returncode != 2 or what not in r.stdout or r.stdout.count("\n") != 1:
            fail(f"jailer {' '.join(args)}: status {r.returncode}, want 2 and one line "
                 f"naming '{what}'", r.stdout.encode())
    print("bad jailer flags: status 2, one line naming the flag")


def put_files(root, names):
    """What an orchestrator does: the VM's files into the jail root (copied
    here: a hard link would share, and change, the asset cache's mode),
    readable by the jail's user."""
    os.makedirs(root, exist_ok=True)
    for src, name in names:
        dst = os.path.join(root, name)
        shutil.copyfile(src, dst)
        os.chmod(dst, 0o644)


def vmm_pid(parent):
    """The jailed VMM: the child of `ringvm jail` (its waiting parent)."""
    end = time.monotonic() + 30
    while time.monotonic() < end:
        try:
            with open(f"/proc/{parent}/task/{parent}/children") as f:
                kids = f.read().split()
            if kids:
                return int(kids[0])
        except OSError:
            pass
        time.sleep(0.1)
    fail("no jailed child process")


def check_jailed(pid, out):
    with open(f"/proc/{pid}/status") as f:
        uids = [line.split()[1:] for line in f if line.startswith("Uid:")][0]
    if any(int(u) != UID for u in uids):
        fail(f"the VMM runs as uids {uids}, want {UID}", out)
    dev = f"/proc/{pid}/root/dev"
    names = ["net/tun"] + (["kvm"] if os.path.exists("/dev/kvm") else [])
    for name in names:
        try:
            st = os.stat(os.path.join(dev, name))
        except OSError as e:
            fail(f"the jail's /dev/{name}: {e}", out)
        if not stat.S_ISCHR(st.st_mode) or st.st_uid != UID or st.st_gid != UID:
            fail(f"the jail's /dev/{name}: mode {oct(st.st_mode)} owner {st.st_uid}:{st.st_gid}",
                 out)
    found = sorted(os.listdir(dev))
    if found != sorted(["net", "null", "urandom"] + (["kvm"] if "kvm" in names else [])):
        fail(f"the jail's /dev holds {found}", out)
    print(f"the VMM (pid {pid}) runs as uid {UID}; its /dev: {' '.join(found)} "
          "(kvm and net/tun its user's)")


def cgroup_mounts():
    """{controller: dir} of the cgroup v1 hierarchies, and the cgroup2 mount
    (None if none)."""
    v1, v2 = {}, None
    with open("/proc/mounts") as f:
        for line in f:
            dev, mnt, fstype, opts = line.split()[:4]
            if fstype == "cgroup":
                for o in opts.split(","):
                    v1.setdefault(o, mnt)
            elif fstype == "cgroup2" and v2 is None:
                v2 = mnt
    return v1, v2


def rmdir_cgroup(path, levels):
    """Removes the test's cgroup and its parent (empty once the VMM is gone)."""
    end = time.monotonic() + 10
    for _ in range(levels):
        while os.path.isdir(path):
            try:
                os.rmdir(path)
            except OSError:
                if time.monotonic() > end:
                    print(f"note: could not remove the cgroup {path}")
                    return
                time.sleep(0.1)
        path = os.path.dirname(path)


def daemonized(jailer, fcbin, base, env):
    jid = f"fcd-{os.getpid()}"
    root = os.path.join(base, "firecracker", jid, "root")
    # --cgroup (v1, the jailer's default) where this host has a writable
    # v1 cpu hierarchy: cpu.shares of PARENT/ID, the VMM in it.
    v1, _ = cgroup_mounts()
    cg = None
    extra = []
    if "cpu" in v1 and os.access(v1["cpu"], os.W_OK):
        parent = f"ringvm-jailtest-{os.getpid()}"
        cg = os.path.join(v1["cpu"], parent, jid)
        extra = ["--cgroup", "cpu.shares=512", "--parent-cgroup", parent]
    else:
        print("note: no writable cgroup v1 cpu hierarchy: --cgroup not exercised")
    r = subprocess.run([jailer, "--id", jid, "--exec-file", fcbin, "--uid", str(UID),
                        "--gid", str(UID), "--chroot-base-dir", base, "--new-pid-ns",
                        "--daemonize"] + extra, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60, env=env)
    if r.returncode != 0 or r.stdout:
        fail(f"jailer --new-pid-ns --daemonize: status {r.returncode}, output {r.stdout!r}")
    with open(os.path.join(root, "firecracker.pid")) as f:
        pid = int(f.read())
    try:
        sock = os.path.join(root, "run", "firecracker.socket")
        end = time.monotonic() + 30
        while not os.path.exists(sock):
            if time.monotonic() > end or not os.path.exists(f"/proc/{pid}"):
                fail("no API socket from the daemonized VMM")
            time.sleep(0.05)
        body = must(sock, "GET", "/", None, 200)
        if f'"id":"{jid}"' not in body.replace(" ", ""):
            fail(f"GET / answered {body}, want the id {jid}")
        null = os.stat("/dev/null").st_rdev
        for fd in (0, 1, 2):
            st = os.stat(f"/proc/{pid}/fd/{fd}")
            if not stat.S_ISCHR(st.st_mode) or st.st_rdev != null:
                fail(f"the daemonized VMM's fd {fd} is not /dev/null "
                     f"({os.readlink(f'/proc/{pid}/fd/{fd}')})")
        with open(f"/proc/{pid}/stat") as f:
            sid = int(f.read().rsplit(")", 1)[1].split()[3])
        if sid == os.getsid(0):
            fail("the daemonized VMM is still in the caller's session")
        print(f"--new-pid-ns --daemonize: pid {pid} from ROOT/firecracker.pid, its own "
              "session, stdio on /dev/null, GET / names the jail's id")
        if cg:
            with open(os.path.join(cg, "cpu.shares")) as f:
                shares = f.read().strip()
            with open(os.path.join(cg, "tasks")) as f:
                tasks = f.read().split()
            if shares != "512" or str(pid) not in tasks:
                fail(f"the cgroup {cg}: cpu.shares {shares}, tasks {tasks}; want 512 and {pid}")
            print(f"--cgroup cpu.shares=512: the VMM is in {cg}")
    finally:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
        if cg:
            rmdir_cgroup(cg, 2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ringvm", required=True)
    ap.add_argument("--engine", default="soft")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="ringvm-jailfc-")
    os.chmod(tmp, 0o755)
    bindir = os.path.join(tmp, "bin")
    os.mkdir(bindir)
    jailer, fcbin = os.path.join(bindir, "jailer"), os.path.join(bindir, "firecracker")
    os.symlink(os.path.abspath(a.ringvm), jailer)
    os.symlink(os.path.abspath(a.ringvm), fcbin)
    p = None
    netns_made = False
    cgv2 = None
    try:
        bad_flags(jailer, fcbin, tmp)
        if os.geteuid() != 0:
            print("SKIP: the jail needs root (namespaces, mounts, mknod); bad flags checked")
            sys.exit(77)
        # In an ASan build LeakSanitizer needs /proc and ptrace, which the
        # jail takes away (jail_linux.py says more).
        env = dict(os.environ)
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
        base = os.path.join(tmp, "srv")
        fetch_assets()
        jid = f"fc-{os.getpid()}"
        root = os.path.join(base, "firecracker", jid, "root")
        put_files(root, [(os.path.join(CACHE, "vmlinuz"), "vmlinuz"),
                         (os.path.join(CACHE, "initramfs.cpio.gz"), "initrd.img")])
        # A TAP device in a network namespace of the orchestrator's, as
        # Firecracker's users set them up: the jail joins it (--netns) and
        # the VMM opens it through the jail's /dev/net/tun as its user.
        netns = f"rvjail{os.getpid()}"
        for c in (["ip", "netns", "add", netns],
                  ["ip", "netns", "exec", netns, "ip", "tuntap", "add", "dev", "rvtap0",
                   "mode", "tap"]):
            r = subprocess.run(c, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if r.returncode:
                fail(f"{' '.join(c)}: {r.stdout.strip()}")
        netns_made = True
        # cgroup v2 with --parent-cgroup alone: the VMM moved into that
        # cgroup, made beforehand by the caller (as the jailer), where this
        # host has a writable unified hierarchy.
        _, v2 = cgroup_mounts()
        cgargs = []
        if v2 and os.access(v2, os.W_OK):
            cgv2 = os.path.join(v2, f"ringvm-jailtest2-{os.getpid()}")
            os.mkdir(cgv2)
            cgargs = ["--cgroup-version", "2", "--parent-cgroup", os.path.basename(cgv2)]
        else:
            print("note: no writable cgroup v2 hierarchy: --parent-cgroup alone not exercised")
        cmd = [jailer, "--id", jid, "--exec-file", fcbin, "--uid", str(UID), "--gid", str(UID),
               "--chroot-base-dir", base, "--netns", f"/var/run/netns/{netns}"] + cgargs + [
               "--", "--level", "Info"]
        print("$ " + " ".join(cmd))
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, env=env)
        ser = Serial(p)
        sock = os.path.join(root, "run", "firecracker.socket")

        def out():
            ser.read(0.3)
            return ser.out
        end = time.monotonic() + 30
        while not os.path.exists(sock):
            if p.poll() is not None:
                if b"jail: cannot create namespaces" in out():
                    print("SKIP: " + ser.out.decode(errors="replace").strip())
                    sys.exit(77)
                fail(f"no API socket: the jail ended with status {p.returncode}", ser.out)
            if time.monotonic() > end:
                fail("no API socket at ROOT/run/firecracker.socket", out())
            time.sleep(0.05)
        body = must(sock, "GET", "/", None, 200, out)
        if f'"id":"{jid}"' not in body.replace(" ", ""):
            fail(f"GET / answered {body}, want the jail's id {jid}", out())
        vmm = vmm_pid(p.pid)
        check_jailed(vmm, out())
        if cgv2:
            with open(os.path.join(cgv2, "cgroup.procs")) as f:
                procs = f.read().split()
            if str(vmm) not in procs:
                fail(f"the VMM ({vmm}) is not in the cgroup {cgv2} ({procs})", out())
            print(f"--cgroup-version 2 --parent-cgroup: the VMM is in {cgv2}")
        # The host's path is not the jail's: refused.
        must(sock, "PUT", "/boot-source", {"kernel_image_path": os.path.join(CACHE, "vmlinuz")},
             400, out)
        must(sock, "PUT", "/boot-source", {"kernel_image_path": "/vmlinuz",
                                          "initrd_path": "/initrd.img",
                                          "boot_args": "console=ttyS0 reboot=k panic=1"},
             204, out)
        must(sock, "PUT", "/network-interfaces/eth0", {"iface_id": "eth0", "host_dev_name": "rvtap0",
                                                       "guest_mac": MAC}, 204, out)
        must(sock, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 128}, 204, out)
        must(sock, "PUT", "/ringvm", {"engine": a.engine}, 204, out)
        must(sock, "PUT", "/actions", {"action_type": "InstanceStart"}, 204, out)
        ser.wait_for(b"RINGVM-INIT-OK", 240)
        ser.wait_for(b"/ # ", 60)
        print("Linux booted in the jail from the files the test put into its root")
        mark = len(ser.out)
        ser.send("echo GOT-$(cat /sys/class/net/eth0/address)-END")
        ser.wait_for(f"GOT-{MAC}-END".encode(), 60, mark)
        print(f"the guest's eth0 ({MAC}) is the TAP device in the joined namespace")
        must(sock, "PATCH", "/vm", {"state": "Paused"}, 204, out)
        must(sock, "PUT", "/snapshot/create", {"snapshot_type": "Full",
                                               "snapshot_path": "/vm.snap",
                                               "mem_file_path": "/vm.mem"}, 204, out)
        for name, least in (("vm.snap", 1), ("vm.mem", 128 << 20)):
            st = os.stat(os.path.join(root, name))
            if st.st_size < least or st.st_uid != UID:
                fail(f"ROOT/{name}: {st.st_size} bytes, owner {st.st_uid}", out())
        print("snapshot: ROOT/vm.snap and ROOT/vm.mem (128 MiB) written by the jail's user")
        must(sock, "PATCH", "/vm", {"state": "Resumed"}, 204, out)
        must(sock, "PUT", "/actions", {"action_type": "SendCtrlAltDel"}, 204, out)
        st = ser.wait_exit(120, "the VM did not end after SendCtrlAltDel")
        if st != 0:
            fail(f"exit status {st} after SendCtrlAltDel, want 0", ser.out)
        if b"forbidden system call" in ser.out:
            fail("a seccomp kill in the jail", ser.out)
        if os.path.exists(sock):
            fail("the API socket is still there after the VM ended", ser.out)
        if os.listdir(os.path.join(root, "dev")):
            fail("the jail's /dev is visible on the host after it ended", ser.out)
        print("SendCtrlAltDel: status 0, the API socket removed")
        daemonized(jailer, fcbin, base, env)
        print(f"PASS: Firecracker's jailer form on {a.engine}")
    finally:
        fc_client.stop(p)
        if cgv2:
            rmdir_cgroup(cgv2, 1)
        if netns_made:
            subprocess.run(["ip", "netns", "del", f"rvjail{os.getpid()}"])
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
