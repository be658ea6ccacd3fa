"""Memory protection cases (guests/tests_protect.c): SMEP, SMAP, STAC/CLAC
and protection keys on 4-level paging (64-bit images), segment limit and
type checks in 32-bit protected mode (32-bit images)."""
DONE = r'test guest done'
CASES = {
    'smap': dict(status=0, stderr=[DONE], images=['64']),
    'smap-jit': dict(status=0, stderr=[DONE], images=['64']),
    'smep': dict(status=0, stderr=[DONE], images=['64']),
    'pku': dict(status=0, stderr=[DONE], images=['64']),
    'seg-limits': dict(status=0, stderr=[DONE], images=['32']),
}
