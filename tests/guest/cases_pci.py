"""PCI (guests/tests_pci.c): the host bridge and the PCI test device that
--testdev adds, through both configuration mechanisms; MSI-X to the LAPIC
and INTx through the IOAPIC.  Keys as documented in run_guest_test.py."""

DONE = r'test guest done'

CASES = {
    # The host bridge and the test device, nothing else, seen the same
    # through 0xCF8/0xCFC and ECAM; BAR sizing, placement, decode, and
    # placements over RAM and the LAPIC that must not decode.
    'pci-enum': dict(status=0, stderr=[r'testdev: sync functions on bus 0 0x2\b',
                                       r'testdev: sync test device slot 0x1\b',
                                       r'testdev: sync pci enum ok 0x1\b', DONE]),
    # Masked vector pending, delivered on unmask; function mask likewise.
    # On kvm the vector is bound to an irqfd while it can fire: the one
    # message sent while unmasked goes through it, the two pending ones
    # (sent on unmask) the plain way; the soft engine has no irqfd.
    'pci-msix': dict(status=0, args=['--stats'],
                     stderr=[r'testdev: sync msix interrupts 0x3\b', DONE],
                     stderr_on={'kvm': [r'pci: 2 functions, .* 2 MSI-X messages',
                                        r'pci: 1 MSI-X messages through irqfds',
                                        r'irqfds: offered, 1 assigned'],
                                'soft': [r'board irqchip: \d+ IOAPIC interrupt messages, 3 MSIs']},
                     absent_on={'soft': [r'through irqfds'],
                                'kvm': [r'board irqchip:']}),  # in-kernel irqchip: no board
    # Plain MSI: 4 vectors, vector number in the data, per-vector mask.
    'pci-msi': dict(status=0, stderr=[r'testdev: sync msi interrupts 0x4\b', DONE]),
    # INTA# level-triggered through the IOAPIC pin of the interrupt map.
    'pci-intx': dict(status=0, stderr=[r'testdev: sync intx interrupts 0x2\b', DONE]),
    # Firecracker's boot timer (--boot-timer): one line for the first
    # signal, nothing for a wrong size, offset or value, nothing for the
    # ninety-nine signals after it.
    'boot-timer': dict(status=0, args=['--boot-timer'],
                       stderr=[r'testdev: sync boot timer before 0x0\b',
                               r'Guest-boot-time = +\d+ us \d+ ms, +\d+ CPU us \d+ CPU ms',
                               r'testdev: sync boot timer signalled 0x1\b', DONE],
                       max_count={r'Guest-boot-time': 1}),
}
