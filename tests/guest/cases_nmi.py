"""Guest cases for NMIs (guests/tests_nmi.c): 64-bit images."""
DONE = r'test guest done'
_64 = ['64']
CASES = {
    'nmi-ipi': dict(status=0, stderr=[r'testdev: sync nmis 0x2\b', DONE], images=_64),
    'nmi-self-shorthand': dict(status=0, stderr=[DONE], images=_64),
    'nmi-latch': dict(status=0, stderr=[DONE], images=_64),
    'nmi-hlt': dict(status=0, stderr=[DONE], images=_64),
    'nmi-iret-fault': dict(status=0, stderr=[DONE], images=_64),
}
