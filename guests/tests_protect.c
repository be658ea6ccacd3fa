/* Memory protection: SMEP, SMAP, STAC/CLAC and protection keys on 4-level
 * paging (64-bit images), segment limit and type checks on data accesses in
 * 32-bit protected mode (32-bit images).  SDM vol. 3, 4.6 and 5.3-5.4.
 *
 * Each probe arms a resume address; the test's exception handler records
 * the vector, error code, faulting IP and CR2, and resumes there. */
#include "guest.h"

#ifdef __x86_64__
#define MOVP "movq"
#else
#define MOVP "movl"
#endif

static volatile uintptr_t fx_resume;  /* armed by a probe, 0 otherwise */
static volatile unsigned fx_count, fx_vec;
static volatile uintptr_t fx_err, fx_ip, fx_cr2;

static void fx_handler(struct isr_frame *f)
{
	if (!fx_resume)
		GUEST_FAIL("unexpected exception (vector, error code, ip)", f->vector, f->error,
			   f->ip);
	fx_vec = (unsigned)f->vector;
	fx_err = f->error;
	fx_ip = f->ip;
	fx_cr2 = f->vector == 14 ? read_cr2() : 0;
	fx_count++;
	f->ip = fx_resume;
	fx_resume = 0;
}

static void fx_install(void)
{
	exc_set_handler(6, fx_handler);
	exc_set_handler(12, fx_handler);
	exc_set_handler(13, fx_handler);
	exc_set_handler(14, fx_handler);
}

static void fx_remove(void)
{
	exc_set_handler(6, NULL);
	exc_set_handler(12, NULL);
	exc_set_handler(13, NULL);
	exc_set_handler(14, NULL);
}

/* The fault a probe must have taken. */
#define EXPECT_FAULT(n0, vec, err)                                           \
	do {                                                                 \
		GUEST_ASSERT_EQ(fx_count, (n0) + 1);                         \
		GUEST_ASSERT_EQ(fx_vec, (vec));                              \
		GUEST_ASSERT_EQ(fx_err, (err));                              \
	} while (0)
#define EXPECT_NO_FAULT(n0) GUEST_ASSERT_EQ(fx_count, (n0))

#ifdef __x86_64__

#define CR4_SMEP (1ul << 20)
#define CR4_SMAP (1ul << 21)
#define CR4_PKE (1ul << 22)
#define CR0_WP (1ul << 16)
#define PTE_U 4ul
#define USER_VA 0x1000000ul /* 16 MiB: one 2 MiB page of head64's map */

static inline void write_cr0(uintptr_t v) { __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }
static inline void flush_tlb(void)
{
	uintptr_t v;
	__asm__ volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(v) : : "memory");
}
static inline void stac(void) { __asm__ volatile(".byte 0x0f, 0x01, 0xcb" : : : "memory"); }
static inline void clac(void) { __asm__ volatile(".byte 0x0f, 0x01, 0xca" : : : "memory"); }

/* The PDE mapping USER_VA (head64.S: identity map with 2 MiB pages). */
static volatile uint64_t *user_pde(void)
{
	uintptr_t cr3 = read_cr3();
	volatile uint64_t *pml4 = (uint64_t *)(cr3 & ~0xffful);
	volatile uint64_t *pdpt = (uint64_t *)(uintptr_t)(pml4[0] & 0xffffffffff000ul);
	volatile uint64_t *pd = (uint64_t *)(uintptr_t)(pdpt[0] & 0xffffffffff000ul);
	return &pd[USER_VA >> 21];
}

/* Make USER_VA's 2 MiB page a user page (U on every level), or undo it. */
static void user_page(bool on)
{
	uintptr_t cr3 = read_cr3();
	volatile uint64_t *pml4 = (uint64_t *)(cr3 & ~0xffful);
	volatile uint64_t *pdpt = (uint64_t *)(uintptr_t)(pml4[0] & 0xffffffffff000ul);
	volatile uint64_t *pde = user_pde();
	if (on) {
		pml4[0] |= PTE_U;
		pdpt[0] |= PTE_U;
		*pde |= PTE_U;
	} else {
		*pde &= ~(PTE_U | (0xful << 59));
		pdpt[0] &= ~PTE_U;
		pml4[0] &= ~PTE_U;
	}
	flush_tlb();
}

static uint32_t probe_read(uintptr_t a)
{
	uint32_t v = 0;
	__asm__ volatile(MOVP " $1f, %[fx]\n\tmovl (%[a]), %[v]\n1:"
			 : [fx] "=m"(fx_resume), [v] "+r"(v) : [a] "r"(a) : "memory");
	fx_resume = 0;
	return v;
}

static void probe_write(uintptr_t a, uint32_t v)
{
	__asm__ volatile(MOVP " $1f, %[fx]\n\tmovl %[v], (%[a])\n1:"
			 : [fx] "=m"(fx_resume) : [a] "r"(a), [v] "r"(v) : "memory");
	fx_resume = 0;
}

/* Jump to code at a, which jumps back through RCX (bytes ff e1). */
static void probe_jump(uintptr_t a)
{
	__asm__ volatile("lea 1f(%%rip), %%rcx\n\tmovq %%rcx, %[fx]\n\tjmp *%[a]\n1:"
			 : [fx] "=m"(fx_resume) : [a] "r"(a) : "rcx", "memory");
	fx_resume = 0;
}

static void test_smap(void)
{
	uint32_t r[4];
	cpuid(7, 0, r);
	GUEST_ASSERT(r[1] & (1u << 20)); /* CPUID.7.0:EBX.SMAP */
	fx_install();
	user_page(true);
	volatile uint32_t *p = (uint32_t *)USER_VA;
	*p = 0x5a5a1234; /* SMAP off: the supervisor may write a user page */
	uintptr_t cr4 = read_cr4();
	write_cr4(cr4 | CR4_SMAP);
	unsigned n = fx_count;
	probe_read(USER_VA);
	EXPECT_FAULT(n, 14, 0x1); /* P, read, supervisor */
	GUEST_ASSERT_EQ(fx_cr2, USER_VA);
	n = fx_count;
	probe_write(USER_VA + 8, 1);
	EXPECT_FAULT(n, 14, 0x3);
	GUEST_ASSERT_EQ(fx_cr2, USER_VA + 8);
	/* STAC: explicit accesses allowed */
	stac();
	n = fx_count;
	GUEST_ASSERT_EQ(probe_read(USER_VA), 0x5a5a1234);
	probe_write(USER_VA + 8, 0x77);
	EXPECT_NO_FAULT(n);
	clac();
	probe_read(USER_VA + 8);
	EXPECT_FAULT(n, 14, 0x1);
	/* POPF at CPL 0 sets AC just as well */
	n = fx_count;
	__asm__ volatile("pushfq; orq $0x40000, (%%rsp); popfq" : : : "memory", "cc");
	GUEST_ASSERT_EQ(probe_read(USER_VA + 8), 0x77);
	EXPECT_NO_FAULT(n);
	clac();
	/* a string instruction is a data access too */
	n = fx_count;
	uint32_t buf[2];
	uintptr_t src = USER_VA, dst = (uintptr_t)buf, cnt = 8;
	__asm__ volatile("movq $1f, %[fx]\n\trep movsb\n1:"
			 : [fx] "=m"(fx_resume), "+S"(src), "+D"(dst), "+c"(cnt) : : "memory");
	fx_resume = 0;
	EXPECT_FAULT(n, 14, 0x1);
	GUEST_ASSERT_EQ(cnt, 8);
	write_cr4(cr4);
	user_page(false);
	fx_remove();
	GUEST_DONE();
}
GUEST_TEST("smap", test_smap);

/* SMAP in translated code: STAC and CLAC run through their handlers, and
 * the access after them sits in the next block, reached through a chained
 * exit.  The translator keeps the rights class in a host register that a
 * block without handler calls never recomputes, so the exit after the
 * handler must (docs/soft-cpu.md, "Register convention"): with a stale
 * class the load after CLAC would hit the slot filled after STAC and not
 * fault.  Rounds enough for both blocks to be translated (SOFT_JIT_HOT 16)
 * and chained. */
static void test_smap_jit(void)
{
	fx_install();
	user_page(true);
	*(volatile uint32_t *)USER_VA = 0x600dc0de;
	uintptr_t cr4 = read_cr4();
	write_cr4(cr4 | CR4_SMAP);
	for (unsigned i = 0; i < 64; i++) {
		unsigned n = fx_count;
		uint32_t v = 0;
		__asm__ volatile(".byte 0x0f, 0x01, 0xcb\n\t" /* stac */
				 "jmp 1f\n"
				 "1:\t" MOVP " $2f, %[fx]\n\t"
				 "movl (%[a]), %[v]\n"
				 "2:"
				 : [fx] "=m"(fx_resume), [v] "+r"(v) : [a] "r"(USER_VA) : "memory");
		fx_resume = 0;
		EXPECT_NO_FAULT(n);
		GUEST_ASSERT_EQ(v, 0x600dc0de);
		v = 0;
		__asm__ volatile(".byte 0x0f, 0x01, 0xca\n\t" /* clac */
				 "jmp 1f\n"
				 "1:\t" MOVP " $2f, %[fx]\n\t"
				 "movl (%[a]), %[v]\n"
				 "2:"
				 : [fx] "=m"(fx_resume), [v] "+r"(v) : [a] "r"(USER_VA) : "memory");
		fx_resume = 0;
		EXPECT_FAULT(n, 14, 0x1); /* P, read, supervisor */
		GUEST_ASSERT_EQ(fx_cr2, USER_VA);
		GUEST_ASSERT_EQ(v, 0);
	}
	write_cr4(cr4);
	user_page(false);
	fx_remove();
	GUEST_DONE();
}
GUEST_TEST("smap-jit", test_smap_jit);

static void test_smep(void)
{
	uint32_t r[4];
	cpuid(7, 0, r);
	GUEST_ASSERT(r[1] & (1u << 7)); /* CPUID.7.0:EBX.SMEP */
	fx_install();
	user_page(true);
	uintptr_t code = USER_VA + 0x100;
	*(volatile uint16_t *)code = 0xe1ff; /* jmp *%rcx */
	unsigned n = fx_count;
	probe_jump(code);
	EXPECT_NO_FAULT(n);
	uintptr_t cr4 = read_cr4();
	write_cr4(cr4 | CR4_SMEP);
	probe_jump(code);
	EXPECT_FAULT(n, 14, 0x11); /* P, I/D */
	GUEST_ASSERT_EQ(fx_cr2, code);
	GUEST_ASSERT_EQ(fx_ip, code);
	/* data accesses to the page are still allowed (SMAP is off) */
	n = fx_count;
	GUEST_ASSERT_EQ(probe_read(code) & 0xffff, 0xe1ff);
	EXPECT_NO_FAULT(n);
	write_cr4(cr4);
	probe_jump(code);
	EXPECT_NO_FAULT(n);
	user_page(false);
	fx_remove();
	GUEST_DONE();
}
GUEST_TEST("smep", test_smep);

static inline void wrpkru(uint32_t v, uint32_t ecx)
{
	__asm__ volatile(MOVP " $1f, %[fx]\n\t.byte 0x0f, 0x01, 0xef\n1:"
			 : [fx] "=m"(fx_resume) : "a"(v), "c"(ecx), "d"(0) : "memory");
	fx_resume = 0;
}

static inline uint32_t rdpkru(void)
{
	uint32_t a, d;
	__asm__ volatile(".byte 0x0f, 0x01, 0xee" : "=a"(a), "=d"(d) : "c"(0));
	return a;
}

static void test_pku(void)
{
	uint32_t r[4];
	cpuid(7, 0, r);
	GUEST_ASSERT(r[2] & (1u << 3));     /* PKU */
	GUEST_ASSERT(!(r[2] & (1u << 4)));  /* OSPKE: CR4.PKE is clear */
	fx_install();
	unsigned n = fx_count;
	wrpkru(0, 0);
	EXPECT_FAULT(n, 6, 0); /* #UD without CR4.PKE */
	uintptr_t cr4 = read_cr4(), cr0 = read_cr0();
	write_cr4(cr4 | CR4_PKE);
	cpuid(7, 0, r);
	GUEST_ASSERT(r[2] & (1u << 4));     /* OSPKE mirrors CR4.PKE */
	GUEST_ASSERT_EQ(rdpkru(), 0);
	user_page(true);
	*user_pde() |= 1ul << 59; /* protection key 1 */
	flush_tlb();
	volatile uint32_t *p = (uint32_t *)USER_VA;
	*p = 0xabcd; /* PKRU = 0: allowed */
	n = fx_count;
	wrpkru(0x4, 0); /* AD1 */
	GUEST_ASSERT_EQ(rdpkru(), 0x4);
	probe_read(USER_VA);
	EXPECT_FAULT(n, 14, 0x21); /* P, PK */
	GUEST_ASSERT_EQ(fx_cr2, USER_VA);
	n = fx_count;
	wrpkru(0x8, 0); /* WD1 */
	GUEST_ASSERT_EQ(probe_read(USER_VA), 0xabcd);
	EXPECT_NO_FAULT(n);
	write_cr0(cr0 | CR0_WP);
	probe_write(USER_VA, 1);
	EXPECT_FAULT(n, 14, 0x23); /* P, W, PK */
	n = fx_count;
	write_cr0(cr0 & ~CR0_WP); /* supervisor writes ignore WD without WP */
	probe_write(USER_VA, 2);
	EXPECT_NO_FAULT(n);
	GUEST_ASSERT_EQ(*p, 2);
	/* ECX != 0: #GP(0), PKRU unchanged */
	wrpkru(0, 1);
	EXPECT_FAULT(n, 13, 0);
	GUEST_ASSERT_EQ(rdpkru(), 0x8);
	wrpkru(0, 0);
	write_cr0(cr0);
	user_page(false);
	write_cr4(cr4);
	fx_remove();
	GUEST_DONE();
}
GUEST_TEST("pku", test_pku);

#else /* 32-bit protected mode: segment limits and types */

static uint8_t segbuf[0x2000] __attribute__((aligned(4096)));
static uint64_t newgdt[16] __attribute__((aligned(8)));

struct gdtr {
	uint16_t limit;
	uint32_t base;
} __attribute__((packed));

/* A code/data descriptor at DPL 0, present; type is the 4-bit type field. */
static uint64_t desc(uint32_t base, uint32_t limit, unsigned type, bool db, bool g)
{
	return (limit & 0xffff) | ((uint64_t)(base & 0xffffff) << 16) |
	       ((uint64_t)(type | 0x90) << 40) | ((uint64_t)((limit >> 16) & 0xf) << 48) |
	       ((uint64_t)db << 54) | ((uint64_t)g << 55) | ((uint64_t)(base >> 24) << 56);
}

#define SEL_SMALL 0x28  /* data RW, limit 0xfff */
#define SEL_RO    0x30  /* data read-only, 4 GiB */
#define SEL_CODER 0x38  /* code execute/read, 4 GiB */
#define SEL_DOWN  0x40  /* data RW expand-down, limit 0xfff, B=1 */
#define SEL_XO    0x48  /* code execute-only */

static inline void load_fs(uint16_t sel) { __asm__ volatile("mov %0, %%fs" : : "r"(sel) : "memory"); }

static uint32_t probe_fs_read(uint32_t off)
{
	uint32_t v = 0;
	__asm__ volatile("movl $1f, %[fx]\n\tmovl %%fs:(%[o]), %[v]\n1:"
			 : [fx] "=m"(fx_resume), [v] "+r"(v) : [o] "r"(off) : "memory");
	fx_resume = 0;
	return v;
}

static void probe_fs_write8(uint32_t off, uint8_t v)
{
	__asm__ volatile("movl $1f, %[fx]\n\tmovb %[v], %%fs:(%[o])\n1:"
			 : [fx] "=m"(fx_resume) : [o] "r"(off), [v] "q"(v) : "memory");
	fx_resume = 0;
}

static void test_seg_limits(void)
{
	struct gdtr old, now;
	__asm__ volatile("sgdt %0" : "=m"(old));
	GUEST_ASSERT(old.limit + 1u <= 5 * 8);
	memcpy(newgdt, (void *)(uintptr_t)old.base, old.limit + 1u);
	uint32_t b = (uint32_t)(uintptr_t)segbuf;
	newgdt[SEL_SMALL / 8] = desc(b, 0xfff, 0x3, true, false);
	newgdt[SEL_RO / 8] = desc(0, 0xfffff, 0x1, true, true);
	newgdt[SEL_CODER / 8] = desc(0, 0xfffff, 0xb, true, true);
	newgdt[SEL_DOWN / 8] = desc(b, 0xfff, 0x7, true, false);
	newgdt[SEL_XO / 8] = desc(0, 0xfffff, 0x9, true, true);
	now.limit = sizeof(newgdt) - 1;
	now.base = (uint32_t)(uintptr_t)newgdt;
	__asm__ volatile("lgdt %0" : : "m"(now) : "memory");
	fx_install();

	/* expand-up, limit 0xfff */
	load_fs(SEL_SMALL);
	segbuf[0xffc] = 0x11, segbuf[0xffd] = 0x22, segbuf[0xffe] = 0x33, segbuf[0xfff] = 0x44;
	unsigned n = fx_count;
	GUEST_ASSERT_EQ(probe_fs_read(0xffc), 0x44332211);
	probe_fs_write8(0xfff, 0x55);
	EXPECT_NO_FAULT(n);
	GUEST_ASSERT_EQ(segbuf[0xfff], 0x55);
	probe_fs_read(0xffd); /* the last byte is past the limit */
	EXPECT_FAULT(n, 13, 0);
	n = fx_count;
	probe_fs_write8(0x1000, 0x66);
	EXPECT_FAULT(n, 13, 0);
	GUEST_ASSERT_EQ(segbuf[0x1000], 0);

	/* read-only data: writes #GP(0) */
	load_fs(SEL_RO);
	n = fx_count;
	GUEST_ASSERT_EQ(probe_fs_read(b + 0xffc), 0x55332211);
	EXPECT_NO_FAULT(n);
	probe_fs_write8(b, 1);
	EXPECT_FAULT(n, 13, 0);

	/* readable code: reads fine, writes #GP(0) */
	load_fs(SEL_CODER);
	n = fx_count;
	GUEST_ASSERT_EQ(probe_fs_read(b + 0xffc), 0x55332211);
	EXPECT_NO_FAULT(n);
	probe_fs_write8(b, 1);
	EXPECT_FAULT(n, 13, 0);

	/* expand-down, B=1: offsets 0x1000..0xffffffff */
	load_fs(SEL_DOWN);
	segbuf[0x1000] = 0x99;
	n = fx_count;
	GUEST_ASSERT_EQ(probe_fs_read(0x1000) & 0xff, 0x99);
	EXPECT_NO_FAULT(n);
	probe_fs_read(0xffc);
	EXPECT_FAULT(n, 13, 0);

	/* execute-only code cannot even be loaded into FS: #GP(selector) */
	n = fx_count;
	__asm__ volatile("movl $1f, %[fx]\n\tmov %[s], %%fs\n1:"
			 : [fx] "=m"(fx_resume) : [s] "r"((uint16_t)SEL_XO) : "memory");
	fx_resume = 0;
	EXPECT_FAULT(n, 13, SEL_XO);

	/* null FS: any use #GP(0) */
	load_fs(0);
	n = fx_count;
	probe_fs_read(0);
	EXPECT_FAULT(n, 13, 0);

	/* rep stosb through ES: stops at the first byte past the limit with
	 * EDI and ECX of that element */
	n = fx_count;
	uint32_t di = 0xffc, cx = 8;
	__asm__ volatile("push %%es\n\tmov %[s], %%es\n\tmovl $1f, %[fx]\n\trep stosb\n"
			 "1:\tpop %%es"
			 : [fx] "=m"(fx_resume), "+D"(di), "+c"(cx)
			 : [s] "r"((uint16_t)SEL_SMALL), "a"(0x77) : "memory");
	fx_resume = 0;
	EXPECT_FAULT(n, 13, 0);
	GUEST_ASSERT_EQ(di, 0x1000);
	GUEST_ASSERT_EQ(cx, 4);
	GUEST_ASSERT_EQ(segbuf[0xfff], 0x77);
	GUEST_ASSERT_EQ(segbuf[0x1000], 0x99);

	load_fs(GDT_DATA);
	__asm__ volatile("lgdt %0" : : "m"(old) : "memory");
	fx_remove();
	GUEST_DONE();
}
GUEST_TEST("seg-limits", test_seg_limits);

#endif
