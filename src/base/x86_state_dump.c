/* A readable register dump for fatal-error reports. */
#include <inttypes.h>
#include <stdio.h>

#include "ringvm/x86_state.h"

static const char *const gpr_names[GPR_COUNT] = {
	"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15",
};
static const char *const seg_names[SEG_COUNT] = { "es", "cs", "ss", "ds", "fs", "gs" };

static void dump_seg(FILE *out, const char *name, const struct x86_segment *s)
{
	fprintf(out, "  %-3s sel=%04x base=%016" PRIx64 " limit=%08x type=%x s=%u dpl=%u p=%u l=%u db=%u g=%u%s\n",
		name, s->selector, s->base, s->limit, s->type, s->s, s->dpl,
		s->present, s->l, s->db, s->g, s->unusable ? " unusable" : "");
}

void x86_state_dump(FILE *out, const struct x86_regs *r, const struct x86_sregs *s)
{
	if (r) {
		for (int i = 0; i < GPR_COUNT; i++)
			fprintf(out, "  %-3s=%016" PRIx64 "%s", gpr_names[i], r->gpr[i],
				(i % 4 == 3) ? "\n" : "");
		fprintf(out, "  rip=%016" PRIx64 "  rflags=%016" PRIx64 "\n", r->rip, r->rflags);
	}
	if (s) {
		for (int i = 0; i < SEG_COUNT; i++)
			dump_seg(out, seg_names[i], &s->seg[i]);
		dump_seg(out, "tr", &s->tr);
		dump_seg(out, "ldt", &s->ldt);
		fprintf(out, "  gdt=%016" PRIx64 "/%04x idt=%016" PRIx64 "/%04x\n",
			s->gdt.base, s->gdt.limit, s->idt.base, s->idt.limit);
		fprintf(out, "  cr0=%016" PRIx64 " cr2=%016" PRIx64 " cr3=%016" PRIx64 "\n"
			     "  cr4=%016" PRIx64 " cr8=%016" PRIx64 " efer=%016" PRIx64 "\n",
			s->cr0, s->cr2, s->cr3, s->cr4, s->cr8, s->efer);
	}
}
