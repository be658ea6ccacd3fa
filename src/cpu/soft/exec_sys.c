/* Control and debug registers (SDM vol. 3, 2.5; vol. 2 MOV CR / MOV DR):
 * MOV to/from CR0 CR2 CR3 CR4 CR8 with the reserved-bit and mode checks and
 * their side effects (long-mode activation, TLB flushes through the system
 * hooks), CLTS, LMSW, SMSW, XGETBV/XSETBV, INVLPG, the cache and
 * virtualisation no-ops, and the TSS I/O permission bitmap. */
#include "cpuid.h"
#include "align_check.h"
#include "debug.h"
#include "sys.h"

#define CR0_VALID (X86_CR0_PE | X86_CR0_MP | X86_CR0_EM | X86_CR0_TS | X86_CR0_ET | X86_CR0_NE | \
		   X86_CR0_WP | X86_CR0_AM | X86_CR0_NW | X86_CR0_CD | X86_CR0_PG)
#define CR4_TSD (1ULL << 2)
#define CR4_DE (1ULL << 3)
#define CR4_MCE (1ULL << 6)
#define CR4_PCE (1ULL << 8)
#define CR4_OSXSAVE (1ULL << 18)
#define CR4_SMEP (1ULL << 20)
#define CR4_SMAP (1ULL << 21)
#define CR4_PKE (1ULL << 22)
#define CR4_PCIDE (1ULL << 17)
/* CR4 bits for features the model advertises (MCE, UMIP, FSGSBASE, LA57
 * ... are not: their bits are reserved, SDM vol. 3A 2.5) */
#define CR4_VALID (SYS_CR4_VME | SYS_CR4_PVI | CR4_TSD | CR4_DE | X86_CR4_PSE | X86_CR4_PAE | \
		   X86_CR4_PGE | CR4_PCE | (SOFT_MODEL_PCID ? CR4_PCIDE : 0) | \
		   X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT | (SOFT_MODEL_XSAVE ? CR4_OSXSAVE : 0) | \
		   CR4_SMEP | CR4_SMAP | (SOFT_MODEL_PKU ? CR4_PKE : 0))
#define MAXPHYADDR 40

static void update_lma(struct soft_cpu *cpu)
{
	if ((cpu->cr0 & X86_CR0_PG) && (cpu->efer & X86_EFER_LME))
		cpu->efer |= X86_EFER_LMA;
	else
		cpu->efer &= ~X86_EFER_LMA;
	soft_cpu_update_mode(cpu);
	cpu->block_stop = 1;
}

static int write_cr0(struct soft_cpu *cpu, uint64_t v)
{
	if (v >> 32)
		return soft_gp0(cpu);
	v = (v & CR0_VALID) | X86_CR0_ET;
	if ((v & X86_CR0_PG) && !(v & X86_CR0_PE))
		return soft_gp0(cpu);
	if ((v & X86_CR0_NW) && !(v & X86_CR0_CD))
		return soft_gp0(cpu);
	uint64_t old = cpu->cr0;
	if ((v & X86_CR0_PG) && !(old & X86_CR0_PG) && (cpu->efer & X86_EFER_LME) &&
	    (!(cpu->cr4 & X86_CR4_PAE) || cpu->seg[SEG_CS].l))
		return soft_gp0(cpu);
	if (!(v & X86_CR0_PG) && cpu->mode == SOFT_MODE_64)
		return soft_gp0(cpu);
	/* MOV CR0: "#GP(0) If an attempt is made to clear CR0.PG[bit 31]
	 * while CR4.PCIDE = 1" (compatibility mode) */
	if (!(v & X86_CR0_PG) && (cpu->cr4 & CR4_PCIDE))
		return soft_gp0(cpu);
	cpu->cr0 = v;
	soft_ac_refresh(cpu); /* CR0.AM */
	uint64_t lma = cpu->efer & X86_EFER_LMA;
	update_lma(cpu);
	if (((old ^ v) & (X86_CR0_PG | X86_CR0_WP | X86_CR0_PE)) || lma != (cpu->efer & X86_EFER_LMA))
		sys_tlb_flush(cpu, SOFT_FLUSH_ALL, 0);
	return SOFT_OK;
}

/* MOV to CR3 (SDM vol. 3A 4.10.4.1, vol. 2 MOV CR): with CR4.PCIDE=1,
 * CR3[11:0] is the PCID and bit 63 of the source is "no flush": it is not
 * loaded, and the new PCID's entries are kept; without it, the new PCID's
 * non-global entries are invalidated.  With CR4.PCIDE=0 the non-global
 * entries (all of PCID 000H) go.  The reserved bits are 63:MAXPHYADDR (62:
 * with PCIDE, bit 63 being the no-flush bit) in 64-bit mode. */
static int write_cr3(struct soft_cpu *cpu, uint64_t v)
{
	bool keep = false;
	if (cpu->cr4 & CR4_PCIDE) {
		keep = v >> 63;
		v &= ~(1ULL << 63);
	}
	if (cpu->mode == SOFT_MODE_64 && (v >> MAXPHYADDR))
		return soft_gp0(cpu);
	cpu->cr3 = v;
	sys_tlb_flush(cpu, keep ? SOFT_FLUSH_SWITCH : SOFT_FLUSH_NONGLOBAL, 0);
	return SOFT_OK;
}

/* MOV to CR4: reserved bits; PAE may not be cleared in IA-32e mode; PCIDE
 * (SDM vol. 3A 4.10.1, vol. 2 MOV CR) "#GP(0) If an attempt is made to
 * change CR4.PCIDE from 0 to 1 while CR3[11:0] != 000H" and "... to set
 * CR4.PCIDE while not in IA-32e mode"; clearing it invalidates everything,
 * global entries too (4.10.4.1), as do changes of PAE, PSE, PGE, SMEP,
 * SMAP and PKE. */
static int write_cr4(struct soft_cpu *cpu, uint64_t v)
{
	if (v & ~(uint64_t)CR4_VALID)
		return soft_gp0(cpu);
	if (long_mode(cpu) && !(v & X86_CR4_PAE))
		return soft_gp0(cpu);
	uint64_t old = cpu->cr4;
	if ((v & CR4_PCIDE) && !(old & CR4_PCIDE) && (!long_mode(cpu) || (cpu->cr3 & 0xfff)))
		return soft_gp0(cpu);
	cpu->cr4 = v;
	if ((old ^ v) & (X86_CR4_PAE | X86_CR4_PSE | X86_CR4_PGE | CR4_SMEP | CR4_SMAP | CR4_PKE) ||
	    ((old & CR4_PCIDE) && !(v & CR4_PCIDE)))
		sys_tlb_flush(cpu, SOFT_FLUSH_ALL, 0);
	cpu->block_stop = 1;
	return SOFT_OK;
}

int soft_exec_mov_cr(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned cr = in->reg, sz = cpu->mode == SOFT_MODE_64 ? 8 : 4;
	if (cr != 0 && cr != 2 && cr != 3 && cr != 4 && cr != 8)
		return soft_ud(cpu);
	if (cpu->cpl != 0 || vm86(cpu))
		return soft_gp0(cpu);
	bool to_cr = in->opcode == 0x22;
	if (!to_cr) {
		if (cr == 8 && cpu->sys && cpu->sys->cr8_read)
			cpu->cr8 = cpu->sys->cr8_read(cpu->sys->opaque);
		uint64_t v = cr == 0 ? cpu->cr0 : cr == 2 ? cpu->cr2 : cr == 3 ? cpu->cr3 :
			     cr == 4 ? cpu->cr4 : cpu->cr8;
		reg_set(cpu, in->rm, sz, true, v);
		return SOFT_OK;
	}
	uint64_t v = reg_get(cpu, in->rm, sz, true);
	switch (cr) {
	case 0: return write_cr0(cpu, v);
	case 2: cpu->cr2 = v; return SOFT_OK;
	case 3: return write_cr3(cpu, v);
	case 4: return write_cr4(cpu, v);
	default:
		if (v >> 4)
			return soft_gp0(cpu);
		cpu->cr8 = v;
		/* the TPR (SDM vol. 3, 10.8.6.1): a lower priority may let a
		 * pending interrupt in, taken at the end of this block */
		if (cpu->sys && cpu->sys->cr8_write) {
			cpu->sys->cr8_write(cpu->sys->opaque, v);
			cpu->block_stop = 1;
		}
		return SOFT_OK;
	}
}

int soft_exec_clts(struct soft_cpu *cpu, const struct x86_insn *in)
{
	if (cpu->cpl != 0 || vm86(cpu))
		return soft_gp0(cpu);
	cpu->cr0 &= ~X86_CR0_TS;
	return SOFT_OK;
}

int soft_exec_smsw(struct soft_cpu *cpu, const struct x86_insn *in)
{
	if ((cpu->cr4 & (1u << 11)) && cpu->cpl != 0) /* CR4.UMIP */
		return soft_gp0(cpu);
	return rm_write(cpu, in, in->mod == 3 ? in->opsize : 2, cpu->cr0 & 0xffffffff);
}

int soft_exec_lmsw(struct soft_cpu *cpu, const struct x86_insn *in)
{
	if (cpu->cpl != 0 || vm86(cpu))
		return soft_gp0(cpu);
	uint64_t v;
	int e = rm_read(cpu, in, 2, &v);
	if (e)
		return e;
	/* PE can be set but not cleared; MP EM TS are loaded */
	uint64_t old = cpu->cr0;
	cpu->cr0 = (old & ~0xeULL) | (v & 0xf) | (old & 1);
	update_lma(cpu);
	if ((old ^ cpu->cr0) & X86_CR0_PE)
		sys_tlb_flush(cpu, SOFT_FLUSH_ALL, 0);
	return SOFT_OK;
}

/* MOV DR (SDM vol. 2 "MOV - Move to/from Debug Registers", vol. 3 18.2):
 * #GP(0) at CPL > 0; DR4/DR5 alias DR6/DR7 unless CR4.DE (then #UD); with
 * DR7.GD set any access is a #DB fault with DR6.BD (general detect, the
 * delivery clears GD); in 64-bit mode a write of a 1 to bits 63:32 of DR6
 * or DR7 is #GP(0).  Reserved DR6/DR7 bits read as fixed values.  A DR7
 * write re-arms the breakpoints (debug.c). */
int soft_exec_mov_dr(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned dr = in->reg, sz = cpu->mode == SOFT_MODE_64 ? 8 : 4;
	if (dr > 7)
		return soft_ud(cpu);
	if ((dr == 4 || dr == 5) && (cpu->cr4 & CR4_DE))
		return soft_ud(cpu);
	if (cpu->cpl != 0 || vm86(cpu))
		return soft_gp0(cpu);
	if (cpu->dr[7] & SOFT_DR7_GD)
		return soft_dbg_raise(cpu, SOFT_DR6_BD, true);
	if (dr == 4 || dr == 5)
		dr += 2;
	if (in->opcode == 0x21) {
		reg_set(cpu, in->rm, sz, true, cpu->dr[dr]);
		return SOFT_OK;
	}
	uint64_t v = reg_get(cpu, in->rm, sz, true);
	if (dr >= 6 && (v >> 32))
		return soft_gp0(cpu);
	if (dr == 6)
		v = (v & SOFT_DR6_VOLATILE) | SOFT_DR6_FIXED;
	else if (dr == 7)
		v = (v & SOFT_DR7_VOLATILE) | SOFT_DR7_FIXED;
	cpu->dr[dr] = v;
	if (dr == 7)
		soft_dbg_update(cpu);
	return SOFT_OK;
}

/* XGETBV (SDM vol. 2): "#UD If CR4.OSXSAVE[bit 18] = 0"; "#GP(0) If an
 * invalid XCR is specified in ECX (includes ECX = 1 if CPUID.(EAX=0DH,
 * ECX=1):EAX.XG1[bit 2] = 0)".  XCR 1 is XCR0 AND XINUSE; XINUSE is always
 * set for the enabled components in this model (fxsave.c), so it reads as
 * XCR0.  Any CPL. */
int soft_exec_xgetbv(struct soft_cpu *cpu, const struct x86_insn *in)
{
	if (!(cpu->cr4 & CR4_OSXSAVE))
		return soft_ud(cpu);
	uint32_t xcr = (uint32_t)cpu->gpr[GPR_RCX];
	if (xcr > 1)
		return soft_gp0(cpu);
	uint64_t v = cpu->xcr0; /* XCR0, or XCR0 & XINUSE = XCR0 */
	cpu->gpr[GPR_RAX] = (uint32_t)v;
	cpu->gpr[GPR_RDX] = v >> 32;
	return SOFT_OK;
}

/* XSETBV (SDM vol. 2): "#UD If CR4.OSXSAVE[bit 18] = 0"; "#GP(0) If the
 * current privilege level is not 0.  If an invalid XCR is specified in ECX.
 * If the value in EDX:EAX sets bits that are reserved in the XCR specified
 * by ECX.  If an attempt is made to clear bit 0 of XCR0.  If an attempt is
 * made to set XCR0[2:1] to 10b." (bit 2, AVX, exists only on a host with
 * AVX: soft_xcr0_supported).  Only XCR0 is writable (XCR1 is read-only). */
int soft_exec_xsetbv(struct soft_cpu *cpu, const struct x86_insn *in)
{
	if (!(cpu->cr4 & CR4_OSXSAVE))
		return soft_ud(cpu);
	if (cpu->cpl != 0 || vm86(cpu) || (uint32_t)cpu->gpr[GPR_RCX] != 0)
		return soft_gp0(cpu);
	uint64_t v = (cpu->gpr[GPR_RAX] & 0xffffffff) | (cpu->gpr[GPR_RDX] << 32);
	if (!(v & 1) || (v & ~soft_xcr0_supported(cpu)) || (v & 6) == 4)
		return soft_gp0(cpu);
	cpu->xcr0 = v;
	return SOFT_OK;
}

int soft_exec_invlpg(struct soft_cpu *cpu, const struct x86_insn *in)
{
	if (cpu->cpl != 0 || vm86(cpu))
		return soft_gp0(cpu);
	uint64_t la = soft_ea(cpu, in);
	/* a non-canonical address: no-op (no fault) */
	if (cpu->mode != SOFT_MODE_64 || canonical(la))
		sys_tlb_flush(cpu, SOFT_FLUSH_PAGE, la);
	return SOFT_OK;
}

/* INVPCID (SDM vol. 2 "INVPCID", vol. 3A 4.10.4.1): #UD in virtual-8086
 * mode; #GP(0) at CPL > 0; the 16-byte descriptor is read (segment
 * checks, #PF) and then: #GP(0) if the type is above 3, if descriptor bits
 * 63:12 are not zero, for type 0 if the linear address is not canonical,
 * and with CR4.PCIDE=0 for types 0 and 1 naming a PCID other than 000H.
 * Type 0: the address in that PCID (the full 64 bits even outside 64-bit
 * mode); 1: that PCID's non-global entries; 2: everything; 3: every PCID's
 * non-global entries. */
int soft_exec_invpcid(struct soft_cpu *cpu, const struct x86_insn *in)
{
	if (!SOFT_MODEL_PCID || vm86(cpu))
		return soft_ud(cpu);
	if (cpu->cpl != 0)
		return soft_gp0(cpu);
	uint64_t type = reg_get(cpu, in->reg, cpu->mode == SOFT_MODE_64 ? 8 : 4, true);
	uint64_t desc[2];
	int e = soft_read(cpu, soft_ea(cpu, in), desc, 16);
	if (e)
		return e;
	unsigned pcid = (unsigned)(desc[0] & 0xfff);
	if (type > 3 || (desc[0] >> 12))
		return soft_gp0(cpu);
	if (type == 0 && !canonical(desc[1]))
		return soft_gp0(cpu);
	if (type <= 1 && pcid && !(cpu->cr4 & CR4_PCIDE))
		return soft_gp0(cpu);
	unsigned cur = (cpu->cr4 & CR4_PCIDE) ? (unsigned)(cpu->cr3 & 0xfff) : 0;
	switch (type) {
	case 0:
		if (pcid == cur)
			sys_tlb_flush(cpu, SOFT_FLUSH_PAGE, desc[1]);
		else /* the whole PCID: permitted ("may invalidate ... as well") */
			sys_tlb_flush(cpu, SOFT_FLUSH_PCID, pcid);
		break;
	case 1: sys_tlb_flush(cpu, SOFT_FLUSH_PCID, pcid); break;
	case 2: sys_tlb_flush(cpu, SOFT_FLUSH_ALL, 0); break;
	default: sys_tlb_flush(cpu, SOFT_FLUSH_ALL_NONGLOBAL, 0); break;
	}
	return SOFT_OK;
}

int soft_exec_wbinvd(struct soft_cpu *cpu, const struct x86_insn *in)
{
	if (cpu->cpl != 0 || vm86(cpu))
		return soft_gp0(cpu);
	return SOFT_OK;
}

int soft_exec_invd(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return soft_exec_wbinvd(cpu, in);
}

int soft_exec_rdpmc(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return soft_gp0(cpu); /* no performance counters */
}

int soft_exec_monitor(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return soft_ud(cpu); /* MONITOR/MWAIT not advertised */
}

int soft_exec_mwait(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return soft_ud(cpu);
}

/* 0F 01 C1 VMCALL, 0F 01 D9 VMMCALL: the KVM hypercall ABI with no
 * hypercalls: RAX = -KVM_ENOSYS (-1000).  Hypercalls at CPL > 0 return
 * -KVM_EPERM (-1).  The other VMX instructions are explicit #UD rows in
 * decode_table.c (VMX is not advertised). */
int soft_exec_vmx(struct soft_cpu *cpu, const struct x86_insn *in)
{
	if (in->map == X86_MAP_0F && in->opcode == 0x01 && (in->modrm == 0xc1 || in->modrm == 0xd9)) {
		cpu->gpr[GPR_RAX] = cpu->cpl != 0 ? (uint64_t)-1 : (uint64_t)-1000;
		if (cpu->mode != SOFT_MODE_64)
			cpu->gpr[GPR_RAX] &= 0xffffffff;
		return SOFT_OK;
	}
	return soft_ud(cpu);
}

/* ---- I/O permission: IOPL, then the TSS I/O bitmap (SDM vol. 1, 19.5) ---- */

static int io_bitmap_check(struct soft_cpu *cpu, uint16_t port, unsigned size)
{
	if (!prot_mode(cpu))
		return SOFT_OK;
	if (!vm86(cpu) && cpu->cpl <= ((cpu->rflags >> 12) & 3))
		return SOFT_OK;
	const struct x86_segment *tr = &cpu->tr;
	/* only a 32/64-bit TSS has a bitmap */
	if (tr->unusable || !(tr->selector & 0xfffc) || (tr->type & 0xd) != 9 ||
	    tr->limit < 0x67)
		return soft_gp0(cpu);
	uint16_t iobase;
	uint64_t base = long_mode(cpu) ? tr->base : (uint32_t)tr->base;
	int e = sys_read_sv(cpu, base + 0x66, &iobase, 2);
	if (e)
		return e;
	uint64_t off = (uint64_t)iobase + port / 8;
	if (off + 1 > tr->limit)
		return soft_gp0(cpu);
	uint16_t bits;
	e = sys_read_sv(cpu, long_mode(cpu) ? base + off : (uint32_t)(base + off), &bits, 2);
	if (e)
		return e;
	if ((bits >> (port & 7)) & ((1u << size) - 1))
		return soft_gp0(cpu);
	return SOFT_OK;
}

/* IN/OUT/INS/OUTS: IOPL and the I/O bitmap, then the I/O breakpoints
 * (recorded now, reported as a trap once the instruction completes). */
int soft_io_allowed(struct soft_cpu *cpu, uint16_t port, unsigned size);
int soft_io_allowed(struct soft_cpu *cpu, uint16_t port, unsigned size)
{
	int e = io_bitmap_check(cpu, port, size);
	if (e == SOFT_OK && unlikely(cpu->dbg_armed & SOFT_DBG_IO))
		soft_dbg_io(cpu, port, size);
	return e;
}
