/* Native execution of instruction byte strings: see native_exec.h. */
#include "native_exec.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

struct native_shared {
	volatile long cur; /* case being run; -1 before the first */
	long n;
	struct diff_case cases[NATIVE_BATCH_MAX];
	struct diff_result res[NATIVE_BATCH_MAX];
};

struct native_exec {
	struct native_shared *sh;
};

/* ucontext gregs index for each enum x86_gpr */
static const int native_greg[GPR_COUNT] = {
	REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
	REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15,
};

/* FXSAVE image offsets */
#define FX_FCW 0
#define FX_FSW 2
#define FX_FTW 4
#define FX_MXCSR 24
#define FX_ST 32
#define FX_XMM 160
#define FX_SW_MAGIC 464 /* struct _fpx_sw_bytes.magic1 */
#define FX_XSTATE_BV 512
#define FX_YMMH 576 /* XSAVE standard format, component 2 (CPUID.(0DH,2):EBX) */
#ifndef FP_XSTATE_MAGIC1
#define FP_XSTATE_MAGIC1 0x46505853u
#endif

/* Only the child process's signal handler uses this: it is set once after
 * fork and never shared with other threads. */
static struct native_shared *native_child_sh;

/* Does the signal frame's XSAVE area hold component 2 (AVX)?  The kernel
 * describes it in the software-reserved bytes (struct _fpx_sw_bytes:
 * magic1, extended_size, xfeatures at 464, 468, 472). */
static bool native_frame_has_avx(const uint8_t *fx)
{
	uint32_t magic, size;
	uint64_t xfeatures;
	memcpy(&magic, fx + FX_SW_MAGIC, 4);
	memcpy(&size, fx + FX_SW_MAGIC + 4, 4);
	memcpy(&xfeatures, fx + FX_SW_MAGIC + 8, 8);
	return magic == FP_XSTATE_MAGIC1 && (xfeatures & 4) && size >= FX_YMMH + 256;
}

static void native_load(ucontext_t *uc, const struct diff_case *c)
{
	greg_t *g = uc->uc_mcontext.gregs;
	uint8_t *fx = (uint8_t *)uc->uc_mcontext.fpregs;
	uint8_t *code = (uint8_t *)(uintptr_t)DIFF_CODE_ADDR;

	memset(code, 0xcc, 32);
	memcpy(code, c->code, c->len);
	memcpy((void *)(uintptr_t)DIFF_DATA_ADDR, c->in.mem, DIFF_MEM_SIZE);
	for (int i = 0; i < GPR_COUNT; i++)
		g[native_greg[i]] = (greg_t)c->in.regs.gpr[i];
	g[REG_RIP] = (greg_t)DIFF_CODE_ADDR;
	g[REG_EFL] = (greg_t)(0x202 | (c->in.regs.rflags & NATIVE_RFLAGS_SETTABLE));

	const struct x86_fpu *f = &c->in.fpu;
	uint32_t mxcsr = f->mxcsr & 0xffff;
	uint16_t ftw = f->ftw;
	memcpy(fx + FX_FCW, &f->fcw, 2);
	memcpy(fx + FX_FSW, &f->fsw, 2);
	memcpy(fx + FX_FTW, &ftw, 2);
	memset(fx + 6, 0, 18); /* fop, fip, fdp */
	memcpy(fx + FX_MXCSR, &mxcsr, 4);
	memcpy(fx + FX_ST, f->st, sizeof(f->st));
	memcpy(fx + FX_XMM, f->xmm, sizeof(f->xmm));
	uint32_t magic;
	memcpy(&magic, fx + FX_SW_MAGIC, 4);
	if (magic == FP_XSTATE_MAGIC1) {
		/* XRSTOR would put x87/SSE in their init state without these. */
		uint64_t bv;
		memcpy(&bv, fx + FX_XSTATE_BV, 8);
		bv |= 3;
		/* YMM upper halves, when the frame has the AVX component */
		if (native_frame_has_avx(fx)) {
			memcpy(fx + FX_YMMH, c->in.ymmh, sizeof(c->in.ymmh));
			bv |= 4;
		}
		memcpy(fx + FX_XSTATE_BV, &bv, 8);
	}
}

static void native_snapshot(const ucontext_t *uc, int sig, const siginfo_t *si,
			    struct diff_result *r)
{
	const greg_t *g = uc->uc_mcontext.gregs;
	const uint8_t *fx = (const uint8_t *)uc->uc_mcontext.fpregs;
	long trapno = g[REG_TRAPNO];

	for (int i = 0; i < GPR_COUNT; i++)
		r->out.regs.gpr[i] = (uint64_t)g[native_greg[i]];
	r->out.regs.rip = (uint64_t)g[REG_RIP];
	r->out.regs.rflags = (uint64_t)g[REG_EFL];
	r->error_code = (uint64_t)g[REG_ERR];
	r->fault_addr = 0;
	if (sig == SIGTRAP && trapno == 3) {
		r->vector = DIFF_VEC_NONE;
		r->out.regs.rip -= 1; /* int3 reports the address after it */
		r->error_code = 0;
	} else {
		r->vector = (int)trapno;
		if (trapno == 14)
			r->fault_addr = (uint64_t)g[REG_CR2];
		/* An instruction fetch fault at a new RIP outside the code page
		 * means the instruction (a branch) completed and the NEXT fetch
		 * faulted: report the completed state, as soft_cpu_step does. */
		if (trapno == 14 && (r->error_code & 0x10) &&
		    r->fault_addr == (uint64_t)g[REG_RIP] &&
		    (r->fault_addr < DIFF_CODE_ADDR || r->fault_addr >= DIFF_CODE_ADDR + 4096)) {
			r->vector = DIFF_VEC_NONE;
			r->error_code = 0;
			r->fault_addr = 0;
		}
		else if (sig == SIGSEGV && si->si_code != SI_KERNEL)
			r->fault_addr = (uint64_t)(uintptr_t)si->si_addr;
	}

	struct x86_fpu *f = &r->out.fpu;
	memset(f, 0, sizeof(*f));
	memcpy(&f->fcw, fx + FX_FCW, 2);
	memcpy(&f->fsw, fx + FX_FSW, 2);
	f->ftw = fx[FX_FTW];
	memcpy(&f->mxcsr, fx + FX_MXCSR, 4);
	memcpy(f->st, fx + FX_ST, sizeof(f->st));
	for (int i = 0; i < 8; i++)
		memset(&f->st[i][10], 0, 6);
	memcpy(f->xmm, fx + FX_XMM, sizeof(f->xmm));
	memset(r->out.ymmh, 0, sizeof(r->out.ymmh));
	if (native_frame_has_avx(fx)) {
		uint64_t bv;
		memcpy(&bv, fx + FX_XSTATE_BV, 8);
		if (bv & 4) /* else in its initial state: zero */
			memcpy(r->out.ymmh, fx + FX_YMMH, sizeof(r->out.ymmh));
	}
	memcpy(r->out.mem, (const void *)(uintptr_t)DIFF_DATA_ADDR, DIFF_MEM_SIZE);
}

static void native_on_signal(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	struct native_shared *sh = native_child_sh;
	long cur = sh->cur;

	if (cur >= 0)
		native_snapshot(uc, sig, si, &sh->res[cur]);
	cur++;
	sh->cur = cur;
	if (cur >= sh->n)
		_exit(0);
	native_load(uc, &sh->cases[cur]);
}

static void native_child(struct native_shared *sh)
{
	static const int sigs[] = { SIGTRAP, SIGSEGV, SIGBUS, SIGILL, SIGFPE };
	void *code = mmap((void *)(uintptr_t)DIFF_CODE_ADDR, 4096,
			  PROT_READ | PROT_WRITE | PROT_EXEC,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	void *data = mmap((void *)(uintptr_t)DIFF_DATA_ADDR, DIFF_MEM_SIZE,
			  PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (code != (void *)(uintptr_t)DIFF_CODE_ADDR ||
	    data != (void *)(uintptr_t)DIFF_DATA_ADDR)
		_exit(100);
	memset(code, 0xcc, 4096);

	stack_t ss = { .ss_sp = malloc(1 << 16), .ss_size = 1 << 16 };
	if (!ss.ss_sp || sigaltstack(&ss, NULL) != 0)
		_exit(101);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = native_on_signal;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigfillset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	/* A case that loops forever: SIGALRM kills the child, the parent
	 * marks the case crashed and restarts after it. */
	struct itimerval it = { .it_value = { .tv_sec = 2 } };
	setitimer(ITIMER_REAL, &it, NULL);
	native_child_sh = sh;
	raise(SIGTRAP);
	_exit(102); /* not reached: the handler _exit()s after the last case */
}

struct native_exec *native_exec_create(void)
{
	struct native_exec *ne = calloc(1, sizeof(*ne));
	if (!ne)
		return NULL;
	ne->sh = mmap(NULL, sizeof(*ne->sh), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ne->sh == MAP_FAILED) {
		free(ne);
		return NULL;
	}
	return ne;
}

void native_exec_destroy(struct native_exec *ne)
{
	if (!ne)
		return;
	munmap(ne->sh, sizeof(*ne->sh));
	free(ne);
}

struct diff_case *native_exec_cases(struct native_exec *ne)
{
	return ne->sh->cases;
}

const struct diff_result *native_exec_run(struct native_exec *ne, size_t n)
{
	struct native_shared *sh = ne->sh;
	long start = 0;

	if (n > NATIVE_BATCH_MAX)
		return NULL;
	/* Some hosts cannot return to user mode with a non-canonical RSP
	 * (sigreturn raises #GP): such a case never reaches the host. */
	for (size_t i = 0; i < n; i++) {
		uint64_t sp = sh->cases[i].in.regs.gpr[GPR_RSP];
		if ((uint64_t)((int64_t)(sp << 16) >> 16) != sp) {
			fprintf(stderr, "native_exec: case %zu has a non-canonical RSP %#llx: "
				"hosts differ there; test it on the soft side (diff_stackcanon.c)\n",
				i, (unsigned long long)sp);
			return NULL;
		}
	}
	sh->n = (long)n;
	while (start < (long)n) {
		sh->cur = start - 1;
		fflush(NULL);
		pid_t pid = fork();
		if (pid < 0)
			return NULL;
		if (pid == 0)
			native_child(sh);
		int status;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			break;
		if (WIFEXITED(status) && WEXITSTATUS(status) >= 100)
			return NULL; /* setup failed */
		long bad = sh->cur;
		if (bad < start)
			bad = start;
		if (bad >= (long)n)
			break;
		memset(&sh->res[bad], 0, sizeof(sh->res[bad]));
		sh->res[bad].vector = DIFF_VEC_CRASH;
		start = bad + 1;
	}
	return sh->res;
}
