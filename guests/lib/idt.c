/* IDT for vectors 0..IDT_VECTORS-1 (exceptions and the remapped PIC IRQs),
 * 8259 PIC setup.  The stubs are in isr32.S / isr64.S; each pushes an error
 * code (0 if the CPU pushed none) and its vector, then calls isr_dispatch. */
#include "guest.h"

#ifdef __x86_64__
struct idt_gate {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, zero;
} __attribute__((packed));
#define GATE_SEL GDT_CODE64
#else
struct idt_gate {
	uint16_t off0, sel;
	uint8_t zero, type;
	uint16_t off1;
} __attribute__((packed));
#define GATE_SEL GDT_CODE32
#endif

struct idt_ptr {
	uint16_t limit;
	uintptr_t base;
} __attribute__((packed));

extern const uintptr_t isr_stubs[IDT_VECTORS];
static struct idt_gate idt[IDT_VECTORS] __attribute__((aligned(16)));
static irq_handler_fn irq_handlers[16];
static exc_handler_fn exc_handlers[IRQ_BASE];

void isr_dispatch(struct isr_frame *f);
void isr_dispatch(struct isr_frame *f)
{
	if (f->vector < IRQ_BASE && exc_handlers[f->vector]) {
		exc_handlers[f->vector](f);
		return;
	}
	if (f->vector < IRQ_BASE)
		GUEST_FAIL("unexpected exception (vector, error code, ip)", f->vector, f->error,
			   f->ip);
	unsigned irq = (unsigned)(f->vector - IRQ_BASE);
	if (irq < 16 && irq_handlers[irq])
		irq_handlers[irq](irq);
	else if (irq != 7 && irq != 15) /* 7 and 15 may be spurious: no EOI */
		pic_eoi(irq);
}

void idt_init(void)
{
	for (unsigned v = 0; v < IDT_VECTORS; v++) {
		uintptr_t off = isr_stubs[v];
		struct idt_gate *g = &idt[v];
		memset(g, 0, sizeof(*g));
		g->off0 = (uint16_t)off;
		g->off1 = (uint16_t)(off >> 16);
#ifdef __x86_64__
		g->off2 = (uint32_t)(off >> 32);
		g->type = 0x8e; /* present, DPL0, 64-bit interrupt gate */
#else
		g->type = 0x8e; /* present, DPL0, 32-bit interrupt gate */
#endif
		g->sel = GATE_SEL;
	}
	struct idt_ptr p = { .limit = sizeof(idt) - 1, .base = (uintptr_t)idt };
	__asm__ volatile("lidt %0" : : "m"(p) : "memory");
}

void idt_set_gate(unsigned vector, uintptr_t off, uint16_t sel, uint8_t type)
{
	if (vector >= IDT_VECTORS)
		return;
	struct idt_gate *g = &idt[vector];
	memset(g, 0, sizeof(*g));
	g->off0 = (uint16_t)off;
	g->off1 = (uint16_t)(off >> 16);
#ifdef __x86_64__
	g->off2 = (uint32_t)(off >> 32);
#endif
	g->sel = sel;
	g->type = type;
}

void exc_set_handler(unsigned vector, exc_handler_fn fn)
{
	if (vector < IRQ_BASE)
		exc_handlers[vector] = fn;
}

struct exc_caught exc_caught;
static volatile unsigned exc_skip;

static void exc_catch(struct isr_frame *f)
{
	exc_caught.vec = (unsigned)f->vector;
	exc_caught.err = f->error;
	f->ip += exc_skip;
}

void exc_expect(unsigned len, uint32_t vectors)
{
	exc_caught.vec = 0xff;
	exc_caught.err = 0;
	exc_skip = len;
	for (unsigned v = 0; v < IRQ_BASE; v++)
		if (vectors & (1u << v))
			exc_set_handler(v, exc_catch);
}

void exc_expect_none(uint32_t vectors)
{
	for (unsigned v = 0; v < IRQ_BASE; v++)
		if (vectors & (1u << v))
			exc_set_handler(v, NULL);
}

void irq_set_handler(unsigned irq, irq_handler_fn fn)
{
	if (irq < 16)
		irq_handlers[irq] = fn;
}


/* ---- 8259A pair ------------------------------------------------------- */
#define PIC1_CMD  0x20
#define PIC1_DATA 0x21
#define PIC2_CMD  0xa0
#define PIC2_DATA 0xa1

void pic_init(uint8_t master_mask, uint8_t slave_mask)
{
	outb(PIC1_CMD, 0x11);           /* ICW1: edge, cascade, ICW4 */
	outb(PIC2_CMD, 0x11);
	outb(PIC1_DATA, IRQ_BASE);      /* ICW2: vector base */
	outb(PIC2_DATA, IRQ_BASE + 8);
	outb(PIC1_DATA, 0x04);          /* ICW3: slave on IRQ2 */
	outb(PIC2_DATA, 0x02);
	outb(PIC1_DATA, 0x01);          /* ICW4: 8086 mode */
	outb(PIC2_DATA, 0x01);
	outb(PIC1_DATA, master_mask);   /* OCW1 */
	outb(PIC2_DATA, slave_mask);
}

void pic_eoi(unsigned irq)
{
	if (irq >= 8)
		outb(PIC2_CMD, 0x20);
	outb(PIC1_CMD, 0x20);
}
