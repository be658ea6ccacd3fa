#!/usr/bin/env python3
"""Snapshot a tick-counting guest mid-run through the API and restore it in
a new process (docs/snapshot.md).

    snapshot_guest.py --ringvm build/ringvm --image build/guests/guest-mb64.elf \
        --engine soft --restore-engine soft

The guest (guests/tests_snapshot.c, test=snapshot-count) takes PIT
interrupts at 200 Hz, reports every 50th tick and checks that its TSC never
goes backwards and that each 50 ticks take a sane TSC span.  The first VM
is paused after its second report and snapshotted (PUT /snapshot/create;
taking one while running must be refused), then killed.  A second ringvm
loads the snapshot (PUT /snapshot/load, resume_vm) on --restore-engine: the
guest must continue from where it was (tick reports never go backwards, the
first one after the restore is the next one due) and finish with status 0.
A corrupted state file must be refused with a message naming the file.
Exit 77 (skip) when an engine cannot run here."""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import fc_client
from fc_client import curl, fail


def must(sock, method, path, body, status):
    """fc_client.must, printing the VM's output (LAST_OUT) with a failure."""
    return fc_client.must(sock, method, path, body, status,
                          out=lambda: LAST_OUT[0]() if LAST_OUT else b"")


SYNC = re.compile(rb"testdev: sync snapshot-count 0x([0-9a-f]+)")
LAST_OUT = []
RESTORED = re.compile(rb"restored .* in ([0-9.]+) ms")


def skip_kvm(engine):
    if engine == "kvm" and not os.access("/dev/kvm", os.R_OK | os.W_OK):
        print("SKIP: /dev/kvm is missing or not accessible: the kvm engine cannot run here")
        sys.exit(77)


class Vm(fc_client.ApiVm):
    """An ApiVm (stdin /dev/null) that keeps the guest's tick reports."""

    def __init__(self, ringvm, sock):
        self.ticks = []
        LAST_OUT[:] = [lambda: (self.pump(0.3), self.out)[1]]
        super().__init__(ringvm, sock, stdin=subprocess.DEVNULL)

    def read(self, secs):
        super().read(secs)
        self.ticks = [int(m.group(1), 16) for m in SYNC.finditer(self.out)]

    pump = read


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ringvm", required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--engine", default="soft")
    ap.add_argument("--restore-engine", default="soft")
    ap.add_argument("--mem-mib", type=int, default=64)
    ap.add_argument("--load-paused", action="store_true",
                    help="load without resume_vm: the VM must wait, Paused, for PATCH /vm Resumed")
    ap.add_argument("--twice", action="store_true",
                    help="snapshot the restored VM again (its RAM is the first memory file, "
                         "mapped privately) and restore that in a third process")
    a = ap.parse_args()
    skip_kvm(a.engine)
    skip_kvm(a.restore_engine)
    if a.restore_engine == "kvm" and a.engine != "kvm" and os.path.exists("/sys/module/kvm_pvm"):
        # A nested PVM KVM lets its guests read the host's TSC: the TSC
        # offset ringvm sets (KVM_VCPU_TSC_OFFSET) has no effect, so a TSC
        # from another engine cannot be carried over and the guest's clock
        # check rightly fails.  Real KVM (VMX/SVM) applies the offset.
        print("SKIP: kvm_pvm passes the host TSC through: a TSC from another engine cannot "
              "be restored on it")
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="ringvm-snap-")
    snap, mem = os.path.join(tmp, "vm.snap"), os.path.join(tmp, "vm.mem")
    first = Vm(a.ringvm, os.path.join(tmp, "a.sock"))
    second = None
    try:
        s = first.sock
        must(s, "PUT", "/boot-source", {"kernel_image_path": os.path.abspath(a.image),
                                        "boot_args": "test=snapshot-count"}, 204)
        must(s, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": a.mem_mib}, 204)
        must(s, "PUT", "/ringvm", {"engine": a.engine, "testdev": True}, 204)
        code, text = curl(s, "PUT", "/actions", {"action_type": "InstanceStart"})
        if code != 204:
            first.pump(0.5)
            if a.engine == "kvm":
                print(f"SKIP: the kvm engine cannot start here: {text}")
                sys.exit(77)
            fail(f"InstanceStart: {code} {text}", first.out)
        deadline = time.monotonic() + 60
        while len(first.ticks) < 2:
            if time.monotonic() > deadline or first.p.poll() is not None:
                fail("the guest does not report its ticks", first.out)
            first.pump(0.2)
        # Firecracker's rule: only a paused VM is snapshotted.
        code, text = curl(s, "PUT", "/snapshot/create",
                          {"snapshot_type": "Full", "snapshot_path": snap, "mem_file_path": mem})
        if code != 400 or "paused" not in text:
            fail(f"a snapshot of a running VM: {code} {text}")
        must(s, "PATCH", "/vm", {"state": "Paused"}, 204)
        code, text = curl(s, "PUT", "/snapshot/create",
                          {"snapshot_type": "Full", "snapshot_path": snap, "mem_file_path": mem})
        if code == 400 and "cannot take snapshots yet" in text:
            print(f"SKIP: {json.loads(text)['fault_message']}")
            sys.exit(77)
        if code != 204:
            fail(f"PUT /snapshot/create: {code} {text}", first.out)
        first.pump(0.2)
        before = list(first.ticks)
        first.kill()
        if os.path.getsize(mem) != a.mem_mib << 20:
            fail(f"the memory file has {os.path.getsize(mem)} bytes, not {a.mem_mib} MiB")
        used = os.stat(mem).st_blocks * 512
        print(f"snapshot at tick {before[-1]}: memory file {a.mem_mib} MiB, {used >> 10} KiB on disk")
        m = re.search(rb"snapshot: .* written in ([0-9.]+) ms", first.out)
        if m:
            print(f"ringvm: the snapshot took {m.group(1).decode()} ms")
        if used > 32 << 20:
            fail(f"the memory file is not sparse: {used} bytes on disk")

        # A corrupted state file is refused, naming the file.
        bad = os.path.join(tmp, "bad.snap")
        shutil.copy(snap, bad)
        with open(bad, "r+b") as f:
            f.seek(os.path.getsize(bad) // 2)
            b = f.read(1)
            f.seek(-1, 1)
            f.write(bytes([b[0] ^ 0xff]))
        second = Vm(a.ringvm, os.path.join(tmp, "b.sock"))
        s = second.sock
        must(s, "PUT", "/ringvm", {"engine": a.restore_engine}, 204)
        code, text = curl(s, "PUT", "/snapshot/load",
                          {"snapshot_path": bad, "mem_backend": {"backend_type": "File",
                                                                 "backend_path": mem}})
        if code != 400 or "bad.snap" not in text or "CRC" not in text:
            fail(f"a corrupted snapshot: {code} {text}")
        t0 = time.monotonic()
        code, text = curl(s, "PUT", "/snapshot/load",
                          {"snapshot_path": snap, "mem_backend": {"backend_type": "File",
                                                                  "backend_path": mem},
                           "resume_vm": not a.load_paused})
        if code != 204:
            second.pump(0.5)
            if a.restore_engine == "kvm" or "cannot restore snapshots yet" in text:
                print(f"SKIP: the {a.restore_engine} engine cannot restore here: {text}")
                sys.exit(77)
            fail(f"PUT /snapshot/load: {code} {text}", second.out)
        print(f"PUT /snapshot/load answered in {(time.monotonic() - t0) * 1000:.1f} ms")
        if a.load_paused:
            if json.loads(must(s, "GET", "/", None, 200))["state"] != "Paused":
                fail("GET / is not Paused after a load without resume_vm")
            second.pump(1.0)
            if second.ticks:
                fail(f"tick reports from a VM loaded paused: {second.ticks}", second.out)
            code, text = curl(s, "PUT", "/snapshot/load", {"snapshot_path": snap,
                              "mem_file_path": mem})
            if code != 400:
                fail(f"a second load: {code} {text}")
            must(s, "PATCH", "/vm", {"state": "Resumed"}, 204)
        if json.loads(must(s, "GET", "/", None, 200))["state"] != "Running":
            fail("GET / is not Running after the load")
        if a.twice:
            # The restored VM snapshotted again, then restored a third time.
            deadline = time.monotonic() + 60
            while len(second.ticks) < 2:
                if time.monotonic() > deadline or second.p.poll() is not None:
                    fail("the restored guest does not report its ticks", second.out)
                second.pump(0.2)
            snap2, mem2 = snap + "2", mem + "2"
            must(s, "PATCH", "/vm", {"state": "Paused"}, 204)
            must(s, "PUT", "/snapshot/create", {"snapshot_path": snap2, "mem_file_path": mem2}, 204)
            second.pump(0.2)
            before = before + second.ticks
            second.kill()
            second = Vm(a.ringvm, os.path.join(tmp, "c.sock"))
            s = second.sock
            must(s, "PUT", "/ringvm", {"engine": a.restore_engine}, 204)
            must(s, "PUT", "/snapshot/load", {"snapshot_path": snap2, "mem_file_path": mem2,
                                               "resume_vm": True}, 204)
            print(f"snapshot of the restored VM at tick {before[-1]}, restored again")
        second.wait_exit(90 - (time.monotonic() - t0), "the restored guest did not finish")
        m = RESTORED.search(second.out)
        if m:
            print(f"ringvm: the restore took {m.group(1).decode()} ms")
        after = second.ticks
        if second.p.returncode != 0 or b"test guest done" not in second.out:
            fail(f"the restored guest: exit status {second.p.returncode}", second.out)
        if not after or after[0] <= before[-1] or after[0] > before[-1] + 2 * 50:
            fail(f"reports before {before}, after the restore {after}", second.out)
        if after != sorted(after) or after[-1] < 1000:
            fail(f"tick reports after the restore {after}")
        print(f"ticks before {before}, after {after[:3]}...{after[-1]}")
        # The TSC must keep its pace across the restore, except where the
        # restoring engine cannot control it (kvm_pvm: the host's TSC, which
        # went on while the VM was down).
        gap = re.search(rb"sync snapshot-count-gap 0x([0-9a-f]+)", second.out)
        pvm = a.restore_engine == "kvm" and os.path.exists("/sys/module/kvm_pvm")
        if gap and not pvm:
            fail(f"the guest's TSC jumped across the restore ({int(gap.group(1), 16)}x a "
                 "normal span)", second.out)
        if gap:
            print(f"note: kvm_pvm: the TSC counted the time the VM was down "
                  f"({int(gap.group(1), 16)}x a normal span)")
        print("PASS")
    finally:
        fc_client.cleanup(tmp, first, second)


if __name__ == "__main__":
    main()
