"""PCID and INVPCID cases (guests/tests_pcid.c): the #GP rules of CR4.PCIDE,
MOV CR3 and INVPCID, and what each invalidation drops (64-bit images);
CR4.PCIDE outside IA-32e mode (32-bit images)."""
DONE = r'test guest done'
CASES = {
    'pcid': dict(status=0, stderr=[DONE, r'no-flush CR3 keeps',
                                   r'INVPCID types 0, 1 and 3',
                                   r'global entries: kept across flushes'], images=['64']),
    'tlb-invalidate': dict(status=0, stderr=[DONE, r'CR4.PGE cleared and set',
                                             r'INVLPG in a 2 MiB page drops the whole page',
                                             r'twelve PCIDs|no PCID/INVPCID'], images=['64']),
    'pcid-legacy': dict(status=0, stderr=[DONE, r'CR4.PCIDE outside IA-32e mode'],
                        images=['32']),
}
