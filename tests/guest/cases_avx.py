"""AVX cases (guests/tests_avx.c): see run_guest_test.py for the keys.

avx-state / avx-gather: soft engine, 64-bit images.  YMM state through
XSAVE/XRSTOR/XSAVEC, CPUID leaf 0xD, VEX.128 and VZEROUPPER zeroing the
upper halves, #UD with XCR0.AVX clear, #NM with CR0.TS; a gather that
faults part-way.  A host without AVX (so a soft CPU without it) prints
"avx absent" instead of "done"."""
DONE = r'test guest done'
CASES = {
    'avx-state': dict(status=0, images=['64'],
                      stderr=[r'testdev: sync (avx state done|avx absent)', DONE],
                      absent=[r'guest assertion failed']),
    'avx-gather': dict(status=0, images=['64'],
                       stderr=[r'testdev: sync (avx gather done|avx absent)', DONE],
                       absent=[r'guest assertion failed']),
}
