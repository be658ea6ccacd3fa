"""SSE floating point with the guest's MXCSR kept in the host's by the soft
engine's translator (guests/tests_simd.c): 1/3 rounded per MXCSR.RC with
the mode changed between runs of one translated block; #XM raised at the
DIVSS of a block with ZM unmasked, the instructions before it retired
(64-bit images)."""
DONE = r'test guest done'
CASES = {
    'simd-mxcsr-round': dict(status=0, stderr=[DONE, r'1/3 rounded per MXCSR.RC across translated runs 0x40\b'],
                             images=['64']),
    'simd-loop-round': dict(status=0, stderr=[DONE, r'3\^16 rounded per MXCSR.RC in a translated loop 0x40\b'],
                            images=['64']),
    'simd-xm-precise': dict(status=0, stderr=[DONE, r'#XM at the DIVSS of a translated block 0x28\b'],
                            images=['64']),
}
