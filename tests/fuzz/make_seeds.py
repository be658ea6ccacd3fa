#!/usr/bin/env python3
"""Write small seed images for the boot fuzz targets.

usage: make_seeds.py OUTDIR
  -> OUTDIR/{bzimage,pvh,multiboot,decode,soft_step,devices,cli,pci,virtq,fc_config,fc_api,
            virtio_net,virtio_console,virtio_rng}/seed-*
Boot seeds are tiny valid images (a bzImage header, ELF32/ELF64 with a PVH
note, multiboot ELF and a.out-kludge images) so the fuzzer starts past the
magic numbers.  decode/soft_step seeds are short instruction sequences
(hex below, hand-assembled), devices seeds are driver-like access records
(fuzz_devices.c's 7-byte format), cli seeds are argv lists.  Regression
inputs for fixed findings go in the same lists, with a comment.

The output of `make_seeds.py tests/fuzz/corpus` is committed (the corpus
in the tree, docs/fuzzing.md); tests/fuzz/run-fuzzers.sh checks that it is
in step with this script.  Inputs merged from long runs sit beside the
seed-* files under their libFuzzer names."""
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


# Instruction sequences (hex) for fuzz_decode and fuzz_soft_step: prefixes,
# ModRM/SIB forms, far transfers, system instructions, SSE/x87, VEX.
CODE_HEX = [
    "4889d8 4801c8 48f7e1 480fafc1 4883c001 f4",               # mov/add/mul/imul
    "66678b0480 f3a4 f2ae 48a5 fc f3ab",                       # prefixes, strings
    "8b4424f8 8b8c8b78563412 8b05 00000000 c3",                 # SIB, rip-relative
    "e800000000 58 ff d0 eb fe 7401 90 0f8400000000",          # call/jmp/jcc
    "0f01d0 0f01f9 0fa2 0f31 0f32 0f30 0f05 0f07",             # xgetbv/rdtscp/cpuid/rdmsr/syscall
    "cd80 cc ce cf 9c 9d fa fb",                               # int/int3/into/iret/flags
    "0f011424 0f011c24 0f0014 0f00d8 0f22d8 0f20c0 0f22e0",     # lgdt/lidt/ltr/mov cr
    "ea000001000800 ff2c24 9a0000000018 00 ca0800 cb",          # far jmp/call/ret
    "8ed8 8ec0 8ee0 0fa1 0fa9 17 1f 07",                       # segment loads
    "660f6fc1 0f28c8 f20f58c1 660fefc0 0f1f440000 0fae0424",    # SSE, nop, fxsave
    "d9e8 dec1 dd1c24 d9c9 dbe3 9b",                           # x87
    "c4e278f2c1 c4e2f9f7c2 c5f877 62f1fd4828c1",               # VEX BMI, vzeroupper, EVEX
    "f0480fb10a f0830001 4887 0a 0fc70f f00fc7 0e",             # locked RMW, cmpxchg16b
    "e460 e664 ec ee 6c 6e 66ed",                              # port I/O
    "0f0b 0fff 0f38 d60f 8f 26 2e 3e 36 64 65 67 66 f2 f3 f0 90", # junk and prefix soup
]


def code_seeds():
    return [bytes.fromhex(h.replace(" ", "")) for h in CODE_HEX]


def step_header(mode, cpl3=False, icache=True, hostile=False, cr0=0x22, cr4=0x0600,
                efer=1, rflags=0x202, regs=None):
    """fuzz_soft_step.c's 72-byte header."""
    h = bytearray(72)
    h[0] = mode | (4 if cpl3 else 0) | (8 if icache else 0) | (0x10 if hostile else 0)
    h[1] = cr0
    h[2:5] = struct.pack("<I", cr4)[:3]
    h[5] = efer
    struct.pack_into("<H", h, 6, rflags & 0xFFFF)
    regs = regs or [0x20000 + 16 * i for i in range(16)]
    for i, r in enumerate(regs):
        struct.pack_into("<I", h, 8 + 4 * i, r & 0xFFFFFFFF)
    return bytes(h)


def step_seeds():
    out = []
    codes = code_seeds()
    for i, code in enumerate(codes):
        mode = i % 4
        out.append(step_header(mode, cpl3=bool(i & 4), icache=bool(i & 1)) + code)
    # ring 3 long mode with SMAP/SMEP/PKE and the input's own GDT entries
    out.append(step_header(3, cpl3=True, hostile=True, cr0=0x33, cr4=0x700600) +
               bytes.fromhex("0e1f cd03 0f01ca 0f01cb 0f01ee 0f01ef"))
    return out


def dev(op, off, size_log2, write, value):
    """fuzz_devices.c's 7-byte access record."""
    return struct.pack("<BBBI", op, off & 0xFF, ((off >> 8) & 0xF) | (size_log2 << 4) |
                       (0x80 if write else 0), value & 0xFFFFFFFF)


def device_seeds():
    pic = b"".join(dev(5, p, 0, True, v) for p, v in
                   [(0, 0x11), (1, 0x20), (1, 0x04), (1, 0x01), (2, 0x11), (3, 0x28),
                    (3, 0x02), (3, 0x01), (1, 0xFC), (3, 0xFF)])
    pit = b"".join(dev(5, p, 0, True, v) for p, v in [(7, 0x34), (4, 0x9C), (4, 0x2E)])
    tick = dev(10, 0, 0, False, 20000000) + dev(11, 0, 0, True, 0)
    uart = b"".join(dev(0, o, 0, True, v) for o, v in
                    [(3, 0x80), (0, 1), (1, 0), (3, 0x03), (2, 0xC7), (4, 0x0B), (1, 0x0F),
                     (0, 0x41)]) + dev(1, 0, 0, False, 0x44434241) + dev(0, 0, 0, False, 0) +         dev(0, 2, 0, False, 0) + dev(0, 5, 0, False, 0)
    kbd = b"".join(dev(2, o, 0, w, v) for o, w, v in
                   [(1, True, 0xAA), (0, False, 0), (1, True, 0x60), (0, True, 0x47),
                    (1, True, 0xD1), (0, True, 0xDF), (1, True, 0xFE)])
    rtc = b"".join(dev(3, o, 0, w, v) for o, w, v in
                   [(0, True, 0x0B), (1, True, 0x72), (0, True, 0x0A), (1, True, 0x26),
                    (0, True, 0x0C), (1, False, 0)]) + dev(10, 0, 0, False, 600000000) +         dev(3, 1, 0, False, 0)
    pm = dev(4, 2, 1, True, 0x0100) + dev(4, 4, 1, True, 0x2001) + dev(4, 8, 2, False, 0) +         dev(11, 7, 0, False, 0) + dev(4, 0, 1, False, 0) + dev(4, 0x100, 0, True, 6)
    ioapic = dev(6, 0, 2, True, 0x10) + dev(6, 0x10, 2, True, 0x30) +         dev(6, 0, 2, True, 0x11) + dev(6, 0x10, 2, True, 0) + dev(9, 0, 0, True, 0) +         dev(11, 0, 0, True, 0) + dev(6, 0, 2, True, 1) + dev(6, 0x10, 2, False, 0)
    lapic = dev(7, 0xF0, 2, True, 0x1FF) + dev(7, 0x3E0, 2, True, 0xB) +         dev(7, 0x320, 2, True, 0x20040) + dev(7, 0x380, 2, True, 1000) + tick +         dev(7, 0xB0, 2, True, 0) + dev(7, 0x300, 2, True, 0x4500) +         dev(7, 0x300, 2, True, 0x4600 | 0x10) + dev(11, 2, 0, False, 0) +         dev(8, 0x1, 3, True, 0) + dev(8, 0x100 | 0x30, 2, False, 0)
    # kvmclock (op 8, off bit 11): time info at 0x1000, wall clock at
    # 0x2000, then a time info straddling the end of the 1 MiB of RAM.
    kvmclock = dev(8, 0x900 | 3, 3, True, 0x1001) + tick + dev(8, 0x900 | 2, 3, True, 0x2000) + \
        dev(8, 0x900 | 3, 3, True, 0xFFFE1) + dev(8, 0x800 | 3, 3, False, 0) + tick
    # The hostile-guest storms (guests/tests_hostile_irq.c): PIT count 1,
    # LAPIC timer periodic with count 1 and divide by 1, self-IPIs, then
    # time passing in big steps.
    storm = pic + b"".join(dev(5, p, 0, True, v) for p, v in [(7, 0x34), (4, 1), (4, 0)]) + \
        dev(7, 0xF0, 2, True, 0x1FF) + dev(7, 0x3E0, 2, True, 0xB) + \
        dev(7, 0x320, 2, True, 0x2002D) + dev(7, 0x380, 2, True, 1) + \
        dev(7, 0x300, 2, True, 0x4002D) + dev(10, 0, 0, False, 0xFFFFFFFF) + \
        dev(11, 0, 0, True, 0) + dev(7, 0xB0, 2, True, 0) + dev(10, 0, 0, False, 0xFFFFFFFF) + \
        dev(11, 0, 0, True, 0) + dev(7, 0x300, 2, True, 0x4002D) + dev(11, 8, 0, True, 0) + \
        dev(3, 0, 0, True, 0x0A) + dev(3, 1, 0, True, 0x23) + dev(3, 0, 0, True, 0x0B) + \
        dev(3, 1, 0, True, 0x42) + dev(10, 0, 0, False, 0xFFFFFFFF) + dev(11, 8, 0, False, 0)
    return [pic + pit + tick * 4, uart, kbd, rtc, pm, ioapic, lapic,
            pic + ioapic + uart + lapic + rtc, kvmclock, storm]


def pci(op, size_log2, write, addr, value, dev=0):
    """fuzz_pci.c's 10-byte record."""
    return struct.pack("<BBII", op | (dev << 3), size_log2 | (0x80 if write else 0),
                       addr & 0xFFFFFFFF, value & 0xFFFFFFFF)


def pci_seeds():
    def cfg_w(slot, off, v, sl=2):
        return pci(0, 2, True, 0, 0x80000000 | slot << 11 | (off & 0xFC)) + \
            pci(1, sl, True, off & 3, v)

    def cfg_r(slot, off, sl=2):
        return pci(0, 2, True, 0, 0x80000000 | slot << 11 | (off & 0xFC)) + \
            pci(1, sl, False, off & 3, 0)
    enum = b"".join(cfg_r(s, 0) for s in range(4)) + \
        b"".join(pci(2, 2, False, s << 15 | o, 0) for s in range(3) for o in (0, 8, 0x34))
    sizing = b"".join(cfg_w(1, 0x10 + 4 * i, 0xFFFFFFFF) + cfg_r(1, 0x10 + 4 * i)
                      for i in range(6))
    enable = cfg_w(1, 0x10, 0xC0000000) + cfg_w(1, 0x14, 0xC000) + cfg_w(1, 0x04, 7, 1) + \
        pci(3, 2, True, 0, 0x1234) + pci(4, 2, False, 0, 0)
    msix = enable + pci(3, 2, True, 0x1000, 0xFEE00000) + pci(3, 2, True, 0x1008, 0x41) + \
        pci(3, 2, True, 0x100C, 0) + cfg_w(1, 0x42, 0x8000, 1) + pci(5, 0, False, 0, 0) + \
        cfg_w(1, 0x42, 0xC000, 1) + pci(5, 0, False, 0, 0) + pci(3, 3, False, 0x1800, 0) + \
        cfg_w(1, 0x42, 0x8000, 1)
    intx = pci(6, 0, False, 0, 1) + cfg_w(1, 0x04, 0x400, 1) + pci(6, 0, False, 0, 0) + \
        pci(6, 0, False, 0, 1, dev=1) + pci(7, 0, False, 0, 0)
    overlap = enable + cfg_w(2, 0x10, 0xC0000000) + cfg_w(2, 0x04, 2, 1) + \
        cfg_w(1, 0x10, 0xC0100000) + pci(2, 3, True, 1 << 15 | 0x4C, 0xFFFFFFFF)
    return [enum, sizing, enable, msix, intx, overlap, enum + sizing + msix + intx + overlap]


def cli_seeds():
    args = [
        ["--kernel", "/dev/null"],
        ["--kernel", "/proc/self/exe", "--memory", "512M", "--cpus", "4", "--engine", "soft"],
        ["-k", "/proc/self/exe", "-m", "2G", "-c", "console=ttyS0", "--serial", "file:/tmp/x",
         "--debug-exit", "0xf4,4", "--on-reset", "exit", "--on-triple-fault", "reset"],
        ["--kernel=/proc/self/exe", "--serial=unix:/tmp/s", "--hugepages", "--stats", "-v",
         "--testdev", "--strict-mmio", "--no-debug-exit", "--initrd", "/proc/self/exe"],
        ["--memory", "1048576K", "--cpus", "65", "--debug-exit", "0xffff,2"],
        ["--kernel", "/proc/self/exe", "--drive", "path=/proc/self/exe,ro=on,id=root,serial=S1",
         "--drive", "file=/proc/self/exe,readonly=on", "--rng"],
        ["--help"],
        ["--kernel", "/proc/self/exe", "--net", "user,hostfwd=tcp:127.0.0.1:8080-:80,hostfwd=udp::53-:53,"
         "mac=52:54:00:12:34:56,id=eth0", "--net", "tap,ifname=tap0", "--vsock", "cid=3,uds=/tmp/v.sock",
         "--console", "virtio"],
    ]
    return [b"\n".join(a.encode() for a in argv) for argv in args]


def virtq_seeds():
    """fuzz_virtio.h's header + memory image: a queue of 8 at 0 (desc),
    0x1000 (avail), 0x2000 (used), one chain per seed (a virtio-blk
    request: header at 0x3000, data at 0x4000, status at 0x5000)."""
    def image(descs, heads, flags=0, pops=8, extra=()):
        mem = bytearray(0x6000)
        for i, (addr, ln, fl, nxt) in enumerate(descs):
            struct.pack_into("<QIHH", mem, 16 * i, addr, ln, fl, nxt)
        struct.pack_into("<HH", mem, 0x1000, 0, len(heads))
        for i, h in enumerate(heads):
            struct.pack_into("<H", mem, 0x1004 + 2 * i, h)
        struct.pack_into("<IIQ", mem, 0x3000, 0, 0, 8)     # IN, sector 8
        for off, blob in extra:
            mem[off:off + len(blob)] = blob
        # flags bits 2-7: fuzz_blk_req's disk size, 97 sectors a step.
        return struct.pack("<HBBIII", 8, flags | (21 << 2), pops, 0, 0x1000, 0x2000) + bytes(mem)
    rw = [(0x3000, 16, 1, 1), (0x4000, 512, 3, 2), (0x5000, 1, 2, 0)]
    ind = [(0x4800, 48, 4, 0)]
    table = b"".join(struct.pack("<QIHH", *d) for d in rw)
    discard = struct.pack("<IIQ", 11, 0, 0) + struct.pack("<QII", 0, 8, 0)
    return [
        image(rw, [0]),
        image(rw, [0, 0, 0], flags=1),                            # event idx
        image(ind, [0], extra=[(0x4800, table)]),                 # indirect
        image([(0x3000, 32, 1, 1), (0x5000, 1, 2, 0)], [0], extra=[(0x3000, discard)]),
        image([(0x3000, 16, 1, 1), (0x4000, 512, 1, 0)], [0]),    # a loop
    ]

# Device-level virtio targets (fuzz_virtio.h, FUZZ_VIRTIO_DEVICE): the
# 16-byte header, 8-byte records, then the guest-memory image (under 4 KiB,
# so scripts/fuzz-long.sh's merges keep them whole).  Queue q's rings at
# 0x000/0x200/0x300 + q * 0x400 (desc/avail/used); buffer contents from
# 0xc00; other buffers lie in the zeroed RAM beyond the image.
def vrec(op, a=0, b=0, v=0):
    return struct.pack("<BBHI", op, a, b, v & 0xFFFFFFFF)


def vdev_input(queues, recs, size=8, flags=0, extra=()):
    """queues: per queue (descriptors (addr, len, flags, next), avail heads)."""
    mem = bytearray(0xC00)
    for q, (descs, heads) in enumerate(queues):
        base = 0x400 * q
        for i, (addr, ln, fl, nxt) in enumerate(descs):
            struct.pack_into("<QIHH", mem, base + 16 * i, addr, ln, fl, nxt)
        struct.pack_into("<HH", mem, base + 0x200, 0, len(heads))
        for i, h in enumerate(heads):
            struct.pack_into("<H", mem, base + 0x204 + 2 * i, h)
    for off, blob in extra:
        if off + len(blob) > len(mem):
            mem.extend(bytes(off + len(blob) - len(mem)))
        mem[off:off + len(blob)] = blob
    body = b"".join(recs)
    hdr = struct.pack("<HBBIII", size, flags, len(recs), 0x000, 0x200, 0x300)
    return hdr + body + bytes(mem)


W, N, I = 2, 1, 4          # descriptor flags WRITE, NEXT, INDIRECT


def vdev_common_recs(nq):
    """Register-level abuse shared by the device seeds: config space reads
    of every size, a reset, a second initialisation with EVENT_IDX, a queue
    programmed with size 7 and rings in the MMIO hole, an avail jump."""
    return [vrec(2, s, 0x2000 + o) for s in range(4) for o in (0, 4, 6)] + [
        vrec(2, 0, 0x1000), vrec(9, 0), vrec(0, 0, 0, 1 << 29), vrec(3, nq - 1),
        vrec(1, 1, 0x16, 0), vrec(1, 1, 0x18, 7), vrec(1, 3, 0x20, 0xFEC00000),
        vrec(1, 1, 0x1C, 1), vrec(2, 0, 0x14), vrec(9, 1), vrec(0),
        vrec(7, nq - 1, 300), vrec(3, nq - 1), vrec(8, 3), vrec(9, 1)]


def virtio_net_seeds():
    arp = bytes(12) + bytes.fromhex("ffffffffffff525400aabbcc0806000108000604000152"
                                    "5400aabbcc0a00020f0000000000000a000202")
    rx = ([(0x10000, 12 + 1514, W, 0), (0x11000, 100, W, 0), (0x12000, 12, W | N, 3),
           (0x12100, 1600, W, 0)], [0, 1, 2])
    tx = ([(0xC00, len(arp), 0, 0), (0xC00, 12, 0, 0), (0xC00, 5, N, 3),
           (0xC05, len(arp) - 5, 0, 0), (0x13000, 100, W, 0), (0xC00, 0x10000, 0, 0)],
          [0, 1, 2, 4, 5])
    extra = [(0xC00, arp)]
    flow = [vrec(4, 1, 0, 60), vrec(4, 2, 0, 1600), vrec(4, 3, 0, 0), vrec(3, 1), vrec(3, 0),
            vrec(5), vrec(4, 4, 0, 1514), vrec(4, 5, 0, 42), vrec(5), vrec(3, 2)]
    refill = [vrec(4, 1, 0, 60)] * 4 + [vrec(6, 1, 0, 0x204), vrec(7, 0, 1), vrec(3, 0),
                                        vrec(5), vrec(6, 3, 0, 0x000), vrec(7, 0, 2)]
    return [
        vdev_input([rx, tx], flow, extra=extra),
        vdev_input([rx, tx], flow, flags=1 | 4, extra=extra),           # EVENT_IDX, MSI-X
        vdev_input([rx, tx], [vrec(3, 1), vrec(8, 1), vrec(3, 1)] + flow, flags=2, extra=extra),
        vdev_input([rx, tx], refill + flow, size=4, extra=extra),
        vdev_input([rx, tx], vdev_common_recs(2) + flow, extra=extra),
        vdev_input([rx, tx], [vrec(0), vrec(3, 1), vrec(4, 0, 0, 100), vrec(5)], flags=8,
                   extra=extra),
    ]


def virtio_console_seeds():
    rx = ([(0x10000, 64, W, 0), (0x11000, 0, W, 0), (0x12000, 16, W | N, 3),
           (0x12100, 4096, W, 0)], [0, 1, 2])
    # an indirect table naming the same 32 KiB three times: > 64 KiB in one chain
    table = b"".join(struct.pack("<QIHH", 0x20000, 0x8000, N, i + 1) for i in range(2)) + \
        struct.pack("<QIHH", 0x20000, 0x8000, 0, 0)
    tx = ([(0xC00, 5, 0, 0), (0xC00, 2, N, 2), (0xC02, 3, N, 3), (0xC05, 8, 0, 0),
           (0xD00, 48, I, 0), (0x13000, 100, W, 0)], [0, 1, 4, 5])
    extra = [(0xC00, b"hello, world!"), (0xD00, table)]
    flow = [vrec(4, 0x41, 0, 100), vrec(3, 1), vrec(3, 0), vrec(5), vrec(4, 0x61, 0, 4095),
            vrec(5), vrec(1, 2, 0x2000, 0x41), vrec(2, 2, 0x2000), vrec(3, 2)]
    return [
        vdev_input([rx, tx], flow, extra=extra),
        vdev_input([rx, tx], flow, flags=1 | 4, extra=extra),
        vdev_input([rx, tx], [vrec(4, 1, 0, 300), vrec(8, 1)] + flow, flags=2, extra=extra),
        vdev_input([rx, tx], vdev_common_recs(2) + flow, extra=extra),
        vdev_input([rx, tx], [vrec(6, 1, 0, 0x202), vrec(7, 0, 2), vrec(3, 0), vrec(5)] * 3,
                   size=4, extra=extra),
        # input waits for buffers: (the start's wake-ups handled) one 64-byte
        # buffer, 300 bytes typed, then the driver adds the 4 KiB chain and
        # notifies: the rest must flow
        vdev_input([(rx[0], [0]), tx], [vrec(5), vrec(4, 0x30, 0, 300), vrec(6, 1, 2, 0x206),
                                        vrec(7, 0, 1), vrec(3, 0), vrec(5)], extra=extra),
    ]


def virtio_rng_seeds():
    table = struct.pack("<QIHH", 0x11000, 32, W | N, 1) + struct.pack("<QIHH", 0x12000, 32, W, 0)
    q = ([(0x10000, 64, W, 0), (0x11000, 16, 0, 0), (0x12000, 8192, W, 0), (0xC00, 32, I, 0),
          (0x13000, 16, N, 5), (0x14000, 16, W, 0)], [0, 1, 2, 3, 4])
    extra = [(0xC00, table)]
    return [
        vdev_input([q], [vrec(3, 0), vrec(3, 1)], extra=extra),
        vdev_input([q], [vrec(3, 0)], flags=1 | 4, extra=extra),
        vdev_input([q], vdev_common_recs(1) + [vrec(3, 0)], extra=extra),
        vdev_input([q], [vrec(7, 0, 1), vrec(3, 0), vrec(6, 1, 0, 0x202), vrec(3, 0)], size=2,
                   extra=extra),
        # regression: INTx raised, then status 0 and a machine reset; the line
        # stayed up with the ISR byte cleared (fixed: virtio_pci.c vp_intx_sync)
        vdev_input([q], [vrec(3, 0), vrec(9, 0), vrec(0), vrec(3, 0), vrec(9, 1)], extra=extra),
    ]


FC_CONFIG = {
    "boot-source": {"kernel_image_path": "/proc/self/exe", "initrd_path": None,
                    "boot_args": "console=ttyS0 reboot=k panic=1 pci=off"},
    "drives": [{"drive_id": "rootfs", "partuuid": None, "is_root_device": True,
                "cache_type": "Unsafe", "is_read_only": False, "path_on_host": "/proc/self/exe",
                "io_engine": "Sync", "rate_limiter": None, "socket": None}],
    "machine-config": {"vcpu_count": 2, "mem_size_mib": 1024, "smt": False,
                       "track_dirty_pages": False, "huge_pages": "None"},
    "network-interfaces": [{"iface_id": "eth0", "guest_mac": "06:00:AC:10:00:02",
                            "host_dev_name": "tap0"}],
    "vsock": {"guest_cid": 3, "uds_path": "/tmp/v.sock"}, "entropy": {},
    "logger": {"level": "Info"}, "metrics": None, "balloon": None, "mmds-config": None,
    "ringvm": {"engine": "soft", "testdev": False},
}


def fc_config_seeds():
    import json
    return [json.dumps(FC_CONFIG).encode(), b"{}", b'{"machine-config": {"vcpu_count": 65}}',
            b'{"drives": [{"drive_id": "a~/b", "rate_limiter": {"ops": {"size": 1}}}]}']


def fc_api_seeds():
    import json
    reqs = [
        ("GET /", None),
        ("PUT /boot-source", FC_CONFIG["boot-source"]),
        ("PUT /machine-config", FC_CONFIG["machine-config"]),
        ("PATCH /machine-config", {"mem_size_mib": 256}),
        ("PUT /drives/rootfs", FC_CONFIG["drives"][0]),
        ("PUT /network-interfaces/eth0", FC_CONFIG["network-interfaces"][0]),
        ("PUT /vsock", FC_CONFIG["vsock"]), ("PUT /entropy", {}),
        ("PUT /actions", {"action_type": "InstanceStart"}),
        ("PATCH /vm", {"state": "Paused"}), ("GET /vm/config", None),
        ("PATCH /vm", {"state": "Resumed"}),
        ("PATCH /drives/rootfs", {"drive_id": "rootfs", "rate_limiter": None}),
        ("PUT /actions", {"action_type": "FlushMetrics"}),
        ("PUT /snapshot/create", {}), ("DELETE /x", None),
    ]
    recs = [(r + "\n" + (json.dumps(b) if b is not None else "")).encode() for r, b in reqs]
    return [b"\xff".join(recs), b"PUT /machine-config\n{\"vcpu_count\": 1,"]


def vsock_rec(ctl, op, src_port, dst_port, payload=b"", flags=0, buf_alloc=65536, fwd=0):
    """fuzz_vsock record: control byte, virtio_vsock_hdr (44 bytes), payload."""
    hdr = struct.pack("<QQIIIHHIII", 3, 2, src_port, dst_port, len(payload), 1, op, flags,
                      buf_alloc, fwd)
    return bytes([ctl]) + hdr + payload


def vsock_seeds():
    pull = 0x01 | 0x04 | 0x08 | (7 << 5)
    conn = vsock_rec(pull | 0x10, 1, 1000, 1)                   # REQUEST to port 1
    rw = vsock_rec(pull, 5, 1000, 1, b"hello")                  # RW
    return [
        conn + rw + vsock_rec(pull, 7, 1000, 1) + vsock_rec(pull, 4, 1000, 1, flags=3),
        conn + rw + vsock_rec(pull, 6, 1000, 1, buf_alloc=4, fwd=0) + vsock_rec(pull, 3, 1000, 1),
        vsock_rec(pull, 1, 1000, 2) + vsock_rec(pull, 5, 7, 7, b"x" * 40),
        vsock_rec(pull | 0x02, 5, 1000, 1, b"abc") + vsock_rec(0x04, 1, 1, 1),
    ]


def main():
    out = sys.argv[1]
    seeds = {
        "decode": code_seeds(),
        "soft_step": step_seeds(),
        "devices": device_seeds(),
        "cli": cli_seeds(),
        "vsock": vsock_seeds(),
        "pci": pci_seeds(),
        "virtq": virtq_seeds(),
        "virtio_net": virtio_net_seeds(),
        "virtio_console": virtio_console_seeds(),
        "virtio_rng": virtio_rng_seeds(),
        "fc_config": fc_config_seeds(),
        "fc_api": fc_api_seeds(),
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
