"""Platform corners (guests/tests_platform.c): unclaimed MMIO, CLFLUSH on
device memory, the LAPIC's global disable, x2APIC, relocation, and images
loaded below 1 MiB.  Keys as documented in run_guest_test.py."""

DONE = r'test guest done'
UNCLAIMED_LOG = r'MMIO %s at unclaimed guest-physical address 0x0*%s \(rip 0x[0-9a-f]+\): %s'

CASES = {
    # Absent devices: all-ones, writes dropped, the VM goes on; each address
    # logged once (0xfd000000 is read first, so its write is not logged),
    # at most 16 addresses, every access counted in --stats.
    'mmio-unclaimed': dict(
        args=['--stats'], status=0,
        stderr=[UNCLAIMED_LOG % ('read', 'fd000000', 'reads all-ones'),
                UNCLAIMED_LOG % ('read', 'fd000004', 'reads all-ones'),
                UNCLAIMED_LOG % ('write', 'fd000100', 'dropped'),
                r'more than 16 unclaimed MMIO addresses: no more are logged',
                r'unclaimed: \d+ port accesses, 68 MMIO reads \(all-ones\), '
                r'2 MMIO writes \(dropped\)',
                r'testdev: sync unclaimed mmio reads all-ones 0xffffffff\b', DONE],
        absent=[UNCLAIMED_LOG % ('write', 'fd000000', 'dropped'),
                r'unclaimed guest-physical address 0x0*fd0010[6-9a-f]0\b',
                r'unclaimed guest-physical address 0x0*fd0011']),
    # --strict-mmio: any read of unclaimed MMIO would stop the VM, so a
    # passing run shows CLFLUSH/CLFLUSHOPT/CLWB never read the line.
    'clflush': dict(args=['--strict-mmio'], status=0,
                    stderr=[r'testdev: sync clflush ok 0x1\b', DONE],
                    absent=[r'unclaimed guest-physical']),
    # The same without --strict-mmio, for kvm_pvm, whose instruction emulator
    # reads CLFLUSH's operand: the unclaimed read must not stop the VM.
    'clflush-nostrict': dict(test='clflush', status=0,
                             stderr=[r'testdev: sync clflush ok 0x1\b', DONE]),
    # The soft engine advertises CLFLUSHOPT and CLWB and runs them the same.
    'clflush-opt': dict(args=['--strict-mmio'], status=0,
                        stderr=[r'testdev: sync clflushopt, clwb 0x3\b',
                                r'testdev: sync clflush ok 0x1\b', DONE],
                        absent=[r'unclaimed guest-physical']),
    'apic-disable': dict(status=0,
                         stderr=[r'testdev: sync svr after re-enable 0x[0-9a-f]+', DONE]),
    # The soft engine returns a globally disabled APIC to its power-up state
    # (SDM vol. 3, 10.4.7.1): SVR 0xff, TPR 0.
    # Its xAPIC page is gone while disabled: the read reaches the machine's
    # unclaimed-MMIO policy (KVM answers it in the kernel).
    'apic-disable-reset': dict(test='apic-disable', status=0,
                               stderr=[r'unclaimed guest-physical address 0x0*fee00030',
                                       r'testdev: sync svr after re-enable 0xff\b',
                                       r'testdev: sync tpr after re-enable 0x0\b', DONE]),
    'x2apic': dict(status=0, stderr=[r'testdev: sync x2apic ok 0x1\b', DONE]),
    # Multiboot images linked at 0x8000 (ELF32, a.out kludge, ELF64).
    'lowload': dict(status=0, stderr=[r'testdev: sync image at 0x8000\b', DONE],
                    images=['-low']),
    # Two vCPUs: the AP sees RAM where the BSP has moved its APIC.
    'apic-relocate-smp': dict(args=['--cpus', '2'], status=0,
                              stderr=[r"testdev: sync ap saw ram under the bsp's apic "
                                      r"0xdeadbeef\b", DONE],
                              images=['guest-mb32.elf', 'guest-mb64.elf']),
    # A guest-written IA32_TSC: the TSC deadline and kvmclock follow the
    # vCPU's TSC (each check fails with the deadline or kvmclock on the
    # machine's TSC, or with the write not re-arming the deadline).
    'tsc-write': dict(status=0,
                      stderr=[r'testdev: sync kvmclock step at the tsc write under 1 s 0x1\b',
                              r'testdev: sync deadline reads back as written 0x1\b',
                              r'testdev: sync deadline after the tsc write fired 0x1\b',
                              r'testdev: sync deadline passed by a tsc write fired 0x1\b', DONE]),
    'apic-relocate': dict(status=0,
                          stderr=[r'testdev: sync apic relocated and back 0x1\b', DONE]),
}
