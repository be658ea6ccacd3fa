/* The tiny freestanding library of ringvm's test guests (guests/).
 *
 * Built twice: as 32-bit code (-m32, protected mode, paging off) and as
 * 64-bit code (entered after head64.S switched to long mode).  No libc, no
 * libgcc: in the 32-bit build avoid 64-bit division.  Reports go to the host
 * through the testdev call port (include/ringvm/testdev_abi.h), the way KVM
 * selftests' ucalls do, and are echoed on COM1 for humans. */
#ifndef GUEST_H
#define GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ringvm/testdev_abi.h"

#define NORETURN __attribute__((noreturn))

/* ---- Port I/O --------------------------------------------------------- */
static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port) : "memory");
}
static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port) : "memory");
}
static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port) : "memory");
}
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}
static inline uint16_t inw(uint16_t port)
{
	uint16_t v;
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}
static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

/* ---- MMIO: one plain MOV of exactly the named size ---------------------
 * (In the 32-bit build a 64-bit access is two 32-bit accesses, low first:
 * there are no general-purpose 64-bit moves in protected mode.) */
static inline uint8_t mmio_read8(uintptr_t a)
{
	uint8_t v;
	__asm__ volatile("movb (%1), %0" : "=q"(v) : "r"(a) : "memory");
	return v;
}
static inline uint16_t mmio_read16(uintptr_t a)
{
	uint16_t v;
	__asm__ volatile("movw (%1), %0" : "=r"(v) : "r"(a) : "memory");
	return v;
}
static inline uint32_t mmio_read32(uintptr_t a)
{
	uint32_t v;
	__asm__ volatile("movl (%1), %0" : "=r"(v) : "r"(a) : "memory");
	return v;
}
static inline void mmio_write8(uintptr_t a, uint8_t v)
{
	__asm__ volatile("movb %0, (%1)" : : "q"(v), "r"(a) : "memory");
}
static inline void mmio_write16(uintptr_t a, uint16_t v)
{
	__asm__ volatile("movw %0, (%1)" : : "r"(v), "r"(a) : "memory");
}
static inline void mmio_write32(uintptr_t a, uint32_t v)
{
	__asm__ volatile("movl %0, (%1)" : : "r"(v), "r"(a) : "memory");
}
#ifdef __x86_64__
static inline uint64_t mmio_read64(uintptr_t a)
{
	uint64_t v;
	__asm__ volatile("movq (%1), %0" : "=r"(v) : "r"(a) : "memory");
	return v;
}
static inline void mmio_write64(uintptr_t a, uint64_t v)
{
	__asm__ volatile("movq %0, (%1)" : : "r"(v), "r"(a) : "memory");
}
#else
static inline uint64_t mmio_read64(uintptr_t a)
{
	uint64_t lo = mmio_read32(a);
	return lo | (uint64_t)mmio_read32(a + 4) << 32;
}
static inline void mmio_write64(uintptr_t a, uint64_t v)
{
	mmio_write32(a, (uint32_t)v);
	mmio_write32(a + 4, (uint32_t)(v >> 32));
}
#endif

/* ---- CPU -------------------------------------------------------------- */
static inline void cli(void) { __asm__ volatile("cli" : : : "memory"); }
static inline void sti(void) { __asm__ volatile("sti" : : : "memory"); }
/* sti's one-instruction shadow makes "sti; hlt" race free. */
static inline void sti_hlt(void) { __asm__ volatile("sti; hlt" : : : "memory"); }
static inline void cpu_relax(void) { __asm__ volatile("pause" : : : "memory"); }
static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return lo | (uint64_t)hi << 32;
}
static inline uintptr_t read_cr0(void)
{
	uintptr_t v;
	__asm__ volatile("mov %%cr0, %0" : "=r"(v));
	return v;
}
static inline uintptr_t read_cr2(void)
{
	uintptr_t v;
	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}
static inline uintptr_t read_cr3(void)
{
	uintptr_t v;
	__asm__ volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}
static inline uintptr_t read_cr4(void)
{
	uintptr_t v;
	__asm__ volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}
/* CPUID leaf/subleaf: r[] = eax, ebx, ecx, edx. */
static inline void write_cr3(uintptr_t v) { __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
static inline void write_cr4(uintptr_t v) { __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }
static inline void invlpg(uintptr_t la) { __asm__ volatile("invlpg (%0)" : : "r"(la) : "memory"); }
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub));
}
static inline uint16_t read_cs(void)
{
	uint16_t v;
	__asm__ volatile("mov %%cs, %0" : "=r"(v));
	return v;
}
NORETURN void halt_forever(void);
/* Reset the machine: 0 i8042, 1 ACPI reset register (0xcf9), 2 triple
 * fault (lib/reset.c); spins until the reset takes effect. */
NORETURN void guest_reset(unsigned how);

/* Selectors of the guests' own GDT (head32.S / head64.S). */
#define GDT_CODE32 0x10
#define GDT_DATA   0x18
#define GDT_CODE64 0x20

/* slot[0..1] = a 64-bit available TSS descriptor (type 9, P, limit 0x67)
 * for the TSS at tss: a 16-byte system descriptor, two GDT slots (SDM
 * Vol. 3A, 8.2.3). */
static inline void gdt_set_tss64(uint64_t *slot, const void *tss)
{
	uint64_t base = (uintptr_t)tss;
	slot[0] = 0x67 | (base & 0xffffff) << 16 | 0x89ull << 40 | (base >> 24 & 0xff) << 56;
	slot[1] = base >> 32;
}

/* ---- Strings (the compiler may also emit calls to these) -------------- */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

/* ---- COM1 (16550A), polled, no interrupts ----------------------------- */
#define COM1 0x3f8
void serial_init(void);
void serial_putc(char c);
void serial_puts(const char *s);
void serial_put_hex(uint64_t v);
void serial_put_dec(uint32_t v);

/* ---- Test device calls ------------------------------------------------ */
void testdev_sync(const char *file, uint32_t line, const char *msg, uint64_t arg);
NORETURN void testdev_assert(const char *file, uint32_t line, const char *msg,
			     uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3);
NORETURN void testdev_done(void);
uint32_t testdev_reset_count(void);

/* A test, chosen by "test=NAME" on the command line.  Any file of the
 * guest program registers its tests with GUEST_TEST(name, fn) at file
 * scope; no central table (the linker collects them, guest.ld.S). */
struct guest_test {
	const char *name;
	void (*fn)(void);
};
#define GUEST_TEST_ID_(a, b) a##b
#define GUEST_TEST_ID(a, b) GUEST_TEST_ID_(a, b)
#define GUEST_TEST(tname, tfn)                                               \
	static const struct guest_test GUEST_TEST_ID(guest_test_, __LINE__)  \
	__attribute__((used, section(".guest_tests"), aligned(8))) = { (tname), (tfn) }

#define GUEST_SYNC(msg, arg) testdev_sync(__FILE_NAME__, __LINE__, (msg), (uint64_t)(arg))
#define GUEST_DONE() testdev_done()
/* GUEST_FAIL(msg[, arg0[, arg1[, arg2[, arg3]]]]) */
#define GUEST_FAIL(...) GUEST_FAIL_(__VA_ARGS__, 0, 0, 0, 0, 0)
#define GUEST_FAIL_(msg, a, b, c, d, ...)                                    \
	testdev_assert(__FILE_NAME__, __LINE__, (msg), (uint64_t)(a), (uint64_t)(b), \
		       (uint64_t)(c), (uint64_t)(d))
#define GUEST_ASSERT(cond)                                                   \
	do {                                                                 \
		if (!(cond))                                                 \
			testdev_assert(__FILE_NAME__, __LINE__, #cond, 0, 0, 0, 0); \
	} while (0)
/* Both values are reported as args 0 and 1. */
#define GUEST_ASSERT_EQ(a, b)                                                \
	do {                                                                 \
		uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);             \
		if (a_ != b_)                                                \
			testdev_assert(__FILE_NAME__, __LINE__, #a " == " #b, a_, b_, 0, 0); \
	} while (0)

/* ---- Interrupts ------------------------------------------------------- */
struct isr_frame;                     /* isr32.S / isr64.S layout */
typedef void (*irq_handler_fn)(unsigned irq);
#define IRQ_BASE 0x20                 /* PIC remapped to 0x20..0x2f */
#define IDT_VECTORS 0x30
void idt_init(void);                  /* exceptions report and stop */
/* A test's own gate for vector (< IDT_VECTORS): type is the access byte
 * (0x8e interrupt gate, 0x8f trap gate, 0x85 task gate with sel = a TSS
 * selector; clear bit 7 for a not-present gate, add 0x60 for DPL 3). */
void idt_set_gate(unsigned vector, uintptr_t off, uint16_t sel, uint8_t type);
void irq_set_handler(unsigned irq, irq_handler_fn fn);
/* What the interrupt stubs (lib/isr32.S, lib/isr64.S) saved.  A handler
 * installed with exc_set_handler() may change ip and flags: the stub
 * returns to what the frame then says. */
struct isr_frame {
#ifdef __x86_64__
	uint64_t r11, r10, r9, r8, rdi, rsi, rdx, rcx, rax;
#else
	uint32_t edi, esi, ebp, esp, ebx, edx, ecx, eax; /* pusha */
#endif
	uintptr_t vector, error, ip, cs, flags;
};
typedef void (*exc_handler_fn)(struct isr_frame *f);
/* Handle exception vector (< IRQ_BASE) with fn instead of reporting it as
 * unexpected; NULL restores the report. */
void exc_set_handler(unsigned vector, exc_handler_fn fn);
/* An expected fault (lib/idt.c): exc_expect arms a handler for the vectors
 * in the mask (bit n: vector n) that records the vector and error code in
 * exc_caught and skips the faulting instruction, len bytes; exc_caught.vec
 * is 0xff until one is taken.  exc_expect_none(mask) disarms them. */
struct exc_caught {
	volatile unsigned vec;
	volatile uintptr_t err;
};
extern struct exc_caught exc_caught;
void exc_expect(unsigned len, uint32_t vectors);
void exc_expect_none(uint32_t vectors);
void pic_init(uint8_t master_mask, uint8_t slave_mask); /* remap to IRQ_BASE */
void pic_eoi(unsigned irq);
/* 8254 channel 0 (lib/pit.c): IRQ0 at hz (a divisor of PIT_INPUT_HZ, at
 * least 19 Hz), or every count input clocks; pit_stop leaves it silent. */
#define PIT_INPUT_HZ 1193182u
void pit_periodic(uint32_t hz);
void pit_periodic_count(uint16_t count);
void pit_stop(void);
/* 32-bit code: 1 = return from interrupts with IRET, 0 (default) = with
 * popfl; lret (see isr32.S).  Set by "iret=1" on the command line. */
extern uint8_t isr_use_iret;

/* ---- Boot ------------------------------------------------------------- */
struct boot_info {
	const char *protocol;         /* "multiboot" or "pvh" */
	const char *cmdline;          /* "" if none */
};
void boot_parse(uint32_t magic, uint32_t info, struct boot_info *out);
/* Find "key=" in cmdline; copy its value (up to a blank) into buf. */
bool cmdline_get(const char *cmdline, const char *key, char *buf, size_t len);

/* Provided by the program (tests.c). */
void guest_run(const struct boot_info *bi);

#endif
