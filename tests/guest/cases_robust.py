"""Guest cases of the host-robustness topic (guests/tests_robust.c).

The unbounded guests (serial-flood-forever, triple-fault-loop) are run by
tests/integration/robust_*.sh, which stop them from outside."""
CASES = {
    # 4096 lines as fast as the UART takes them into a regular file: the
    # bounded output ring must lose nothing when the host keeps up.
    'serial-flood': dict(status=0,
                         serial=[r'robust: flood 0 the quick brown fox',
                                 r'robust: flood 4095 the quick brown fox jumps over the lazy dog\r?\n'
                                 r'robust: flood end'],
                         stderr=[r'test guest done']),
}
