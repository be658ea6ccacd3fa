/* Hardware task switching and virtual-8086 mode (SDM vol. 3, ch. 7 and
 * 20).  32-bit images only: in IA-32e mode neither exists.
 *
 * Each test builds its own GDT (the boot GDT's flat 0x10/0x18 plus TSS
 * descriptors and a task gate), loads TR with the main task's TSS and
 * installs its own exception gates (idt_set_gate).  Faults a test expects
 * land in task_fault() through fstubN below, which records the vector,
 * error code, TR and EIP and then resumes at task_fault_resume, returns to
 * the faulting context unchanged, or jumps back to the main task. */
#include "guest.h"

#ifndef __x86_64__

#define SEL_CODE 0x10
#define SEL_DATA 0x18
#define SEL_TSS_MAIN 0x28
#define SEL_TSS_A 0x30
#define SEL_TSS_DF 0x38
#define SEL_GATE_A 0x40  /* task gate in the GDT -> SEL_TSS_A */
#define SEL_TSS_SHORT 0x48 /* limit 0x50 < 0x67 */
#define SEL_TSS_NP 0x50  /* not present */
#define SEL_TSS_BADDS 0x58 /* a task whose DS is a TSS selector */
#define GDT_ENTRIES 12

#define EFL_NT (1u << 14)
#define EFL_VM (1u << 17)
#define CR0_TS (1u << 3)
#define DR6_BT (1u << 15)

struct tss32 {
	uint16_t link, r0;
	uint32_t esp0;
	uint16_t ss0, r1;
	uint32_t esp1;
	uint16_t ss1, r2;
	uint32_t esp2;
	uint16_t ss2, r3;
	uint32_t cr3, eip, eflags, eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint16_t es, r4, cs, r5, ss, r6, ds, r7, fs, r8, gs, r9, ldt, r10;
	uint16_t trap, iomap;
} __attribute__((packed));
_Static_assert(sizeof(struct tss32) == 0x68, "32-bit TSS layout");

/* The main task's TSS with the VME interrupt redirection bitmap (the 32
 * bytes below the I/O map base) and an I/O permission bitmap for ports
 * 0..0x3ff (and the all-ones byte that must follow it). */
struct main_tss {
	struct tss32 t;
	uint8_t intmap[32];
	uint8_t iomap[0x81];
} __attribute__((packed));

struct farptr {
	uint32_t off;
	uint16_t sel;
} __attribute__((packed));

/* What fstubN pushed (see the stub below): pusha, ES, DS, vector, error
 * code, the CPU's frame; from virtual-8086 mode also ESP SS ES DS FS GS. */
struct tframe {
	uint32_t edi, esi, ebp, esp_, ebx, edx, ecx, eax;
	uint32_t es, ds;
	uint32_t vector, error, eip, cs, eflags;
	uint32_t v86_esp, v86_ss, v86_es, v86_ds, v86_fs, v86_gs;
};

extern const uintptr_t isr_stubs[IDT_VECTORS];

static volatile uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(16)));
static struct main_tss tss_main __attribute__((aligned(128)));
static struct tss32 tss_a __attribute__((aligned(128)));
static struct tss32 tss_df __attribute__((aligned(128)));
static struct tss32 tss_bad __attribute__((aligned(128)));
static uint8_t stack_a[4096] __attribute__((aligned(16)));
static uint8_t stack_df[4096] __attribute__((aligned(16)));
static uint8_t stack_mon[4096] __attribute__((aligned(16)));
static const struct farptr fp_main = { 0, SEL_TSS_MAIN };

/* ---- helpers ---- */

static uint64_t seg_desc(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	return (limit & 0xffff) | ((uint64_t)(base & 0xffffff) << 16) | ((uint64_t)access << 40) |
	       ((uint64_t)((limit >> 16) & 0xf) << 48) | ((uint64_t)(flags & 0xf) << 52) |
	       ((uint64_t)(base >> 24) << 56);
}

static uint16_t str(void)
{
	uint16_t v;
	__asm__ volatile("str %0" : "=r"(v));
	return v;
}

static uint32_t eflags(void)
{
	uint32_t v;
	__asm__ volatile("pushfl; popl %0" : "=r"(v) : : "memory");
	return v;
}

static uint16_t read_ds(void)
{
	uint16_t v;
	__asm__ volatile("mov %%ds, %0" : "=r"(v));
	return v;
}

static unsigned busy(unsigned sel)
{
	return (unsigned)(gdt[sel >> 3] >> 41) & 1;
}

static void far_jmp(uint16_t sel)
{
	struct farptr fp = { 0, sel };
	__asm__ volatile("ljmp *%0" : : "m"(fp) : "memory");
}

static void far_call(uint16_t sel)
{
	struct farptr fp = { 0, sel };
	__asm__ volatile("lcall *%0" : : "m"(fp) : "memory");
}

static void tss_init(struct tss32 *t, void (*entry)(void), uint8_t *stack_top)
{
	memset(t, 0, sizeof(*t));
	t->eip = (uint32_t)entry;
	t->eflags = 0x2;
	t->esp = (uint32_t)stack_top;
	t->cs = SEL_CODE;
	t->ss = t->ds = t->es = t->fs = t->gs = SEL_DATA;
	t->iomap = sizeof(*t);
}

/* GDT with the TSSs, LTR of the main task. */
static void task_setup(void)
{
	gdt[0] = 0;
	gdt[1] = 0;
	gdt[2] = 0x00cf9a000000ffffULL; /* 0x10 code32 */
	gdt[3] = 0x00cf92000000ffffULL; /* 0x18 data */
	gdt[4] = 0x00af9a000000ffffULL; /* 0x20 code64 (unused) */
	memset(&tss_main, 0, sizeof(tss_main));
	tss_main.t.ss0 = SEL_DATA;
	tss_main.t.esp0 = (uint32_t)(stack_mon + sizeof(stack_mon));
	tss_main.t.iomap = sizeof(struct tss32) + sizeof(tss_main.intmap);
	memset(tss_main.intmap, 0xff, sizeof(tss_main.intmap));
	memset(tss_main.iomap, 0xff, sizeof(tss_main.iomap));
	gdt[5] = seg_desc((uint32_t)&tss_main, sizeof(tss_main) - 1, 0x89, 0);
	gdt[6] = seg_desc((uint32_t)&tss_a, 0x67, 0x89, 0);
	gdt[7] = seg_desc((uint32_t)&tss_df, 0x67, 0x89, 0);
	gdt[8] = ((uint64_t)SEL_TSS_A << 16) | (0x85ULL << 40);
	gdt[9] = seg_desc((uint32_t)&tss_bad, 0x50, 0x89, 0);
	gdt[10] = seg_desc((uint32_t)&tss_bad, 0x67, 0x09, 0);
	gdt[11] = seg_desc((uint32_t)&tss_bad, 0x67, 0x89, 0);
	struct {
		uint16_t pad, limit;
		uint32_t base;
	} __attribute__((packed)) p = { 0, sizeof(gdt) - 1, (uint32_t)gdt };
	__asm__ volatile("lgdt %0" : : "m"(p.limit) : "memory");
	__asm__ volatile("ltr %w0" : : "r"(SEL_TSS_MAIN) : "memory");
	__asm__ volatile("clts");
}

/* ---- expected faults ---- */

enum { FAULT_RESUME, FAULT_RETURN, FAULT_TO_MAIN };
static volatile uint32_t fault_count, fault_vec, fault_err, fault_tr, fault_eip, fault_dr6;
static volatile int fault_mode;
volatile uint32_t task_fault_resume;
static volatile int v86_active;
static void v86_monitor(struct tframe *f);

void task_fault(struct tframe *f);
void task_fault(struct tframe *f)
{
	if (v86_active) {
		v86_monitor(f);
		return;
	}
	fault_count++;
	fault_vec = f->vector;
	fault_err = f->error;
	fault_tr = str();
	fault_eip = f->eip;
	if (f->vector == 1) {
		uint32_t dr6;
		__asm__ volatile("mov %%dr6, %0" : "=r"(dr6));
		fault_dr6 = dr6;
	}
	if (fault_mode == FAULT_TO_MAIN)
		__asm__ volatile("ljmp *%0" : : "m"(fp_main) : "memory");
	if (fault_mode == FAULT_RESUME)
		f->eip = task_fault_resume;
}

#define FSTUB(vec, err)                                                      \
	"fstub" #vec ":\n" err "pushl $" #vec "\njmp fstub_common\n"
__asm__(".text\n"
	FSTUB(1, "pushl $0\n")
	FSTUB(10, "")
	FSTUB(11, "")
	FSTUB(12, "")
	FSTUB(13, "")
	"fstub_common:\n"
	"pushl %ds\n"
	"pushl %es\n"
	"pusha\n"
	"movl $0x18, %eax\n" /* DS/ES may be null (v86, a task's bad DS) */
	"movw %ax, %ds\n"
	"movw %ax, %es\n"
	"cld\n"
	"pushl %esp\n"
	"call task_fault\n"
	"addl $4, %esp\n"
	"popa\n"
	"popl %es\n"
	"popl %ds\n"
	"addl $8, %esp\n"
	"iret\n");
extern char fstub1[], fstub10[], fstub11[], fstub12[], fstub13[];

static void fault_setup(int mode)
{
	fault_mode = mode;
	idt_set_gate(1, (uintptr_t)fstub1, SEL_CODE, 0x8e);
	idt_set_gate(10, (uintptr_t)fstub10, SEL_CODE, 0x8e);
	idt_set_gate(11, (uintptr_t)fstub11, SEL_CODE, 0x8e);
	idt_set_gate(12, (uintptr_t)fstub12, SEL_CODE, 0x8e);
	idt_set_gate(13, (uintptr_t)fstub13, SEL_CODE, 0x8e);
}

/* A far JMP/CALL that must fault before any task switch: returns
 * (vector << 16) | error code, 0xffffffff if nothing faulted. */
static uint32_t try_far(bool call, uint16_t sel)
{
	struct farptr fp = { 0, sel };
	uint32_t before = fault_count;
	fault_mode = FAULT_RESUME;
	if (call)
		__asm__ volatile("movl $1f, task_fault_resume\n\tlcall *%0\n1:" : : "m"(fp) : "memory");
	else
		__asm__ volatile("movl $1f, task_fault_resume\n\tljmp *%0\n1:" : : "m"(fp) : "memory");
	if (fault_count == before)
		return 0xffffffffu;
	return (fault_vec << 16) | fault_err;
}

/* ---- task A bodies (entered by a task switch, never return) ---- */

static volatile uint32_t a_runs, a_tr, a_flags, a_cr0, a_busy_main, a_busy_a, a_link;
static volatile uint32_t a_try1, a_try2;

static void __attribute__((noreturn)) task_a_jmp_body(void)
{
	a_runs++;
	a_tr = str();
	a_flags = eflags();
	a_cr0 = read_cr0();
	a_busy_main = busy(SEL_TSS_MAIN);
	a_busy_a = busy(SEL_TSS_A);
	__asm__ volatile("movl $0x0badf00d, %%esi\n\tljmp *%0" : : "m"(fp_main) : "esi", "memory");
	GUEST_FAIL("task A resumed after its JMP back");
}

static void __attribute__((noreturn)) task_a_call_body(void)
{
	a_runs++;
	a_tr = str();
	a_flags = eflags();
	a_link = tss_a.link;
	a_busy_main = busy(SEL_TSS_MAIN);
	a_busy_a = busy(SEL_TSS_A);
	__asm__ volatile("iret" : : : "memory");
	GUEST_FAIL("task A resumed after its IRET");
}

/* Nested: both tasks busy now, so a CALL through the gate to this very
 * task and a JMP to the caller are #GP(TSS selector). */
static void __attribute__((noreturn)) task_a_busy_body(void)
{
	a_runs++;
	a_try1 = try_far(true, SEL_GATE_A);
	a_try2 = try_far(false, SEL_TSS_MAIN);
	__asm__ volatile("iret" : : : "memory");
	GUEST_FAIL("task A resumed after its IRET");
}

/* ---- JMP to a TSS and back ---- */

static void test_task_jmp(void)
{
	task_setup();
	tss_init(&tss_a, task_a_jmp_body, stack_a + sizeof(stack_a));
	/* DR7: L0 (task-local, cleared by the switch) and G0 (kept) */
	__asm__ volatile("mov %0, %%dr7" : : "r"(0x3u));
	uint32_t esi;
	struct farptr fp = { 0x1234, SEL_TSS_A }; /* the offset is ignored */
	__asm__ volatile("movl $0x5ee1f00d, %%esi\n\tljmp *%1\n\tmovl %%esi, %0"
			 : "=&a"(esi) : "m"(fp) : "esi", "memory");
	uint32_t dr7;
	__asm__ volatile("mov %%dr7, %0" : "=r"(dr7));
	GUEST_ASSERT_EQ(a_runs, 1);
	GUEST_ASSERT_EQ(a_tr, SEL_TSS_A);
	GUEST_ASSERT_EQ(a_flags & EFL_NT, 0);       /* JMP does not nest */
	GUEST_ASSERT(a_cr0 & CR0_TS);               /* set on every switch */
	GUEST_ASSERT_EQ(a_busy_main, 0);            /* JMP frees the old task */
	GUEST_ASSERT_EQ(a_busy_a, 1);
	GUEST_ASSERT_EQ(esi, 0x5ee1f00d);           /* the main task's registers came back */
	GUEST_ASSERT_EQ(str(), SEL_TSS_MAIN);
	GUEST_ASSERT_EQ(busy(SEL_TSS_MAIN), 1);
	GUEST_ASSERT_EQ(busy(SEL_TSS_A), 0);
	GUEST_ASSERT_EQ(tss_a.esi, 0x0badf00d);     /* task A's state was saved */
	GUEST_ASSERT_EQ(tss_main.t.link, 0);        /* no back link for JMP */
	GUEST_ASSERT(read_cr0() & CR0_TS);
	GUEST_ASSERT_EQ(dr7 & 0x1ff, 0x2);          /* L0 cleared, G0 kept */
	__asm__ volatile("clts; mov %0, %%dr7" : : "r"(0u));
	GUEST_SYNC("task jmp ok", tss_a.eip != (uint32_t)task_a_jmp_body);
	GUEST_DONE();
}
GUEST_TEST("task-jmp", test_task_jmp);

/* ---- CALL through a task gate, IRET back with NT ---- */

static void test_task_call(void)
{
	task_setup();
	tss_init(&tss_a, task_a_call_body, stack_a + sizeof(stack_a));
	far_call(SEL_GATE_A);
	GUEST_ASSERT_EQ(a_runs, 1);
	GUEST_ASSERT_EQ(a_tr, SEL_TSS_A);
	GUEST_ASSERT(a_flags & EFL_NT);             /* CALL nests */
	GUEST_ASSERT_EQ(a_link, SEL_TSS_MAIN);      /* back link */
	GUEST_ASSERT_EQ(a_busy_main, 1);            /* CALL keeps the caller busy */
	GUEST_ASSERT_EQ(a_busy_a, 1);
	GUEST_ASSERT_EQ(str(), SEL_TSS_MAIN);
	GUEST_ASSERT_EQ(eflags() & EFL_NT, 0);
	GUEST_ASSERT_EQ(busy(SEL_TSS_A), 0);        /* IRET frees the task it leaves */
	GUEST_ASSERT_EQ(busy(SEL_TSS_MAIN), 1);
	GUEST_ASSERT_EQ(tss_a.eflags & EFL_NT, 0);  /* saved with NT cleared */
	__asm__ volatile("clts");
	GUEST_SYNC("task call ok", a_link);
	GUEST_DONE();
}
GUEST_TEST("task-call", test_task_call);

/* ---- the double-fault task ---- */

static volatile uint32_t df_err, df_errp, df_tr, df_flags, df_link, df_main_eip;
extern char df_entry[], df_fault_insn[], df_resume[];
void df_task_main(uint32_t err);
void df_task_main(uint32_t err)
{
	df_err = err;
	df_errp = (uint32_t)&err;
	df_tr = str();
	df_flags = eflags();
	df_link = tss_df.link;
	df_main_eip = tss_main.t.eip;
	/* resume the main task after the faulting instruction, with #GP
	 * handled again */
	tss_main.t.eip = (uint32_t)df_resume;
	idt_set_gate(13, isr_stubs[13], SEL_CODE, 0x8e);
	__asm__ volatile("iret" : : : "memory");
	GUEST_FAIL("double-fault task resumed after its IRET");
}
/* The error code (0) is on the task's stack: it is df_task_main's argument. */
__asm__(".text\ndf_entry:\n\tcall df_task_main\n1:\thlt\n\tjmp 1b\n");

static void __attribute__((noinline)) test_task_df(void)
{
	task_setup();
	tss_init(&tss_df, (void (*)(void))df_entry, stack_df + sizeof(stack_df));
	idt_set_gate(8, 0, SEL_TSS_DF, 0x85);
	/* #GP's gate not present: #GP then #NP is a double fault */
	idt_set_gate(13, isr_stubs[13], SEL_CODE, 0x0e);
	__asm__ volatile("movw $0xfff8, %%ax\n"
			 "df_fault_insn:\n\tmovw %%ax, %%ds\n" /* #GP(0xfff8): beyond the GDT */
			 "df_resume:\n"
			 : : : "eax", "memory");
	GUEST_ASSERT_EQ(df_err, 0);
	GUEST_ASSERT_EQ(df_errp, (uint32_t)(stack_df + sizeof(stack_df)) - 4);
	GUEST_ASSERT_EQ(df_tr, SEL_TSS_DF);
	GUEST_ASSERT(df_flags & EFL_NT);
	GUEST_ASSERT_EQ(df_link, SEL_TSS_MAIN);
	GUEST_ASSERT_EQ(df_main_eip, (uint32_t)df_fault_insn); /* a fault: EIP of the instruction */
	GUEST_ASSERT_EQ(str(), SEL_TSS_MAIN);
	GUEST_ASSERT_EQ(busy(SEL_TSS_DF), 0);
	GUEST_ASSERT_EQ(read_ds(), SEL_DATA);
	__asm__ volatile("clts");
	GUEST_SYNC("double-fault task ok", df_main_eip);
	GUEST_DONE();
}
GUEST_TEST("task-df", test_task_df);

/* ---- busy bits ---- */

static void test_task_busy(void)
{
	task_setup();
	fault_setup(FAULT_RESUME);
	/* the running task is busy */
	GUEST_ASSERT_EQ(try_far(false, SEL_TSS_MAIN), (13u << 16) | SEL_TSS_MAIN);
	GUEST_ASSERT_EQ(try_far(true, SEL_TSS_MAIN), (13u << 16) | SEL_TSS_MAIN);
	/* IRET with NT to a task that is not busy: #TS(link) */
	tss_main.t.link = SEL_TSS_A;
	tss_init(&tss_a, task_a_busy_body, stack_a + sizeof(stack_a));
	uint32_t before = fault_count;
	__asm__ volatile("movl $1f, task_fault_resume\n\t"
			 "pushfl\n\torl $0x4000, (%%esp)\n\tpopfl\n\tiret\n"
			 "1:\tpushfl\n\tandl $~0x4000, (%%esp)\n\tpopfl" : : : "memory", "cc");
	GUEST_ASSERT_EQ(fault_count, before + 1);
	GUEST_ASSERT_EQ(fault_vec, 10);
	GUEST_ASSERT_EQ(fault_err, SEL_TSS_A);
	GUEST_ASSERT_EQ(busy(SEL_TSS_A), 0);
	GUEST_ASSERT_EQ(str(), SEL_TSS_MAIN);
	/* nested: CALL to the busy callee and JMP to the busy caller */
	tss_main.t.link = 0;
	far_call(SEL_GATE_A);
	GUEST_ASSERT_EQ(a_runs, 1);
	GUEST_ASSERT_EQ(a_try1, (13u << 16) | SEL_TSS_A);
	GUEST_ASSERT_EQ(a_try2, (13u << 16) | SEL_TSS_MAIN);
	GUEST_ASSERT_EQ(fault_tr, SEL_TSS_A); /* handled in task A */
	GUEST_ASSERT_EQ(busy(SEL_TSS_A), 0);
	__asm__ volatile("clts");
	GUEST_SYNC("task busy ok", fault_count);
	GUEST_DONE();
}
GUEST_TEST("task-busy", test_task_busy);

/* ---- #TS / #NP on bad TSSs ---- */

static void __attribute__((noreturn)) task_bad_body(void)
{
	GUEST_FAIL("task with a bad DS ran");
}

static void test_task_ts(void)
{
	task_setup();
	fault_setup(FAULT_RESUME);
	tss_init(&tss_bad, task_bad_body, stack_a + sizeof(stack_a));
	tss_bad.ds = SEL_TSS_MAIN; /* a system descriptor: not loadable into DS */
	/* before the commit point: in the main task */
	GUEST_ASSERT_EQ(try_far(false, SEL_TSS_SHORT), (10u << 16) | SEL_TSS_SHORT);
	GUEST_ASSERT_EQ(try_far(true, SEL_TSS_NP), (11u << 16) | SEL_TSS_NP);
	GUEST_ASSERT_EQ(str(), SEL_TSS_MAIN);
	GUEST_ASSERT_EQ(busy(SEL_TSS_SHORT), 0);
	/* after it: #TS(DS) in the new task's context, whose handler jumps
	 * back to the main task */
	fault_mode = FAULT_TO_MAIN;
	uint32_t before = fault_count;
	far_jmp(SEL_TSS_BADDS);
	GUEST_ASSERT_EQ(fault_count, before + 1);
	GUEST_ASSERT_EQ(fault_vec, 10);
	GUEST_ASSERT_EQ(fault_err, SEL_TSS_MAIN);
	GUEST_ASSERT_EQ(fault_tr, SEL_TSS_BADDS);
	GUEST_ASSERT_EQ(fault_eip, (uint32_t)task_bad_body);
	GUEST_ASSERT_EQ(str(), SEL_TSS_MAIN);
	GUEST_ASSERT_EQ(busy(SEL_TSS_BADDS), 0);
	__asm__ volatile("clts");
	GUEST_SYNC("task ts ok", fault_count);
	GUEST_DONE();
}
GUEST_TEST("task-ts", test_task_ts);

/* ---- the T bit: #DB before the new task's first instruction ---- */

static void test_task_tbit(void)
{
	task_setup();
	fault_setup(FAULT_RETURN);
	tss_init(&tss_a, task_a_jmp_body, stack_a + sizeof(stack_a));
	tss_a.trap = 1;
	__asm__ volatile("mov %0, %%dr6" : : "r"(0u));
	far_jmp(SEL_TSS_A);
	GUEST_ASSERT_EQ(fault_count, 1);
	GUEST_ASSERT_EQ(fault_vec, 1);
	GUEST_ASSERT_EQ(fault_tr, SEL_TSS_A);
	GUEST_ASSERT_EQ(fault_eip, (uint32_t)task_a_jmp_body);
	GUEST_ASSERT(fault_dr6 & DR6_BT);
	GUEST_ASSERT_EQ(a_runs, 1);
	__asm__ volatile("clts");
	GUEST_SYNC("task T bit ok", fault_dr6);
	GUEST_DONE();
}
GUEST_TEST("task-tbit", test_task_tbit);

/* ---- virtual-8086 mode ---- */

/* The program, copied to 0x88000 and run at CS = 0x8800, IP = 0. */
extern const char v86_code[], v86_code_end[];
__asm__(".pushsection .rodata\n"
	".globl v86_code\nv86_code:\n"
	".code16\n"
	"movw %cs, %ax\n"
	"addw $0x100, %ax\n"
	"movw %ax, %ds\n"          /* DS = 0x8900: base 0x89000 */
	"movw $0xbeef, 0x10\n"     /* 0x89010 */
	"movw $0x8901, %ax\n"
	"movw %ax, %es\n"          /* ES = 0x8901: base 0x89010 */
	"movw %es:0, %bx\n"        /* the same byte: BX = 0xbeef */
	"movw $0x3ff, %dx\n"       /* COM1 scratch: allowed by the bitmap */
	"movb $0x5a, %al\n"
	"outb %al, %dx\n"
	"movb $0, %al\n"
	"inb %dx, %al\n"
	"movb %al, %cl\n"          /* CL = 0x5a */
	"decw %dx\n"
	"inb %dx, %al\n"           /* 0x3fe denied: #GP, the monitor gives 0x77 */
	"movb %al, %ch\n"
	"int $0x42\n"              /* IOPL 0: #GP */
	"pushfw\n"                 /* #GP */
	"cli\n"                    /* #GP */
	"hlt\n"                    /* CPL 3: #GP, the monitor ends the run */
	".code32\n"
	".globl v86_code_end\nv86_code_end:\n"
	".popsection\n");

#define V86_SEG 0x8800
#define V86_LIN 0x88000

__attribute__((used)) volatile uint32_t v86_frame[9];
__attribute__((used)) volatile uint32_t v86_saved_esp;
void v86_enter(void);
void v86_leave(void) __attribute__((noreturn));
__asm__(".text\n"
	".globl v86_enter\nv86_enter:\n"
	"pushl %ebp\npushl %ebx\npushl %esi\npushl %edi\n"
	"movl %esp, v86_saved_esp\n"
	"movl $v86_frame, %esp\n"  /* EIP CS EFLAGS ESP SS ES DS FS GS */
	"iret\n"
	".globl v86_leave\nv86_leave:\n"
	"movl v86_saved_esp, %esp\n"
	"popl %edi\npopl %esi\npopl %ebx\npopl %ebp\n"
	"ret\n");

static volatile uint32_t v86_gps, v86_port, v86_int, v86_pushf, v86_cli, v86_bad_segs;
static volatile struct tframe v86_end;

static void v86_monitor(struct tframe *f)
{
	if (f->vector != 13 || !(f->eflags & EFL_VM))
		GUEST_FAIL("v86: unexpected event (vector, error, eip, eflags)", f->vector, f->error,
			   f->eip, f->eflags);
	v86_gps++;
	if (f->error != 0)
		GUEST_FAIL("v86: #GP error code", f->error);
	if (f->ds != 0 || f->es != 0) /* cleared by the CPU on the way in */
		v86_bad_segs++;
	const uint8_t *ip = (const uint8_t *)(((f->cs & 0xffff) << 4) + (f->eip & 0xffff));
	switch (ip[0]) {
	case 0xec: /* in al, dx */
		v86_port = f->edx & 0xffff;
		f->eax = (f->eax & ~0xffu) | 0x77;
		f->eip += 1;
		break;
	case 0xcd: /* int n */
		v86_int = ip[1];
		f->eip += 2;
		break;
	case 0x9c:
		v86_pushf++;
		f->eip += 1;
		break;
	case 0xfa:
		v86_cli++;
		f->eip += 1;
		break;
	case 0xf4:
		memcpy((void *)&v86_end, f, sizeof(*f));
		v86_active = 0;
		v86_leave();
	default:
		GUEST_FAIL("v86: unexpected #GP at (cs, ip, byte)", f->cs, f->eip, ip[0]);
	}
}

static void test_v86(void)
{
	task_setup();
	fault_setup(FAULT_RESUME);
	/* I/O bitmap: only port 0x3ff (COM1 scratch) is allowed */
	tss_main.iomap[0x3ff / 8] &= (uint8_t)~(1u << (0x3ff & 7));
	memcpy((void *)V86_LIN, v86_code, (size_t)(v86_code_end - v86_code));
	outb(0x3ff, 0);
	uint32_t frame[9] = { 0, V86_SEG, EFL_VM | 0x2, 0xf000, V86_SEG, 0, 0, 0, 0 };
	for (unsigned i = 0; i < 9; i++)
		v86_frame[i] = frame[i];
	v86_active = 1;
	v86_enter();
	GUEST_ASSERT_EQ(v86_end.eip, (uint32_t)(v86_code_end - v86_code) - 1); /* the HLT */
	GUEST_ASSERT_EQ(v86_end.cs, V86_SEG);
	GUEST_ASSERT(v86_end.eflags & EFL_VM);
	GUEST_ASSERT_EQ(v86_end.v86_ds, 0x8900);
	GUEST_ASSERT_EQ(v86_end.v86_es, 0x8901);
	GUEST_ASSERT_EQ(v86_end.v86_ss, V86_SEG);
	GUEST_ASSERT_EQ(v86_end.v86_esp, 0xf000);
	GUEST_ASSERT_EQ(v86_end.ebx & 0xffff, 0xbeef);
	GUEST_ASSERT_EQ(*(volatile uint16_t *)0x89010, 0xbeef);
	GUEST_ASSERT_EQ(v86_end.ecx & 0xffff, 0x775a);
	GUEST_ASSERT_EQ(v86_port, 0x3fe);
	GUEST_ASSERT_EQ(v86_int, 0x42);
	GUEST_ASSERT_EQ(v86_pushf, 1);
	GUEST_ASSERT_EQ(v86_cli, 1);
	GUEST_ASSERT_EQ(v86_gps, 5);
	GUEST_ASSERT_EQ(v86_bad_segs, 0);
	GUEST_ASSERT_EQ(inb(0x3ff), 0x5a); /* the allowed OUT reached the UART */
	GUEST_ASSERT_EQ(read_cs(), SEL_CODE);
	GUEST_ASSERT_EQ(eflags() & EFL_VM, 0);
	GUEST_SYNC("v86 ok", v86_gps);
	GUEST_DONE();
}
GUEST_TEST("v86", test_v86);

/* ---- virtual-8086 mode extensions (CR4.VME) ---- */

/* IOPL 0 with VME: CLI/STI/PUSHF work on VIF, INT 0x42 (bit clear in the
 * redirection bitmap) goes to the program's own IVT handler and IRETs
 * back, INT 0x43 (bit set) is #GP to the monitor, HLT ends the run. */
extern const char vme_code[], vme_handler[], vme_code_end[];
__asm__(".pushsection .rodata\n"
	".globl vme_code\nvme_code:\n"
	".code16\n"
	"cli\n"
	"pushfw\n"
	"popw %ax\n"              /* IF (= VIF) 0, IOPL reads 3 */
	"sti\n"
	"pushfw\n"
	"popw %bx\n"              /* IF (= VIF) 1 */
	"int $0x42\n"             /* to vme_handler through the IVT */
	"int $0x43\n"             /* #GP: the bitmap sends it to the IDT */
	"hlt\n"
	".globl vme_handler\nvme_handler:\n"
	"movw $0x4242, %cx\n"
	"pushfw\n"
	"popw %dx\n"              /* VIF cleared by the redirection */
	"iret\n"                  /* IF of the image -> VIF */
	".code32\n"
	".globl vme_code_end\nvme_code_end:\n"
	".popsection\n");

static void test_v86_vme(void)
{
	uint32_t eax = 1, ebx, ecx = 0, edx;
	__asm__ volatile("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
	GUEST_ASSERT(edx & 2); /* CPUID.1:EDX.VME */
	task_setup();
	fault_setup(FAULT_RESUME);
	tss_main.intmap[0x42 / 8] &= (uint8_t)~(1u << (0x42 & 7));
	memcpy((void *)V86_LIN, vme_code, (size_t)(vme_code_end - vme_code));
	/* IVT[0x42] at linear 0x108 (a store to a constant low address, in asm
	 * so the compiler does not take it for a null-pointer access) */
	__asm__ volatile("movl %0, (%1)"
			 : : "r"((V86_SEG << 16) | (uint32_t)(vme_handler - vme_code)), "r"(0x42 * 4)
			 : "memory");
	__asm__ volatile("mov %0, %%cr4" : : "r"(read_cr4() | 1u) : "memory");
	uint32_t frame[9] = { 0, V86_SEG, EFL_VM | 0x2, 0xf000, V86_SEG, 0, 0, 0, 0 };
	for (unsigned i = 0; i < 9; i++)
		v86_frame[i] = frame[i];
	v86_active = 1;
	v86_enter();
	__asm__ volatile("mov %0, %%cr4" : : "r"(read_cr4() & ~1u) : "memory");
	GUEST_ASSERT_EQ(v86_end.eip, (uint32_t)(vme_handler - vme_code) - 1); /* the HLT */
	GUEST_ASSERT_EQ(v86_end.eax & 0x3200, 0x3000);
	GUEST_ASSERT_EQ(v86_end.ebx & 0x3200, 0x3200);
	GUEST_ASSERT_EQ(v86_end.ecx & 0xffff, 0x4242);
	GUEST_ASSERT_EQ(v86_end.edx & 0x3200, 0x3000);
	GUEST_ASSERT(v86_end.eflags & (1u << 19)); /* VIF back from the IRET */
	GUEST_ASSERT_EQ(v86_end.eflags & 0x3200, 0); /* IF and IOPL untouched */
	GUEST_ASSERT_EQ(v86_end.v86_esp, 0xf000);
	GUEST_ASSERT_EQ(v86_int, 0x43);
	GUEST_ASSERT_EQ(v86_gps, 2);
	GUEST_ASSERT_EQ(v86_bad_segs, 0);
	GUEST_SYNC("v86 vme ok", v86_gps);
	GUEST_DONE();
}
GUEST_TEST("v86-vme", test_v86_vme);

#endif /* !__x86_64__ */
