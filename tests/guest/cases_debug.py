"""Guest cases for debug exceptions (guests/tests_debug.c): 32- and 64-bit
images (32-bit ones need the real IRET the runner selects for soft)."""
DONE = r'test guest done'
CASES = {
    'db-single-step': dict(status=0, stderr=[r'testdev: sync single-step traps 0x3\b', DONE]),
    'db-step-shadow': dict(status=0, stderr=[DONE]),
    'db-step-int3': dict(status=0, stderr=[DONE]),
    'db-step-rep': dict(status=0, stderr=[DONE]),
    'db-insn-bp': dict(status=0, stderr=[DONE]),
    'db-data-bp': dict(status=0, stderr=[DONE]),
    'db-general-detect': dict(status=0, stderr=[DONE]),
    'db-icebp': dict(status=0, stderr=[DONE]),
    'db-mov-dr': dict(status=0, stderr=[DONE]),
}
