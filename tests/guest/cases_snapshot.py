"""Guest cases of snapshot/restore (guests/tests_snapshot.c).  Run alone
here (no snapshot): the guest counts its ticks to the end with its clock
checks passing.  The snapshot and the restore are driven through the API by
tests/integration/snapshot_guest.py."""
CASES = {
    'snapshot-count': dict(status=0, stderr=[r'testdev: sync snapshot-count 0x32\b',
                                             r'testdev: sync snapshot-count 0x3e8\b',
                                             r'test guest done'],
                           images=['64']),
    # Alone: both phases and the final check of every page of the area.
    'snapshot-diff': dict(status=0, stderr=[r'testdev: sync snapshot-diff 0x2\b',
                                            r'testdev: sync snapshot-diff 0x3\b',
                                            r'test guest done'],
                          images=['64']),
}
