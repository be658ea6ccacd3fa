"""Corners the kvm-unit-tests x86 suite found (guests/tests_kut.c,
docs/kvm-unit-tests.md).  Keys as documented in run_guest_test.py."""

DONE = r'test guest done'

CASES = {
    # CR8 is TPR[7:4]: both directions, xAPIC and x2APIC, and the priority
    # holds a self-IPI back until CR8 is lowered (taken exactly once).
    'cr8-tpr': dict(status=0, stderr=[r'testdev: sync cr8 is tpr 0x1\b', DONE]),
    # CPUID leaf 0xB with two vCPUs (the AP is never started): one thread
    # per core, two cores, EDX the BSP's x2APIC ID.
    'cpuid-topology': dict(args=['--cpus', '2'], status=0,
                           stderr=[r'testdev: sync x2apic id in cpuid 0xb 0x0\b', DONE]),
    # DR6 after an instruction breakpoint with B1 and BS already set:
    # B0-B3 replaced (B0 only), BS kept.
    'dr6-bits': dict(status=0, stderr=[r'testdev: sync dr6 after an instruction breakpoint '
                                       r'0xffff4ff1\b', DONE]),
    # An instruction breakpoint right after MOV SS is not triggered (Intel);
    # the same one after a NOP is (one #DB in all).
    'movss-code-bp': dict(status=0, stderr=[r'testdev: sync code breakpoints after mov ss, '
                                            r'then without 0x1\b', DONE]),
    # IRETQ to CPL 1 with GS = a DPL-0 data selector: GS becomes null,
    # IA32_GS_BASE keeps its value.
    'iret-null-gs': dict(status=0, stderr=[r'testdev: sync gs base kept across iret to cpl 1 '
                                           r'0x1\b', DONE]),
    # MOV SS with a data breakpoint, then INT3 / INT $3: the held #DB is
    # taken at the #BP handler's first instruction, then that handler runs.
    'movss-db-int': dict(status=0, stderr=[r'testdev: sync held #db taken at the int handler\'s '
                                           r'entry 0x13\b', DONE]),
    # Two NMIs to self by back-to-back ICR writes: both taken; two more
    # sent inside the handler (NMIs blocked): one.
    'nmi-two-pending': dict(status=0, stderr=[r'testdev: sync nmis taken of two sent together '
                                              r'0x2\b', DONE]),
}
