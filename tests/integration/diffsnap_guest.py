#!/usr/bin/env python3
"""Diff snapshots of a guest program (docs/snapshot.md, "Diff snapshots").

    diffsnap_guest.py --ringvm build/ringvm --image build/guests/guest-mb64.elf \
        --engine soft --restore-engine soft [--soft-tier jit]

The guest (guests/tests_snapshot.c, test=snapshot-diff) fills pages 0-31 of
its area and reports phase 1; the VM (machine-config track_dirty_pages) is
paused and snapshotted Full (the base) and resumed.  The guest rewrites
pages 24-47 and clears page 0 and reports phase 2; the VM is paused and
snapshotted Diff, then killed.  The diff's memory file must be sparse: its
data extents (SEEK_DATA/SEEK_HOLE) must hold every page of phase 2 and at
most a small slack besides (the guest's stack, tick counter, page tables,
the testdev's pages).  Loading the diff's state file with the diff's memory
file alone, or with the base's unmerged, must be refused naming the cause;
`ringvm snapshot-rebase` merges the diff onto a copy of the base; the diff
loaded with the merged file (on --restore-engine) must let the guest check
all 48 pages and finish with status 0.  The restored VM does not track
dirty pages: a Diff snapshot of it must be refused with Firecracker's
message.  --v1: the diff's state file rewritten as format version 1 (no
lineage section: what an older ringvm wrote) must load with the merged
file too, and the guest finish.  Exit 77 (skip) where an engine, or kvm's dirty log, cannot run
here."""
import argparse
import os
import struct
import zlib
import re
import shutil
import subprocess
import sys
import tempfile
import time

import fc_client
from fc_client import curl, fail
from snapshot_guest import Vm, LAST_OUT, skip_kvm

PHASE = re.compile(rb"testdev: sync snapshot-diff 0x([0-9a-f]+)")
AREA = re.compile(rb"testdev: sync snapshot-diff-area 0x([0-9a-f]+)")
SLACK_PAGES = 64


def must(sock, method, path, body, status):
    return fc_client.must(sock, method, path, body, status,
                          out=lambda: LAST_OUT[0]() if LAST_OUT else b"")


def wait_phase(vm, n, secs=60):
    deadline = time.monotonic() + secs
    while True:
        phases = [int(m.group(1), 16) for m in PHASE.finditer(vm.out)]
        if n in phases:
            return
        if time.monotonic() > deadline or vm.p.poll() is not None:
            fail(f"the guest did not report phase {n}", vm.out)
        vm.pump(0.05)


def data_pages(path):
    """The 4 KiB pages of path's data extents."""
    pages = set()
    with open(path, "rb") as f:
        fd, size, pos = f.fileno(), os.path.getsize(path), 0
        while pos < size:
            try:
                data = os.lseek(fd, pos, os.SEEK_DATA)
            except OSError:
                break
            hole = os.lseek(fd, data, os.SEEK_HOLE)
            pages.update(range(data // 4096, (hole + 4095) // 4096))
            pos = hole
    return pages


def as_version1(src, dst):
    """src's sections without the lineage (8) section, in a version-1 file."""
    data = open(src, "rb").read()
    magic, version, count = struct.unpack_from("<8sII", data, 0)
    off, out = 16, []
    for _ in range(count):
        typ, inst, length, crc = struct.unpack_from("<IIII", data, off)
        payload = data[off + 16:off + 16 + length]
        off += 16 + length
        if typ != 8:
            out.append(struct.pack("<IIII", typ, inst, length, zlib.crc32(payload)) + payload)
    with open(dst, "wb") as f:
        f.write(struct.pack("<8sII", magic, 1, len(out)) + b"".join(out))
    return version


def load(sock, snap, mem, resume=True):
    return curl(sock, "PUT", "/snapshot/load",
                {"snapshot_path": snap, "mem_backend": {"backend_type": "File",
                                                        "backend_path": mem},
                 "resume_vm": resume})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ringvm", required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--engine", default="soft")
    ap.add_argument("--restore-engine", default="soft")
    ap.add_argument("--soft-tier", default="interp", choices=["interp", "jit"])
    ap.add_argument("--v1", action="store_true",
                    help="also load the diff's state as a format-version-1 file")
    a = ap.parse_args()
    tier = os.environ.get("RINGVM_SOFT_TIER") or a.soft_tier
    skip_kvm(a.engine)
    skip_kvm(a.restore_engine)
    tmp = tempfile.mkdtemp(prefix="ringvm-diffsnap-")
    base_snap, base_mem = os.path.join(tmp, "base.snap"), os.path.join(tmp, "base.mem")
    diff_snap, diff_mem = os.path.join(tmp, "diff.snap"), os.path.join(tmp, "diff.mem")
    merged = os.path.join(tmp, "merged.mem")
    first = Vm(a.ringvm, os.path.join(tmp, "a.sock"))
    second = None
    try:
        s = first.sock
        must(s, "PUT", "/boot-source", {"kernel_image_path": os.path.abspath(a.image),
                                        "boot_args": "test=snapshot-diff"}, 204)
        must(s, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 64,
                                           "track_dirty_pages": True}, 204)
        must(s, "PUT", "/ringvm", {"engine": a.engine, "testdev": True, "soft_tier": tier}, 204)
        code, text = curl(s, "PUT", "/actions", {"action_type": "InstanceStart"})
        if code != 204:
            first.pump(0.5)
            if a.engine == "kvm":
                print(f"SKIP: the kvm engine cannot start here (with dirty-page tracking): "
                      f"{text}")
                print(first.out.decode(errors="replace")[-600:])
                sys.exit(77)
            fail(f"InstanceStart: {code} {text}", first.out)
        wait_phase(first, 1)
        area = int(AREA.search(first.out).group(1), 16) // 4096
        must(s, "PATCH", "/vm", {"state": "Paused"}, 204)
        must(s, "PUT", "/snapshot/create", {"snapshot_type": "Full", "snapshot_path": base_snap,
                                             "mem_file_path": base_mem}, 204)
        must(s, "PATCH", "/vm", {"state": "Resumed"}, 204)
        wait_phase(first, 2)
        must(s, "PATCH", "/vm", {"state": "Paused"}, 204)
        must(s, "PUT", "/snapshot/create", {"snapshot_type": "Diff", "snapshot_path": diff_snap,
                                             "mem_file_path": diff_mem}, 204)
        first.pump(0.2)
        first.kill()
        for m in re.finditer(rb"snapshot: .*\((\d+) MiB RAM, (\d+ [\w-]+) pages\) written in ([0-9.]+) ms",
                             first.out):
            print(f"ringvm: a snapshot of {m.group(2).decode()} pages took {m.group(3).decode()} ms")
        if b"snapshot-diff 0x3" in first.out:
            fail("the guest finished before the diff snapshot: the test's timing is off",
                 first.out)

        # The diff holds the pages of phase 2 and little else.
        if os.path.getsize(diff_mem) != 64 << 20:
            fail(f"the diff's memory file has {os.path.getsize(diff_mem)} bytes, not 64 MiB")
        want = {area} | set(range(area + 24, area + 48))
        got = data_pages(diff_mem)
        missing, extra = want - got, got - want
        if missing:
            fail(f"pages written in phase 2 missing from the diff: {sorted(missing)}")
        if len(extra) > SLACK_PAGES:
            fail(f"the diff holds {len(extra)} pages besides phase 2's (more than "
                 f"{SLACK_PAGES}): {sorted(extra)[:40]}...")
        print(f"diff: {len(got)} pages ({len(want)} of phase 2, {len(extra)} others: "
              f"{[hex(p << 12) for p in sorted(extra)][:16]}), base: "
              f"{len(data_pages(base_mem))} pages")

        second = Vm(a.ringvm, os.path.join(tmp, "b.sock"))
        s = second.sock
        must(s, "PUT", "/ringvm", {"engine": a.restore_engine, "soft_tier": tier}, 204)
        # The diff alone, or the base without the diff: refused, naming why.
        code, text = load(s, diff_snap, diff_mem)
        if code != 400 or "is a diff snapshot" not in text or "snapshot-rebase" not in text:
            fail(f"the diff's memory file loaded alone: {code} {text}", second.out)
        print(f"diff alone: {code} {text}")
        code, text = load(s, diff_snap, base_mem)
        if code != 400 or "does not hold the diff's pages" not in text:
            fail(f"the base's memory file without the diff: {code} {text}", second.out)
        # Merged: the snapshot as it was at the diff.
        shutil.copy(base_mem, merged)
        r = subprocess.run([a.ringvm, "snapshot-rebase", "--base-file", merged,
                            "--diff-file", diff_mem], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=60)
        if r.returncode != 0:
            fail(f"ringvm snapshot-rebase: status {r.returncode}: {r.stdout}")
        print(r.stdout.strip())
        code, text = load(s, diff_snap, merged)
        if code != 204:
            second.pump(0.5)
            if a.restore_engine == "kvm":
                print(f"SKIP: the kvm engine cannot restore here: {text}")
                sys.exit(77)
            fail(f"PUT /snapshot/load of the merged file: {code} {text}", second.out)
        # Not tracking: a Diff of the restored VM is refused, Firecracker's way.
        must(s, "PATCH", "/vm", {"state": "Paused"}, 204)
        code, text = curl(s, "PUT", "/snapshot/create",
                          {"snapshot_type": "Diff", "snapshot_path": diff_snap + "2",
                           "mem_file_path": diff_mem + "2"})
        if code != 400 or "dirty page tracking disabled" not in text:
            fail(f"a Diff snapshot without track_dirty_pages: {code} {text}")
        must(s, "PATCH", "/vm", {"state": "Resumed"}, 204)
        second.wait_exit(60, "the restored guest did not finish")
        if second.p.returncode != 0 or b"snapshot-diff 0x3" not in second.out:
            fail(f"the restored guest: exit status {second.p.returncode}", second.out)
        print(f"restored on {a.restore_engine} from the merged file: the guest checked its "
              f"48 pages and finished")
        if a.v1:
            old = os.path.join(tmp, "v1.snap")
            if as_version1(diff_snap, old) != 2:
                fail("the state file is not format version 2")
            second.kill()
            second = Vm(a.ringvm, os.path.join(tmp, "c.sock"))
            s = second.sock
            must(s, "PUT", "/ringvm", {"engine": a.restore_engine, "soft_tier": tier}, 204)
            must(s, "PUT", "/snapshot/load", {"snapshot_path": old, "mem_file_path": merged,
                                               "resume_vm": True}, 204)
            second.wait_exit(60, "the guest restored from a version-1 file did not finish")
            if second.p.returncode != 0 or b"snapshot-diff 0x3" not in second.out:
                fail(f"restored from a version-1 file: status {second.p.returncode}", second.out)
            print("the same state as a format-version-1 file (no lineage section) loads too")
        print("PASS")
    finally:
        fc_client.cleanup(tmp, first, second)


if __name__ == "__main__":
    main()
