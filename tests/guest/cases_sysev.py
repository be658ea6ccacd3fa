"""System-event cases (guests/tests_sysev.c): the STI interrupt shadow with
an interrupt pending, a #PF's precise RIP inside a translated block (64-bit
images)."""
DONE = r'test guest done'
_64 = ['64']
CASES = {
    'sti-shadow-irq': dict(status=0, stderr=[DONE], images=_64),
    'sti-shadow-hlt': dict(status=0, stderr=[DONE], images=_64),
    'pf-precise': dict(status=0, stderr=[DONE], images=_64),
    'swapgs-fast': dict(status=0, stderr=[DONE], images=_64),
    'swapgs-cpl1': dict(status=0, stderr=[DONE], images=_64),
    'syscall-cpl0': dict(status=0, stderr=[DONE], images=_64),
    'sysret-user': dict(status=0, stderr=[DONE], images=_64),
    'sti-irq-prompt': dict(status=0, stderr=[DONE], images=_64),
    'iret-irq-prompt': dict(status=0, stderr=[DONE], images=_64),
    'popf-irq-prompt': dict(status=0, stderr=[DONE], images=_64),
    'sysret-irq-prompt': dict(status=0, stderr=[DONE], images=_64),
    'sysret-state': dict(status=0, stderr=[DONE], images=_64),
    'sysret-tf': dict(status=0, stderr=[DONE], images=_64),
    'syscall-fmask': dict(status=0, stderr=[DONE], images=_64),
    'sysret-rights': dict(status=0, stderr=[DONE], images=_64),
    'rdtsc-tsd': dict(status=0, stderr=[DONE], images=_64),
    'tsc-rate': dict(status=0, stderr=[DONE], images=_64),
}
