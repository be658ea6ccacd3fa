#!/usr/bin/env python3
"""Several VMs on one host: the runtime directory and `ringvm ls|pause|
resume|stop|snapshot NAME` (docs/api.md, "Several VMs on one host").

    fleet.py --ringvm build/ringvm --image build/guests/guest-mb64.elf

Two spinning test guests (guests/tests_fleet.c) are started from config
files with --api-sock and --id, in a private XDG_RUNTIME_DIR.  Checked:
`ls` (table and --json) names both with their state, engine, vCPUs and
memory; pause/resume change the state GET / reports; snapshot exits non-zero
with the VM's fault_message while PUT /snapshot/create is unsupported (or
writes its files once it is); an unknown NAME and a duplicate --id exit 2
with one line; a SIGKILLed VM's stale entry is dropped and removed; stop
--force and stop (SendCtrlAltDel, then SIGTERM after --timeout) end the
VMs, which remove their entries."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time


def fail(msg):
    sys.exit("FAIL: " + msg)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ringvm", required=True)
    ap.add_argument("--image", required=True)
    a = ap.parse_args()
    rv = os.path.abspath(a.ringvm)
    tmp = tempfile.mkdtemp(prefix="ringvm-fleet-")
    env = dict(os.environ, XDG_RUNTIME_DIR=tmp)
    rundir = os.path.join(tmp, "ringvm")
    procs = {}

    def cli(*args, timeout=60):
        r = subprocess.run([rv, *args], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=timeout)
        return r.returncode, r.stdout, r.stderr

    def start(name, vcpus, mem, extra=()):
        cfg = os.path.join(tmp, name + ".json")
        with open(cfg, "w") as f:
            json.dump({"boot-source": {"kernel_image_path": os.path.abspath(a.image),
                                       "boot_args": "test=fleet-spin"},
                       "machine-config": {"vcpu_count": vcpus, "mem_size_mib": mem},
                       "ringvm": {"engine": "soft", "testdev": True}}, f)
        sock = os.path.join(tmp, name + ".sock")
        p = subprocess.Popen([rv, "--api-sock", sock, "--id", name, "--config-file", cfg,
                              *extra], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        for _ in range(200):
            if os.path.exists(os.path.join(rundir, name + ".json")) and os.path.exists(sock):
                break
            if p.poll() is not None:
                fail(f"{name} exited with {p.returncode}: {p.stderr.read().decode()}")
            time.sleep(0.05)
        else:
            fail(f"{name}: no runtime entry")
        procs[name] = p
        return p

    def ls():
        code, out, err = cli("ls", "--json")
        if code != 0:
            fail(f"ls --json: {code} {err}")
        return {v["name"]: v for v in json.loads(out)}

    try:
        start("alpha", 1, 64)
        start("beta", 2, 96)
        st = os.stat(rundir)
        if st.st_mode & 0o777 != 0o700:
            fail(f"runtime directory mode {oct(st.st_mode & 0o777)}, expected 0700")
        vms = ls()
        if set(vms) != {"alpha", "beta"}:
            fail(f"ls: {sorted(vms)}")
        for name, vcpus, mem in (("alpha", 1, 64), ("beta", 2, 96)):
            v = vms[name]
            want = {"pid": procs[name].pid, "state": "Running", "engine": "soft",
                    "vcpus": vcpus, "mem_size_mib": mem}
            for k, w in want.items():
                if v[k] != w:
                    fail(f"ls: {name}.{k} = {v[k]!r}, expected {w!r}")
        code, out, _ = cli("ls")
        lines = out.splitlines()
        if code or not lines[0].split()[:4] == ["NAME", "PID", "STATE", "ENGINE"] or \
                not any(l.split()[:3] == ["beta", str(procs["beta"].pid), "Running"] for l in lines):
            fail(f"ls table:\n{out}")

        # pause / resume
        code, _, err = cli("pause", "alpha")
        if code or ls()["alpha"]["state"] != "Paused" or ls()["beta"]["state"] != "Running":
            fail(f"pause alpha: {code} {err} {ls()}")
        code, _, err = cli("resume", "alpha")
        if code or ls()["alpha"]["state"] != "Running":
            fail(f"resume alpha: {code} {err}")

        # snapshot: the endpoint's answer decides; a refusal is printed
        snap = os.path.join(tmp, "snap")
        code, out, err = cli("snapshot", "beta", "--out", snap)
        if code == 0:
            if not os.path.exists(os.path.join(snap, "snapshot")):
                fail("snapshot: exit 0 but no snapshot file")
        elif code != 1 or "snapshot/create: 400" not in err or "fault_message" in err:
            fail(f"snapshot while unsupported: {code} {err!r}")
        if ls()["beta"]["state"] != "Running":
            fail("snapshot did not leave the VM running")

        # bad names and usage
        for args in (("pause", "nosuch"), ("stop", "nosuch"), ("snapshot", "x", "--out", tmp)):
            code, _, err = cli(*args)
            if code != 2 or err.count("\n") != 1 or "no such VM" not in err:
                fail(f"{args}: {code} {err!r}")
        for args in (("pause",), ("snapshot", "alpha"), ("pause", "alpha", "--force"),
                     ("stop", "alpha", "--timeout", "x"), ("ls", "--bogus")):
            code, _, err = cli(*args)
            if code != 2 or err.count("\n") != 1:
                fail(f"{args}: {code} {err!r}")
        dup = subprocess.run([rv, "--api-sock", os.path.join(tmp, "dup.sock"), "--id", "alpha",
                              "--config-file", os.path.join(tmp, "alpha.json")], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
        if dup.returncode != 2 or "running already" not in dup.stderr:
            fail(f"duplicate --id: {dup.returncode} {dup.stderr!r}")

        # a stale entry (SIGKILL: no clean-up) is dropped and removed
        start("gamma", 1, 32)
        procs["gamma"].kill()
        procs["gamma"].wait()
        if "gamma" in ls():
            fail("ls lists a dead VM")
        if os.path.exists(os.path.join(rundir, "gamma.json")):
            fail("the stale entry was not removed")

        # stop --force; stop through the guest, falling back to SIGTERM
        code, out, err = cli("stop", "alpha", "--force")
        if code or procs["alpha"].wait(timeout=10) is None:
            fail(f"stop --force: {code} {err}")
        t0 = time.monotonic()
        code, out, err = cli("stop", "beta", "--timeout", "1")
        if code or procs["beta"].wait(timeout=10) is None:
            fail(f"stop: {code} {err}")
        if time.monotonic() - t0 > 9:
            fail("stop took too long")
        for name in ("alpha", "beta"):
            if os.path.exists(os.path.join(rundir, name + ".json")):
                fail(f"{name}'s entry remains after it stopped")
            if os.path.exists(os.path.join(tmp, name + ".sock")):
                fail(f"{name}'s socket remains after it stopped")
        if ls():
            fail(f"ls after stop: {ls()}")
        print("PASS: ls, pause, resume, snapshot, stop, stale entries, bad names")
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
