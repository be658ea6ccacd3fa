/* Interpreter benchmark: integer, memory and SSE loops run in the soft CPU
 * (predecoded through the icache) and natively, in one run.  Prints guest
 * instructions per second, the ratio to native, and host instructions per
 * guest instruction (perf_event_open, when the host allows it).
 *
 *   bench_interp [iterations-millions [integer|memory|sse|crc32|strscan|chain|callret|avx2scan|rdtsc|all [interp|jit]]]
 *                (default 20, all, interp: the tier the soft CPU runs at)
 *   perf stat -e instructions bench_interp  or  valgrind --tool=callgrind
 *   bench_interp 1  for a profile of where time goes. */
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "src/cpu/soft/cpu.h"
#include "src/cpu/soft/flatmem.h"
#include "src/cpu/soft/host_isa.h"
#include "src/cpu/soft/jit/jit.h"
#include "src/cpu/soft/mmu/soft_mmu.h"

extern const uint8_t g_int[], g_int_end[], g_mem[], g_mem_end[], g_sse[], g_sse_end[];
extern const uint8_t g_crc[], g_crc_end[];
extern const uint8_t g_str[], g_str_end[];
extern const uint8_t g_chain[], g_chain_end[];

extern const uint8_t g_avx2[], g_avx2_end[];
extern const uint8_t g_callret[], g_callret_end[];
extern const uint8_t g_tsc[], g_tsc_end[];
void n_int(uint64_t n, void *buf);
void n_mem(uint64_t n, void *buf);
void n_sse(uint64_t n, void *buf);
void n_crc(uint64_t n, void *buf);
void n_str(uint64_t n, void *buf);
void n_chain(uint64_t n, void *buf);

void n_avx2(uint64_t n, void *buf);
void n_callret(uint64_t n, void *buf);
void n_tsc(uint64_t n, void *buf);

#define CODE 0x1000
#define DATA 0x10000

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int perf_open(void)
{
	struct perf_event_attr a;
	memset(&a, 0, sizeof(a));
	a.type = PERF_TYPE_HARDWARE;
	a.size = sizeof(a);
	a.config = PERF_COUNT_HW_INSTRUCTIONS;
	a.disabled = 1;
	a.exclude_kernel = 1;
	a.exclude_hv = 1;
	return (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
}

static uint64_t perf_read(int fd)
{
	uint64_t v = 0;
	if (fd < 0 || read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

struct loop {
	const char *name;
	const uint8_t *start, *end;
	void (*native)(uint64_t, void *);
	unsigned per_iter;   /* guest instructions per iteration */
};

int main(int argc, char **argv)
{
	uint64_t iters = (argc > 1 ? strtoull(argv[1], NULL, 0) : 20) * 1000000ULL;
	/* crc32: 4 KiB of data, then its 1 KiB table; strscan: 16-byte loads */
	static uint64_t nbuf[1024] __attribute__((aligned(16)));
	const struct loop loops[] = {
		{ "integer (add/xor/sub/inc/dec/jnz)", g_int, g_int_end, n_int, 6 },
		{ "memory  (load/add/store ring)", g_mem, g_mem_end, n_mem, 6 },
		{ "sse     (addps/mulps)", g_sse, g_sse_end, n_sse, 4 },
		{ "crc32   (byte loads, table xor)", g_crc, g_crc_end, n_crc, 8 },
		{ "strscan (movdqa/pcmpeqb/pmovmskb)", g_str, g_str_end, n_str, 8 },
		{ "chain   (gzip's hash-chain walk)", g_chain, g_chain_end, n_chain, 12 },
		{ "callret (two leaf calls per round)", g_callret, g_callret_end, n_callret, 10 },

		{ "avx2scan (vpcmpeqb/vpmovmskb/tzcnt)", g_avx2, g_avx2_end, n_avx2, 8 },
		{ "rdtsc   (rdtsc/add/dec/jnz)", g_tsc, g_tsc_end, n_tsc, 4 },
	};
	int pfd = perf_open();
	printf("ringvm soft CPU interpreter benchmark: %llu M iterations per loop\n",
	       (unsigned long long)(iters / 1000000));
	printf("%-36s %12s %12s %8s %14s\n", "loop", "guest MIPS", "native MIPS", "ratio", "host insn/guest");
	const char *only = argc > 2 && strcmp(argv[2], "all") ? argv[2] : NULL; /* "integer", "memory", "sse", "crc32", "strscan", "chain", "callret", "avx2scan", "rdtsc" */

	bool jit = argc > 3 && !strcmp(argv[3], "jit");
	if (argc > 3 && !jit && strcmp(argv[3], "interp")) {
		fprintf(stderr, "bench_interp: tier %s: expected interp or jit\n", argv[3]);
		return 2;
	}
	printf("tier: %s\n", jit ? "jit" : "interp");
	for (unsigned i = 0; i < sizeof(loops) / sizeof(loops[0]); i++) {
		const struct loop *l = &loops[i];
		if (only && strncmp(l->name, only, strlen(only)))
			continue;
		if (l->native == n_avx2 && (soft_host_isa_probe() & (SOFT_HOST_AVX2 | SOFT_HOST_BMI1)) !=
					       (SOFT_HOST_AVX2 | SOFT_HOST_BMI1)) {
			printf("%-36s skipped: the host has no AVX2 or BMI1\n", l->name);
			continue;
		}
		struct soft_flatmem m;
		struct soft_cpu cpu;
		if (soft_flatmem_init(&m, 1 << 20) || soft_cpu_init(&cpu, &soft_flatmem_ops, &m, true)) {
			fprintf(stderr, "out of memory\n");
			return 1;
		}
		if (jit && !(cpu.jit = soft_jit_new(0, SOFT_JIT_HOT))) {
			fprintf(stderr, "translation cache: %m\n");
			return 1;
		}
		/* the translator's inline TLB fast path over the flat memory, as
		 * the MMU would fill it at CPL 0 (the code page: reads only, no
		 * inline stores, as on a page holding code) */
		static struct soft_tlb_entry tlb[SOFT_TLB_SIZE];
		for (unsigned p = 0; p < SOFT_TLB_SIZE; p++) {
			struct soft_tlb_entry *e = &tlb[p];
			bool ram = p < (1u << 20) / 4096;
			e->tag_read = e->tag_write = ram ? (uint64_t)p << 2 : ~0ULL;
			e->tag_fastw = ram && p != CODE / 4096 ? (uint64_t)p << 2 : ~0ULL;
			e->tag_fetch = ~0ULL;
			e->host = ram ? m.ram + 4096 * p : NULL;
			soft_tlb_entry_jit(e, (uint64_t)p << 12);
		}
		if (jit)
			cpu.jit_tlb = tlb;
		/* flat 64-bit mode */
		for (int s = 0; s < SEG_COUNT; s++) {
			memset(&cpu.seg[s], 0, sizeof(cpu.seg[s]));
			cpu.seg[s].present = 1;
			cpu.seg[s].s = 1;
			cpu.seg[s].limit = 0xffffffff;
		}
		cpu.seg[SEG_CS].l = 1;
		cpu.cr0 = X86_CR0_PE | X86_CR0_PG;
		cpu.cr4 = X86_CR4_OSFXSR | (1ULL << 18); /* OSXSAVE: VEX usable */
		cpu.xcr0 = 7;                             /* x87 | SSE | AVX */
		cpu.efer = X86_EFER_LME | X86_EFER_LMA;
		soft_cpu_update_mode(&cpu);
		memcpy(m.ram + CODE, l->start, (size_t)(l->end - l->start));
		cpu.rip = CODE;
		cpu.gpr[GPR_RDI] = iters;
		cpu.gpr[GPR_RSI] = DATA;
		cpu.gpr[GPR_RSP] = 0x80000;

		if (pfd >= 0) {
			ioctl(pfd, PERF_EVENT_IOC_RESET, 0);
			ioctl(pfd, PERF_EVENT_IOC_ENABLE, 0);
		}
		double t0 = now();
		uint64_t done = 0;
		int r = soft_cpu_run(&cpu, ~0ULL, &done);
		double t1 = now();
		if (pfd >= 0)
			ioctl(pfd, PERF_EVENT_IOC_DISABLE, 0);
		uint64_t hinsn = perf_read(pfd);

		/* native: best of 5 runs of 5x the iterations (the loop is short) */
		double best = 1e30;
		for (int k = 0; k < 5; k++) {
			double tn0 = now();
			l->native(iters * 5, nbuf);
			double tn1 = now();
			if (tn1 - tn0 < best)
				best = tn1 - tn0;
		}
		double native_mips = (double)iters * 5 * l->per_iter / best / 1e6;

		if (r != SOFT_HLT) {
			printf("%-36s %12s %12.0f %8s %14s   (%s: vector %u at rip %#llx)\n", l->name, "n/a",
			       native_mips, "-", "-", r == SOFT_EXC ? "exception" : "stopped",
			       cpu.exc.vector, (unsigned long long)cpu.rip);
		} else {
			double mips = (double)done / (t1 - t0) / 1e6;
			char hb[32] = "n/a (no perf)";
			if (hinsn)
				snprintf(hb, sizeof(hb), "%.1f", (double)hinsn / (double)done);
			printf("%-36s %12.1f %12.0f %7.1fx %14s\n", l->name, mips, native_mips,
			       native_mips / mips, hb);
		}
		printf("    icache: %llu lookups hit, %llu decoded, %llu uncached instructions\n",
		       (unsigned long long)cpu.icache_hits, (unsigned long long)cpu.icache_misses,
		       (unsigned long long)cpu.uncached_insns);
		if (cpu.jit)
			printf("    translator: %llu instructions native (%llu loads, %llu stores, %llu "
			       "SSE, %llu VEX), %llu as handler calls, %llu entries\n",
			       (unsigned long long)cpu.jit->stats.native_insns,
			       (unsigned long long)cpu.jit->stats.fast_loads,
			       (unsigned long long)cpu.jit->stats.fast_stores,
			       (unsigned long long)cpu.jit->stats.sse,
			       (unsigned long long)cpu.jit->stats.vex,
			       (unsigned long long)cpu.jit->stats.helper_insns,
			       (unsigned long long)cpu.jit->stats.entries);
		soft_cpu_destroy(&cpu);
		soft_flatmem_destroy(&m);
	}
	if (pfd < 0)
		printf("profile: perf_event_open unavailable here; run under "
		       "`valgrind --tool=callgrind bench_interp 1` for host instructions per guest instruction\n");
	return 0;
}
