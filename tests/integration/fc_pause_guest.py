#!/usr/bin/env python3
"""Pause and resume a tick-counting guest through the API.

    fc_pause_guest.py --ringvm build/ringvm --image build/guests/guest-mb64.elf --engine soft|kvm

The guest (guests/tests_pause.c, test=pause-ticks) takes PIT interrupts at
200 Hz and reports every 50th tick through the test device.  Started with
Firecracker's API ("ringvm": {"testdev": true}), it is paused for 2 s
mid-run: no tick report may arrive while paused, GET / says "Paused", and
after the resume the reports continue at their pace, with no burst of
catch-up ticks (at most one report more than the wall time allows).  Exit
77 (skip) when the engine cannot run here."""
import argparse
import functools
import json
import os
import re
import select
import subprocess
import sys
import tempfile
import time

import fc_client
from fc_client import fail

curl = functools.partial(fc_client.curl, timeout=30)
must = functools.partial(fc_client.must, timeout=30)

SYNC = re.compile(rb"testdev: sync pause-ticks 0x([0-9a-f]+)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ringvm", required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--engine", default="soft")
    ap.add_argument("--config-file", action="store_true",
                    help="start from --config-file (the VM runs at once) with the API alongside")
    a = ap.parse_args()
    if a.engine == "kvm" and not os.access("/dev/kvm", os.R_OK | os.W_OK):
        print("SKIP: /dev/kvm is missing or not accessible: the kvm engine cannot run here")
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="ringvm-fcpause-")
    sock = os.path.join(tmp, "api.sock")
    argv = [a.ringvm, "--api-sock", sock, "--level", "Info"]
    if a.config_file:
        cfg = os.path.join(tmp, "vm.json")
        with open(cfg, "w") as f:
            json.dump({"boot-source": {"kernel_image_path": os.path.abspath(a.image),
                                       "boot_args": "test=pause-ticks"},
                       "machine-config": {"vcpu_count": 1, "mem_size_mib": 64},
                       "ringvm": {"engine": a.engine, "testdev": True}}, f)
        argv += ["--config-file", cfg]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL)
    out = b""
    events = []  # (host time, tick count)

    def pump(secs):
        nonlocal out
        end = time.monotonic() + secs
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            r, _, _ = select.select([p.stdout], [], [], left)
            if not r:
                return
            chunk = os.read(p.stdout.fileno(), 65536)
            if not chunk:
                return
            now = time.monotonic()
            for m in SYNC.finditer(chunk):
                events.append((now, int(m.group(1), 16)))
            out += chunk

    try:
        fc_client.wait_sock(sock, "no API socket", proc=p)
        if a.config_file:
            # Started by the config file: the API serves the running VM.
            if json.loads(must(sock, "GET", "/", None, 200))["state"] != "Running":
                fail("GET / is not Running after --config-file")
            code, text = curl(sock, "PUT", "/actions", {"action_type": "InstanceStart"})
            if code != 400:
                fail(f"a second InstanceStart: {code} {text}")
            code = 204
        else:
            must(sock, "PUT", "/boot-source", {"kernel_image_path": os.path.abspath(a.image),
                                               "boot_args": "test=pause-ticks"}, 204)
            must(sock, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 64}, 204)
            must(sock, "PUT", "/ringvm", {"engine": a.engine, "testdev": True}, 204)
            code, text = curl(sock, "PUT", "/actions", {"action_type": "InstanceStart"})
        if code != 204:
            pump(0.5)
            if a.engine == "kvm":
                print(f"SKIP: the kvm engine cannot start here: {text}")
                sys.exit(77)
            fail(f"InstanceStart: {code} {text}", out)
        # Let it run past the second report, then pause for 2 s.
        deadline = time.monotonic() + 60
        while len(events) < 2:
            if time.monotonic() > deadline or p.poll() is not None:
                fail("the guest does not report its ticks", out)
            pump(0.2)
        must(sock, "PATCH", "/vm", {"state": "Paused"}, 204)
        t_pause = time.monotonic()
        if json.loads(must(sock, "GET", "/", None, 200))["state"] != "Paused":
            fail("GET / is not Paused")
        pump(0.1)  # what was already written before the pause
        n_before = len(events)
        pump(2.0)
        if len(events) != n_before:
            fail(f"tick reports while paused: {events[n_before:]}", out)
        last_tick = events[-1][1] if events else 0
        must(sock, "PATCH", "/vm", {"state": "Resumed"}, 204)
        t_resume = time.monotonic()
        pump(0.6)
        after = [e for e in events if e[0] >= t_resume]
        # 200 Hz, a report per 50 ticks: 0.6 s allow ~3 reports (2.4 at
        # full speed, plus the one that was due at the pause).  A catch-up
        # burst of the 2 s pause would be 8 more at once.
        print(f"paused {t_resume - t_pause:.2f} s at tick {last_tick}; "
              f"reports in the 0.6 s after resume: {[t for _, t in after]}")
        if len(after) > 4:
            fail(f"a burst of ticks after the resume: {after}", out)
        if after and after[-1][1] - last_tick > 200:
            fail(f"the tick count jumped by {after[-1][1] - last_tick} in 0.6 s", out)
        try:
            while p.poll() is None:
                pump(0.5)
                if time.monotonic() - t_resume > 60:
                    fail("the guest did not finish", out)
        finally:
            pump(0.2)
        if p.returncode != 0 or b"test guest done" not in out:
            fail(f"exit status {p.returncode}", out)
        ticks = [t for _, t in events]
        if ticks != sorted(ticks) or ticks[-1] < 800:
            fail(f"tick reports {ticks}")
        print("PASS")
    finally:
        fc_client.stop(p)


if __name__ == "__main__":
    main()
