"""Guest cases of pause/resume (guests/tests_pause.c).  Run alone here (no
pause): the guest counts its ticks to the end.  The pause itself is
driven through the API by tests/integration/fc_pause_guest.py."""
CASES = {
    'pause-ticks': dict(status=0, stderr=[r'testdev: sync pause-ticks 0x32\b',
                                          r'testdev: sync pause-ticks 0x320\b',
                                          r'test guest done'],
                        images=['64']),
}
