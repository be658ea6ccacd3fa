"""Hostile-guest cases (guests/tests_hostile*.c): the VMM stays within its
memory budget and stops a machine that can never run again
(docs/memory-budget.md, docs/DESIGN.md "No progress"); memory, descriptor
tables and page tables beyond RAM and in the MMIO hole, interrupt and
register storms, self-modifying code, INIT/SIPI abuse and reset loops each
end with a guest-visible result or a stopped VM with its reason, within the
runner's timeout and the memory budget (docs/SECURITY.md)."""

STUCK = r'no vCPU can make progress: '
CASES = {
    # One vCPU: INIT to self leaves it waiting for SIPI forever.
    'init-all': dict(status=4, stderr=[r'testdev: sync INIT to all including self',
                                      r'vCPU 0: waits for a startup IPI \(SIPI\): '
                                      r'the machine cannot continue'],
                     absent=[r'still running', r'test guest done']),
    # Two vCPUs: INIT to all including self: both wait for SIPI.
    'init-all-smp': dict(test='init-all', args=['--cpus', '2'], status=4,
                         stderr=[r'testdev: sync INIT to all including self',
                                 STUCK + r'vCPU 0 waits for a startup IPI \(SIPI\); '
                                 r'vCPU 1 waits for a startup IPI \(SIPI\)'],
                         absent=[r'still running', r'test guest done']),
    # Two vCPUs, the second never started: cli; hlt on the first.
    'hlt-noirq-smp': dict(test='hlt-noirq', args=['--cpus', '2'], status=4,
                          stderr=[STUCK + r'vCPU 0 halted with interrupts disabled '
                                  r'\(cli; hlt\); vCPU 1 waits for a startup IPI'],
                          absent=[r'test guest done']),
    # Not stuck: sti; hlt waiting for PIT ticks while the AP waits for SIPI
    # (a halted vCPU that an interrupt can wake is never counted).
    'hlt-irq-smp': dict(test='hlt-irq', args=['--cpus', '2'], status=0,
                        stderr=[r'testdev: sync ticks 0xa\b', r'test guest done'],
                        absent=[r'no vCPU can make progress']),
    # Execute from every byte offset of 64 pages, twice: without a bound on
    # the decoded-block cache this took 1085 MB; the budget for a 32 MiB
    # guest with one vCPU is 32 + 8 + 66 = 106 MiB (docs/memory-budget.md).
    'exec-every-offset': dict(status=0, max_rss_mb=106, max_own_mb=8 + 66,
                              stderr=[r'testdev: sync pages of code 0x40\b',
                                      r'testdev: sync entry points executed 0x80000\b',
                                      r'test guest done']),

}

# The memory budget of docs/memory-budget.md for the runner's 32 MiB guest:
# 32 + 8 + 66 MiB per soft vCPU in all (max_rss_mb, the peak), 8 + 66 MiB
# per soft vCPU of ringvm's own (max_own_mb: guest RAM excluded, sampled).
BUDGET_1 = 32 + 8 + 66
BUDGET_2 = 32 + 8 + 2 * 66
OWN_1 = 8 + 66
OWN_2 = 8 + 2 * 66


def _done(*syncs, **kw):
    """A case that must end with the guest's DONE, the syncs seen."""
    c = dict(status=0, stderr=[r'testdev: sync ' + s for s in syncs] + [r'test guest done'],
             max_rss_mb=BUDGET_1, max_own_mb=OWN_1)
    c.update(kw)
    return c


CASES.update({
    # guests/tests_hostile_mem.c
    'oob-string': _done(r'rep stosb across the end of RAM 0x80\b',
                        r'rep movs across the end of RAM 0x40\b',
                        r'rep cmps/scas across the end of RAM 0x20\b',
                        r'rep ins/outs across the end of RAM 0x10\b',
                        r'rep string in the MMIO hole 0x1000\b',
                        r'rep stosb wrapping at 4 GiB 0x10\b'),
    'oob-stack': _done(r'stack beyond RAM: pops read all-ones 0xf+\b'),
    'oob-atomic': _done(r'locked operations on devices, the hole and the end of RAM 0x0\b',
                        r'LAPIC page by REP MOVSD/STOSD 0x400\b'),
    'oob-gdt': _done(r'descriptor beyond RAM: #GP for SS 0x30\b'),
    # The IDT beyond RAM: no exception can be delivered, the CPU shuts down.
    'oob-idt': dict(status=4, max_rss_mb=BUDGET_1, max_own_mb=OWN_1,
                    stderr=[r'testdev: sync IDT beyond the end of RAM 0x2000000\b',
                            r'(?i)triple fault'],
                    absent=[r'test guest done', r'survived']),
    'exec-oob': _done(r'code in a device window runs its new bytes 0x40\b',
                      r'an instruction across the end of RAM loads 0xffffff11\b',
                      images=['64']),
    'oob-tss': _done(r'IST stack from a TSS beyond RAM: #PF at 0xffffffffffffff[0-9a-f]{2}\b',
                     images=['64']),
    'oob-cr3': dict(status=4, max_rss_mb=BUDGET_1, max_own_mb=OWN_1, images=['64'],
                    stderr=[r'testdev: sync CR3 beyond the end of RAM 0x2001000\b',
                            r'(?i)triple fault'],
                    absent=[r'test guest done', r'survived']),
    'oob-pagetable': _done(r'page tables beyond RAM: #PF; pages beyond RAM: all-ones 0x0\b',
                           images=['64']),
    # guests/tests_hostile_irq.c
    # at least 1000 interrupts taken while checked work goes on (the guest
    # works until then: a tick count is not a speed test)
    'storm-pit': _done(r'pit storm ticks taken 0x3e8\b'),
    'storm-lapic-timer': _done(r'lapic timer storm ticks taken 0x3e8\b'),
    'storm-self-ipi': _done(r'self-IPIs taken 0x3e8\b'),
    # --stats: the board's IOAPIC sent at least the 1000 PIT interrupts
    # (the soft engine's board irqchip; kvm's in-kernel one has no such line).
    'storm-ioapic': _done(r'ioapic storm interrupts 0x3e8\b', args=['--stats'],
                          stderr_on={'soft': [r'board irqchip: [1-9][0-9]{3,} IOAPIC interrupt '
                                              r'messages, 0 MSIs']}),
    'storm-pio': _done(r'port accesses 0x18000\b'),
    'storm-mmio': _done(r'mmio accesses 0x4000\b'),
    # 30 resets by i8042, ACPI reset register and triple fault in turn;
    # the reset messages are rate-limited (10 per 5 s, robustness.md).
    'reset-loop': _done(r'reset count 0x0\b', r'reset count 0x1d\b', r'reset count 0x1e\b',
                        args=['--on-reset', 'restart', '--on-triple-fault', 'reset'],
                        max_count={r'machine reset requested|triple fault: resetting': 20}),
    # guests/tests_hostile_smp.c
    'smc-straddle': _done(r'straddling instruction rewritten 0x7d0\b'),
    'smc-smp': _done(r'rewrites seen by the other vCPU 0x1f4\b', r"the AP's loop ran 0x1\b",
                     args=['--cpus', '2'], max_rss_mb=BUDGET_2, max_own_mb=OWN_2),
    # 12 resets while the AP runs (i8042, 0xcf9, triple fault in turn).
    'reset-smp': _done(r'reset count 0x0\b', r'reset count 0xb\b', r'reset count 0xc\b',
                       args=['--cpus', '2', '--on-reset', 'restart',
                             '--on-triple-fault', 'reset'],
                       max_rss_mb=BUDGET_2, max_own_mb=OWN_2,
                       max_count={r'machine reset requested|triple fault: resetting': 20}),
    'sipi-abuse': _done(r'400 SIPIs to a running AP ignored 0x1\b',
                        r'started at vectors 0, 0xa0, 0xff 0x5\b',
                        r'self INIT/SIPI/NMI ignored 0x0\b',
                        r'AP starts after 300 INIT/SIPI pairs',
                        args=['--cpus', '2'], max_rss_mb=BUDGET_2, max_own_mb=OWN_2),
})
CASES['reset-loop']['stderr'].append(r'ringvm: warning: \d+ machine reset messages suppressed')
