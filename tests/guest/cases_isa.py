"""ISA-extension cases (guests/tests_isa.c): see run_guest_test.py for the keys."""
DONE = r'test guest done'
CASES = {
    # XSAVE/XRSTOR/XSAVEOPT/XSAVEC and XGETBV/XSETBV rules a host shares
    'isa-xsave': dict(status=0, stderr=[r'testdev: sync xsave done 0x3\b', DONE]),
    # the soft CPU's own XSAVE model: CPUID leaf 0xD for x87|SSE|PKRU, XCR0
    # AVX bit refused, XGETBV(1), XSAVES/XRSTORS and IA32_XSS, PKRU in both
    # formats, the advertised bits
    'isa-xsave-model': dict(status=0, stderr=[DONE]),
    'isa-bmi': dict(status=0, stderr=[DONE]),
    'isa-rand': dict(status=0, stderr=[DONE]),
}
