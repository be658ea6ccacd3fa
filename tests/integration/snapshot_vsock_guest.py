#!/usr/bin/env python3
"""virtio-vsock across a snapshot, from a test guest's driver (docs/snapshot.md).

    snapshot_vsock_guest.py --ringvm build/ringvm --image build/guests/guest-mb64.elf \
        --engine soft

The guest (guests/tests_virtio.c, test=virtio-vsock-event) sets up
virtio-vsock with one event buffer posted and waits for an event.  None may
come while the first VM runs.  The VM is paused, snapshotted (PUT
/snapshot/create) and killed; a second ringvm loads the snapshot with
resume_vm: the guest receives VIRTIO_VSOCK_EVENT_TRANSPORT_RESET (id 0, 4
bytes: Virtio 1.2 5.10.6.6) in the buffer it posted before the snapshot,
then ends with status 0.  --load-paused: loaded without resume_vm, the
device listens at the same Unix socket path again and sends nothing until
PATCH /vm Resumed.  Exit 77 (skip) when the engine cannot run here."""
import argparse
import os
import socket
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fc_client import ApiVm as Vm, cleanup, fail  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ringvm", required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--engine", default="soft")
    ap.add_argument("--load-paused", action="store_true")
    a = ap.parse_args()
    if a.engine == "kvm" and not os.access("/dev/kvm", os.R_OK | os.W_OK):
        print("SKIP: /dev/kvm is missing or not accessible: the kvm engine cannot run here")
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="ringvm-vsocksnap-")
    snap, mem = os.path.join(tmp, "vm.snap"), os.path.join(tmp, "vm.mem")
    uds = os.path.join(tmp, "v.sock")
    first, second = Vm(a.ringvm, os.path.join(tmp, "a.sock")), None
    try:
        first.must("PUT", "/boot-source", {"kernel_image_path": os.path.abspath(a.image),
                                           "boot_args": "test=virtio-vsock-event"})
        first.must("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 32})
        first.must("PUT", "/vsock", {"guest_cid": 3, "uds_path": uds})
        first.must("PUT", "/ringvm", {"engine": a.engine, "testdev": True})
        first.must("PUT", "/actions", {"action_type": "InstanceStart"})
        first.wait_for(b"testdev: sync vsock-ready", 60)
        first.read(1.0)
        if b"sync vsock-event" in first.out:
            fail("the guest got a vsock event before any snapshot", first.out)
        first.must("PATCH", "/vm", {"state": "Paused"})
        first.must("PUT", "/snapshot/create", {"snapshot_type": "Full", "snapshot_path": snap,
                                                "mem_file_path": mem})
        first.kill()
        second = Vm(a.ringvm, os.path.join(tmp, "b.sock"))
        second.must("PUT", "/ringvm", {"engine": a.engine})
        second.must("PUT", "/snapshot/load", {"snapshot_path": snap, "mem_backend": {
            "backend_type": "File", "backend_path": mem}, "resume_vm": not a.load_paused})
        if a.load_paused:
            # The restored device listens at the same path again (checked
            # while paused: once the guest ends, ringvm removes the socket),
            # and sends nothing before the VM runs.
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(uds)
            except OSError as e:
                fail(f"the restored VM does not listen at {uds}: {e}", second.out)
            s.close()
            second.read(1.0)
            if b"sync vsock-event" in second.out:
                fail("the guest got the event while the restored VM was paused", second.out)
            second.must("PATCH", "/vm", {"state": "Resumed"})
        st = second.wait_exit(90, "the restored guest did not finish")
        if b"testdev: sync vsock-event 0x0" not in second.out:
            fail("the restored guest did not get the transport reset (event id 0)", second.out)
        if st != 0:
            fail(f"exit status {st}", second.out)
        print(f"PASS: the restored guest ({a.engine}) got the transport reset in the event "
              "buffer it posted before the snapshot")
    finally:
        cleanup(tmp, first, second)


if __name__ == "__main__":
    main()
