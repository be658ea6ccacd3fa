#!/usr/bin/env python3
"""CPU weights (docs/api.md, "CPU weight"): two spinning guests compete for
one host CPU and the heavier gets more of it.

    fleet_weight.py --ringvm build/ringvm --image build/guests/guest-mb64.elf

Both VMs (guests/tests_fleet.c, on soft) are pinned to the same CPU with
taskset, one with --cpu-weight 100 (`ringvm run`), the other with 400
(Firecracker's config, "ringvm": {"cpu_weight": 400}), both strict, so a
weight that cannot be set ends the VM with status 2: then the test skips
with ringvm's reason (no delegated cgroup v2 cpu controller and no cgroup v1
cpu hierarchy).  Their CPU time (utime + stime from /proc/PID/stat) over 4 s
must follow the weights: the heavier gets more than 1.5x the lighter (the
ideal is 4x)."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ringvm", required=True)
    ap.add_argument("--image", required=True)
    a = ap.parse_args()
    if not shutil.which("taskset"):
        print("SKIP: taskset is missing (util-linux)")
        sys.exit(77)
    rv, img = os.path.abspath(a.ringvm), os.path.abspath(a.image)
    tmp = tempfile.mkdtemp(prefix="ringvm-weight-")
    env = dict(os.environ, XDG_RUNTIME_DIR=tmp)
    cpu = str(min(os.sched_getaffinity(0)))
    cfg = os.path.join(tmp, "heavy.json")
    with open(cfg, "w") as f:
        json.dump({"boot-source": {"kernel_image_path": img, "boot_args": "test=fleet-spin"},
                   "machine-config": {"vcpu_count": 1, "mem_size_mib": 32},
                   "ringvm": {"engine": "soft", "testdev": True, "cpu_weight": 400,
                              "cpu_weight_strict": True}}, f)
    light = subprocess.Popen(["taskset", "-c", cpu, rv, "run", "--engine", "soft", "--testdev",
                              "--kernel", img, "--cmdline", "test=fleet-spin", "-m", "32M",
                              "--cpu-weight", "100", "--cpu-weight-strict"],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    heavy = subprocess.Popen(["taskset", "-c", cpu, rv, "--no-api", "--id", "weight-heavy",
                              "--config-file", cfg],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        time.sleep(1.0)
        for p, what in ((light, "--cpu-weight 100"), (heavy, "\"cpu_weight\": 400")):
            if p.poll() is not None:
                err = p.stderr.read().decode(errors="replace")
                if p.returncode == 2 and "cannot be set" in err:
                    print(f"SKIP: {what}: {err.strip().splitlines()[-1]}")
                    sys.exit(77)
                sys.exit(f"FAIL: {what}: exited with {p.returncode}: {err}")
        l0, h0 = cpu_ticks(light.pid), cpu_ticks(heavy.pid)
        time.sleep(4.0)
        l1, h1 = cpu_ticks(light.pid), cpu_ticks(heavy.pid)
        dl, dh = l1 - l0, h1 - h0
        print(f"CPU ticks over 4 s on CPU {cpu}: weight 100 -> {dl}, weight 400 -> {dh}")
        if dl + dh < 200:
            sys.exit(f"FAIL: the two VMs hardly ran ({dl + dh} ticks in 4 s)")
        if dh <= 1.5 * max(dl, 1):
            sys.exit(f"FAIL: weight 400 got {dh} ticks, weight 100 {dl}: not > 1.5x")
        print(f"PASS: ratio {dh / max(dl, 1):.2f}")
    finally:
        groups = set()
        for p in (light, heavy):
            try:
                with open(f"/proc/{p.pid}/cgroup") as f:
                    groups |= {l.strip().split(":", 2)[2] for l in f if "/ringvm-" in l}
            except OSError:
                pass
            if p.poll() is None:
                p.kill()
            p.wait()
        # The named VM's cgroup stays after it exits (ringvm-run-PID ones
        # are swept by the next start): remove it, best effort.
        for g in groups:
            for mnt in ("/sys/fs/cgroup", "/sys/fs/cgroup/cpu", "/sys/fs/cgroup/unified"):
                try:
                    os.rmdir(mnt + g)
                except OSError:
                    pass
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
