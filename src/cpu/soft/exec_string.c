/* MOVS CMPS SCAS LODS STOS INS OUTS with REP/REPE/REPNE in 16/32/64-bit
 * address sizes.  A REP instruction runs at most REP_CHUNK iterations per
 * execution and then restarts itself (RIP unchanged), so interrupts/kicks
 * are seen and every iteration is restartable after a fault (registers are
 * updated per element, as on hardware).  Decoded blocks end after a string
 * instruction (F_REP rows) for this reason.  While single-stepping or with
 * data/I/O breakpoints armed, one iteration per execution: the #DB trap
 * comes after each iteration (SDM vol. 3, 18.3.1.4). */
#include "debug.h"

#define REP_CHUNK 16384

struct sctx {
	unsigned sz, as;
	int64_t step;
	unsigned src_seg;
	unsigned chunk;   /* iterations per execution */
};

static inline void sctx_init(const struct soft_cpu *cpu, const struct x86_insn *in, struct sctx *c)
{
	c->sz = X86_OPND_SIZE(in->op->opnd[0]) == OS_b || X86_OPND_SIZE(in->op->opnd[1]) == OS_b ? 1 :
		(X86_OPND_SIZE(in->op->opnd[0]) == OS_z || X86_OPND_SIZE(in->op->opnd[1]) == OS_z) &&
		in->opsize == 8 ? 4 : in->opsize;
	c->as = in->addrsize;
	c->step = (cpu->rflags & X86_RFLAGS_DF) ? -(int64_t)c->sz : (int64_t)c->sz;
	c->src_seg = SEG_DS;
	c->chunk = unlikely((cpu->rflags & X86_RFLAGS_TF) ||
			    (cpu->dbg_armed & (SOFT_DBG_DATA | SOFT_DBG_IO))) ? 1 : REP_CHUNK;
	if ((in->prefixes & X86_PFX_SEG) && (cpu->mode != SOFT_MODE_64 || in->seg_override >= SEG_FS))
		c->src_seg = in->seg_override;
}

static inline uint64_t areg(const struct soft_cpu *cpu, unsigned r, unsigned as)
{
	return cpu->gpr[r] & sz_mask(as);
}

static inline void aadv(struct soft_cpu *cpu, unsigned r, const struct sctx *c)
{
	reg_set(cpu, r, c->as, true, cpu->gpr[r] + (uint64_t)c->step);
}

/* Returns true when a REP loop should stop before the next iteration
 * (count exhausted), decrementing rCX otherwise. */
static inline bool rep_done(struct soft_cpu *cpu, const struct sctx *c)
{
	return areg(cpu, GPR_RCX, c->as) == 0;
}

static inline void rep_dec(struct soft_cpu *cpu, const struct sctx *c)
{
	reg_set(cpu, GPR_RCX, c->as, true, cpu->gpr[GPR_RCX] - 1);
}

static inline int rep_restart(struct soft_cpu *cpu)
{
	cpu->next_rip = cpu->rip; /* re-execute: more iterations to go */
	/* an instruction breakpoint on it must not fire again for the next
	 * iterations: RF, as when hardware interrupts a repeated string
	 * instruction (SDM vol. 3, 18.3.1.1) */
	if (unlikely(soft_dbg_active(cpu)))
		cpu->rflags |= SOFT_RFLAGS_RF;
	return SOFT_OK;
}

int soft_exec_movs(struct soft_cpu *cpu, const struct x86_insn *in)
{
	struct sctx c;
	sctx_init(cpu, in, &c);
	bool rep = in->rep;
	for (unsigned n = 0;; n++) {
		if (rep && rep_done(cpu, &c))
			return SOFT_OK;
		if (n == c.chunk)
			return rep_restart(cpu);
		uint64_t v;
		int e = mem_read(cpu, lin(cpu, c.src_seg, areg(cpu, GPR_RSI, c.as)), c.sz, &v);
		if (e)
			return e;
		e = mem_write(cpu, lin(cpu, SEG_ES, areg(cpu, GPR_RDI, c.as)), c.sz, v);
		if (e)
			return e;
		aadv(cpu, GPR_RSI, &c);
		aadv(cpu, GPR_RDI, &c);
		if (!rep)
			return SOFT_OK;
		rep_dec(cpu, &c);
	}
}

int soft_exec_stos(struct soft_cpu *cpu, const struct x86_insn *in)
{
	struct sctx c;
	sctx_init(cpu, in, &c);
	bool rep = in->rep;
	uint64_t v = cpu->gpr[GPR_RAX];
	for (unsigned n = 0;; n++) {
		if (rep && rep_done(cpu, &c))
			return SOFT_OK;
		if (n == c.chunk)
			return rep_restart(cpu);
		int e = mem_write(cpu, lin(cpu, SEG_ES, areg(cpu, GPR_RDI, c.as)), c.sz, v);
		if (e)
			return e;
		aadv(cpu, GPR_RDI, &c);
		if (!rep)
			return SOFT_OK;
		rep_dec(cpu, &c);
	}
}

int soft_exec_lods(struct soft_cpu *cpu, const struct x86_insn *in)
{
	struct sctx c;
	sctx_init(cpu, in, &c);
	bool rep = in->rep;
	for (unsigned n = 0;; n++) {
		if (rep && rep_done(cpu, &c))
			return SOFT_OK;
		if (n == c.chunk)
			return rep_restart(cpu);
		uint64_t v;
		int e = mem_read(cpu, lin(cpu, c.src_seg, areg(cpu, GPR_RSI, c.as)), c.sz, &v);
		if (e)
			return e;
		reg_set(cpu, GPR_RAX, c.sz, true, v);
		aadv(cpu, GPR_RSI, &c);
		if (!rep)
			return SOFT_OK;
		rep_dec(cpu, &c);
	}
}

/* CMPS: compares [rSI] - [rDI]; SCAS: rAX - [rDI].  REPE (F3) continues while
 * equal, REPNE (F2) while not equal. */
int soft_exec_cmps(struct soft_cpu *cpu, const struct x86_insn *in)
{
	struct sctx c;
	sctx_init(cpu, in, &c);
	uint8_t rep = in->rep;
	for (unsigned n = 0;; n++) {
		if (rep && rep_done(cpu, &c))
			return SOFT_OK;
		if (n == c.chunk)
			return rep_restart(cpu);
		uint64_t a, b;
		int e = mem_read(cpu, lin(cpu, c.src_seg, areg(cpu, GPR_RSI, c.as)), c.sz, &a);
		if (e)
			return e;
		e = mem_read(cpu, lin(cpu, SEG_ES, areg(cpu, GPR_RDI, c.as)), c.sz, &b);
		if (e)
			return e;
		lf_set(cpu, LF_SUB, c.sz, a - b, a, b);
		aadv(cpu, GPR_RSI, &c);
		aadv(cpu, GPR_RDI, &c);
		if (!rep)
			return SOFT_OK;
		rep_dec(cpu, &c);
		bool eq = a == b;
		if ((rep == 0xf3 && !eq) || (rep == 0xf2 && eq))
			return SOFT_OK;
	}
}

int soft_exec_scas(struct soft_cpu *cpu, const struct x86_insn *in)
{
	struct sctx c;
	sctx_init(cpu, in, &c);
	uint8_t rep = in->rep;
	uint64_t a = cpu->gpr[GPR_RAX] & sz_mask(c.sz);
	for (unsigned n = 0;; n++) {
		if (rep && rep_done(cpu, &c))
			return SOFT_OK;
		if (n == c.chunk)
			return rep_restart(cpu);
		uint64_t b;
		int e = mem_read(cpu, lin(cpu, SEG_ES, areg(cpu, GPR_RDI, c.as)), c.sz, &b);
		if (e)
			return e;
		lf_set(cpu, LF_SUB, c.sz, a - b, a, b);
		aadv(cpu, GPR_RDI, &c);
		if (!rep)
			return SOFT_OK;
		rep_dec(cpu, &c);
		bool eq = a == b;
		if ((rep == 0xf3 && !eq) || (rep == 0xf2 && eq))
			return SOFT_OK;
	}
}

/* I/O privilege: CPL <= IOPL or the TSS I/O bitmap (exec_sys.c). */
int soft_io_allowed(struct soft_cpu *cpu, uint16_t port, unsigned size);

static int pio_fault(struct soft_cpu *cpu, const struct soft_fault *f)
{
	return soft_raise(cpu, f->vector, f->has_error, f->error_code);
}

int soft_exec_ins(struct soft_cpu *cpu, const struct x86_insn *in)
{
	struct sctx c;
	sctx_init(cpu, in, &c);
	int e = soft_io_allowed(cpu, (uint16_t)cpu->gpr[GPR_RDX], c.sz);
	if (e)
		return e;
	bool rep = in->rep;
	uint16_t port = (uint16_t)cpu->gpr[GPR_RDX];
	for (unsigned n = 0;; n++) {
		if (rep && rep_done(cpu, &c))
			return SOFT_OK;
		if (n == c.chunk)
			return rep_restart(cpu);
		uint32_t v = 0;
		struct soft_fault f;
		uint64_t la = lin(cpu, SEG_ES, areg(cpu, GPR_RDI, c.as));
		if (cpu->ops->pio_in(cpu->ops_opaque, port, c.sz, &v, &f))
			return pio_fault(cpu, &f);
		e = mem_write(cpu, la, c.sz, v);
		if (e)
			return e;
		aadv(cpu, GPR_RDI, &c);
		if (!rep)
			return SOFT_OK;
		rep_dec(cpu, &c);
	}
}

int soft_exec_outs(struct soft_cpu *cpu, const struct x86_insn *in)
{
	struct sctx c;
	sctx_init(cpu, in, &c);
	int e = soft_io_allowed(cpu, (uint16_t)cpu->gpr[GPR_RDX], c.sz);
	if (e)
		return e;
	bool rep = in->rep;
	uint16_t port = (uint16_t)cpu->gpr[GPR_RDX];
	for (unsigned n = 0;; n++) {
		if (rep && rep_done(cpu, &c))
			return SOFT_OK;
		if (n == c.chunk)
			return rep_restart(cpu);
		uint64_t v;
		struct soft_fault f;
		e = mem_read(cpu, lin(cpu, c.src_seg, areg(cpu, GPR_RSI, c.as)), c.sz, &v);
		if (e)
			return e;
		if (cpu->ops->pio_out(cpu->ops_opaque, port, c.sz, (uint32_t)v, &f))
			return pio_fault(cpu, &f);
		aadv(cpu, GPR_RSI, &c);
		if (!rep)
			return SOFT_OK;
		rep_dec(cpu, &c);
	}
}
