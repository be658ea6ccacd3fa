#!/usr/bin/env python3
"""Firecracker's config file and command line on ringvm.

    fc_config.py --ringvm build/ringvm [--engine soft]

A config in the form of Firecracker's own (tests/framework/vm_config.json
and docs/getting-started.md, every optional member spelled out) boots the
Linux guest through a symlink named `firecracker` with --no-api, to the
initramfs's marker and a clean power-off.  Then each kind of bad config or
flag exits with status 2 and one line naming the field as a JSON pointer
(or the flag)."""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE = os.path.join(ROOT, ".cache", "guest")


def fail(msg, out=""):
    if out:
        print(out[-3000:])
    sys.exit("FAIL: " + msg)


def run(argv, timeout=30):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       errors="replace", timeout=timeout, stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ringvm", required=True)
    ap.add_argument("--engine", default="soft")
    a = ap.parse_args()
    if subprocess.run([os.path.join(ROOT, "scripts", "fetch-guest-assets.sh"), "--quiet"]).returncode:
        fail("could not fetch the guest assets")
    tmp = tempfile.mkdtemp(prefix="ringvm-fccfg-")
    fc = os.path.join(tmp, "firecracker")
    os.symlink(os.path.abspath(a.ringvm), fc)
    disk = os.path.join(tmp, "rootfs.ext4")
    with open(disk, "wb") as f:
        f.truncate(1 << 20)

    good = {
        "boot-source": {
            "kernel_image_path": os.path.join(CACHE, "vmlinuz"),
            "boot_args": "console=ttyS0 reboot=k panic=1 pci=off ringvm.test=poweroff",
            "initrd_path": os.path.join(CACHE, "initramfs.cpio.gz"),
        },
        "drives": [{
            "drive_id": "rootfs", "partuuid": None, "is_root_device": True, "cache_type": "Unsafe",
            "is_read_only": False, "path_on_host": disk, "io_engine": "Sync", "rate_limiter": None,
            "socket": None,
        }],
        "machine-config": {"vcpu_count": 1, "mem_size_mib": 256, "smt": False,
                           "track_dirty_pages": False, "huge_pages": "None"},
        "cpu-config": None, "balloon": None, "network-interfaces": [], "vsock": None,
        "logger": None, "metrics": None, "mmds-config": None, "entropy": None,
        "ringvm": {"engine": a.engine},
    }
    path = os.path.join(tmp, "vm_config.json")
    with open(path, "w") as f:
        json.dump(good, f)

    # The symlink speaks Firecracker: --version, --help, then a boot.
    st, out = run([fc, "--version"])
    if st != 0 or "ringvm" not in out:
        fail(f"firecracker --version: {st} {out}")
    st, out = run([fc, "--help"])
    if st != 0 or "--api-sock" not in out or "--config-file" not in out:
        fail(f"firecracker --help: {st} {out}")
    st, out = run([fc, "--no-api", "--config-file", path], timeout=300)
    if st != 0 or "RINGVM-INIT-OK" not in out or "root=/dev/vda rw" not in out:
        fail(f"booting Firecracker's config through the symlink: status {st}", out)
    print("boot through the firecracker symlink: ok")

    def bad(mutate, want, flags=None):
        cfg = json.loads(json.dumps(good))
        text = mutate(cfg) if mutate else None
        p = os.path.join(tmp, "bad.json")
        with open(p, "w") as f:
            f.write(text if isinstance(text, str) else json.dumps(cfg))
        argv = [a.ringvm] + (flags if flags is not None else ["--no-api", "--config-file", p])
        st, out = run(argv)
        lines = [l for l in out.splitlines() if l.strip()]
        print(f"{want!r}: {st} {out.strip()}")
        if st != 2:
            fail(f"expected status 2 for {want!r}, got {st}", out)
        if len(lines) != 1 or want not in lines[0]:
            fail(f"expected one line naming {want!r}", out)

    def setp(*path_val):
        *path, val = path_val

        def m(cfg):
            o = cfg
            for k in path[:-1]:
                o = o[k]
            if val is KeyError:
                del o[path[-1]]
            else:
                o[path[-1]] = val
        return m

    bad(setp("machine-config", "vcpu_count", 65), "/machine-config/vcpu_count: expected an integer from 1 to 64")
    bad(setp("machine-config", "vcpu_count", "2"), "/machine-config/vcpu_count: expected an integer")
    bad(setp("machine-config", "mem_size_mib", KeyError), "/machine-config/mem_size_mib: missing")
    bad(setp("machine-config", "mem_size_mib", -1), "/machine-config/mem_size_mib: expected an integer")
    bad(setp("machine-config", "huge_pages", "1G"), "/machine-config/huge_pages: expected \"None\" or \"2M\"")
    bad(setp("machine-config", "cpu_template", "C3"), "/machine-config/cpu_template: CPU templates are not supported")
    bad(setp("machine-config", "smt", True), "/machine-config/smt")
    bad(setp("machine-config", "vcpus", 1), "/machine-config/vcpus: unknown field")
    bad(setp("boot-source", "kernel_image_path", "/no/such/kernel"), "/boot-source/kernel_image_path: cannot read")
    bad(setp("boot-source", "kernel_image_path", KeyError), "/boot-source/kernel_image_path: missing")
    bad(setp("boot-source", "boot_args", 5), "/boot-source/boot_args: expected a string")
    bad(setp("drives", 0, "path_on_host", "/no/such/disk"), "/drives/0/path_on_host: cannot read")
    bad(setp("drives", 0, "is_root_device", KeyError), "/drives/0/is_root_device: missing")
    bad(setp("drives", 0, "cache_type", "Fast"), "/drives/0/cache_type")
    bad(setp("drives", 0, "io_engine", "Magic"), "/drives/0/io_engine")
    bad(setp("drives", 0, "drive_id", "bad id"), "/drives/0/drive_id: only letters")
    bad(setp("drives", 0, "rate_limiter", {"ops": {"size": 10, "refill_time": 100}}),
        "/drives/0/rate_limiter/ops: rate limiting is not supported")
    bad(setp("drives", 0, "socket", "/tmp/vhost.sock"), "/drives/0/socket: vhost-user")
    bad(lambda c: c["drives"].append(dict(c["drives"][0])), "/drives/1/drive_id: 'rootfs' is used twice")
    bad(lambda c: c["drives"].append(dict(c["drives"][0], drive_id="second")),
        "/drives/1/is_root_device: drive 'rootfs' is already the root device")
    bad(setp("network-interfaces", [{"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "01:00:00:00:00:01"}]),
        "/network-interfaces/0/guest_mac: a multicast address")
    bad(setp("network-interfaces", [{"iface_id": "eth0"}]), "/network-interfaces/0/host_dev_name: missing")
    bad(setp("vsock", {"guest_cid": 1, "uds_path": "/tmp/v.sock"}), "/vsock/guest_cid: expected an integer from 3")
    bad(setp("entropy", {"rate_limiter": {"bandwidth": {"size": 1, "refill_time": 1}}}),
        "/entropy/rate_limiter/bandwidth: rate limiting is not supported")
    bad(setp("balloon", {"amount_mib": 0, "deflate_on_oom": False}), "/balloon: the balloon device is not supported")
    bad(setp("mmds-config", {"network_interfaces": []}), "/mmds-config: MMDS")
    bad(setp("logger", {"level": "Loud"}), "/logger/level: expected Error, Warning")
    bad(setp("ringvm", {"engine": "qemu"}), "/ringvm/engine: expected \"auto\", \"kvm\" or \"soft\"")
    bad(setp("ringvm", {"cpus": 2}), "/ringvm/cpus: unknown field")
    bad(setp("boot_source", {}), "/boot_source: unknown field")
    bad(setp("drives", {}), "/drives: expected an array")
    bad(lambda c: '{"machine-config": {"vcpu_count": 1,}', "invalid JSON at line 1")
    bad(lambda c: '{"drives": [], "drives": []}', "duplicate")
    bad(lambda c: '[]', "expected an object")
    bad(lambda c: json.dumps({"machine-config": good["machine-config"]}), "without a boot source")
    # Flags.
    bad(None, "--no-api needs --config-file", ["--no-api"])
    bad(None, "--level Loud", ["--level", "Loud", "--no-api"])
    bad(None, "--id a/b", ["--id", "a/b", "--no-api"])
    bad(None, "--bogus: unknown option", ["--no-api", "--bogus"])
    bad(None, "--config-file " + os.path.join(tmp, "missing.json"),
        ["--no-api", "--config-file", os.path.join(tmp, "missing.json")])
    bad(None, "--api-sock " + path + ": cannot bind", ["--api-sock", path])
    bad(None, "--seccomp-filter: not supported", ["--seccomp-filter", "x", "--no-api"])
    # `ringvm run` is untouched by all this.
    st, out = run([a.ringvm, "run", "--help"])
    if st != 0 or "--kernel" not in out:
        fail("ringvm run --help changed", out)
    print("PASS")


if __name__ == "__main__":
    main()
