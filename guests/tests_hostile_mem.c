/* Hostile-guest tests: memory at and beyond the end of RAM and in the MMIO
 * hole.  String instructions, stacks, descriptor tables and page tables
 * that point where no RAM is.  ringvm treats a guest-physical address that
 * is neither RAM nor a device window as an absent device (reads all-ones,
 * writes dropped: docs/DESIGN.md, "The shared vCPU loop"), which is what a
 * PC does for a bus cycle nobody claims; the tests check exactly that, and
 * that the VMM neither crashes nor touches host memory (ASan in CI).
 *
 * The runner always gives the guest --memory 32M (tests/guest/
 * run_guest_test.py); each test first checks that the end of RAM is where
 * it expects it.  Cases: tests/guest/cases_hostile.py. */
#include "guest.h"

#define RAM_END     ((uintptr_t)0x2000000u)  /* --memory 32M */
#define HOLE_FREE   ((uintptr_t)0xFD000000u) /* unclaimed, in the MMIO hole */
#define TESTDEV_MEM ((uintptr_t)0xFE000000u) /* testdev window: scratch at 0x8 */
#define SCRATCH     ((uint8_t *)(uintptr_t)0x800000u) /* 8 MiB: free RAM */
#define UNCLAIMED_PORT 0x2a0

static void hmem_check_ram_end(void)
{
	mmio_write32(RAM_END - 4, 0x600dcafe);
	GUEST_ASSERT_EQ(mmio_read32(RAM_END - 4), 0x600dcafe);
	mmio_write32(RAM_END, 0x12345678);                  /* dropped */
	GUEST_ASSERT_EQ(mmio_read32(RAM_END), 0xffffffffu);  /* absent */
}

static void hmem_fill(uintptr_t a, uint8_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		mmio_write8(a + i, v);
}

/* The byte at a must be v, for n bytes. */
static void hmem_expect(uintptr_t a, uint8_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint8_t got = mmio_read8(a + i);
		if (got != v)
			GUEST_FAIL("byte (address, got, expected)", a + i, got, v);
	}
}

/* oob-string: REP STOS/MOVS/CMPS/SCAS/INS/OUTS across the end of RAM, in
 * the MMIO hole, backwards, and (32-bit addressing) wrapping at 4 GiB.
 * Intel SDM Vol. 2B, "REP/REPE/REPZ/REPNE/REPNZ": every iteration is an
 * ordinary access; the count and pointers advance for each. */
static void test_oob_string(void)
{
	uintptr_t di, si, cx;
	cli();
	hmem_check_ram_end();
	hmem_fill(RAM_END - 256, 0x11, 256);

	/* STOSB over the end: 64 bytes land, 64 vanish; count and pointer
	 * run to the end. */
	di = RAM_END - 64;
	cx = 128;
	__asm__ volatile("cld; rep stosb" : "+D"(di), "+c"(cx) : "a"(0x5a) : "memory");
	GUEST_ASSERT_EQ(cx, 0);
	GUEST_ASSERT_EQ(di, RAM_END + 64);
	hmem_expect(RAM_END - 65, 0x11, 1);
	hmem_expect(RAM_END - 64, 0x5a, 64);
	hmem_expect(RAM_END, 0xff, 64);
	GUEST_SYNC("rep stosb across the end of RAM", 128);

	/* MOVSB from across the end into RAM: what is beyond reads all-ones. */
	memset(SCRATCH, 0, 128);
	si = RAM_END - 32;
	di = (uintptr_t)SCRATCH;
	cx = 64;
	__asm__ volatile("cld; rep movsb" : "+S"(si), "+D"(di), "+c"(cx) : : "memory");
	GUEST_ASSERT_EQ(cx, 0);
	hmem_expect((uintptr_t)SCRATCH, 0x5a, 32);
	hmem_expect((uintptr_t)SCRATCH + 32, 0xff, 32);
	hmem_expect((uintptr_t)SCRATCH + 64, 0, 1);

	/* MOVSD from RAM across the end. */
	for (unsigned i = 0; i < 16; i++)
		SCRATCH[i] = (uint8_t)(0xa0 + i);
	si = (uintptr_t)SCRATCH;
	di = RAM_END - 8;
	cx = 4;
	__asm__ volatile("cld; rep movsl" : "+S"(si), "+D"(di), "+c"(cx) : : "memory");
	GUEST_ASSERT_EQ(cx, 0);
	GUEST_ASSERT_EQ(di, RAM_END + 8);
	GUEST_ASSERT_EQ(mmio_read32(RAM_END - 8), 0xa3a2a1a0u);
	GUEST_ASSERT_EQ(mmio_read32(RAM_END - 4), 0xa7a6a5a4u);

	/* Backwards (DF=1) from beyond the end down into RAM. */
	hmem_fill(RAM_END - 32, 0x33, 32);
	memset(SCRATCH, 0, 128);
	si = RAM_END + 31;
	di = (uintptr_t)SCRATCH + 63;
	cx = 64;
	__asm__ volatile("std; rep movsb; cld" : "+S"(si), "+D"(di), "+c"(cx) : : "memory");
	GUEST_ASSERT_EQ(cx, 0);
	GUEST_ASSERT_EQ(si, RAM_END - 33);
	hmem_expect((uintptr_t)SCRATCH, 0x33, 32);
	hmem_expect((uintptr_t)SCRATCH + 32, 0xff, 32);
	GUEST_SYNC("rep movs across the end of RAM", 64);

	/* CMPSB: equal through the end, then a difference beyond it. */
	memset(SCRATCH, 0x33, 16);
	memset(SCRATCH + 16, 0xff, 16);
	si = RAM_END - 16;
	di = (uintptr_t)SCRATCH;
	cx = 32;
	__asm__ volatile("cld; repe cmpsb" : "+S"(si), "+D"(di), "+c"(cx) : : "memory", "cc");
	GUEST_ASSERT_EQ(cx, 0);
	SCRATCH[20] = 0xfe;
	si = RAM_END - 16;
	di = (uintptr_t)SCRATCH;
	cx = 32;
	__asm__ volatile("cld; repe cmpsb" : "+S"(si), "+D"(di), "+c"(cx) : : "memory", "cc");
	GUEST_ASSERT_EQ(cx, 32 - 21);               /* stopped after the 21st byte */
	GUEST_ASSERT_EQ(si, RAM_END + 5);

	/* SCASB for a zero that never comes: the count bounds it. */
	di = RAM_END - 16;
	cx = 4096;
	__asm__ volatile("cld; repne scasb" : "+D"(di), "+c"(cx) : "a"(0) : "memory", "cc");
	GUEST_ASSERT_EQ(cx, 0);
	GUEST_SYNC("rep cmps/scas across the end of RAM", 32);

	/* INSB from a port nobody claims, across the end; OUTSB back. */
	hmem_fill(RAM_END - 8, 0, 8);
	di = RAM_END - 8;
	cx = 16;
	__asm__ volatile("cld; rep insb" : "+D"(di), "+c"(cx) : "d"(UNCLAIMED_PORT) : "memory");
	GUEST_ASSERT_EQ(cx, 0);
	hmem_expect(RAM_END - 8, 0xff, 8);
	si = RAM_END - 8;
	cx = 16;
	__asm__ volatile("cld; rep outsb" : "+S"(si), "+c"(cx) : "d"(UNCLAIMED_PORT) : "memory");
	GUEST_ASSERT_EQ(cx, 0);
	GUEST_SYNC("rep ins/outs across the end of RAM", 16);

	/* The MMIO hole: 4 KiB of dwords stored and copied where nothing is. */
	di = HOLE_FREE;
	cx = 1024;
	__asm__ volatile("cld; rep stosl" : "+D"(di), "+c"(cx) : "a"(0xdeadbeef) : "memory");
	GUEST_ASSERT_EQ(cx, 0);
	GUEST_ASSERT_EQ(mmio_read32(HOLE_FREE), 0xffffffffu);
	si = HOLE_FREE;
	di = HOLE_FREE + 0x10000;
	cx = 4096;
	__asm__ volatile("cld; rep movsb" : "+S"(si), "+D"(di), "+c"(cx) : : "memory");
	GUEST_ASSERT_EQ(cx, 0);
	/* Into a device window: testdev's scratch registers take the bytes. */
	memset(SCRATCH, 0x77, 64);
	si = (uintptr_t)SCRATCH;
	di = TESTDEV_MEM + 0x8;
	cx = 64;
	__asm__ volatile("cld; rep movsb" : "+S"(si), "+D"(di), "+c"(cx) : : "memory");
	GUEST_ASSERT_EQ(mmio_read64(TESTDEV_MEM + 0x8), 0x7777777777777777ull);
	GUEST_ASSERT_EQ(mmio_read64(TESTDEV_MEM + 0x40), 0x7777777777777777ull);
	GUEST_SYNC("rep string in the MMIO hole", 4096);

	/* 32-bit addressing wraps at 4 GiB (SDM Vol. 1, 3.3.7): 8 bytes at
	 * 0xfffffff8 (the hole, dropped) and 8 at 0 (RAM, unused by the
	 * guest once it runs). */
	hmem_fill(0, 0, 16);
	uint32_t edi = 0xfffffff8u, ecx = 16;
#ifdef __x86_64__
	__asm__ volatile("cld; .byte 0x67, 0xf3, 0xaa" /* addr32 rep stosb */
			 : "+D"(edi), "+c"(ecx) : "a"(0x42) : "memory");
#else
	__asm__ volatile("cld; rep stosb" : "+D"(edi), "+c"(ecx) : "a"(0x42) : "memory");
#endif
	GUEST_ASSERT_EQ(ecx, 0);
	GUEST_ASSERT_EQ(edi, 8);
	hmem_expect(0, 0x42, 8);
	hmem_expect(8, 0, 8);
	GUEST_SYNC("rep stosb wrapping at 4 GiB", 16);
	GUEST_DONE();
}
GUEST_TEST("oob-string", test_oob_string);

/* oob-stack: a stack beyond the end of RAM, straddling it, and in a device
 * window.  Pushes that land nowhere vanish, pops read all-ones; a push
 * that straddles the end keeps the bytes in RAM.  Interrupts are off: an
 * event delivered on such a stack is the guest's own problem (it would
 * read its return frame as all-ones). */
static void test_oob_stack(void)
{
	uintptr_t popped, straddle, dev;
	cli();
	hmem_check_ram_end();
	hmem_fill(RAM_END - 8, 0x11, 8);
#ifdef __x86_64__
	__asm__ volatile("movq %%rsp, %%rbx\n"
			 "movq %3, %%rsp\n"
			 "pushq $0x12345678\n"
			 "popq %0\n"
			 "movq %4, %%rsp\n"     /* 8-byte push at RAM_END-4 .. RAM_END+3 */
			 "pushq $-0x21524111\n" /* 0xffffffffdeadbeef */
			 "popq %1\n"
			 "movq %5, %%rsp\n"
			 "movq $0x1122334455667788, %%rax\n"
			 "pushq %%rax\n"
			 "popq %2\n"
			 "movq %%rbx, %%rsp\n"
			 : "=&r"(popped), "=&r"(straddle), "=&r"(dev)
			 : "r"(RAM_END + 64), "r"(RAM_END + 4), "r"(TESTDEV_MEM + 0x18)
			 : "rax", "rbx", "memory");
	GUEST_ASSERT_EQ(popped, 0xffffffffffffffffull);
	GUEST_ASSERT_EQ(straddle, 0xffffffffdeadbeefull);
	GUEST_ASSERT_EQ(mmio_read32(RAM_END - 4), 0xdeadbeefu);
	GUEST_ASSERT_EQ(dev, 0x1122334455667788ull);
	GUEST_ASSERT_EQ(mmio_read64(TESTDEV_MEM + 0x10), 0x1122334455667788ull);
#else
	__asm__ volatile("movl %%esp, %%ebx\n"
			 "movl %3, %%esp\n"
			 "pushl $0x12345678\n"
			 "popl %0\n"
			 "movl %4, %%esp\n"     /* 4-byte push at RAM_END-2 .. RAM_END+1 */
			 "pushl $0xdeadbeef\n"
			 "popl %1\n"
			 "movl %5, %%esp\n"
			 "pushl $0x55667788\n"
			 "popl %2\n"
			 "movl %%ebx, %%esp\n"
			 : "=&r"(popped), "=&r"(straddle), "=&r"(dev)
			 : "r"(RAM_END + 64), "r"(RAM_END + 2), "r"(TESTDEV_MEM + 0x14)
			 : "ebx", "memory");
	GUEST_ASSERT_EQ(popped, 0xffffffffu);
	GUEST_ASSERT_EQ(straddle, 0xffffbeefu);
	GUEST_ASSERT_EQ(mmio_read8(RAM_END - 1), 0xbe);
	GUEST_ASSERT_EQ(dev, 0x55667788u);
	GUEST_ASSERT_EQ(mmio_read32(TESTDEV_MEM + 0x10), 0x55667788u);
#endif
	GUEST_SYNC("stack beyond RAM: pops read all-ones", popped);
	GUEST_DONE();
}
GUEST_TEST("oob-stack", test_oob_stack);

/* oob-atomic: locked read-modify-writes on a device window, on the hole and
 * straddling the end of RAM (SDM Vol. 3A 8.1.2: a locked operation on
 * memory that is not cacheable, or split across pages, locks the bus; it
 * is still one read and one write).  XCHG and CMPXCHG on testdev's
 * scratch registers, XADD and INC across the end of RAM, CMPXCHG on the
 * unclaimed hole (it reads all-ones; the write goes nowhere), REP STOSD
 * and MOVSD over the whole LAPIC page (the ICR gets 0: a fixed IPI with
 * the illegal vector 0, which the LAPIC refuses, SDM 10.5.3). */
static void test_oob_atomic(void)
{
	cli();
	hmem_check_ram_end();
	uintptr_t t = TESTDEV_MEM + 0x8;
	mmio_write32(t, 0x11111111);
	uint32_t v = 0x22222222;
	__asm__ volatile("xchgl %0, (%1)" : "+r"(v) : "r"(t) : "memory");
	GUEST_ASSERT_EQ(v, 0x11111111);
	GUEST_ASSERT_EQ(mmio_read32(t), 0x22222222);
	uint32_t expect = 0x22222222, got;
	__asm__ volatile("lock cmpxchgl %2, (%3)" : "=a"(got) : "a"(expect), "r"(0x33333333u),
			 "r"(t) : "memory", "cc");
	GUEST_ASSERT_EQ(got, 0x22222222);
	GUEST_ASSERT_EQ(mmio_read32(t), 0x33333333);

	/* XADD of 4 bytes at RAM_END - 2: 2 bytes of RAM, 2 of nothing. */
	mmio_write16(RAM_END - 2, 0x1234);
	v = 0x00010001;
	__asm__ volatile("lock xaddl %0, (%1)" : "+r"(v) : "r"(RAM_END - 2) : "memory", "cc");
	GUEST_ASSERT_EQ(v, 0xffff1234u);
	GUEST_ASSERT_EQ(mmio_read16(RAM_END - 2), 0x1235);
	__asm__ volatile("lock incl (%0)" : : "r"(RAM_END - 2) : "memory", "cc");
	GUEST_ASSERT_EQ(mmio_read16(RAM_END - 2), 0x1236);

	/* CMPXCHG on the hole: all-ones compares equal, ZF=1, nothing kept. */
	uint8_t zf;
	__asm__ volatile("lock cmpxchgl %3, (%4); sete %1"
			 : "=a"(got), "=q"(zf) : "a"(0xffffffffu), "r"(0u), "r"(HOLE_FREE)
			 : "memory", "cc");
	GUEST_ASSERT_EQ(zf, 1);
	GUEST_ASSERT_EQ(mmio_read32(HOLE_FREE), 0xffffffffu);
	__asm__ volatile("lock incl (%0)" : : "r"(HOLE_FREE + 2) : "memory", "cc");
	GUEST_SYNC("locked operations on devices, the hole and the end of RAM", 0);

	/* The LAPIC page read and written whole by string instructions. */
	uintptr_t si = 0xFEE00000u, di = (uintptr_t)SCRATCH, cx = 1024;
	__asm__ volatile("cld; rep movsl" : "+S"(si), "+D"(di), "+c"(cx) : : "memory");
	GUEST_ASSERT_EQ(*(volatile uint32_t *)(SCRATCH + 0x30) & 0xff, 0x14);   /* version */
	di = 0xFEE00000u;
	cx = 1024;
	__asm__ volatile("cld; rep stosl" : "+D"(di), "+c"(cx) : "a"(0) : "memory");
	GUEST_ASSERT_EQ(cx, 0);
	GUEST_ASSERT_EQ(mmio_read32(0xFEE00030u) & 0xff, 0x14);
	mmio_write32(0xFEE000F0u, 0x1ff);                   /* enable it again */
	GUEST_SYNC("LAPIC page by REP MOVSD/STOSD", 1024);
	GUEST_DONE();
}
GUEST_TEST("oob-atomic", test_oob_atomic);

/* ---- Descriptor tables beyond RAM --------------------------------------- */
struct hmem_dtr {
	uint16_t limit;
	uintptr_t base;
} __attribute__((packed));

static volatile uintptr_t hmem_exc_vector, hmem_exc_error;

/* #GP from "mov %ax, %ss" (8e d0, two bytes): record and skip it. */
static void hmem_skip2(struct isr_frame *f)
{
	hmem_exc_vector = f->vector;
	hmem_exc_error = f->error;
	f->ip += 2;
}

/* oob-gdt: a GDT whose last entries lie beyond the end of RAM.  The
 * guest's own entries (0..0x27) are copied to RAM_END - 0x30 so that its
 * code, data and the exception path keep working; entry 0x28 (in RAM)
 * loads and gets its accessed bit written into RAM; entry 0x30 is beyond
 * the end and reads as all-ones: a present, conforming, readable code
 * segment (type 0xf, S=1), which SS refuses with #GP(selector) (SDM Vol.
 * 3A, "MOV: Load SS": a writable data segment is required). */
static void test_oob_gdt(void)
{
	struct hmem_dtr old, gdt;
	cli();
	hmem_check_ram_end();
	__asm__ volatile("sgdt %0" : "=m"(old));
	GUEST_ASSERT(old.limit >= 0x27);
	gdt.base = RAM_END - 0x30;
	gdt.limit = 0x3f;
	for (unsigned i = 0; i < 0x28; i++)
		mmio_write8(gdt.base + i, mmio_read8(old.base + i));
	mmio_write32(RAM_END - 8, 0x0000ffff);
	mmio_write32(RAM_END - 4, 0x00cf9200);    /* P, DPL 0, S, data RW not accessed: 0x92 */
	exc_set_handler(13, hmem_skip2);
	hmem_exc_vector = ~0u;
	uint16_t fs_after;
	__asm__ volatile("lgdt %1\n"
			 "movw $0x28, %%ax\n"
			 "movw %%ax, %%fs\n"
			 "movw %%fs, %0\n"
			 : "=r"(fs_after) : "m"(gdt) : "eax", "memory");
	GUEST_ASSERT_EQ(fs_after, 0x28);
	GUEST_ASSERT_EQ(mmio_read8(RAM_END - 3), 0x93);     /* accessed bit set */
	__asm__ volatile("movw %%ss, %%bx\n"
			 "movw $0x30, %%ax\n"
			 "movw %%ax, %%ss\n"                  /* 8e d0: #GP(0x30) */
			 "movw %%bx, %%ss\n"
			 : : : "eax", "ebx", "memory");
	GUEST_ASSERT_EQ(hmem_exc_vector, 13);
	GUEST_ASSERT_EQ(hmem_exc_error, 0x30);
	__asm__ volatile("lgdt %0\n"
			 "movw %1, %%ax\n"
			 "movw %%ax, %%fs\n"
			 : : "m"(old), "i"(GDT_DATA) : "eax", "memory");
	exc_set_handler(13, NULL);
	GUEST_SYNC("descriptor beyond RAM: #GP for SS", hmem_exc_error);
	GUEST_DONE();
}
GUEST_TEST("oob-gdt", test_oob_gdt);

/* oob-idt: the IDT beyond the end of RAM.  Every gate reads as all-ones
 * (selector 0xffff, far outside the GDT), so the #UD cannot be delivered,
 * nor the #GP or #DF that follow: the CPU shuts down, and ringvm stops the
 * VM with status 4 (a triple fault) instead of looping or crashing. */
static void test_oob_idt(void)
{
	struct hmem_dtr idt = { .limit = 0xfff, .base = RAM_END };
	cli();
	hmem_check_ram_end();
	GUEST_SYNC("IDT beyond the end of RAM", RAM_END);
	__asm__ volatile("lidt %0; ud2" : : "m"(idt));
	GUEST_FAIL("survived an IDT beyond RAM");
}
GUEST_TEST("oob-idt", test_oob_idt);

#ifdef __x86_64__
/* ---- Page tables beyond RAM (long mode) --------------------------------- */
static volatile uintptr_t hmem_pf_cr2;

/* #PF from "movl (%rax), %ecx" (8b 08, two bytes): CR2 too. */
static void hmem_pf_skip2(struct isr_frame *f)
{
	hmem_pf_cr2 = read_cr2();
	hmem_skip2(f);
}

static uint32_t hmem_load_probe(uintptr_t la)
{
	uint32_t v = 0xabababab;
	hmem_exc_vector = ~0u;
	__asm__ volatile("movl (%1), %0" : "+c"(v) : "a"(la) : "memory");
	return v;
}

static void hmem_flush_tlb(void)
{
	uintptr_t cr3;
	__asm__ volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(cr3) : : "memory");
}

/* oob-pagetable: paging structures and pages where no RAM is.  The
 * guest's map (guests/lib/head64.S) covers 0..4 GiB through PDPT entries
 * 0-3; entry 4 (4 GiB .. 5 GiB) is free for the test.  A paging-structure
 * entry that is not in RAM cannot be read: the soft engine raises #PF
 * (not present) for the address, as for a missing entry (KVM does
 * too).  A page beyond
 * RAM maps like the MMIO hole (all-ones); an access straddling the last
 * RAM page and it keeps its bytes in RAM; one straddling RAM and the
 * LAPIC page reads each half from its own side. */
static void test_oob_pagetable(void)
{
	cli();
	hmem_check_ram_end();
	uintptr_t cr3 = read_cr3();
	volatile uint64_t *pml4 = (volatile uint64_t *)(cr3 & ~0xfffull);
	volatile uint64_t *pdpt = (volatile uint64_t *)(uintptr_t)(pml4[0] & 0xffffffffff000ull);
	const uintptr_t la = 0x100000000ull;           /* PDPT entry 4 */
	GUEST_ASSERT_EQ(pdpt[4], 0);
	exc_set_handler(14, hmem_pf_skip2);

	/* A page directory beyond the end of RAM, then in the MMIO hole. */
	const uint64_t tables[] = { RAM_END, RAM_END + 0x100000, HOLE_FREE };
	for (unsigned i = 0; i < 3; i++) {
		pdpt[4] = tables[i] | 3;
		hmem_flush_tlb();
		uint32_t v = hmem_load_probe(la + 0x1234);
		GUEST_ASSERT_EQ(hmem_exc_vector, 14);
		GUEST_ASSERT_EQ(hmem_exc_error, 0);        /* read, supervisor, not present */
		GUEST_ASSERT_EQ(hmem_pf_cr2, la + 0x1234);
		GUEST_ASSERT_EQ(v, 0xabababab);
	}

	/* A page directory and a page table in RAM (8 MiB), whose entries map
	 * the last RAM page and the page beyond it. */
	volatile uint64_t *pd = (volatile uint64_t *)(uintptr_t)0x800000;
	volatile uint64_t *pt = (volatile uint64_t *)(uintptr_t)0x801000;
	for (unsigned i = 0; i < 512; i++)
		pd[i] = pt[i] = 0;
	pd[0] = 0x801000 | 3;
	pd[1] = RAM_END | 0x83;                     /* a 2 MiB page beyond RAM */
	pt[0] = (RAM_END - 0x1000) | 3;             /* the last page of RAM */
	pt[1] = RAM_END | 3;                        /* beyond */
	pt[2] = (0x3ffffffull << 12) | 3;           /* top of the 40-bit space */
	pt[3] = (RAM_END - 0x1000) | 3;             /* the last page of RAM again, */
	pt[4] = 0xFEE00000u | 0x13;                 /* then the LAPIC (PCD) */
	pdpt[4] = 0x800000 | 3;
	hmem_flush_tlb();
	mmio_write32(RAM_END - 4, 0x44332211);
	GUEST_ASSERT_EQ(hmem_load_probe(la + 0x1000 - 4), 0x44332211);
	GUEST_ASSERT_EQ(hmem_exc_vector, ~0u);
	GUEST_ASSERT_EQ(hmem_load_probe(la + 0x1000 - 2), 0xffff4433u);  /* straddles */
	GUEST_ASSERT_EQ(hmem_load_probe(la + 0x1000), 0xffffffffu);
	GUEST_ASSERT_EQ(hmem_load_probe(la + 0x2000), 0xffffffffu);
	GUEST_ASSERT_EQ(hmem_load_probe(la + 0x200000 + 0x1ffffc), 0xffffffffu);
	GUEST_ASSERT_EQ(hmem_exc_vector, ~0u);
	/* Writes through them: into RAM, and dropped beyond. */
	*(volatile uint32_t *)(la + 0x1000 - 2) = 0xa5a5a5a5u;
	*(volatile uint32_t *)(la + 0x200000) = 0xa5a5a5a5u;
	GUEST_ASSERT_EQ(mmio_read32(RAM_END - 4), 0xa5a52211u);
	GUEST_ASSERT(pt[0] & 0x40);                 /* dirty bit written into RAM */
	/* 8 bytes straddling RAM and the LAPIC's ID register. */
	uint64_t both = *(volatile uint64_t *)(la + 0x4000 - 4);
	GUEST_ASSERT_EQ((uint32_t)both, mmio_read32(RAM_END - 4));
	GUEST_ASSERT_EQ((uint32_t)(both >> 32), mmio_read32(0xFEE00020u));
	GUEST_SYNC("page tables beyond RAM: #PF; pages beyond RAM: all-ones", 0);

	pdpt[4] = 0;
	hmem_flush_tlb();
	exc_set_handler(14, NULL);
	GUEST_DONE();
}
GUEST_TEST("oob-pagetable", test_oob_pagetable);

static volatile uintptr_t hmem_pf_ip;

/* #PF while delivering the #UD of a ud2 (0f 0b): record, skip the ud2. */
static void hmem_pf_skip_ud2(struct isr_frame *f)
{
	hmem_pf_ip = f->ip;
	hmem_pf_skip2(f);
}

/* oob-tss: (64-bit) a TSS whose base is beyond the end of RAM, and the
 * #UD gate switched to interrupt stack 1.  The IST pointer reads as
 * all-ones, so the CPU pushes the #UD frame at the top of the address
 * space, which the guest's page tables do not map: a #PF during delivery,
 * which (#UD being benign) is delivered itself, on the old stack (SDM Vol.
 * 3A 6.14.5 and table 6-5).  The guest's #PF handler sees CR2 near
 * 2^64 and the ud2's address, and skips the ud2. */
static void test_oob_tss(void)
{
	struct hmem_dtr old, gdt, idt;
	cli();
	hmem_check_ram_end();
	__asm__ volatile("sgdt %0; sidt %1" : "=m"(old), "=m"(idt));
	/* A copy of the guest's GDT at 8 MiB with a 64-bit TSS descriptor at
	 * 0x28 (available TSS, type 9, P, limit 0x67, base RAM_END). */
	uintptr_t g = 0x800000;
	for (unsigned i = 0; i < 0x28; i++)
		mmio_write8(g + i, mmio_read8(old.base + i));
	uint64_t base = RAM_END;
	uint64_t lo = 0x67 | (base & 0xffffff) << 16 | 0x89ull << 40 | (base >> 24 & 0xff) << 56;
	mmio_write64(g + 0x28, lo);
	mmio_write64(g + 0x30, base >> 32);
	gdt.base = g;
	gdt.limit = 0x37;
	__asm__ volatile("lgdt %0; movw $0x28, %%ax; ltr %%ax" : : "m"(gdt) : "eax", "memory");
	GUEST_ASSERT_EQ(mmio_read8(g + 0x2d), 0x8b);             /* now busy */

	volatile uint8_t *ud_gate = (volatile uint8_t *)(idt.base + 6 * 16);
	ud_gate[4] = 1;                                          /* IST 1 */
	exc_set_handler(14, hmem_pf_skip_ud2);
	hmem_exc_vector = ~0u;
	uintptr_t ud_ip;
	__asm__ volatile("lea 1f(%%rip), %0\n"
			 "1: ud2\n"
			 : "=r"(ud_ip) : : "memory");
	ud_gate[4] = 0;
	exc_set_handler(14, NULL);
	__asm__ volatile("lgdt %0" : : "m"(old) : "memory");
	GUEST_ASSERT_EQ(hmem_exc_vector, 14);
	GUEST_ASSERT_EQ(hmem_pf_ip, ud_ip);
	GUEST_ASSERT(hmem_exc_error & 2);                        /* a write */
	GUEST_ASSERT(hmem_pf_cr2 >= 0xffffffffffffff00ull);
	GUEST_SYNC("IST stack from a TSS beyond RAM: #PF at", hmem_pf_cr2);
	GUEST_DONE();
}
GUEST_TEST("oob-tss", test_oob_tss);

static volatile uintptr_t hmem_ud_rax;

/* #UD in code called with "call *%reg": record where and %rax, and return
 * to the caller (pop the return address off the interrupted stack, which
 * the 64-bit frame holds after RFLAGS: RSP, then SS). */
static void hmem_ud_return(struct isr_frame *f)
{
	uintptr_t *rsp = &(&f->flags)[1];
	hmem_exc_vector = f->vector;
	hmem_pf_ip = f->ip;
	hmem_ud_rax = f->rax;
	f->ip = *(uintptr_t *)*rsp;
	*rsp += 8;
}

static uint32_t hmem_call(uintptr_t a)
{
	uint32_t r;
	hmem_exc_vector = ~0u;
	__asm__ volatile("call *%1" : "=a"(r) : "r"(a) : "rcx", "rdx", "rsi", "rdi", "r8", "r9",
			 "r10", "r11", "memory");
	return r;
}

/* exec-oob: (64-bit) code in a device window, in the hole and across the
 * end of RAM.  Fetches from a device go through the bus like any access,
 * every time (there is nothing to cache: the same address may hold new
 * bytes, SDM Vol. 3A 11.3, UC memory): code in testdev's scratch
 * registers runs, and runs its new bytes after a rewrite.  Where nothing
 * answers, the bytes are 0xff, and ff ff is an undefined opcode (#UD at
 * that address).  An instruction whose immediate runs past the end of RAM
 * loads 0xff for those bytes. */
static void test_exec_oob(void)
{
	cli();
	hmem_check_ram_end();
	exc_set_handler(6, hmem_ud_return);
	/* mov $imm32, %eax; ret in testdev's scratch registers 1 and 2 */
	for (uint32_t k = 1; k <= 64; k++) {
		uintptr_t at = TESTDEV_MEM + 8 + (k & 1) * 8;
		mmio_write64(at, 0xc300000000b8ull | (uint64_t)k << 8);
		GUEST_ASSERT_EQ(hmem_call(at), k);
		GUEST_ASSERT_EQ(hmem_exc_vector, ~0u);
	}
	GUEST_SYNC("code in a device window runs its new bytes", 64);

	/* The unclaimed hole: #UD right at the call target. */
	(void)hmem_call(HOLE_FREE + 0x123);
	GUEST_ASSERT_EQ(hmem_exc_vector, 6);
	GUEST_ASSERT_EQ(hmem_pf_ip, HOLE_FREE + 0x123);

	/* b8 11 | ff ff ff (beyond RAM): %eax = 0xffffff11, then ff ff: #UD. */
	mmio_write8(RAM_END - 2, 0xb8);
	mmio_write8(RAM_END - 1, 0x11);
	(void)hmem_call(RAM_END - 2);
	GUEST_ASSERT_EQ(hmem_exc_vector, 6);
	GUEST_ASSERT_EQ(hmem_pf_ip, RAM_END + 3);
	GUEST_ASSERT_EQ((uint32_t)hmem_ud_rax, 0xffffff11u);
	exc_set_handler(6, NULL);
	GUEST_SYNC("an instruction across the end of RAM loads", (uint32_t)hmem_ud_rax);
	GUEST_DONE();
}
GUEST_TEST("exec-oob", test_exec_oob);

/* oob-cr3: (64-bit) CR3 beyond the end of RAM.  The next fetch cannot be
 * translated, nor the delivery of its #PF (the IDT is reached through the
 * same tables), nor the #DF: the CPU shuts down, and ringvm stops the VM
 * with status 4. */
static void test_oob_cr3(void)
{
	cli();
	hmem_check_ram_end();
	GUEST_SYNC("CR3 beyond the end of RAM", RAM_END + 0x1000);
	__asm__ volatile("mov %0, %%cr3; nop" : : "r"((uintptr_t)RAM_END + 0x1000) : "memory");
	GUEST_FAIL("survived a CR3 beyond RAM");
}
GUEST_TEST("oob-cr3", test_oob_cr3);
#endif
