/* ringvm-difftest: differential testing of the soft CPU against the host.
 *
 * Every instruction form (diff_forms_*.c) is run on random states, once
 * natively (native_exec.c) and once on the soft CPU (soft_exec.c); the
 * final states must agree except for RFLAGS bits the SDM leaves undefined.
 * Prints a coverage report; exits 1 on any mismatch. */
#include <cpuid.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "diff_compare.h"
#include "diff_edges.h"
#include "diff_forms.h"
#include "diff_modes.h"
#include "diff_selftest.h"
#include "diff_stackcanon.h"
#include "diff_vendor.h"
#include "native_exec.h"
#include "soft_exec.h"
#include "src/cpu/soft/cpuid.h"
#include "src/cpu/soft/host_isa.h"

/* Forms of an optional feature: skipped when the soft CPU's model leaves
 * the feature out (on such a CPU the encoding means something else, e.g.
 * F3 0F BC is BSF without BMI1) or when the HOST lacks it (the native side
 * would raise #UD, or run the encoding as something else).  A form
 * matches by its first word (the mnemonic). */
struct diff_feature {
	const char *mnem[10];
	int model;                 /* the SOFT_MODEL_* switch */
	uint32_t leaf, subleaf;
	int reg;                   /* 0 EAX, 1 EBX, 2 ECX, 3 EDX */
	unsigned bit;
	const char *what;
};

static const struct diff_feature diff_features[] = {
	{ { "tzcnt", "andn", "bextr", "blsi", "blsmsk", "blsr" }, SOFT_MODEL_BMI1,
	  7, 0, 1, 3, "BMI1 (CPUID.(7,0):EBX[3])" },
	{ { "bzhi", "mulx", "pdep", "pext", "rorx", "sarx", "shlx", "shrx" }, SOFT_MODEL_BMI2,
	  7, 0, 1, 8, "BMI2 (CPUID.(7,0):EBX[8])" },
	{ { "adcx", "adox" }, SOFT_MODEL_ADX, 7, 0, 1, 19, "ADX (CPUID.(7,0):EBX[19])" },
	{ { "lzcnt" }, SOFT_MODEL_LZCNT, 0x80000001u, 0, 2, 5, "LZCNT (CPUID.80000001H:ECX[5])" },
	{ { "movbe" }, SOFT_MODEL_MOVBE, 1, 0, 2, 22, "MOVBE (CPUID.1:ECX[22])" },
	{ { "rdrand" }, SOFT_MODEL_RDRAND, 1, 0, 2, 30, "RDRAND (CPUID.1:ECX[30])" },
	{ { "rdseed" }, SOFT_MODEL_RDRAND, 7, 0, 1, 18, "RDSEED (CPUID.(7,0):EBX[18])" },
	{ { "rdpid" }, SOFT_MODEL_RDPID, 7, 0, 2, 22, "RDPID (CPUID.(7,0):ECX[22])" },
	{ { "rdtscp" }, 1, 0x80000001u, 0, 3, 27, "RDTSCP (CPUID.80000001H:EDX[27])" },
	{ { "xsave", "xsave64", "xrstor", "xrstor64" }, SOFT_MODEL_XSAVE, 1, 0, 2, 26,
	  "XSAVE (CPUID.1:ECX[26])" },
	{ { "xsaveopt", "xsaveopt64" }, SOFT_MODEL_XSAVE, 0xd, 1, 0, 0, "XSAVEOPT (CPUID.(0DH,1):EAX[0])" },
	{ { "xsavec", "xsavec64" }, SOFT_MODEL_XSAVE, 0xd, 1, 0, 1, "XSAVEC (CPUID.(0DH,1):EAX[1])" },
};

static bool diff_host_has(const struct diff_feature *ft)
{
	unsigned r[4];
	unsigned max = __get_cpuid_max(ft->leaf & 0x80000000u, NULL);
	if (max < ft->leaf)
		return false;
	__cpuid_count(ft->leaf, ft->subleaf, r[0], r[1], r[2], r[3]);
	return (r[ft->reg] >> ft->bit) & 1;
}

static const char *diff_form_skip(const char *name)
{
	static char why[160];
	size_t word = strcspn(name, " ");
	for (size_t i = 0; i < sizeof(diff_features) / sizeof(diff_features[0]); i++) {
		const struct diff_feature *ft = &diff_features[i];
		for (int k = 0; k < 10 && ft->mnem[k]; k++) {
			if (strlen(ft->mnem[k]) != word || strncmp(name, ft->mnem[k], word) != 0)
				continue;
			if (!ft->model)
				snprintf(why, sizeof(why), "soft CPU model has no %s", ft->what);
			else if (!diff_host_has(ft))
				snprintf(why, sizeof(why), "the host CPU has no %s", ft->what);
			else
				return NULL;
			return why;
		}
	}
	/* executed on the host's units, offered only where the host has them */
	uint32_t isa = soft_host_isa_probe();
	if (!(isa & SOFT_HOST_AES) && !strncmp(name, "aes", 3))
		return "host has no AES-NI (so the soft CPU does not offer it)";
	if (!(isa & SOFT_HOST_PCLMUL) && strstr(name, "pclmul"))
		return "host has no PCLMULQDQ (so the soft CPU does not offer it)";
	if (!(isa & SOFT_HOST_SHA) && !strncmp(name, "sha", 3))
		return "host has no SHA extensions (so the soft CPU does not offer them)";
	if (!(isa & SOFT_HOST_GFNI) && !strncmp(name, "gf2p8", 5))
		return "host has no GFNI (so the soft CPU does not offer it)";
	/* VEX forms (diff_forms_avx.c) name their extension in brackets */
	if (!(isa & SOFT_HOST_AVX) && strstr(name, "[avx"))
		return "host has no AVX (so the soft CPU does not offer it)";
	if (!(isa & SOFT_HOST_AVX2) && strstr(name, "[avx2]"))
		return "host has no AVX2 (so the soft CPU does not offer it)";
	if (!(isa & SOFT_HOST_FMA) && strstr(name, "[fma]"))
		return "host has no FMA (so the soft CPU does not offer it)";
	if (!(isa & SOFT_HOST_F16C) && strstr(name, "[f16c]"))
		return "host has no F16C (so the soft CPU does not offer it)";
	return NULL;
}

struct diff_opts {
	uint64_t cases;
	uint64_t seed;
	const char *form;
	unsigned max_report;
	bool list, self_test, strict, no_edges;
};

struct diff_stats {
	uint64_t cases, mismatches, known, soft_ud, vec[34];
	uint64_t reruns; /* mismatches the native re-run did not confirm */
};

struct diff_run {
	struct diff_opts *o;
	struct native_exec *ne;
	struct soft_exec *se;
	struct diff_result soft_res;
	struct diff_gen_info info[NATIVE_BATCH_MAX];
	struct diff_case *rerun; /* a batch's mismatching cases, run again */
	struct diff_gen_info rerun_info[NATIVE_BATCH_MAX];
	uint64_t total_cases, total_mismatch, total_known, forms_run, forms_fail, forms_unimpl;
};

static void stats_add(struct diff_stats *st, const struct diff_result *n)
{
	int v = n->vector;
	st->vec[v < 0 ? 32 : v < 32 ? v : 33]++;
}

static void stats_print(const struct diff_stats *st, char *buf, size_t n)
{
	size_t at = 0;
	buf[0] = 0;
	for (int i = 0; i < 34 && at < n; i++) {
		if (!st->vec[i])
			continue;
		const char *nm = i == 32 ? "ok" : diff_vector_name(i);
		at += (size_t)snprintf(buf + at, n - at, "%s%s:%" PRIu64, at ? " " : "", nm, st->vec[i]);
	}
}

/* Run one form; returns the per-form status string. */
static void run_form(struct diff_run *R, const struct diff_form *f)
{
	struct diff_rng rng = { .s = R->o->seed * 0x9e3779b97f4a7c15ULL + 0x1234567 };
	for (const char *p = f->name; *p; p++)
		rng.s = (rng.s ^ (uint8_t)*p) * 0x100000001b3ULL;
	if (!rng.s)
		rng.s = 1;
	struct diff_stats st = { 0 };
	unsigned reported = 0;
	uint64_t left = R->o->cases;

	while (left) {
		size_t n = left > NATIVE_BATCH_MAX ? NATIVE_BATCH_MAX : (size_t)left;
		struct diff_case *cases = native_exec_cases(R->ne);
		for (size_t i = 0; i < n; i++) {
			if (!diff_gen_case(&rng, f, &cases[i], &R->info[i])) {
				fprintf(stderr, "bad template for form %s: %s\n", f->name, f->enc);
				exit(2);
			}
		}
		const struct diff_result *nat = native_exec_run(R->ne, n);
		if (!nat) {
			fprintf(stderr, "native execution failed to start\n");
			exit(2);
		}
		size_t nre = 0;
		for (size_t i = 0; i < n; i++) {
			soft_exec_run(R->se, &cases[i], &R->soft_res);
			st.cases++;
			stats_add(&st, &nat[i]);
			if (R->soft_res.vector == 6 && nat[i].vector != 6)
				st.soft_ud++;
			int cmp = diff_compare(f, &R->info[i], &cases[i], &nat[i], &R->soft_res, NULL);
			if (cmp == DIFF_KNOWN)
				st.known++;
			if (cmp == DIFF_DIFFERENT) {
				if (!R->rerun) {
					R->rerun = malloc(NATIVE_BATCH_MAX * sizeof(*R->rerun));
					if (!R->rerun) {
						perror("malloc");
						exit(2);
					}
				}
				R->rerun[nre] = cases[i];
				R->rerun_info[nre++] = R->info[i];
			}
		}
		/* A mismatch counts once the native side repeats it on its own:
		 * the host kernel can preempt the native run between two
		 * instructions of a sequence, and its XSAVE/XRSTOR of the x87
		 * state then loses FIP/FCS/FOP on AMD hosts (seen as "seq:
		 * fldpi; fnsave" failing about once in 20,000 cases on a loaded
		 * host).  The soft side is deterministic, so a real mismatch
		 * repeats. */
		for (size_t k = 0; k < nre; k++) {
			struct diff_case *one = native_exec_cases(R->ne);
			one[0] = R->rerun[k];
			R->info[0] = R->rerun_info[k];
			const struct diff_result *again = native_exec_run(R->ne, 1);
			if (!again) {
				fprintf(stderr, "native execution failed to start\n");
				exit(2);
			}
			soft_exec_run(R->se, &one[0], &R->soft_res);
			if (diff_compare(f, &R->info[0], &one[0], &again[0], &R->soft_res, NULL) != DIFF_DIFFERENT) {
				st.reruns++;
				continue;
			}
			st.mismatches++;
			if (reported < R->o->max_report && !(st.soft_ud == st.cases && !R->o->strict)) {
				reported++;
				diff_compare(f, &R->info[0], &one[0], &again[0], &R->soft_res, stdout);
			}
		}
		left -= n;
	}
	char vecs[256];
	stats_print(&st, vecs, sizeof(vecs));
	const char *status = "PASS";
	R->forms_run++;
	R->total_cases += st.cases;
	if (st.mismatches && st.soft_ud == st.mismatches && st.soft_ud == st.cases - st.vec[6]) {
		status = "UNIMPL";
		R->forms_unimpl++;
		if (R->o->strict) {
			R->forms_fail++;
			R->total_mismatch += st.mismatches;
		}
	} else if (st.mismatches) {
		status = "FAIL";
		R->forms_fail++;
		R->total_mismatch += st.mismatches;
	}
	R->total_known += st.known;
	char known[96] = "";
	if (st.known)
		snprintf(known, sizeof(known), " (+%" PRIu64 " known-gap)", st.known);
	if (st.reruns) /* visible: a host that keeps doing this deserves a look */
		snprintf(known + strlen(known), sizeof(known) - strlen(known),
			 " (%" PRIu64 " not repeated natively)", st.reruns);
	printf("%-6s %-34s cases %-7" PRIu64 " mismatches %-6" PRIu64 " native: %s%s\n",
	       status, f->name, st.cases, st.mismatches, vecs, known);
	fflush(stdout);
}

static void run_edges(struct diff_run *R)
{
	size_t n;
	const struct diff_edge *e = diff_edges_get(&n);
	struct diff_rng rng = { .s = R->o->seed * 31 + 7 };
	struct diff_case *cases = native_exec_cases(R->ne);
	struct diff_form forms[NATIVE_BATCH_MAX];
	size_t m = 0;

	for (size_t i = 0; i < n && m < NATIVE_BATCH_MAX; i++) {
		if (R->o->form && !strstr(e[i].name, R->o->form))
			continue;
		if (diff_form_skip(e[i].name)) {
			printf("SKIP   edge: %-50s %s\n", e[i].name, diff_form_skip(e[i].name));
			continue;
		}
		forms[m] = (struct diff_form){ .name = e[i].name, .enc = e[i].enc,
					       .undef = e[i].undef };
		if (!diff_gen_case(&rng, &forms[m], &cases[m], &R->info[m])) {
			fprintf(stderr, "bad edge template %s\n", e[i].enc);
			exit(2);
		}
		for (unsigned k = 0; k < e[i].nset; k++)
			cases[m].in.regs.gpr[e[i].set[k].reg] = e[i].set[k].v;
		cases[m].in.regs.rflags = 0x202 | e[i].rflags;
		R->info[m].opsize = e[i].opsize;
		R->info[m].count = e[i].count;
		m++;
	}
	if (!m)
		return;
	const struct diff_result *nat = native_exec_run(R->ne, m);
	if (!nat)
		exit(2);
	uint64_t bad = 0;
	for (size_t i = 0; i < m; i++) {
		soft_exec_run(R->se, &cases[i], &R->soft_res);
		bool same = diff_compare(&forms[i], &R->info[i], &cases[i], &nat[i], &R->soft_res, stdout) != DIFF_DIFFERENT;
		printf("%-6s edge: %-50s native: %s\n", same ? "PASS" : "FAIL", forms[i].name,
		       diff_vector_name(nat[i].vector));
		if (!same)
			bad++;
	}
	R->total_cases += m;
	R->total_mismatch += bad;
	R->forms_run++;
	if (bad)
		R->forms_fail++;
}

static void usage(void)
{
	printf("usage: ringvm-difftest [--cases N] [--seed S] [--form SUBSTR] [--million]\n"
	       "                       [--report N] [--strict] [--no-edges] [--list] [--self-test]\n"
	       "                       [--tier step|block|jit]\n"
	       "  --cases N    random cases per form (default 300)\n"
	       "  --million    1,000,000 cases per form (long run)\n"
	       "  --form S     only forms whose name contains S\n"
	       "  --report N   print at most N mismatch reproductions per form (default 3)\n"
	       "  --strict     forms the soft CPU does not implement at all count as failures\n"
	       "  --self-test  check the native executor against a reference model\n"
	       "  --tier T     how the soft CPU runs each case: step (one instruction at a\n"
	       "               time, the default), block (interpreted decoded blocks) or\n"
	       "               jit (translated blocks)\n");
}

int main(int argc, char **argv)
{
	struct diff_opts o = { .cases = 300, .seed = 1, .max_report = 3 };
	static const struct option lo[] = {
		{ "cases", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' },
		{ "form", required_argument, NULL, 'f' },
		{ "million", no_argument, NULL, 'M' },
		{ "report", required_argument, NULL, 'r' },
		{ "strict", no_argument, NULL, 'S' },
		{ "no-edges", no_argument, NULL, 'E' },
		{ "list", no_argument, NULL, 'l' },
		{ "self-test", no_argument, NULL, 't' },
		{ "tier", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int ch;
	enum diff_tier tier = DIFF_TIER_STEP;
	while ((ch = getopt_long(argc, argv, "n:s:f:Mr:SEllthT:", lo, NULL)) != -1) {
		switch (ch) {
		case 'n': o.cases = strtoull(optarg, NULL, 0); break;
		case 's': o.seed = strtoull(optarg, NULL, 0); break;
		case 'f': o.form = optarg; break;
		case 'M': o.cases = 1000000; break;
		case 'r': o.max_report = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'S': o.strict = true; break;
		case 'E': o.no_edges = true; break;
		case 'l': o.list = true; break;
		case 't': o.self_test = true; break;
		case 'T':
			if (!strcmp(optarg, "step"))
				tier = DIFF_TIER_STEP;
			else if (!strcmp(optarg, "block"))
				tier = DIFF_TIER_BLOCK;
			else if (!strcmp(optarg, "jit"))
				tier = DIFF_TIER_JIT;
			else {
				fprintf(stderr, "ringvm-difftest: --tier %s: expected step, block or jit\n", optarg);
				return 2;
			}
			break;
		default: usage(); return ch == 'h' ? 0 : 2;
		}
	}

	size_t nint, nfp, navx;
	const struct diff_form *fint = diff_forms_int_get(&nint);
	const struct diff_form *ffp = diff_forms_fp_get(&nfp);
	const struct diff_form *favx = diff_forms_avx_get(&navx);
	if (o.list) {
		for (size_t i = 0; i < nint; i++)
			printf("%-34s %s\n", fint[i].name, fint[i].enc);
		for (size_t i = 0; i < nfp; i++)
			printf("%-34s %s\n", ffp[i].name, ffp[i].enc);
		for (size_t i = 0; i < navx; i++)
			printf("%-34s %s\n", favx[i].name, favx[i].enc);
		return 0;
	}

	struct diff_run R = { .o = &o };
	R.ne = native_exec_create();
	if (!R.ne) {
		fprintf(stderr, "native_exec_create failed\n");
		return 2;
	}
	if (o.self_test) {
		int r = diff_selftest(R.ne);
		native_exec_destroy(R.ne);
		return r;
	}
	R.se = soft_exec_create();
	if (!R.se) {
		fprintf(stderr, "soft_exec_create failed\n");
		return 2;
	}
	if (!soft_exec_set_tier(R.se, tier)) {
		fprintf(stderr, "ringvm-difftest: --tier jit: the translation cache could not be mapped\n");
		return 2;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	printf("ringvm-difftest: seed %" PRIu64 ", %" PRIu64 " cases per form, tier %s\n", o.seed, o.cases,
	       tier == DIFF_TIER_JIT ? "jit" : tier == DIFF_TIER_BLOCK ? "block" : "step");
	diff_vendor_print_host(stdout);
	for (size_t i = 0; i < nint + nfp + navx; i++) {
		const struct diff_form *f = i < nint ? &fint[i] : i < nint + nfp ? &ffp[i - nint] :
					    &favx[i - nint - nfp];
		if (o.form && !strstr(f->name, o.form))
			continue;
		if (diff_form_skip(f->name)) {
			printf("SKIP   %-34s %s\n", f->name, diff_form_skip(f->name));
			continue;
		}
		run_form(&R, f);
	}
	if (!o.no_edges) {
		run_edges(&R);
		if (!o.form) {
			int mbad = diff_modes_run(R.se) + diff_stackcanon_run(R.se);
			R.forms_run++;
			if (mbad) {
				R.forms_fail++;
				R.total_mismatch += (uint64_t)mbad;
			}
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
	printf("\nSUMMARY: %" PRIu64 " forms, %" PRIu64 " cases, %" PRIu64 " mismatches, "
	       "%" PRIu64 " known-gap differences, "
	       "%" PRIu64 " forms failing, %" PRIu64 " forms not implemented by the soft CPU "
	       "(%.1f s, %.0f cases/s)\n",
	       R.forms_run, R.total_cases, R.total_mismatch, R.total_known, R.forms_fail, R.forms_unimpl,
	       secs, secs > 0 ? (double)R.total_cases / secs : 0.0);
	if (tier == DIFF_TIER_JIT) {
		uint64_t js[11];
		soft_exec_jit_stats(R.se, js);
		printf("translator: %" PRIu64 " blocks translated, %" PRIu64 " instructions emitted as "
		       "host instructions (%" PRIu64 " loads and %" PRIu64 " stores through the "
		       "inline TLB probe; %" PRIu64 " stack instructions through it; %" PRIu64
		       " SSE, %" PRIu64 " of them with a memory operand; %" PRIu64 " VEX, %" PRIu64
		       " of them with a memory operand), "
		       "%" PRIu64 " as handler calls, %" PRIu64 " cache flushes\n",
		       js[0], js[1], js[4], js[5], js[8], js[6], js[7], js[9], js[10], js[2], js[3]);
	}
	soft_exec_destroy(R.se);
	free(R.rerun);
	native_exec_destroy(R.ne);
	return R.forms_fail ? 1 : 0;
}
