#!/usr/bin/env python3
"""Firecracker's getting-started sequence against ringvm, with curl.

    fc_api.py --ringvm build/ringvm [--engine soft]

Starts `ringvm --api-sock S`, configures the microVM with curl
--unix-socket exactly as Firecracker's docs/getting-started.md does
(logger, boot-source, drives, network-interfaces, machine-config, then
InstanceStart), checks every status code and body, waits for the Linux
guest's boot marker on the serial output, then pauses and resumes it:
GET / reports each state, the guest prints nothing while paused, and its
clock stops (its uptime advances by less than the host's time by about the
pause).  Finally FlushMetrics, pre-boot-only resources refused after boot,
and a clean power-off (status 0, socket removed)."""
import argparse
import functools
import json
import os
import subprocess
import tempfile
import time

import fc_client
from fc_client import Serial, fail

curl = functools.partial(fc_client.curl, timeout=30, extra=("-H", "Accept: application/json"))

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE = os.path.join(ROOT, ".cache", "guest")


def expect(sock, method, path, body, status, want=None):
    code, text = curl(sock, method, path, body)
    print(f"{method} {path} -> {code} {text}")
    if code != status:
        fail(f"{method} {path}: status {code}, expected {status}: {text}")
    if status == 204 and text:
        fail(f"{method} {path}: 204 with a body: {text}")
    if want is not None:
        got = json.loads(text) if text else None
        if callable(want):
            if not want(got):
                fail(f"{method} {path}: unexpected body {text}")
        elif got != want:
            fail(f"{method} {path}: body {text}, expected {json.dumps(want)}")
    return text


def state(want):
    return lambda b: b and b.get("state") == want and b.get("id") == "fc-test" and "vmm_version" in b and "app_name" in b


def guest_uptime(ser, tag):
    mark = len(ser.out)
    ser.send(f"echo {tag}-$(cut -d' ' -f1 /proc/uptime)-END")
    i = ser.wait_for(f"\n{tag}-".encode(), 60, mark)
    j = ser.wait_for(b"-END", 10, i + 1)
    return float(ser.out[i + len(tag) + 2:j].decode())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ringvm", required=True)
    ap.add_argument("--engine", default="soft")
    a = ap.parse_args()
    r = subprocess.run([os.path.join(ROOT, "scripts", "fetch-guest-assets.sh"), "--quiet"])
    if r.returncode:
        fail("could not fetch the guest assets")
    tmp = tempfile.mkdtemp(prefix="ringvm-fcapi-")
    sock = os.path.join(tmp, "firecracker.socket")
    log = os.path.join(tmp, "fc.log")
    metrics = os.path.join(tmp, "metrics.json")
    rootfs = os.path.join(tmp, "rootfs.ext4")
    with open(rootfs, "wb") as f:
        f.truncate(1 << 20)

    # a private fleet registry: another run of the suite (another build,
    # the same time) names its VM fc-test too
    p = subprocess.Popen([a.ringvm, "--api-sock", sock, "--id", "fc-test"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         env=dict(os.environ, XDG_RUNTIME_DIR=tmp))
    ser = Serial(p)
    try:
        fc_client.wait_sock(sock, proc=p)
        expect(sock, "GET", "/", None, 200, state("Not started"))
        # docs/getting-started.md, in its order.
        expect(sock, "PUT", "/logger", {"log_path": log, "level": "Debug", "show_level": True,
                                        "show_log_origin": True}, 204)
        expect(sock, "PUT", "/boot-source", {
            "kernel_image_path": os.path.join(CACHE, "vmlinuz"),
            "initrd_path": os.path.join(CACHE, "initramfs.cpio.gz"),
            "boot_args": "console=ttyS0 reboot=k panic=1 pci=off"}, 204)
        expect(sock, "PUT", "/drives/rootfs", {"drive_id": "rootfs", "path_on_host": rootfs,
                                               "is_root_device": True, "is_read_only": False}, 204)
        expect(sock, "PUT", "/network-interfaces/net1", {"iface_id": "net1",
               "guest_mac": "06:00:AC:10:00:02", "host_dev_name": "tap0"}, 204)
        # Two vCPUs, as the guide has (its 1024 MiB trimmed for the host).
        expect(sock, "PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 256}, 204)
        expect(sock, "PUT", "/ringvm", {"engine": a.engine}, 204)
        expect(sock, "PUT", "/metrics", {"metrics_path": metrics}, 204)
        expect(sock, "GET", "/machine-config", None, 200,
               {"vcpu_count": 2, "mem_size_mib": 256, "smt": False, "track_dirty_pages": False,
                "huge_pages": "None"})
        cfg = json.loads(expect(sock, "GET", "/vm/config", None, 200))
        if cfg["drives"][0]["drive_id"] != "rootfs" or cfg["network-interfaces"][0]["guest_mac"] != "06:00:ac:10:00:02":
            fail("GET /vm/config does not echo the configuration")
        expect(sock, "PATCH", "/vm", {"state": "Paused"}, 400,
               {"fault_message": "The requested operation is not supported before starting the microVM."})
        expect(sock, "PUT", "/actions", {"action_type": "InstanceStart"}, 204)
        expect(sock, "GET", "/", None, 200, state("Running"))
        expect(sock, "PUT", "/actions", {"action_type": "InstanceStart"}, 400,
               {"fault_message": "The requested operation is not supported after starting the microVM."})
        expect(sock, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 256}, 400,
               {"fault_message": "The requested operation is not supported after starting the microVM."})
        ser.wait_for(b"RINGVM-INIT-OK", 240)
        ser.wait_for(b"/ # ", 60)

        # Pause: the guest is silent and its clock stops.
        u1, t1 = guest_uptime(ser, "UP1"), time.monotonic()
        expect(sock, "PATCH", "/vm", {"state": "Paused"}, 204)
        expect(sock, "GET", "/", None, 200, state("Paused"))
        expect(sock, "PATCH", "/vm", {"state": "Paused"}, 204)   # idempotent, as Firecracker
        mark = len(ser.out)
        ser.send("echo WHILE-PAUSED")
        ser.read(3.0)
        if b"WHILE-PAUSED" in ser.out[mark:]:
            fail("the guest answered while paused", ser.out)
        paused = 3.0
        expect(sock, "PATCH", "/vm", {"state": "Resumed"}, 204)
        expect(sock, "GET", "/", None, 200, state("Running"))
        ser.wait_for(b"WHILE-PAUSED", 30, mark)
        u2, t2 = guest_uptime(ser, "UP2"), time.monotonic()
        host, guest = t2 - t1, u2 - u1
        print(f"host {host:.2f} s, guest {guest:.2f} s across a {paused:.1f} s pause")
        if guest > host - paused * 0.8 or guest < 0:
            fail(f"the guest clock ran during the pause: guest {guest:.2f} s, host {host:.2f} s")

        expect(sock, "PUT", "/actions", {"action_type": "FlushMetrics"}, 204)
        with open(metrics) as f:
            m = json.loads(f.readline())
        if m["ringvm"]["engine"] != a.engine or m["ringvm"]["exits"]["pio"] <= 0:
            fail(f"metrics line: {m}")
        expect(sock, "PUT", "/boot-source", {"kernel_image_path": os.path.join(CACHE, "vmlinuz")}, 400)
        expect(sock, "PUT", "/snapshot/create", {"snapshot_path": "s", "mem_file_path": "m"}, 400,
               lambda b: "must be paused" in b["fault_message"])
        fc_client.poweroff(ser)
        if os.path.exists(sock):
            fail("the API socket was left behind")
        if not os.path.getsize(log):
            fail("nothing in the logger's file")
        print("PASS")
    finally:
        fc_client.stop(p)


if __name__ == "__main__":
    main()
