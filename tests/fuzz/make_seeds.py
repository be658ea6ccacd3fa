#!/usr/bin/env python3
"""Write small seed images for the boot fuzz targets.

usage: make_seeds.py OUTDIR   -> OUTDIR/{bzimage,pvh,multiboot}/seed-*
Seeds are tiny valid images (a bzImage header, ELF32/ELF64 with a PVH note,
multiboot ELF and a.out-kludge images) so the fuzzer starts past the magic
numbers."""
import os
import struct
import sys


def bzimage(version=0x20F, xlf=0x3, sects=1, payload=512):
    setup = ((sects or 4) + 1) * 512
    d = bytearray(setup + payload)
    d[0x1F1] = sects
    struct.pack_into("<H", d, 0x1FE, 0xAA55)
    d[0x200:0x202] = b"\xeb\x6a"
    d[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", d, 0x206, version)
    d[0x211] = 1
    struct.pack_into("<I", d, 0x22C, 0x7FFFFFFF)
    struct.pack_into("<I", d, 0x230, 0x200000)
    d[0x234] = 1
    struct.pack_into("<H", d, 0x236, xlf)
    struct.pack_into("<I", d, 0x238, 2047)
    struct.pack_into("<Q", d, 0x258, 0x1000000)
    struct.pack_into("<I", d, 0x260, 0x100000)
    for i in range(payload):
        d[setup + i] = (i * 7) & 0xFF
    return bytes(d)


def elf(is64, machine, entry, segs):
    """segs: list of (type, paddr, vaddr, data, memsz, align)."""
    eh, ph = (64, 56) if is64 else (52, 32)
    off = eh + ph * len(segs)
    hdr = bytearray(eh)
    hdr[0:4] = b"\x7fELF"
    hdr[4] = 2 if is64 else 1
    hdr[5] = hdr[6] = 1
    if is64:
        struct.pack_into("<HHIQQQIHHHHHH", hdr, 16, 2, machine, 1, entry, eh, 0,
                         0, eh, ph, len(segs), 0, 0, 0)
    else:
        struct.pack_into("<HHIIIIIHHHHHH", hdr, 16, 2, machine, 1, entry, eh, 0,
                         0, eh, ph, len(segs), 0, 0, 0)
    phdrs, body = bytearray(), bytearray()
    for (typ, paddr, vaddr, data, memsz, align) in segs:
        o = off + len(body)
        if is64:
            phdrs += struct.pack("<IIQQQQQQ", typ, 7, o, vaddr, paddr, len(data),
                                 memsz, align)
        else:
            phdrs += struct.pack("<IIIIIIII", typ, o, vaddr, paddr, len(data),
                                 memsz, 7, align)
        body += data
    return bytes(hdr + phdrs + body)


def pvh_note(entry, descsz):
    desc = struct.pack("<Q" if descsz == 8 else "<I", entry)
    return struct.pack("<III", 4, descsz, 18) + b"Xen\0" + desc


def mb_header(flags, extra=b""):
    return struct.pack("<III", 0x1BADB002, flags, (-(0x1BADB002 + flags)) & 0xFFFFFFFF) + extra


def main():
    out = sys.argv[1]
    seeds = {
        "bzimage": [bzimage(), bzimage(version=0x206, xlf=0), bzimage(sects=0)],
        "pvh": [
            elf(True, 62, 0, [(1, 0x1000000, 0xFFFFFFFF81000000, b"\x90" * 64, 0x2000, 0x200000),
                              (4, 0, 0, pvh_note(0x1000010, 8), 0, 4)]),
            elf(False, 3, 0, [(1, 0x100000, 0x100000, b"\x90" * 64, 0x1000, 0x1000),
                              (4, 0, 0, pvh_note(0x100000, 4), 0, 4)]),
            elf(False, 3, 0, [(1, 0x8000, 0x8000, b"\x90" * 64, 0x1000, 0x1000),
                              (4, 0, 0, pvh_note(0x8000, 4), 0, 4)]),
        ],
        "multiboot": [
            elf(False, 3, 0x100000, [(1, 0x100000, 0x100000, mb_header(3) + b"\xf4" * 52, 0x2000, 0x1000)]),
            elf(True, 62, 0xFFFFFFFF80100010,
                [(1, 0x100000, 0xFFFFFFFF80100000, mb_header(2) + b"\xf4" * 52, 0x1000, 0x1000)]),
            mb_header(0x10002, struct.pack("<IIIII", 0x200000, 0x200000, 0, 0x204000, 0x200020)) + b"\xf4" * 96,
            # below 1 MiB, as test kernels link (0x8000)
            mb_header(0x10002, struct.pack("<IIIII", 0x8000, 0x8000, 0, 0x9000, 0x8020)) + b"\xf4" * 96,
            elf(False, 3, 0x8000, [(1, 0x8000, 0x8000, mb_header(3) + b"\xf4" * 52, 0x2000, 0x1000)]),
        ],
    }
    for kind, items in seeds.items():
        d = os.path.join(out, kind)
        os.makedirs(d, exist_ok=True)
        for i, blob in enumerate(items):
            with open(os.path.join(d, "seed-%d" % i), "wb") as f:
                f.write(blob)


if __name__ == "__main__":
    main()
