"""Virtio over PCI (guests/tests_virtio.c): DMA into a code page, virtio-rng,
and a misbehaving driver.  Keys as documented in run_guest_test.py; 'files'
creates zero-filled files of the given sizes in the case's temporary
directory, which '{tmp}' in 'args' names."""

DONE = r'test guest done'

# Queue kicks: on kvm through KVM_IOEVENTFD and the event loop (every kick
# of the polling driver arrives that way); the soft engine offers no
# ioeventfd, so its kicks stay BAR writes (docs/devices.md).
def kicks_via_eventfd(dev, n):
    return dict(stderr_on={'kvm': [r'%s +ioeventfd notifications %d\b' % (dev, n),
                                   r'ioeventfds: offered, 1 assigned']},
                absent_on={'soft': [r'ioeventfd notifications']})

CASES = {
    # The soft engine drops the decoded block of a page a device wrote:
    # the page runs the code the disk read put there (2), not the old (1).
    'virtio-blk-dma-code': dict(
        files={'disk.img': 65536},
        args=['--drive', 'path={tmp}/disk.img,serial=vtest-serial', '--stats'],
        status=0,
        stderr=[r'testdev: sync code after dma 0x2\b',
                r'virtio-blk +requests 7, in 1044 bytes, out 512 bytes, errors 2',
                r'drive0 \(.*disk.img, (io_uring|worker threads)\): reads 2, writes 1, '
                r'flushes 1', DONE],
        **kicks_via_eventfd('virtio-blk', 7)),
    # The same with the worker-thread back end forced.
    'virtio-blk-dma-code-threads': dict(
        test='virtio-blk-dma-code', env={'RINGVM_AIO': 'threads'},
        files={'disk.img': 65536},
        args=['--drive', 'path={tmp}/disk.img,serial=vtest-serial', '--stats'],
        status=0,
        stderr=[r'testdev: sync code after dma 0x2\b',
                r'drive0 \(.*disk.img, worker threads\): reads 2, writes 1', DONE],
        **kicks_via_eventfd('virtio-blk', 7)),
    'virtio-rng': dict(args=['--rng', '--stats'], status=0,
                       stderr=[r'testdev: sync rng nonzero bytes 0x[0-9a-f]+',
                               r'virtio-rng +requests 1, in 128 bytes', DONE],
                       **kicks_via_eventfd('virtio-rng', 1)),
    # VIRTIO_PCI_CAP_PCI_CFG: 5 accesses reach BAR 0 through the window
    # (read num_queues twice, write the status, read it, the misaligned
    # write does not count).
    'virtio-pci-cfg': dict(args=['--rng', '--stats'], status=0,
                           stderr=[r'testdev: sync pci cfg window ok 0x1\b',
                                   r'virtio-rng +pci_cfg window accesses 4\b', DONE]),
    'virtio-hostile': dict(args=['--rng'], status=0,
                           stderr=[r'testdev: sync status after size 3 0x4[0-9a-f]\b',
                                   r'virtio-rng: driver error, device needs reset: queue 0 '
                                   r'enabled with queue size',
                                   r'testdev: sync status after a looping chain 0x4f\b',
                                   r'descriptor chain loops',
                                   r'testdev: sync status after a buffer in the MMIO hole 0x4f\b',
                                   r'buffer outside guest RAM', DONE]),
}
