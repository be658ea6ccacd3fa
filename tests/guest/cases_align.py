"""Alignment-check cases (guests/tests_align.c): #AC(0) at CPL 3 with CR0.AM
and EFLAGS.AC for misaligned loads, stores, a read-modify-write, PUSH and
string instructions, precise (RIP at the instruction, nothing written),
also after the user code was translated; no fault when aligned, with AC or
AM clear, at CPL 0, or for bytes (64-bit images)."""
DONE = r'test guest done'
CASES = {
    'align-check': dict(status=0, stderr=[DONE], images=['64']),
}
