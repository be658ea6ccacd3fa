/* Guest page-table walks: no paging, 32-bit (with PSE), PAE and 4-level. */
#include <string.h>

#include "soft_mmu.h"

/* Physical-address width the soft CPU advertises (CPUID 0x80000008). */
#define SOFT_MAXPHYADDR 40
#define ADDR_MASK_PAE   (((1ULL << SOFT_MAXPHYADDR) - 1) & ~0xfffULL)
/* Bits 51:MAXPHYADDR of a PAE/4-level entry must be zero. */
#define RSVD_HIGH       (((1ULL << 52) - 1) & ~((1ULL << SOFT_MAXPHYADDR) - 1))

#define PTE_P   (1ULL << 0)
#define PTE_W   (1ULL << 1)
#define PTE_U   (1ULL << 2)
#define PTE_A   (1ULL << 5)
#define PTE_D   (1ULL << 6)
#define PTE_PS  (1ULL << 7)
#define PTE_G   (1ULL << 8)
#define PTE_XD  (1ULL << 63)

#define PF_P    (1u << 0)
#define PF_W    (1u << 1)
#define PF_U    (1u << 2)
#define PF_RSVD (1u << 3)
#define PF_I    (1u << 4)
#define PF_PK   (1u << 5)

/* One paging-structure entry being walked: its value and where it lives. */
struct pte_ref {
	uint64_t val;
	void *host;     /* checked host pointer to the entry */
	unsigned width; /* 4 or 8 bytes */
};

static bool read_entry(struct soft_mmu *m, uint64_t gpa, unsigned width, struct pte_ref *e)
{
	e->width = width;
	e->host = gmem_ptr(m->mem, gpa, width);
	if (!e->host)
		return false;
	if (width == 4)
		e->val = __atomic_load_n((uint32_t *)e->host, __ATOMIC_RELAXED);
	else
		e->val = __atomic_load_n((uint64_t *)e->host, __ATOMIC_RELAXED);
	return true;
}

/* Set bits in an entry atomically (other vCPUs walk the same tables); the
 * table's page is then dirty for diff snapshots. */
static void set_bits(struct soft_mmu *m, struct pte_ref *e, uint64_t bits)
{
	if ((e->val & bits) == bits)
		return;
	gmem_dirty_mark_host(m->mem, e->host);
	if (e->width == 4)
		__atomic_fetch_or((uint32_t *)e->host, (uint32_t)bits, __ATOMIC_RELAXED);
	else
		__atomic_fetch_or((uint64_t *)e->host, bits, __ATOMIC_RELAXED);
	e->val |= bits;
}

static int page_fault(struct soft_fault *f, uint64_t la, uint32_t code)
{
	f->vector = X86_EXC_PF;
	f->has_error = true;
	f->error_code = code;
	f->cr2 = la;
	return -1;
}

static int gp0(struct soft_fault *f)
{
	f->vector = X86_EXC_GP;
	f->has_error = true;
	f->error_code = 0;
	f->cr2 = 0;
	return -1;
}

unsigned soft_mmu_rights(const struct soft_cpu *cpu, const struct soft_walk *w, unsigned cls,
			 unsigned *pk)
{
	*pk = 0;
	if (!w->paging)
		return SOFT_MMU_R | SOFT_MMU_W | SOFT_MMU_X;
	bool user = cls == SOFT_MMU_CLS_USER;
	bool wp = cpu->cr0 & X86_CR0_WP;
	if (user && !w->user)
		return 0; /* user access to a supervisor-mode address */
	unsigned r = 0;
	/* Fetches: XD; SMEP forbids supervisor fetches from user-mode
	 * addresses (4.6.1). */
	if (!w->nx && !(!user && w->user && (cpu->cr4 & SOFT_MMU_CR4_SMEP)))
		r |= SOFT_MMU_X;
	/* Data: SMAP forbids supervisor data accesses to user-mode addresses
	 * unless they are explicit with EFLAGS.AC=1 (class SVAC).  Writes need
	 * R/W=1 unless a supervisor access with CR0.WP=0. */
	if (!(!user && w->user && (cpu->cr4 & SOFT_MMU_CR4_SMAP) && cls != SOFT_MMU_CLS_SVAC)) {
		r |= SOFT_MMU_R;
		if (w->write || (!user && !wp))
			r |= SOFT_MMU_W;
	}
	/* Protection keys apply to data accesses to user-mode addresses, by
	 * user and supervisor alike: AD denies reads and writes, WD denies
	 * user writes and supervisor writes with CR0.WP=1 (4.6.2). */
	if (w->pk && w->user) {
		uint32_t bits = cpu->pkru >> (2 * w->pkey);
		if (bits & 1)
			*pk = SOFT_MMU_R | SOFT_MMU_W;
		else if ((bits & 2) && (user || wp))
			*pk = SOFT_MMU_W;
		r &= ~*pk;
	}
	return r;
}

int soft_mmu_translate(struct soft_mmu *m, uint64_t la, unsigned acc,
		       struct soft_walk *w, struct soft_fault *f)
{
	const struct soft_cpu *cpu = m->cpu;
	bool write = acc == SOFT_ACC_WRITE || acc == SOFT_ACC_RMW;
	bool fetch = acc == SOFT_ACC_FETCH;
	unsigned cls = soft_mmu_class(cpu);
	bool user = cls == SOFT_MMU_CLS_USER;
	bool nxe = cpu->efer & X86_EFER_NXE;
	bool lma = cpu->efer & X86_EFER_LMA;
	/* I/D: an instruction fetch with NXE or SMEP on (SDM vol. 3, 4.7) */
	bool id = fetch && (nxe || (cpu->cr4 & SOFT_MMU_CR4_SMEP));
	uint32_t code = (write ? PF_W : 0) | (user ? PF_U : 0) | (id ? PF_I : 0);

	memset(w, 0, sizeof(*w));
	if (!(cpu->cr0 & X86_CR0_PG)) {
		w->gpa = lma ? la : (la & 0xffffffffULL);
		w->user = w->write = w->dirty = true;
		w->page_shift = 12;
		return 0;
	}
	w->paging = true;
	if (lma) {
		/* Canonical: bits 63:47 all equal. */
		if ((uint64_t)((int64_t)(la << 16) >> 16) != la)
			return gp0(f);
	} else {
		la &= 0xffffffffULL;
	}

	struct pte_ref path[4];
	unsigned depth = 0;
	uint64_t gpa;
	unsigned shift;
	bool u = true, wr = true, nx = false;

	if (!(cpu->cr4 & X86_CR4_PAE)) {
		/* 32-bit paging: 2 levels of 4-byte entries. */
		struct pte_ref *pde = &path[depth++];
		if (!read_entry(m, (cpu->cr3 & 0xfffff000ULL) + ((la >> 22) & 0x3ff) * 4, 4, pde) ||
		    !(pde->val & PTE_P))
			return page_fault(f, la, code);
		u = pde->val & PTE_U;
		wr = pde->val & PTE_W;
		if ((pde->val & PTE_PS) && (cpu->cr4 & X86_CR4_PSE)) {
			/* 4 MiB page; PSE-36 puts address bits 39:32 in 20:13. */
			if (pde->val & (1ULL << 21))
				return page_fault(f, la, code | PF_P | PF_RSVD);
			gpa = (pde->val & 0xffc00000ULL) | (((pde->val >> 13) & 0xff) << 32) |
			      (la & 0x3fffff);
			shift = 22;
		} else {
			struct pte_ref *pte = &path[depth++];
			if (!read_entry(m, (pde->val & 0xfffff000ULL) + ((la >> 12) & 0x3ff) * 4, 4, pte) ||
			    !(pte->val & PTE_P))
				return page_fault(f, la, code);
			u = u && (pte->val & PTE_U);
			wr = wr && (pte->val & PTE_W);
			gpa = (pte->val & 0xfffff000ULL) | (la & 0xfff);
			shift = 12;
		}
	} else {
		/* PAE (3 levels from the 4 PDPTEs) or 4-level paging: 8-byte entries. */
		int level = lma ? 4 : 3;
		uint64_t table = lma ? (cpu->cr3 & ADDR_MASK_PAE) : (cpu->cr3 & 0xffffffe0ULL);
		for (;; level--) {
			unsigned idx_shift = 12 + 9 * (unsigned)(level - 1);
			uint64_t idx = (level == 3 && !lma) ? ((la >> 30) & 3) : ((la >> idx_shift) & 0x1ff);
			struct pte_ref *e = &path[depth++];
			if (!read_entry(m, table + idx * 8, 8, e) || !(e->val & PTE_P))
				return page_fault(f, la, code);
			uint64_t rsvd = RSVD_HIGH | (nxe ? 0 : PTE_XD);
			if (level == 3 && !lma)
				rsvd |= 0x1e6ULL | PTE_XD; /* legacy PDPTE: bits 1,2,5-8 and XD */
			if (level == 4)
				rsvd |= PTE_PS;
			if (e->val & rsvd)
				return page_fault(f, la, code | PF_P | PF_RSVD);
			if (!(level == 3 && !lma)) {
				u = u && (e->val & PTE_U);
				wr = wr && (e->val & PTE_W);
			}
			nx = nx || (nxe && (e->val & PTE_XD));
			bool leaf = level == 1 || ((level == 2 || (level == 3 && lma)) && (e->val & PTE_PS));
			if (leaf) {
				if (level > 1) {
					/* Large page: bits 12 (PAT) to the page size must be zero
					 * except PAT itself at bit 12. */
					uint64_t low = ((1ULL << idx_shift) - 1) & ~0x1fffULL;
					if (e->val & low)
						return page_fault(f, la, code | PF_P | PF_RSVD);
				}
				gpa = (e->val & ADDR_MASK_PAE & ~((1ULL << idx_shift) - 1)) |
				      (la & ((1ULL << idx_shift) - 1));
				shift = idx_shift;
				break;
			}
			table = e->val & ADDR_MASK_PAE;
		}
	}

	/* Permission checks on the combined rights. */
	struct pte_ref *leaf = &path[depth - 1];
	w->user = u;
	w->write = wr;
	w->nx = nx;
	/* Protection keys: 4-level paging with CR4.PKE, key in bits 62:59 of
	 * the leaf (SDM vol. 3, 4.6.2). */
	w->pk = lma && (cpu->cr4 & SOFT_MMU_CR4_PKE);
	w->pkey = (uint8_t)((leaf->val >> 59) & 0xf);
	unsigned need = fetch ? SOFT_MMU_X : write ? SOFT_MMU_W : SOFT_MMU_R, pk;
	if (!(soft_mmu_rights(cpu, w, cls, &pk) & need))
		return page_fault(f, la, code | PF_P | ((pk & need) ? PF_PK : 0));

	/* Accessed on every level, dirty on the leaf for writes. */
	for (unsigned i = 0; i < depth; i++) {
		bool legacy_pdpte = !lma && (cpu->cr4 & X86_CR4_PAE) && i == 0;
		if (!legacy_pdpte) /* PAE PDPTEs have no A bit */
			set_bits(m, &path[i], PTE_A);
	}
	if (write)
		set_bits(m, leaf, PTE_D);

	w->gpa = gpa;
	w->global = (cpu->cr4 & X86_CR4_PGE) && (leaf->val & PTE_G);
	w->dirty = leaf->val & PTE_D;
	w->page_shift = shift;
	return 0;
}
