"""Hostile-guest cases (guests/tests_hostile.c): the VMM stays within its
memory budget and stops a machine that can never run again
(docs/memory-budget.md, docs/DESIGN.md "No progress")."""

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
    'exec-every-offset': dict(status=0, max_rss_mb=106,
                              stderr=[r'testdev: sync pages of code 0x40\b',
                                      r'testdev: sync entry points executed 0x80000\b',
                                      r'test guest done']),
}
