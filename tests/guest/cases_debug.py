"""Guest cases for debug exceptions (guests/tests_debug.c): 64-bit images."""
DONE = r'test guest done'
_64 = ['64']
CASES = {
    'db-single-step': dict(status=0, stderr=[r'testdev: sync single-step traps 0x3\b', DONE],
                           images=_64),
    'db-step-shadow': dict(status=0, stderr=[DONE], images=_64),
    'db-step-int3': dict(status=0, stderr=[DONE], images=_64),
    'db-step-rep': dict(status=0, stderr=[DONE], images=_64),
    'db-insn-bp': dict(status=0, stderr=[DONE], images=_64),
    'db-data-bp': dict(status=0, stderr=[DONE], images=_64),
    'db-general-detect': dict(status=0, stderr=[DONE], images=_64),
    'db-icebp': dict(status=0, stderr=[DONE], images=_64),
    'db-mov-dr': dict(status=0, stderr=[DONE], images=_64),
}
