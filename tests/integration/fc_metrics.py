#!/usr/bin/env python3
"""Firecracker's metrics (docs/api.md, "Metrics"): newline-delimited JSON on
PUT /actions FlushMetrics and periodically, never blocking the VM.

    fc_metrics.py --ringvm build/ringvm --image build/guests/guest-mb64.elf

1. A file (--metrics-path), the period shortened to 300 ms with the test
   hook RINGVM_METRICS_INTERVAL_MS: lines arrive without FlushMetrics; after
   GETs, a pause/resume and a FlushMetrics every line is one JSON object with
   Firecracker's groups; get_api_requests.instance_info_count adds up to the
   GETs made (counters are increases since the previous line);
   latencies_us.pause_vm is set; the guest's serial output shows in
   vcpu.exit_io_out; the soft_engine group counts instructions; ringvm's
   running totals (exits, device windows, the soft engine's counters) never
   go down and do go up.
2. A FIFO nobody reads (PUT /metrics), flushed every 20 ms: the pipe fills,
   the VM still answers at once, lines that do not fit are dropped (the
   reader later finds only whole lines, and logger.missed_metrics_count
   counts the dropped ones).
3. Firecracker's per-device groups: the virtio test guests
   (guests/tests_virtio.c) on a drive (drive_id "vtest-serial") and
   virtio-rng, started from a config file with a metrics file; the lines
   (periodic, and the last one written as the VM ends) hold
   "block_vtest-serial", the "block" sum and "entropy", and their increases
   add up to exactly the guest's I/O (one 512-byte write, one flush, two
   512-byte reads, two refused requests; 128 bytes of entropy).  The "i8042"
   group: the reset guest (guests/tests.c) pulls the reset line with
   command 0xfe once, and Firecracker's configuration ends the VM on it:
   reset_count adds up to 1, write_count to at least 1.
4. Snapshot latencies: a paused VM snapshotted (PUT /snapshot/create) has
   latencies_us.full_create_snapshot set in its next line; a new process
   that loads it (PUT /snapshot/load) has latencies_us.load_snapshot set,
   and its lines carry every group, "i8042", "rtc", "seccomp" and "signals"
   included.
5. A SIGHUP stops a running VM (status 129): the last line, written as it
   ends, has signals.sighup 1."""
import argparse
import functools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import fc_client
from fc_client import fail

curl = functools.partial(fc_client.curl, timeout=30, extra=("-m", "10"))
must = functools.partial(fc_client.must, timeout=30, extra=("-m", "10"))

GROUPS = ("utc_timestamp_ms", "api_server", "get_api_requests", "put_api_requests",
          "patch_api_requests", "logger", "vcpu", "latencies_us", "ringvm",
          "i8042", "rtc", "seccomp", "signals")
# Firecracker's fields of the groups ringvm writes with exactly its layout.
FIELDS = {"i8042": ("error_count", "missed_read_count", "missed_write_count", "read_count",
                    "reset_count", "write_count"),
          "rtc": ("error_count", "missed_read_count", "missed_write_count"),
          "seccomp": ("num_faults",),
          "signals": ("sigbus", "sigsegv", "sigxfsz", "sigxcpu", "sigpipe", "sighup", "sigill"),
          "latencies_us": ("full_create_snapshot", "diff_create_snapshot", "load_snapshot",
                           "pause_vm", "resume_vm")}


def check_layout(lines, what):
    for i, l in enumerate(lines):
        for g in GROUPS:
            if g not in l:
                fail(f"{what}: line {i}: no {g!r}: {l}")
        for g, fields in FIELDS.items():
            for k in fields:
                if not isinstance(l[g].get(k), int):
                    fail(f"{what}: line {i}: no integer {g}.{k}: {l[g]}")


def start(a, tmp, name, extra, env_extra):
    cfg = os.path.join(tmp, name + ".json")
    with open(cfg, "w") as f:
        json.dump({"boot-source": {"kernel_image_path": os.path.abspath(a.image),
                                   "boot_args": "test=fleet-spin"},
                   "machine-config": {"vcpu_count": 1, "mem_size_mib": 32},
                   "ringvm": {"engine": "soft", "testdev": True}}, f)
    sock = os.path.join(tmp, name + ".sock")
    env = dict(os.environ, XDG_RUNTIME_DIR=tmp, **env_extra)
    p = subprocess.Popen([a.ringvm, "--api-sock", sock, "--id", name, *extra, "--config-file", cfg],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL)
    for _ in range(200):
        if os.path.exists(sock):
            return p, sock
        if p.poll() is not None:
            fail(f"{name}: exited with {p.returncode}: {p.stderr.read().decode()}")
        time.sleep(0.05)
    fail(f"{name}: no API socket")


def file_case(a, tmp):
    mpath = os.path.join(tmp, "metrics.json")
    p, sock = start(a, tmp, "m1", ["--metrics-path", mpath], {"RINGVM_METRICS_INTERVAL_MS": "300"})
    try:
        time.sleep(1.0)
        with open(mpath) as f:
            if len(f.read().splitlines()) < 2:
                fail("no periodic metrics lines in 1 s at a 300 ms period")
        gets = 5
        for _ in range(gets):
            must(sock, "GET", "/", None, 200)
        must(sock, "PATCH", "/vm", {"state": "Paused"}, 204)
        must(sock, "PATCH", "/vm", {"state": "Resumed"}, 204)
        time.sleep(0.5)
        must(sock, "PUT", "/actions", {"action_type": "FlushMetrics"}, 204)
        with open(mpath) as f:
            lines = [json.loads(l) for l in f.read().splitlines()]
    finally:
        p.kill()
        p.wait()
    check_layout(lines, "file")
    n_get = sum(l["get_api_requests"]["instance_info_count"] for l in lines)
    if n_get != gets:
        fail(f"instance_info_count adds up to {n_get}, {gets} GETs were made")
    if not any(l["latencies_us"]["pause_vm"] > 0 for l in lines):
        fail("latencies_us.pause_vm never set")
    if sum(l["vcpu"]["exit_io_out"] for l in lines) <= 0:
        fail("no vcpu.exit_io_out although the guest writes to its serial port")
    if sum(l.get("uart", {}).get("write_count", 0) for l in lines) <= 0:
        fail("no uart.write_count although the guest writes to its serial port")
    # The soft engine's group: increases, so every line of a spinning guest
    # has instructions, and their sum stays near the last line's rate times
    # the lines (a running total would grow line after line instead).
    ins = [l.get("soft_engine", {}).get("instructions", -1) for l in lines]
    if min(ins) < 0 or sum(1 for n in ins[1:] if n > 0) < len(ins) // 2:
        fail(f"soft_engine.instructions per line: {ins}")
    prev = None
    for l in lines:
        r = l["ringvm"]
        if r["engine"] != "soft" or not r["engine_stats"]:
            fail(f"ringvm group: {r}")
        if prev:
            if r["exits"]["pio"] < prev["exits"]["pio"]:
                fail("ringvm.exits.pio went down")
        prev = r
    first, last = lines[0]["ringvm"], lines[-1]["ringvm"]
    if last["uptime_ms"] <= first["uptime_ms"] or last["exits"]["pio"] <= first["exits"]["pio"]:
        fail(f"ringvm totals did not increase: {first['exits']} -> {last['exits']}")
    if not any(k.startswith("pio:uart") for k in last["device_windows"]):
        fail(f"no uart window in ringvm.device_windows: {last['device_windows']}")
    return len(lines)


def drain(fd):
    """What the non-blocking FIFO fd holds now."""
    data = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            break
        if not chunk:
            break
        data += chunk
    return data


def fifo_case(a, tmp):
    fifo = os.path.join(tmp, "metrics.fifo")
    os.mkfifo(fifo)
    p, sock = start(a, tmp, "m2", [], {"RINGVM_METRICS_INTERVAL_MS": "20"})
    try:
        # Nobody reads: Firecracker's docs use a FIFO this way.
        must(sock, "PUT", "/metrics", {"metrics_path": fifo}, 400)  # after boot: refused
    finally:
        p.kill()
        p.wait()
    os.unlink(sock)
    # Before boot, through the API, as Firecracker's getting-started does.
    env = dict(os.environ, XDG_RUNTIME_DIR=tmp, RINGVM_METRICS_INTERVAL_MS="20")
    p = subprocess.Popen([a.ringvm, "--api-sock", sock, "--id", "m3"], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(200):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        must(sock, "PUT", "/metrics", {"metrics_path": fifo}, 204)
        must(sock, "PUT", "/boot-source", {"kernel_image_path": os.path.abspath(a.image),
                                           "boot_args": "test=fleet-spin"}, 204)
        must(sock, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 32}, 204)
        must(sock, "PUT", "/ringvm", {"engine": "soft", "testdev": True}, 204)
        must(sock, "PUT", "/actions", {"action_type": "InstanceStart"}, 204)
        time.sleep(2.0)  # 100 flushes of ~2 KB: more than a 64 KiB pipe holds
        t0 = time.monotonic()
        must(sock, "GET", "/", None, 200)
        if time.monotonic() - t0 > 2:
            fail("the VM answers slowly while its metrics FIFO is full")
        code, text = curl(sock, "PUT", "/actions", {"action_type": "FlushMetrics"})
        if code != 400 or "cannot write" not in text:
            fail(f"FlushMetrics into a full FIFO: {code} {text}")
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        data = drain(fd)
        # Drained: the next periodic line goes through and reports the drops.
        time.sleep(0.3)
        data += drain(fd)
        os.close(fd)
    finally:
        p.kill()
        p.wait()
    if not data.endswith(b"\n"):
        fail("the FIFO holds a partial line")
    lines = [json.loads(l) for l in data.decode().splitlines()]
    missed = sum(l["logger"]["missed_metrics_count"] for l in lines)
    if missed <= 0:
        fail(f"{len(lines)} lines read, no missed_metrics_count reported")
    return len(lines), missed


def device_run(a, tmp, name, test, extra_cfg):
    mpath = os.path.join(tmp, name + ".metrics")
    cfg = os.path.join(tmp, name + ".json")
    conf = {"boot-source": {"kernel_image_path": os.path.abspath(a.image),
                            "boot_args": "test=" + test},
            "machine-config": {"vcpu_count": 1, "mem_size_mib": 32},
            "metrics": {"metrics_path": mpath},
            "ringvm": {"engine": "soft", "testdev": True}}
    conf.update(extra_cfg)
    with open(cfg, "w") as f:
        json.dump(conf, f)
    env = dict(os.environ, XDG_RUNTIME_DIR=tmp, RINGVM_METRICS_INTERVAL_MS="200")
    r = subprocess.run([a.ringvm, "--no-api", "--id", name, "--config-file", cfg], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
    if r.returncode != 0:
        fail(f"{name}: the {test} guest ended with status {r.returncode}: "
             f"{r.stderr.decode(errors='replace')[-2000:]}")
    with open(mpath) as f:
        lines = [json.loads(l) for l in f.read().splitlines()]
    if not lines:
        fail(f"{name}: no metrics line (the last one is written as the VM ends)")
    return lines


def total(lines, group, field):
    return sum(l.get(group, {}).get(field, 0) for l in lines)


def device_case(a, tmp):
    img = os.path.join(tmp, "disk.img")
    with open(img, "wb") as f:
        f.truncate(65536)
    lines = device_run(a, tmp, "mblk", "virtio-blk-dma-code", {
        "drives": [{"drive_id": "vtest-serial", "path_on_host": img, "is_root_device": False}],
        "entropy": {}})
    dev = "block_vtest-serial"
    for g in (dev, "block", "entropy"):
        if g not in lines[-1]:
            fail(f"the last line has no {g!r} group: {sorted(lines[-1])}")
    want = {"write_count": 1, "write_bytes": 512, "flush_count": 1, "read_count": 2,
            "read_bytes": 1024, "invalid_reqs_count": 2, "execute_fails": 0}
    for field, n in want.items():
        got, agg = total(lines, dev, field), total(lines, "block", field)
        if got != n or agg != n:
            fail(f"{dev}.{field} adds up to {got} (block.{field} {agg}), the guest's I/O "
                 f"makes {n}: {lines[-1]}")
    if total(lines, dev, "queue_event_count") < 7:
        fail(f"{dev}.queue_event_count: {total(lines, dev, 'queue_event_count')}, 7 kicks made")
    if total(lines, "entropy", "entropy_bytes") != 0:
        fail("entropy bytes counted although the guest read none")
    for g in ("net", "vsock"):
        if any(g in l for l in lines):
            fail(f"a {g!r} group without such a device")
    rng = device_run(a, tmp, "mrng", "virtio-rng", {"entropy": {}})
    got = (total(rng, "entropy", "entropy_bytes"), total(rng, "entropy", "entropy_event_count"))
    if got != (128, 1):
        fail(f"entropy: entropy_bytes and entropy_event_count add up to {got}, want (128, 1)")
    if any(k.startswith("block") for l in rng for k in l):
        fail("a block group without a drive")
    kbd = device_run(a, tmp, "mreset", "reset", {})
    got = (total(kbd, "i8042", "reset_count"), total(kbd, "i8042", "write_count"))
    if got[0] != 1 or got[1] < 1:
        fail(f"i8042: reset_count and write_count add up to {got}, the guest wrote 0xfe "
             f"to port 0x64 once: {kbd[-1].get('i8042')}")
    return len(lines) + len(rng) + len(kbd)


def flushed(sock, mpath):
    must(sock, "PUT", "/actions", {"action_type": "FlushMetrics"}, 204)
    with open(mpath) as f:
        return [json.loads(l) for l in f.read().splitlines()]


def wait_running(sock):
    """Until GET / says the VM runs (the config file's VM starts after the
    API socket appears)."""
    end = time.monotonic() + 30
    while True:
        code, text = curl(sock, "GET", "/")
        if code == 200 and json.loads(text).get("state") == "Running":
            return
        if time.monotonic() > end:
            fail(f"the VM is not running after 30 s: {code} {text}")
        time.sleep(0.1)


def last_latency(p, sock, mpath, what, field):
    """FlushMetrics, then ringvm p killed: every line in Firecracker's
    layout, the last one's latencies_us.field returned."""
    try:
        lines = flushed(sock, mpath)
    finally:
        p.kill()
        p.wait()
    check_layout(lines, what)
    return lines[-1]["latencies_us"][field]


def snapshot_case(a, tmp):
    snap, mem = os.path.join(tmp, "vm.snap"), os.path.join(tmp, "vm.mem")
    mpath = os.path.join(tmp, "snap1.metrics")
    p, sock = start(a, tmp, "s1", ["--metrics-path", mpath], {})
    try:
        wait_running(sock)
        must(sock, "PATCH", "/vm", {"state": "Paused"}, 204)
        before = flushed(sock, mpath)[-1]["latencies_us"]["full_create_snapshot"]
        must(sock, "PUT", "/snapshot/create", {"snapshot_type": "Full", "snapshot_path": snap,
                                                "mem_file_path": mem}, 204)
    except BaseException:
        p.kill()
        p.wait()
        raise
    create = last_latency(p, sock, mpath, "snapshot", "full_create_snapshot")
    if before != 0 or create <= 0:
        fail(f"latencies_us.full_create_snapshot: {before} before the snapshot, {create} after")
    mpath = os.path.join(tmp, "snap2.metrics")
    sock = os.path.join(tmp, "s2.sock")
    env = dict(os.environ, XDG_RUNTIME_DIR=tmp)
    p = subprocess.Popen([a.ringvm, "--api-sock", sock, "--id", "s2", "--metrics-path", mpath],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL)
    try:
        fc_client.wait_sock(sock, proc=p)
        must(sock, "PUT", "/ringvm", {"engine": "soft"}, 204)
        must(sock, "PUT", "/snapshot/load", {"snapshot_path": snap, "mem_backend": {
            "backend_type": "File", "backend_path": mem}, "resume_vm": True}, 204)
    except BaseException:
        p.kill()
        p.wait()
        raise
    load = last_latency(p, sock, mpath, "restored", "load_snapshot")
    if load <= 0:
        fail(f"latencies_us.load_snapshot after a load: {load}")
    return create, load


def signal_case(a, tmp):
    mpath = os.path.join(tmp, "hup.metrics")
    p, sock = start(a, tmp, "h1", ["--metrics-path", mpath], {})
    try:
        wait_running(sock)
        time.sleep(0.3)
        p.send_signal(signal.SIGHUP)
        status = p.wait(timeout=30)
    finally:
        p.kill()
        p.wait()
    if status != 128 + signal.SIGHUP:
        fail(f"after SIGHUP ringvm exited with {status}, want {128 + signal.SIGHUP}")
    with open(mpath) as f:
        lines = [json.loads(l) for l in f.read().splitlines()]
    check_layout(lines, "sighup")
    if total(lines, "signals", "sighup") != 1:
        fail(f"signals.sighup adds up to {total(lines, 'signals', 'sighup')} after one SIGHUP")
    return len(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ringvm", required=True)
    ap.add_argument("--image", required=True)
    a = ap.parse_args()
    a.ringvm = os.path.abspath(a.ringvm)
    tmp = tempfile.mkdtemp(prefix="ringvm-metrics-")
    try:
        n = file_case(a, tmp)
        nf, missed = fifo_case(a, tmp)
        nd = device_case(a, tmp)
        create, load = snapshot_case(a, tmp)
        signal_case(a, tmp)
        print(f"PASS: {n} lines in the file; FIFO: {nf} whole lines read, {missed} dropped; "
              f"device groups: {nd} lines add up to the guests' I/O; snapshot create "
              f"{create} us, load {load} us; SIGHUP counted")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
