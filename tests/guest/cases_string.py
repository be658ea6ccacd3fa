"""REP MOVS stopped midway (guests/tests_string.c): a #PF at a missing
destination or source page with the registers of the elements before it,
then resumed; a long copy interrupted by the LAPIC timer with rCX partly
counted down, and the copy exact (64-bit images)."""
DONE = r'test guest done'
CASES = {
    'rep-movs-fault': dict(status=0, stderr=[DONE, r'#PF at the destination.s missing page, resumed',
                                             r'#PF at the source.s missing page'],
                           images=['64']),
    'rep-movs-timer': dict(status=0, stderr=[DONE, r'interrupted mid-string'], images=['64']),
}
