"""Translated code across remapped code pages (guests/tests_jitmap.c): a
code page hot in the translator (chained, in the IBTC) remapped by INVLPG,
CR3 reloads and switches, global pages and PCIDs must run the new code; the
same guest on the interpreter (its own block links).  64-bit images."""
DONE = r'test guest done'
CHECKS = [DONE, r'INVLPG and a CR3 reload after', r'CR3 switches between spaces',
          r'global code page kept across MOV CR3',
          r'global 2 MiB code page dropped by INVLPG of another 4 KiB',
          r'PCID switches with and without|no PCID: PCID part skipped',
          r'a flush of one PCID keeps the others|no PCID: PCID part skipped|no INVPCID: INVPCID']
CASES = {
    'jitmap': dict(status=0, stderr=CHECKS, images=['64']),
    'jitmap-interp': dict(test='jitmap', args=['--soft-tier', 'interp'], status=0,
                          stderr=CHECKS, images=['64']),
}
