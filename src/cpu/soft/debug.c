/* Debug exceptions (#DB, vector 1): single-step (RFLAGS.TF), the DR0-DR3
 * breakpoints enabled in DR7 (instruction, data write, data read/write and,
 * with CR4.DE, I/O), RF, DR6 reporting and the MOV SS / POP SS hold-back.
 * SDM vol. 3, ch. 18 ("Debug, branch profile, TSC and Intel RDT features",
 * 18.2 debug registers, 18.3 debug exceptions) and 6.8.3 (masking
 * exceptions and interrupts when switching stacks).
 *
 * The ordinary path pays one test per decoded block (soft_cpu_run):
 * soft_dbg_active() is true only while TF or RF is set, a breakpoint is
 * enabled, or a #DB is held back, and then every instruction runs through
 * soft_dbg_step() without the decoded block cache.  Data breakpoints are
 * seen by wrapping the memory ops for the instruction (dbg_mem_ops), so
 * soft_read/soft_write pay nothing.  General detect (DR7.GD) is checked by MOV DR (exec_sys.c);
 * ICEBP (F1) is an event of its own (exec_branch.c, SOFT_EV_INT1). */
#include "debug.h"

/* DR7 fields of breakpoint i (SDM vol. 3, 18.2.4). */
static inline unsigned dr7_enabled(uint64_t dr7, unsigned i)
{
	return (unsigned)(dr7 >> (2 * i)) & 3; /* Li | Gi */
}

static inline unsigned dr7_rw(uint64_t dr7, unsigned i)
{
	return (unsigned)(dr7 >> (16 + 4 * i)) & 3;
}

/* LEN: 00 one byte, 01 two, 11 four, 10 eight (18.2.5). */
static inline unsigned dr7_len(uint64_t dr7, unsigned i)
{
	static const unsigned bytes[4] = { 1, 2, 8, 4 };
	return bytes[(dr7 >> (18 + 4 * i)) & 3];
}

void soft_dbg_update(struct soft_cpu *cpu)
{
	uint64_t dr7 = cpu->dr[7];
	uint8_t armed = 0;
	for (unsigned i = 0; i < 4; i++) {
		if (!dr7_enabled(dr7, i))
			continue;
		switch (dr7_rw(dr7, i)) {
		case 0: armed |= SOFT_DBG_INSN; break;
		case 2: armed |= SOFT_DBG_IO; break;
		default: armed |= SOFT_DBG_DATA; break;
		}
	}
	cpu->dbg_armed = armed;
}

/* Do [a, a+alen) and the breakpoint's aligned range overlap?  The
 * breakpoint address is aligned down to its length (18.2.5: the low bits
 * are ignored); an unaligned access hits if any of its bytes is in range. */
static bool range_hit(uint64_t a, unsigned alen, uint64_t bp, unsigned blen, uint64_t mask)
{
	uint64_t lo = bp & ~(uint64_t)(blen - 1) & mask;
	uint64_t off = (a - lo) & mask;        /* wraps like the address space */
	uint64_t back = (lo - a) & mask;
	return off < blen || back < alen;
}

/* Breakpoint addresses compare as 64-bit linear addresses in IA-32e mode
 * (compatibility-mode addresses are zero-extended) and as 32-bit ones
 * outside it (18.2.4). */
static uint64_t la_mask(const struct soft_cpu *cpu)
{
	return (cpu->efer & X86_EFER_LMA) ? ~0ULL : 0xffffffffULL;
}

void soft_dbg_data(struct soft_cpu *cpu, uint64_t la, unsigned len, bool write)
{
	uint64_t dr7 = cpu->dr[7], mask = la_mask(cpu);
	for (unsigned i = 0; i < 4; i++) {
		unsigned rw = dr7_rw(dr7, i);
		if (!dr7_enabled(dr7, i) || (rw != 3 && !(rw == 1 && write)))
			continue;
		if (range_hit(la & mask, len, cpu->dr[i], dr7_len(dr7, i), mask))
			cpu->dbg_hits |= (uint8_t)(1u << i);
	}
}

/* The memory ops while data breakpoints are armed: the real ones (saved in
 * cpu->dbg_ops / dbg_opaque for the instruction), then the check on the
 * bytes accessed.  An access that faults records nothing. */
static int dbg_read(void *o, uint64_t la, void *dst, unsigned len, unsigned acc,
		    struct soft_fault *f)
{
	struct soft_cpu *cpu = o;
	int r = cpu->dbg_ops->read(cpu->dbg_opaque, la, dst, len, acc, f);
	if (r == 0)
		soft_dbg_data(cpu, la, len, false);
	return r;
}

static int dbg_write(void *o, uint64_t la, const void *src, unsigned len, uint64_t pa[2],
		     struct soft_fault *f)
{
	struct soft_cpu *cpu = o;
	int r = cpu->dbg_ops->write(cpu->dbg_opaque, la, src, len, pa, f);
	if (r == 0)
		soft_dbg_data(cpu, la, len, true);
	return r;
}

static int dbg_fetch(void *o, uint64_t la, void *dst, unsigned len, uint64_t *pa,
		     struct soft_fault *f)
{
	struct soft_cpu *cpu = o;
	return cpu->dbg_ops->fetch(cpu->dbg_opaque, la, dst, len, pa, f);
}

static int dbg_pio_in(void *o, uint16_t port, unsigned size, uint32_t *val, struct soft_fault *f)
{
	struct soft_cpu *cpu = o;
	return cpu->dbg_ops->pio_in(cpu->dbg_opaque, port, size, val, f);
}

static int dbg_pio_out(void *o, uint16_t port, unsigned size, uint32_t val, struct soft_fault *f)
{
	struct soft_cpu *cpu = o;
	return cpu->dbg_ops->pio_out(cpu->dbg_opaque, port, size, val, f);
}

static uint64_t dbg_rdtsc(void *o)
{
	struct soft_cpu *cpu = o;
	return cpu->dbg_ops->rdtsc ? cpu->dbg_ops->rdtsc(cpu->dbg_opaque) : 0;
}

/* an atomic read-modify-write reads and writes its operand */
static int dbg_rmw_ptr(void *o, uint64_t la, unsigned len, void **host, uint64_t *pa,
		       struct soft_fault *f)
{
	struct soft_cpu *cpu = o;
	if (!cpu->dbg_ops->rmw_ptr) {
		*host = NULL;
		return 0;
	}
	int r = cpu->dbg_ops->rmw_ptr(cpu->dbg_opaque, la, len, host, pa, f);
	if (r == 0 && *host)
		soft_dbg_data(cpu, la, len, true);
	return r;
}

static const struct soft_mem_ops dbg_mem_ops = {
	.read = dbg_read, .write = dbg_write, .fetch = dbg_fetch, .pio_in = dbg_pio_in,
	.pio_out = dbg_pio_out, .rdtsc = dbg_rdtsc, .rmw_ptr = dbg_rmw_ptr,
};

void soft_dbg_io(struct soft_cpu *cpu, uint16_t port, unsigned size)
{
	uint64_t dr7 = cpu->dr[7];
	if (!(cpu->cr4 & SOFT_CR4_DE)) /* R/W = 10 is undefined without CR4.DE */
		return;
	for (unsigned i = 0; i < 4; i++)
		if (dr7_enabled(dr7, i) && dr7_rw(dr7, i) == 2 &&
		    range_hit(port, size, cpu->dr[i] & 0xffff, dr7_len(dr7, i), 0xffff))
			cpu->dbg_hits |= (uint8_t)(1u << i);
}

/* Instruction breakpoints matching the instruction at la (LEN must be 00
 * for them, 18.2.5; other lengths are treated as one byte). */
static unsigned insn_hits(const struct soft_cpu *cpu, uint64_t la)
{
	uint64_t dr7 = cpu->dr[7], mask = la_mask(cpu);
	unsigned hits = 0;
	for (unsigned i = 0; i < 4; i++)
		if (dr7_enabled(dr7, i) && dr7_rw(dr7, i) == 0 && ((cpu->dr[i] ^ la) & mask) == 0)
			hits |= 1u << i;
	return hits;
}

/* Report a #DB (SDM vol. 3, 18.2.3): B0-B3 are replaced by the breakpoints
 * of this exception ("certain debug exceptions may clear bits 0-3": real
 * processors and KVM clear them on every #DB; kvm-unit-tests debug.flat
 * checks it); BD, BS and BT are ORed in and stay set until software clears
 * them (the processor never clears the rest of DR6). */
int soft_dbg_raise(struct soft_cpu *cpu, uint32_t dr6_bits, bool fault)
{
	cpu->dr[6] &= ~0xfull;
	cpu->dr[6] |= dr6_bits & SOFT_DR6_VOLATILE;
	int r = soft_raise(cpu, X86_EXC_DB, false, 0);
	if (!fault)
		cpu->exc.kind = SOFT_EV_TRAP;
	return r;
}

/* A data breakpoint hit by MOV SS / POP SS is held back one instruction
 * (6.8.3).  When that instruction is INT n, INT3 or INTO, the held #DB is
 * a pending debug exception at the boundary after the software interrupt's
 * delivery: the #DB handler runs first, with the INT handler's first
 * instruction as its return address (what hardware does; kvm-unit-tests
 * debug.flat "MOV SS + watchpoint + int $1" / "+ INT3").  The #DB is a
 * trap of higher priority than NMI and external interrupts (6.9): the
 * interrupt shadow stays on until it is taken.  ICEBP is a #DB itself and
 * absorbs the held one ("MOV SS + watchpoint + ICEBP": one #DB). */
void soft_dbg_after_event(struct soft_cpu *cpu, unsigned kind)
{
	if (cpu->dbg_pending && !cpu->dbg_now &&
	    (kind == SOFT_EV_SOFTINT || kind == SOFT_EV_INT3 || kind == SOFT_EV_INTO)) {
		cpu->dbg_now = 1;
		cpu->shadow = SOFT_SHADOW_SS; /* no NMI / INTR before the #DB */
		return;
	}
	cpu->dbg_pending = 0;
	cpu->dbg_now = 0;
}

int soft_dbg_step(struct soft_cpu *cpu)
{
	uint64_t fl = cpu->rflags;
	bool tf = fl & X86_RFLAGS_TF;
	uint32_t held = cpu->dbg_pending;
	cpu->dbg_pending = 0;
	if (cpu->dbg_now) { /* held across a software interrupt */
		cpu->dbg_now = 0;
		cpu->shadow = 0;
		return soft_dbg_raise(cpu, held, false);
	}

	/* Instruction breakpoints are faults taken before the instruction,
	 * unless RF is set (18.3.1.1).  RF is cleared once the instruction
	 * completes (IRET may load it again: it is cleared here, before).
	 * Not on the instruction right after MOV SS / POP SS: there an
	 * instruction breakpoint is not triggered on Intel processors (our
	 * CPUID vendor; SDM vol. 3, 18.3.1.1; kvm-unit-tests emulator.flat
	 * "#DB suppressed after MOV SS"; AMD delivers the #DB). */
	if (!(fl & SOFT_RFLAGS_RF) && (cpu->dbg_armed & SOFT_DBG_INSN) &&
	    !(cpu->shadow & SOFT_SHADOW_SS)) {
		unsigned hits = insn_hits(cpu, lin(cpu, SEG_CS, cpu->rip));
		if (hits)
			return soft_dbg_raise(cpu, hits | held, true);
	}
	cpu->rflags &= ~SOFT_RFLAGS_RF;
	cpu->dbg_hits = 0;

	int r;
	if (cpu->dbg_armed & SOFT_DBG_DATA) {
		cpu->dbg_ops = cpu->ops;
		cpu->dbg_opaque = cpu->ops_opaque;
		cpu->ops = &dbg_mem_ops;
		cpu->ops_opaque = cpu;
		r = soft_cpu_step_plain(cpu);
		cpu->ops = cpu->dbg_ops;
		cpu->ops_opaque = cpu->dbg_opaque;
	} else {
		r = soft_cpu_step_plain(cpu);
	}
	uint32_t bits = held | cpu->dbg_hits;
	cpu->dbg_hits = 0;
	if (tf) /* single-step: TF was set when the instruction began (18.3.1.4) */
		bits |= SOFT_DR6_BS;
	switch (r) {
	case SOFT_OK:
		break;
	case SOFT_HLT:
		/* a trap after HLT is delivered at once: it ends the halt */
		if (!bits)
			return r;
		break;
	default:
		/* Faults: no trap (the instruction did not complete).  INT n,
		 * INT3, INTO and ICEBP: their delivery clears TF, so no
		 * single-step trap follows them (6.15, 18.3.1.4).  A #DB held
		 * back by MOV SS stays pending for soft_dbg_after_event(),
		 * which keeps it across INT n, INT3 and INTO only. */
		if (r == SOFT_EXC && held)
			cpu->dbg_pending = (uint16_t)held;
		return r;
	}
	if (!bits)
		return SOFT_OK;
	/* After MOV SS / POP SS, debug exceptions wait one more instruction
	 * (6.8.3) and are reported together with that one's. */
	if (cpu->shadow & SOFT_SHADOW_SS) {
		cpu->dbg_pending = (uint16_t)bits;
		return SOFT_OK;
	}
	return soft_dbg_raise(cpu, bits, false);
}
